//! Revisions of a document: what an edit made of it, and the text diff
//! between two of them.

use serde::{Deserialize, Serialize};

use crate::{DocumentContent, Millis};

/// The content of a document at one revision: what was written, not who
/// approved it. The same type as the document's content, so a revision
/// keeps every editable field there is.
pub type RevisionContent = DocumentContent;

impl DocumentContent {
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
