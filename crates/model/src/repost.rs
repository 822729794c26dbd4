//! Policies that must reach other sites: feeds from above, repost rules
//! and the copies they place (转载), and 信息报送 upward.
//!
//! ```text
//!  feed item ──► source document (platform source site)
//!  published document in a rule's source column ─┐
//!  a portal editor's "repost to these sites" ──────┼─► fan-out: one row per target site
//!                                                  │
//!        mandatory: copy shown at once ── pending ─► shown (proof: 200 on the copy's public URL)
//!        optional:  pending ─► accepted (copy shown) │ refused (reason)
//!        no column plays the role on that site ─► no_column (reported, nothing shown)
//!        overdue = past the deadline and not (refused, or shown with proof)
//! ```
//!
//! A copy is a document of the target site whose `copy_of` names its
//! source: its content, 有效性 and public state follow the source; a target
//! editor cannot edit it, nor remove it when it is mandatory.

use serde::{Deserialize, Serialize};

use crate::{Millis, TenantKind, string_enum};

/// The deadline of a repost when the rule names none: 24 hours.
pub const DEFAULT_DEADLINE_MS: Millis = 24 * 3600 * 1000;

string_enum! {
    /// Whether a target site must carry the copy or may decline it.
    pub enum RepostMode {
        /// Shown at once; the target cannot remove it.
        Mandatory => "mandatory",
        /// Waits in the target editors' inbox to be accepted or refused.
        Optional => "optional",
    }
}

string_enum! {
    /// Where one repost to one site stands.
    pub enum RepostState {
        /// Optional: waiting for the target's editors. Mandatory: never
        /// (its copy is shown at once).
        Pending => "pending",
        /// A mandatory copy is on the site.
        Shown => "shown",
        /// An optional copy accepted by the target: on the site.
        Accepted => "accepted",
        /// An optional copy the target declined, with a reason.
        Refused => "refused",
        /// An optional copy the target took down after accepting it.
        Removed => "removed",
        /// No column of the target site plays the rule's role: nothing is
        /// shown until one does and the repost is made again.
        NoColumn => "no_column",
    }
}

impl RepostState {
    /// Whether the copy is (meant to be) on the target site.
    pub fn carried(self) -> bool {
        matches!(self, RepostState::Shown | RepostState::Accepted)
    }
    /// Whether the target has answered for good (overdue no longer applies).
    pub fn settled(self) -> bool {
        matches!(self, RepostState::Refused | RepostState::Removed)
    }
    pub fn title(self) -> &'static str {
        match self {
            RepostState::Pending => "待处理",
            RepostState::Shown => "已显示",
            RepostState::Accepted => "已采用",
            RepostState::Refused => "已拒绝",
            RepostState::Removed => "已撤下",
            RepostState::NoColumn => "缺少栏目",
        }
    }
}

/// Overdue: past the deadline, and neither settled nor carried with proof
/// (a 200 from the copy's public URL). Pure, so a test can hold the clock.
pub fn overdue(state: RepostState, deadline_at: Millis, proof_status: Option<i64>, now: Millis) -> bool {
    now > deadline_at && !state.settled() && !(state.carried() && proof_status == Some(200))
}

/// What a rule takes its documents from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RepostSource {
    /// Every item of a feed.
    Feed { feed_id: i64 },
    /// Every document published in a site's column.
    Column { tenant_id: i64, channel_id: i64 },
}

/// Which of the source's documents a rule takes: all, or those of the
/// named 主题分类 and/or with one of the keywords in the title.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RepostFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

impl RepostFilter {
    /// Topics match exactly; keywords anywhere in the title or the summary.
    pub fn takes(&self, title: &str, summary: Option<&str>, topic: Option<&str>) -> bool {
        let topic_ok = self.topics.is_empty() || topic.is_some_and(|t| self.topics.iter().any(|x| x == t));
        let keyword_ok =
            self.keywords.is_empty() || self.keywords.iter().any(|k| title.contains(k.as_str()) || summary.is_some_and(|s| s.contains(k.as_str())));
        topic_ok && keyword_ok
    }
}

/// The sites a repost goes to (never the source's own site).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RepostTargets {
    /// Every site that is not closed.
    All,
    /// Sites of one kind (every 乡镇, every 部门).
    Kind { kind: TenantKind },
    /// Sites carrying a tag.
    Tag { tag: String },
    /// These sites.
    List { tenant_ids: Vec<i64> },
}

/// Source → targets, into the column that plays `role`, with a mode and a
/// deadline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepostRule {
    pub id: i64,
    /// The site that owns the rule (the portal): its editors keep it.
    pub tenant_id: i64,
    pub name: String,
    pub source: RepostSource,
    #[serde(default)]
    pub filter: RepostFilter,
    pub targets: RepostTargets,
    /// The column role the copies go into, e.g. `policy-repost`.
    pub role: String,
    pub mode: RepostMode,
    pub deadline_ms: Millis,
    pub created_at: Millis,
    pub created_by: Option<i64>,
}

/// A feed from above, polled by the leader.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Feed {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// The platform source site the items become documents of, and its column.
    pub tenant_id: i64,
    pub channel_id: i64,
    pub poll_seconds: i64,
    /// Loopback, link-local and private addresses are refused unless this
    /// is set (a feed server inside the government network).
    #[serde(default)]
    pub allow_private: bool,
    pub created_at: Millis,
}

