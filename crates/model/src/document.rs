//! Documents (信息) and their government disclosure metadata.

use serde::{Deserialize, Serialize};

use crate::workflow::{ReturnNote, ReviewStage, SecrecySignOff};
use crate::{Millis, string_enum};

string_enum! {
    /// Where a document is in its life (see [`crate::workflow`]).
    pub enum DocState {
        Draft => "draft",
        Submitted => "submitted",
        InReview => "in_review",
        SecrecyReview => "secrecy_review",
        Approved => "approved",
        Scheduled => "scheduled",
        Published => "published",
        Withdrawn => "withdrawn",
    }
}

string_enum! {
    /// 公开属性: whether the public may see the document.
    pub enum Disclosure {
        /// 主动公开: published proactively.
        Proactive => "主动公开",
        /// 依申请公开: disclosed on request only.
        OnRequest => "依申请公开",
        /// 不予公开: not disclosed.
        Withheld => "不予公开",
    }
}

impl Disclosure {
    /// Anything but 主动公开 must say why (《政府信息公开条例》).
    pub fn needs_reason(self) -> bool {
        self != Disclosure::Proactive
    }
}

string_enum! {
    /// 有效性.
    pub enum Validity {
        Valid => "有效",
        Expired => "失效",
        Repealed => "废止",
        Revised => "修订",
    }
}

string_enum! {
    /// The form of a 政策解读.
    pub enum InterpretationKind {
        /// 文字解读.
        Text => "文字解读",
        /// 图解.
        Graphic => "图解",
        /// 视频解读.
        Video => "视频解读",
        /// 新闻发布会.
        PressConference => "新闻发布会",
    }
}

/// The 政府信息公开 metadata every document carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GovMeta {
    /// 索引号 `<organ code>/<year>-<serial>`, assigned by the state machine.
    pub index_no: String,
    /// 文号, e.g. `海政办发〔2017〕37号`.
    pub doc_no: Option<String>,
    /// 发布机构.
    pub issuing_organ: String,
    /// 成文日期, `YYYY-MM-DD`.
    pub written_date: Option<String>,
    /// 主题分类.
    pub topic: Option<String>,
    /// 公开属性; a draft may not have chosen one yet, a submission must.
    pub disclosure: Option<Disclosure>,
    /// The legal basis of a decision other than 主动公开 (e.g. 《条例》第十五条).
    pub disclosure_basis: Option<String>,
    /// Why a document is not 主动公开.
    pub disclosure_reason: Option<String>,
    pub validity: Validity,
}

/// What an editor writes: everything a revision keeps and a patch may
/// change. The document, each of its revisions and the search document are
/// made of it, so a new editable field is one field here (and its column).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocumentContent {
    pub channel_id: i64,
    pub title: String,
    /// Sanitized HTML.
    pub body_html: String,
    pub summary: Option<String>,
    /// 来源.
    pub source: Option<String>,
    pub author: Option<String>,
    pub meta: GovMeta,
    /// Must be signed off by a 保密审查员 before approval.
    #[serde(default)]
    pub needs_secrecy_review: bool,
    /// A policy that may not be published without an approved 政策解读.
    #[serde(default)]
    pub needs_interpretation: bool,
    /// This document is a 政策解读 of that policy (same site).
    #[serde(default)]
    pub interprets: Option<i64>,
    #[serde(default)]
    pub interpretation_kind: Option<InterpretationKind>,
}

/// A document: its content, and its life (identity, workflow state, dates).
/// It reads as one flat object, in the log and in the API, as before the
/// content had a type of its own; `d.title` reads `d.content.title`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub id: i64,
    pub tenant_id: i64,
    #[serde(flatten)]
    pub content: DocumentContent,
    pub state: DocState,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// 发布日期: set on first publication.
    pub published_at: Option<Millis>,
    pub created_by: Option<i64>,
    /// Whose turn it is, while under review.
    #[serde(default)]
    pub review_stage: Option<ReviewStage>,
    /// The last 退文, shown to the editor until the next submission.
    #[serde(default)]
    pub returned: Option<ReturnNote>,
    /// The last 保密审查 sign-off.
    #[serde(default)]
    pub secrecy: Option<SecrecySignOff>,
    /// The document that replaces this one (修订, or 失效/废止 by a new one).
    #[serde(default)]
    pub replaced_by: Option<i64>,
    /// When a scheduled document is published (by the leader).
    #[serde(default)]
    pub publish_at: Option<Millis>,
    /// When a published document is withdrawn (by the leader).
    #[serde(default)]
    pub unpublish_at: Option<Millis>,
    /// A copy (转载, or a 信息报送 the portal adopted) names its source:
    /// its content follows the source and its page links back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<i64>,
    /// Where a document came from outside the platform: a feed item's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_url: Option<String>,
}

// A document is its content plus its life; reading and writing the content
// through the document keeps the many readers (templates, checks, rows)
// unchanged.
impl std::ops::Deref for Document {
    type Target = DocumentContent;
    fn deref(&self) -> &DocumentContent {
        &self.content
    }
}

impl std::ops::DerefMut for Document {
    fn deref_mut(&mut self) -> &mut DocumentContent {
        &mut self.content
    }
}

