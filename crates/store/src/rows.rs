//! Turning rows into model types. Enums are stored by their stable names.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite};
use zhanqun_model::{Attachment, Channel, Document, DocumentContent, GovMeta, Grant, ReturnNote, SecrecySignOff, Tenant, TenantRole, User};

use crate::db::{self, Record};
use crate::{Result, parse};

/// A row from either connection: a reader's (sqlx) or the state machine's
/// own ([`Record`]), so that each model type is read from a row in one place.
pub(crate) trait Cells {
    fn cell<T: Cell>(&self, name: &str) -> Result<T>;
}

/// A column type both connections read.
pub(crate) trait Cell: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> {}
impl<T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>> Cell for T {}

impl Cells for SqliteRow {
    fn cell<T: Cell>(&self, name: &str) -> Result<T> {
        Ok(self.try_get(name)?)
    }
}

impl Cells for Record {
    fn cell<T: Cell>(&self, name: &str) -> Result<T> {
        Ok(self.named(name)?)
    }
}

pub(crate) const TENANT_COLUMNS: &str =
    "id, code, name, kind, parent_id, mount_under_parent, site_id_code, icp, police_record, conac_id, organ_code, mailbox, lifecycle, created_at, updated_at";

pub(crate) fn tenant(row: &impl Cells, hosts: Vec<String>) -> Result<Tenant> {
    Ok(Tenant {
        id: row.cell("id")?,
        code: row.cell("code")?,
        name: row.cell("name")?,
        kind: parse(&row.cell::<String>("kind")?)?,
        parent_id: row.cell("parent_id")?,
        hosts,
        mount_under_parent: row.cell("mount_under_parent")?,
        site_id_code: row.cell("site_id_code")?,
        icp: row.cell("icp")?,
        police_record: row.cell("police_record")?,
        conac_id: row.cell("conac_id")?,
        organ_code: row.cell("organ_code")?,
        mailbox: row.cell("mailbox")?,
        lifecycle: parse(&row.cell::<String>("lifecycle")?)?,
        created_at: row.cell("created_at")?,
        updated_at: row.cell("updated_at")?,
    })
}

pub(crate) const CHANNEL_COLUMNS: &str = "id, tenant_id, parent_id, slug, name, kind, update_class, position, link_url, created_at, role";

pub(crate) fn channel(row: &impl Cells) -> Result<Channel> {
    Ok(Channel {
        id: row.cell("id")?,
        tenant_id: row.cell("tenant_id")?,
        parent_id: row.cell("parent_id")?,
        slug: row.cell("slug")?,
        name: row.cell("name")?,
        kind: parse(&row.cell::<String>("kind")?)?,
        update_class: parse(&row.cell::<String>("update_class")?)?,
        position: row.cell("position")?,
        link_url: row.cell("link_url")?,
        created_at: row.cell("created_at")?,
        role: row.cell("role")?,
    })
}

pub(crate) const DOCUMENT_COLUMNS: &str = "id, tenant_id, channel_id, title, body_html, summary, source, author, state, created_at, updated_at, published_at, index_no, doc_no, issuing_organ, written_date, topic, disclosure, disclosure_basis, disclosure_reason, validity, created_by, needs_secrecy_review, review_stage, return_reason, return_stage, returned_by, returned_at, secrecy_passed, secrecy_conclusion, secrecy_by, secrecy_at, needs_interpretation, interprets, interpretation_kind, replaced_by, publish_at, unpublish_at, copy_of, origin_url";

/// `disclosure` is stored as text; the empty string is "not chosen yet".
pub(crate) fn disclosure_text(d: Option<zhanqun_model::Disclosure>) -> &'static str {
    d.map_or("", |d| d.as_str())
}