/// The shortest poll interval a feed may have.
pub const MIN_POLL_SECONDS: i64 = 60;

/// One item as the poller read it: text already sanitized, dates already
/// read into the platform's forms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedItem {
    /// The item's GUID, else its link: what makes it the same item again.
    pub guid: String,
    /// The id the document gets if the item is new.
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    pub body_html: String,
    pub summary: Option<String>,
    /// When the source published it.
    pub published_at: Option<Millis>,
    /// 发布机构 / 发文机关.
    pub issuing_organ: Option<String>,
    /// 文号, in its standard form.
    pub doc_no: Option<String>,
    /// 成文日期, YYYY-MM-DD.
    pub written_date: Option<String>,
    /// 主题分类.
    pub topic: Option<String>,
}

impl FeedItem {
    /// What changes when the source updates the item: an item seen again
    /// with the same fingerprint changes nothing.
    pub fn fingerprint(&self) -> String {
        let parts = [
            Some(self.title.as_str()),
            self.link.as_deref(),
            Some(&self.body_html),
            self.summary.as_deref(),
            self.issuing_organ.as_deref(),
            self.doc_no.as_deref(),
            self.written_date.as_deref(),
            self.topic.as_deref(),
        ];
        format!("{:016x}", fnv1a(parts.iter().flat_map(|p| p.unwrap_or("").bytes().chain([0u8]))))
    }
}

string_enum! {
    /// Why a poll failed: a short, bounded list (metric label values).
    pub enum FeedFailure {
        Blocked => "blocked_address",
        Dns => "dns",
        Connect => "connect",
        Timeout => "timeout",
        Status => "http_status",
        TooLarge => "too_large",
        Redirects => "too_many_redirects",
        NotAFeed => "not_a_feed",
    }
}

/// How a poll went, as recorded in the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PollResult {
    /// The feed answered (304 counts: nothing new). Items skipped for
    /// being unreadable are counted, with the first reason.
    Fetched {
        etag: Option<String>,
        last_modified: Option<String>,
        items: Vec<FeedItem>,
        #[serde(default)]
        skipped: u32,
        #[serde(default)]
        skipped_reason: Option<String>,
    },
    Failed {
        reason: FeedFailure,
        detail: String,
    },
}

/// A copy's public URL as the platform fetched it after the fan-out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepostProof {
    pub repost_id: i64,
    pub status: u16,
    pub at: Millis,
}

string_enum! {
    /// Where a 信息报送 stands.
    pub enum SubmissionState {
        Submitted => "submitted",
        Adopted => "adopted",
        Returned => "returned",
    }
}

impl SubmissionState {
    pub fn title(self) -> &'static str {
        match self {
            SubmissionState::Submitted => "待采用",
            SubmissionState::Adopted => "已采用",
            SubmissionState::Returned => "已退回",
        }
    }
}

/// 信息报送: a site's published document offered to a portal column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Submission {
    pub id: i64,
    pub tenant_id: i64,
    pub document_id: i64,
    pub portal_id: i64,
    pub channel_id: i64,
    pub created_at: Millis,
    pub created_by: Option<i64>,
}

/// The id of the copy of `source_id` on site `tenant_id`: decided by the
/// fan-out itself, the same on every node, and in [2^52, 2^53) — above
/// every time-ordered id [`crate`] users hand out until the year 2109, so
/// the two kinds never meet.
pub fn copy_id(source_id: i64, tenant_id: i64) -> i64 {
    let h = fnv1a(source_id.to_le_bytes().into_iter().chain(tenant_id.to_le_bytes()));
    ((h & ((1 << 52) - 1)) | (1 << 52)) as i64
}

/// FNV-1a: stable across builds, versions and nodes (std's hasher
/// promises no stable output), as what is stored or logged must be.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_flips_at_the_deadline_unless_carried_with_proof_or_settled() {
        let deadline = 1_000;
        assert!(!overdue(RepostState::Pending, deadline, None, 1_000), "at the deadline: not yet");
        assert!(overdue(RepostState::Pending, deadline, None, 1_001));
        assert!(overdue(RepostState::Shown, deadline, None, 1_001), "shown without proof is belief, not evidence");
        assert!(overdue(RepostState::Shown, deadline, Some(404), 1_001));
        assert!(!overdue(RepostState::Shown, deadline, Some(200), 1_001));
        assert!(!overdue(RepostState::Refused, deadline, None, 9_999));
        assert!(overdue(RepostState::NoColumn, deadline, None, 1_001), "a missing column is the site's to fix");
    }

    #[test]
    fn copy_ids_are_stable_distinct_and_above_time_ordered_ids() {
        let a = copy_id(1_811_479_007_052_499, 7);
        assert_eq!(a, copy_id(1_811_479_007_052_499, 7));
        assert_ne!(a, copy_id(1_811_479_007_052_499, 8));
        assert!((1i64 << 52..1i64 << 53).contains(&a));
    }

    #[test]
    fn a_filter_takes_by_topic_and_keyword() {
        let f = RepostFilter { topics: vec!["农业、林业、水利".into()], keywords: vec!["乡村振兴".into()] };
        assert!(f.takes("关于乡村振兴的意见", None, Some("农业、林业、水利")));
        assert!(!f.takes("关于乡村振兴的意见", None, Some("财政")));
        assert!(!f.takes("关于安全生产的通知", None, Some("农业、林业、水利")));
        assert!(RepostFilter::default().takes("任何", None, None));
    }
}
