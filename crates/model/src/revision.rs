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

/// One line of a diff: `" "` kept, `"-"` removed, `"+"` added.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffLine {
    pub op: &'static str,
    pub text: String,
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

/// A line diff by longest common subsequence (documents are short: a few
/// hundred lines at most, so the quadratic table is small).
pub fn diff_lines(before: &[String], after: &[String]) -> Vec<DiffLine> {
    let (n, m) = (before.len(), after.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if before[i] == after[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && before[i] == after[j] {
            out.push(DiffLine { op: " ", text: before[i].clone() });
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(DiffLine { op: "+", text: after[j].clone() });
            j += 1;
        } else {
            out.push(DiffLine { op: "-", text: before[i].clone() });
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_paragraph_shows_as_removed_and_added() {
        let a = html_lines("<p>一、总体要求。</p><p>二、工作任务。</p><p>三、保障措施。</p>");
        let b = html_lines("<p>一、总体要求。</p><p>二、重点工作任务。</p><p>三、保障措施。</p><p>四、附则。</p>");
        let d = diff_lines(&a, &b);
        let ops: Vec<(&str, &str)> = d.iter().map(|l| (l.op, l.text.as_str())).collect();
        assert_eq!(
            ops,
            vec![
                (" ", "<p>一、总体要求。</p>"),
                ("+", "<p>二、重点工作任务。</p>"),
                ("-", "<p>二、工作任务。</p>"),
                (" ", "<p>三、保障措施。</p>"),
                ("+", "<p>四、附则。</p>"),
            ]
        );
    }
}