pub(crate) fn document(row: &impl Cells) -> Result<Document> {
    Ok(Document {
        id: row.cell("id")?,
        tenant_id: row.cell("tenant_id")?,
        content: DocumentContent {
            channel_id: row.cell("channel_id")?,
            title: row.cell("title")?,
            body_html: row.cell("body_html")?,
            summary: row.cell("summary")?,
            source: row.cell("source")?,
            author: row.cell("author")?,
            meta: GovMeta {
                index_no: row.cell("index_no")?,
                doc_no: row.cell("doc_no")?,
                issuing_organ: row.cell("issuing_organ")?,
                written_date: row.cell("written_date")?,
                topic: row.cell("topic")?,
                disclosure: match row.cell::<String>("disclosure")?.as_str() {
                    "" => None,
                    text => Some(parse(text)?),
                },
                disclosure_basis: row.cell("disclosure_basis")?,
                disclosure_reason: row.cell("disclosure_reason")?,
                validity: parse(&row.cell::<String>("validity")?)?,
            },
            needs_secrecy_review: row.cell("needs_secrecy_review")?,
            needs_interpretation: row.cell("needs_interpretation")?,
            interprets: row.cell("interprets")?,
            interpretation_kind: row.cell::<Option<String>>("interpretation_kind")?.as_deref().map(parse).transpose()?,
        },
        state: parse(&row.cell::<String>("state")?)?,
        created_at: row.cell("created_at")?,
        updated_at: row.cell("updated_at")?,
        published_at: row.cell("published_at")?,
        created_by: row.cell("created_by")?,
        review_stage: row.cell::<Option<String>>("review_stage")?.as_deref().map(parse).transpose()?,
        returned: match row.cell::<Option<String>>("return_reason")? {
            Some(reason) => Some(ReturnNote {
                reason,
                by: row.cell("returned_by")?,
                at: row.cell::<Option<i64>>("returned_at")?.unwrap_or(0),
                stage: parse(row.cell::<Option<String>>("return_stage")?.as_deref().unwrap_or("content"))?,
            }),
            None => None,
        },
        secrecy: match row.cell::<Option<bool>>("secrecy_passed")? {
            Some(passed) => Some(SecrecySignOff {
                by: row.cell("secrecy_by")?,
                at: row.cell::<Option<i64>>("secrecy_at")?.unwrap_or(0),
                passed,
                conclusion: row.cell::<Option<String>>("secrecy_conclusion")?.unwrap_or_default(),
            }),
            None => None,
        },
        replaced_by: row.cell("replaced_by")?,
        publish_at: row.cell("publish_at")?,
        unpublish_at: row.cell("unpublish_at")?,
        copy_of: row.cell("copy_of")?,
        origin_url: row.cell("origin_url")?,
    })
}

pub(crate) const ATTACHMENT_COLUMNS: &str = "id, tenant_id, document_id, sha256, size, content_type, file_name, created_at, created_by";

pub(crate) fn attachment(row: &impl Cells) -> Result<Attachment> {
    Ok(Attachment {
        id: row.cell("id")?,
        tenant_id: row.cell("tenant_id")?,
        document_id: row.cell("document_id")?,
        sha256: row.cell("sha256")?,
        size: row.cell("size")?,
        content_type: row.cell("content_type")?,
        file_name: row.cell("file_name")?,
        created_at: row.cell("created_at")?,
        created_by: row.cell("created_by")?,
    })
}

/// A user's columns (as `u`) with one grant (as `g`), as [`user_from`]
/// reads them: a query joins `grants g` and gives a row per grant (or one
/// row with no grant). A macro so that the statements stay `&'static str`.
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.display_name, u.password_hash, u.platform_role, u.created_at, u.disabled_at, u.must_change_password,
         g.tenant_id AS grant_tenant, g.role AS grant_role"
    };
}
pub(crate) use user_columns;

/// A user with their site roles, in one query.
const USER_WITH_GRANTS: &str =
    concat!("SELECT ", user_columns!(), " FROM users u LEFT JOIN grants g ON g.user_id = u.id WHERE u.id = ? ORDER BY g.tenant_id, g.role");

/// A user with their site roles: read by the state machine inside its
/// transaction, and in place by `Store::user`.
pub(crate) fn user_in(conn: &db::Conn, id: i64) -> Result<Option<User>> {
    user_from(&db::query(USER_WITH_GRANTS).bind(id).fetch_all(conn)?)
}

/// The user of rows read with [`user_columns`] (`None` if there are none).
pub(crate) fn user_from(rows: &[impl Cells]) -> Result<Option<User>> {
    let Some(row) = rows.first() else { return Ok(None) };
    let mut grants = Vec::new();
    for g in rows {
        if let Some(tenant_id) = g.cell::<Option<i64>>("grant_tenant")? {
            grants.push(Grant { tenant_id, role: parse::<TenantRole>(&g.cell::<String>("grant_role")?)? });
        }
    }
    let platform_role: Option<String> = row.cell("platform_role")?;
    Ok(Some(User {
        id: row.cell("id")?,
        username: row.cell("username")?,
        display_name: row.cell("display_name")?,
        password_hash: row.cell("password_hash")?,
        platform_role: platform_role.as_deref().map(parse).transpose()?,
        grants,
        created_at: row.cell("created_at")?,
        disabled_at: row.cell("disabled_at")?,
        must_change_password: row.cell("must_change_password")?,
    }))
}

pub(crate) fn repost_rule(row: &impl Cells) -> Result<zhanqun_model::repost::RepostRule> {
    Ok(zhanqun_model::repost::RepostRule {
        id: row.cell("id")?,
        tenant_id: row.cell("tenant_id")?,
        name: row.cell("name")?,
        source: json_column(row, "source")?,
        filter: json_column(row, "filter")?,
        targets: json_column(row, "targets")?,
        role: row.cell("role")?,
        mode: parse(&row.cell::<String>("mode")?)?,
        deadline_ms: row.cell("deadline_ms")?,
        created_at: row.cell("created_at")?,
        created_by: row.cell("created_by")?,
    })
}

/// A column holding JSON the state machine wrote.
fn json_column<T: serde::de::DeserializeOwned>(row: &impl Cells, column: &str) -> Result<T> {
    let text: String = row.cell(column)?;
    serde_json::from_str(&text).map_err(|e| crate::StoreError::Corrupt(format!("{column}: {e}")))
}