impl Document {
    /// A new draft: the given identity, title and 发布机构, created `at`, and
    /// everything else empty or at its default. The API, the demo, imports and
    /// tests start here and set what they know.
    pub fn draft(id: i64, tenant_id: i64, channel_id: i64, title: impl Into<String>, issuing_organ: impl Into<String>, at: Millis) -> Document {
        Document {
            id,
            tenant_id,
            content: DocumentContent {
                channel_id,
                title: title.into(),
                body_html: String::new(),
                summary: None,
                source: None,
                author: None,
                meta: GovMeta {
                    index_no: String::new(),
                    doc_no: None,
                    issuing_organ: issuing_organ.into(),
                    written_date: None,
                    topic: None,
                    disclosure: None,
                    disclosure_basis: None,
                    disclosure_reason: None,
                    validity: Validity::Valid,
                },
                needs_secrecy_review: false,
                needs_interpretation: false,
                interprets: None,
                interpretation_kind: None,
            },
            state: DocState::Draft,
            created_at: at,
            updated_at: at,
            published_at: None,
            created_by: None,
            review_stage: None,
            returned: None,
            secrecy: None,
            replaced_by: None,
            publish_at: None,
            unpublish_at: None,
            copy_of: None,
            origin_url: None,
        }
    }

    /// Checks the free-text fields against their limits (`rules::limits`):
    /// what the state machine checks for proposals of version 1 on, and
    /// what the API checks before proposing.
    pub fn check_texts(&self) -> Result<(), crate::Rejection> {
        use crate::rules::limits::*;
        TITLE.required(&self.title)?;
        ISSUING_ORGAN.required(&self.meta.issuing_organ)?;
        SUMMARY.check(self.summary.as_deref())?;
        SOURCE.check(self.source.as_deref())?;
        AUTHOR.check(self.author.as_deref())?;
        TOPIC.check(self.meta.topic.as_deref())?;
        DISCLOSURE_BASIS.check(self.meta.disclosure_basis.as_deref())?;
        DISCLOSURE_REASON.check(self.meta.disclosure_reason.as_deref())?;
        if self.body_html.len() > BODY_HTML_BYTES {
            return Err(crate::Rejection::invalid("too_long", format!("the body is larger than {} MiB of HTML", BODY_HTML_BYTES / 1024 / 1024)));
        }
        Ok(())
    }

    /// Invariant 6: the public sees only published, proactively disclosed documents.
    pub fn is_public(&self) -> bool {
        self.state == DocState::Published && self.meta.disclosure == Some(Disclosure::Proactive)
    }
}

/// A partial update of a document; absent fields stay as they are. The
/// 索引号 is not among them: the state machine assigns it, and it never changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
// Logged in commands: unknown fields are ignored, so an older node reads a
// newer entry (invariant 10); the API refuses them (`api::Strict`).
pub struct DocumentPatch {
    pub channel_id: Option<i64>,
    pub title: Option<String>,
    pub body_html: Option<String>,
    pub summary: Option<String>,
    pub source: Option<String>,
    pub author: Option<String>,
    pub doc_no: Option<String>,
    pub issuing_organ: Option<String>,
    pub written_date: Option<String>,
    pub topic: Option<String>,
    pub disclosure: Option<Disclosure>,
    pub disclosure_basis: Option<String>,
    pub disclosure_reason: Option<String>,
    pub validity: Option<Validity>,
    pub needs_secrecy_review: Option<bool>,
    pub needs_interpretation: Option<bool>,
    pub interprets: Option<i64>,
    pub interpretation_kind: Option<InterpretationKind>,
    /// Attachments to link to the document (appended in this order).
    pub attachment_ids: Option<Vec<i64>>,
}

/// Sets each field of the content the patch names, leaving the others.
macro_rules! patch_content {
    ($patch:ident, $content:ident; $($field:ident => $($target:ident).+),* $(,)?) => {
        $(if let Some(v) = &$patch.$field { $content.$($target).+ = v.clone().into(); })*
    };
}

impl DocumentContent {
    /// The content with `patch` applied (the column it moves to is checked
    /// by the state machine; attachments are linked there too).
    pub fn apply(&mut self, patch: &DocumentPatch) {
        let content = self;
        patch_content!(patch, content;
            channel_id => channel_id, title => title, body_html => body_html, summary => summary, source => source, author => author,
            doc_no => meta.doc_no, issuing_organ => meta.issuing_organ, written_date => meta.written_date, topic => meta.topic,
            disclosure => meta.disclosure, disclosure_basis => meta.disclosure_basis, disclosure_reason => meta.disclosure_reason,
            validity => meta.validity, needs_secrecy_review => needs_secrecy_review, needs_interpretation => needs_interpretation,
            interprets => interprets, interpretation_kind => interpretation_kind,
        );
    }
}

impl DocumentPatch {
    /// The limits of the free-text fields it sets (see [`Document::check_texts`]).
    pub fn check_texts(&self) -> Result<(), crate::Rejection> {
        use crate::rules::limits::*;
        if let Some(title) = &self.title {
            TITLE.required(title)?;
        }
        if let Some(organ) = &self.issuing_organ {
            ISSUING_ORGAN.required(organ)?;
        }
        SUMMARY.check(self.summary.as_deref())?;
        SOURCE.check(self.source.as_deref())?;
        AUTHOR.check(self.author.as_deref())?;
        TOPIC.check(self.topic.as_deref())?;
        DISCLOSURE_BASIS.check(self.disclosure_basis.as_deref())?;
        DISCLOSURE_REASON.check(self.disclosure_reason.as_deref())
    }
}

/// A file of a document, stored content-addressed in the object store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub id: i64,
    pub tenant_id: i64,
    pub document_id: Option<i64>,
    /// Hex SHA-256 of the content: the object key.
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    /// The original file name as uploaded (may be Chinese).
    pub file_name: String,
    pub created_at: Millis,
    pub created_by: Option<i64>,
}
