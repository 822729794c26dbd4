//! Tenants (站点) and their column trees (栏目).

use serde::{Deserialize, Serialize};

use crate::{Millis, string_enum};

string_enum! {
    /// What kind of government website a tenant is.
    pub enum TenantKind {
        /// The city (or county) portal: 政府门户网站.
        Portal => "portal",
        /// A township, street office or management district site.
        Township => "township",
        /// A department (市直部门) site.
        Department => "department",
        /// A special-topic site (专题).
        Special => "special",
    }
}

string_enum! {
    /// The life of a site: 开办 → 建设 → 上线 → 关停.
    pub enum Lifecycle {
        Planned => "planned",
        Building => "building",
        Online => "online",
        Suspended => "suspended",
        Closed => "closed",
    }
}

/// One website hosted on the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tenant {
    pub id: i64,
    /// Short latin code, used in `/sites/<code>/` and under the parent's host.
    pub code: String,
    pub name: String,
    pub kind: TenantKind,
    pub parent_id: Option<i64>,
    /// Host names that select this tenant (`xx.haicheng.gov.cn`).
    pub hosts: Vec<String>,
    /// Whether the site is also served under its parent's host at `/<code>/`
    /// (国办发〔2017〕47号 puts township and department sites under the portal).
    pub mount_under_parent: bool,
    /// 网站标识码.
    pub site_id_code: Option<String>,
    /// ICP备案号, e.g. `辽ICP备11014897号-1`.
    pub icp: Option<String>,
    /// 公安备案号 text, e.g. `辽公网安备 21038102000126号`.
    pub police_record: Option<String>,
    /// The 党政机关网站标识 number issued to the site: the footer shows the
    /// badge linking to the registry's verification page. Absent from entries
    /// written before it existed, and skipped when unset so they read back
    /// byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conac_id: Option<String>,
    /// Code of the organ that publishes here; the prefix of every 索引号.
    pub organ_code: String,
    /// The public contact mailbox (政务公开信箱).
    pub mailbox: Option<String>,
    pub lifecycle: Lifecycle,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Tenant {
    /// A site with its identity and nothing else yet: no hosts, no parent,
    /// no filings, online. The demo, imports and tests start here and set
    /// what they know.
    pub fn new(id: i64, code: impl Into<String>, name: impl Into<String>, kind: TenantKind, organ_code: impl Into<String>, at: Millis) -> Tenant {
        Tenant {
            id,
            code: code.into(),
            name: name.into(),
            kind,
            parent_id: None,
            hosts: Vec::new(),
            mount_under_parent: false,
            site_id_code: None,
            icp: None,
            police_record: None,
            conac_id: None,
            organ_code: organ_code.into(),
            mailbox: None,
            lifecycle: Lifecycle::Online,
            created_at: at,
            updated_at: at,
        }
    }

    /// The 公安备案号's record number, used for the link to the police
    /// registration site: the digits of the record text.
    pub fn police_record_number(&self) -> Option<String> {
        let digits: String = self.police_record.as_deref()?.chars().filter(|c| c.is_ascii_digit()).collect();
        (!digits.is_empty()).then_some(digits)
    }
}

/// A partial update of a tenant; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
// Logged in commands: unknown fields are ignored, so an older node reads a
// newer entry (invariant 10); the API refuses them (`api::Strict`).
pub struct TenantPatch {
    pub name: Option<String>,
    pub hosts: Option<Vec<String>>,
    pub mount_under_parent: Option<bool>,
    pub site_id_code: Option<String>,
    pub icp: Option<String>,
    pub police_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conac_id: Option<String>,
    pub mailbox: Option<String>,
    pub lifecycle: Option<Lifecycle>,
}

string_enum! {
    /// What a channel holds.
    pub enum ChannelKind {
        /// A list of documents.
        List => "list",
        /// A single page (e.g. 机构概况).
        Page => "page",
        /// A link to somewhere else.
        Link => "link",
        /// A 政府信息公开 directory column.
        Disclosure => "disclosure",
        /// Public interaction (留言, 征集).
        Interaction => "interaction",
    }
}

string_enum! {
    /// How often the national inspection rules expect the channel to update.
    pub enum UpdateClass {
        /// 动态类: at least every two weeks.
        Dynamic => "dynamic",
        /// 常态类: at least every six months.
        Regular => "regular",
        /// Static content; no update duty.
        Static => "static",
    }
}

/// A node of a tenant's column tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    pub id: i64,
    pub tenant_id: i64,
    pub parent_id: Option<i64>,
    /// Latin path segment: `/col/<slug>/`.
    pub slug: String,
    pub name: String,
    pub kind: ChannelKind,
    pub update_class: UpdateClass,
    pub position: i64,
    pub link_url: Option<String>,
    pub created_at: Millis,
    /// The part the column plays for the platform, e.g. `policy-repost`:
    /// reposts land in the target site's column of the rule's role. At most
    /// one column of a site plays a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Channel {
    /// A top-level column with its identity and kind: first among its
    /// siblings, no link. Callers set the parent, position or link they need.
    pub fn new(id: i64, tenant_id: i64, slug: impl Into<String>, name: impl Into<String>, kind: ChannelKind, update_class: UpdateClass, at: Millis) -> Channel {
        Channel {
            id,
            tenant_id,
            parent_id: None,
            slug: slug.into(),
            name: name.into(),
            kind,
            update_class,
            position: 0,
            link_url: None,
            created_at: at,
            role: None,
        }
    }
}

/// A site's HTTPS certificate, as the platform stores and replicates it:
/// the chain and key in PEM, and what was read from the leaf when it was
/// given (checked then: the key matches, it covers these hosts of the site).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteCertificate {
    /// The leaf first, then its intermediates.
    pub chain_pem: String,
    pub private_key_pem: String,
    /// The leaf's notAfter.
    pub not_after: Millis,
    /// SHA-256 of the leaf's DER, in hex: how operators tell two apart.
    pub sha256: String,
    /// The site's hosts the certificate is valid for.
    pub hosts: Vec<String>,
}

/// Written out anywhere (a log line, a panic), a certificate shows its
/// fingerprint and hosts, never its key.
impl std::fmt::Debug for SiteCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCertificate")
            .field("sha256", &self.sha256)
            .field("not_after", &self.not_after)
            .field("hosts", &self.hosts)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}
