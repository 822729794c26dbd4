//! Line diffs of a document's revisions, bounded in time and memory.
//!
//! A body may have a quarter of a million lines (2 MiB of `<p>a</p>`); the
//! textbook longest-common-subsequence table for two of those is tens of
//! gigabytes, which once aborted a node. Myers' algorithm in linear space
//! (the `similar` crate) needs memory in proportion to the lines, and its
//! deadline stops the search for the *smallest* diff when it takes too
//! long: past it the answer is still a correct diff, only a coarser one.
//! The caller runs this in the heavy-work pool.

use std::time::{Duration, Instant};

use serde::Serialize;
use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

/// How long the search for the smallest diff may take.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// One line of a diff: `" "` kept, `"-"` removed, `"+"` added.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffLine {
    pub op: &'static str,
    pub text: String,
}

/// The line diff from `before` to `after`: every line of both, in order,
/// marked kept, removed or added. Removed lines come before the lines that
/// replace them.
pub fn diff_lines(before: &[String], after: &[String], deadline: Instant) -> Vec<DiffLine> {
    let mut out = Vec::with_capacity(before.len().max(after.len()));
    let line = |op, text: &String| DiffLine { op, text: text.clone() };
    for op in capture_diff_slices_deadline(Algorithm::Myers, before, after, Some(deadline)) {
        match op {
            DiffOp::Equal { old_index, len, .. } => out.extend(before[old_index..old_index + len].iter().map(|t| line(" ", t))),
            DiffOp::Delete { old_index, old_len, .. } => out.extend(before[old_index..old_index + old_len].iter().map(|t| line("-", t))),
            DiffOp::Insert { new_index, new_len, .. } => out.extend(after[new_index..new_index + new_len].iter().map(|t| line("+", t))),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                out.extend(before[old_index..old_index + old_len].iter().map(|t| line("-", t)));
                out.extend(after[new_index..new_index + new_len].iter().map(|t| line("+", t)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use zhanqun_model::revision::html_lines;

    use super::*;

    fn ops(d: &[DiffLine]) -> Vec<(&str, &str)> {
        d.iter().map(|l| (l.op, l.text.as_str())).collect()
    }

    #[test]
    fn a_changed_paragraph_shows_as_removed_and_added() {
        let a = html_lines("<p>一、总体要求。</p><p>二、工作任务。</p><p>三、保障措施。</p>");
        let b = html_lines("<p>一、总体要求。</p><p>二、重点工作任务。</p><p>三、保障措施。</p><p>四、附则。</p>");
        let d = diff_lines(&a, &b, Instant::now() + DEADLINE);
        assert_eq!(
            ops(&d),
            vec![
                (" ", "<p>一、总体要求。</p>"),
                ("-", "<p>二、工作任务。</p>"),
                ("+", "<p>二、重点工作任务。</p>"),
                (" ", "<p>三、保障措施。</p>"),
                ("+", "<p>四、附则。</p>"),
            ]
        );
    }

    #[test]
    fn huge_bodies_past_the_deadline_still_give_a_diff_that_rebuilds_both_sides() {
        // 200,000 lines each, every other one changed: no small diff exists.
        let a: Vec<String> = (0..200_000).map(|i| format!("<p>{i}</p>")).collect();
        let b: Vec<String> = (0..200_000).map(|i| if i % 2 == 0 { format!("<p>{i}</p>") } else { format!("<p>改{i}</p>") }).collect();
        // A deadline already passed: the coarsest answer, at once.
        let d = diff_lines(&a, &b, Instant::now());
        let old: Vec<&str> = d.iter().filter(|l| l.op != "+").map(|l| l.text.as_str()).collect();
        let new: Vec<&str> = d.iter().filter(|l| l.op != "-").map(|l| l.text.as_str()).collect();
        assert_eq!(old, a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(new, b.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
