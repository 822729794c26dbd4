//! Revisions of a document: what an edit made of it, and the text diff
//! between two of them.

use serde::{Deserialize, Serialize};

use crate::{Document, GovMeta, InterpretationKind, Millis};

/// The editable content of a document at one revision (not its workflow
/// state: a revision records what was written, not who approved it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevisionContent {
    pub channel_id: i64,
    pub title: String,
    pub body_html: String,
    pub summary: Option<String>,
    pub source: Option<String>,
    pub author: Option<String>,
    pub meta: GovMeta,
    pub needs_secrecy_review: bool,
    pub needs_interpretation: bool,
    pub interprets: Option<i64>,
    pub interpretation_kind: Option<InterpretationKind>,
}

impl From<&Document> for RevisionContent {
    fn from(d: &Document) -> Self {
        RevisionContent {
            channel_id: d.channel_id,
            title: d.title.clone(),
            body_html: d.body_html.clone(),
            summary: d.summary.clone(),
            source: d.source.clone(),
            author: d.author.clone(),
            meta: d.meta.clone(),
            needs_secrecy_review: d.needs_secrecy_review,
            needs_interpretation: d.needs_interpretation,
            interprets: d.interprets,
            interpretation_kind: d.interpretation_kind,
        }
    }
}

impl RevisionContent {
    /// The metadata as (label, value) lines, for diffs.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("标题", self.title.clone()),
            ("摘要", opt(&self.summary)),
            ("来源", opt(&self.source)),
            ("作者", opt(&self.author)),
            ("文号", opt(&self.meta.doc_no)),
            ("发布机构", self.meta.issuing_organ.clone()),
            ("成文日期", opt(&self.meta.written_date)),
            ("主题分类", opt(&self.meta.topic)),
            ("公开属性", self.meta.disclosure.map(|d| d.to_string()).unwrap_or_default()),
            ("公开依据", opt(&self.meta.disclosure_basis)),
            ("不公开理由", opt(&self.meta.disclosure_reason)),
            ("有效性", self.meta.validity.to_string()),
            ("栏目", self.channel_id.to_string()),
        ]
    }
}

/// One stored revision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Revision {
    pub revision: i64,
    pub at: Millis,
    pub actor: Option<i64>,
    pub content: RevisionContent,
}

/// A revision as a list shows it: without its content.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevisionSummary {
    pub revision: i64,
    pub at: Millis,
    pub actor: Option<i64>,
    pub title: String,
}

/// Splits HTML into lines at block boundaries, so that a diff shows
/// paragraphs, not one enormous line.
pub fn html_lines(html: &str) -> Vec<String> {
    let mut marked = html.to_string();
    for tag in ["</p>", "</div>", "</li>", "</h1>", "</h2>", "</h3>", "</h4>", "</tr>", "<br>", "<br/>", "<br />"] {
        marked = marked.replace(tag, &format!("{tag}\n"));
    }
    marked.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_splits_into_lines_at_block_ends() {
        let lines = html_lines("<p>一、总体要求。</p><p>二、工作任务。</p><ul><li>甲</li><li>乙</li></ul>正文<br>续");
        assert_eq!(lines, vec!["<p>一、总体要求。</p>", "<p>二、工作任务。</p>", "<ul><li>甲</li>", "<li>乙</li>", "</ul>正文<br>", "续"]);
    }
}
