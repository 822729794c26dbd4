//! Snippets: a hit's title and a short piece of its text as escaped HTML,
//! the query's words in `<em>`.
//!
//! Matches are found by string search over the normalized text (full-width
//! folded, Latin lower-cased, as the tokenizer normalizes), not by running
//! jieba over it again. Segmenting ten bodies cost more than the rest of a
//! search page; a search costs microseconds. It also highlights a query
//! word where the document's segmentation cut it in two (污水处理 in
//! 新建污水处理厂, cut 污水/处理厂). A Latin word or number matches only
//! whole (`ppp` not inside `apppb`); a Chinese word may match inside a
//! longer one, as readers expect of a highlight.

use std::ops::Range;

use zhanqun_model::escape_html;

use crate::tokenizer::normalize;

/// Bytes of text on each side of the first place of the rarest word that a
/// fragment is looked for in: the fragment is short, and normalizing a
/// whole body of some kilobytes for it costs more than the rest of a hit.
const REACH: usize = 480;

/// Bytes of a clause shown before a match that is not at its start (four
/// Chinese characters): fewer read as noise.
const MIN_LEAD: usize = 12;

/// Characters of a body shown when no query word is in it.
const LEAD_CHARS: usize = 80;

/// The query's words and what each weighs (rarer words weigh more), for
/// highlighting the hits of one query.
pub(crate) struct Highlighter {
    /// Normalized words, the weightiest first.
    words: Vec<(String, f32)>,
}

impl Highlighter {
    /// `words` as the query analyzer yields them (normalized), each with its
    /// weight.
    pub(crate) fn new(mut words: Vec<(String, f32)>) -> Highlighter {
        words.retain(|(w, _)| !w.is_empty());
        words.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.len().cmp(&a.0.len())));
        words.dedup_by(|a, b| a.0 == b.0);
        Highlighter { words }
    }

    /// All of `title`, escaped, its matches in `<em>`.
    pub(crate) fn title(&self, title: &str) -> String {
        let (normalized, origin) = normalize(title);
        let found = self.matches(&normalized, &origin);
        marked(title, 0..title.len(), &found)
    }

    /// At most `max_bytes` of `body` around its weightiest run of matches,
    /// escaped, matches in `<em>`; its beginning when no word is in it.
    pub(crate) fn fragment(&self, body: &str, max_bytes: usize) -> String {
        let window = self.near_a_match(body);
        let text = &body[window.clone()];
        let (normalized, origin) = normalize(text);
        let found: Vec<(Range<usize>, usize)> =
            self.matches(&normalized, &origin).into_iter().map(|(r, w)| (r.start + window.start..r.end + window.start, w)).collect();
        let Some(best) = self.best_fragment(&found, max_bytes) else {
            let lead: String = body.chars().take(LEAD_CHARS).collect();
            let cut = if lead.len() < body.len() { "…" } else { "" };
            return escape_html(&lead) + cut;
        };
        // Some words before the first match, for context, when they fit,
        // from the start of a clause when one begins among them.
        let first = found[best.start].0.start;
        let span = found[best.clone()].last().map_or(0, |(r, _)| r.end) - first;
        let lead = (max_bytes.saturating_sub(span) / 3).min(first);
        let mut start = body.floor_char_boundary(first - lead);
        match body[start..first].char_indices().rev().find(|&(_, c)| is_break(c)) {
            Some((at, c)) => start += at + c.len_utf8(),
            // A character or two of a clause read as noise: begin at the match.
            None if first - start < MIN_LEAD => start = first,
            None => {}
        }
        let end = body.floor_char_boundary((start + max_bytes).min(body.len())).max(found[best.clone()].last().map_or(start, |(r, _)| r.end));
        let inside: Vec<(Range<usize>, usize)> = found.into_iter().filter(|(r, _)| r.start >= start && r.end <= end).collect();
        // An ellipsis where the fragment cuts into a clause.
        let cut_before = start > 0 && !body[..start].ends_with(is_break);
        let cut_after = end < body.len();
        format!("{}{}{}", if cut_before { "…" } else { "" }, marked(body, start..end, &inside), if cut_after { "…" } else { "" })
    }

    /// The run of `found` (sorted matches) that fits in `max_bytes` and
    /// weighs most, each distinct word counted once per run (a repeat adds a
    /// tenth); `None` when there are no matches.
    fn best_fragment(&self, found: &[(Range<usize>, usize)], max_bytes: usize) -> Option<Range<usize>> {
        let mut best: Option<(f32, Range<usize>)> = None;
        let mut end = 0;
        let mut seen = vec![false; self.words.len()];
        for start in 0..found.len() {
            end = end.max(start + 1);
            while end < found.len() && found[end].0.end - found[start].0.start <= max_bytes {
                end += 1;
            }
            seen.fill(false);
            let mut score = 0.0;
            for (_, word) in &found[start..end] {
                let weight = self.words[*word].1;
                score += if std::mem::replace(&mut seen[*word], true) { weight * 0.1 } else { weight };
            }
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, start..end));
            }
        }
        best.map(|(_, run)| run)
    }

    /// The part of `text` within [`REACH`] of the first place its
    /// weightiest word is written as the query has it; all of `text` when
    /// none is (it may be written in other letters: full-width, capitals).
    fn near_a_match(&self, text: &str) -> Range<usize> {
        let Some(at) = self.words.iter().find_map(|(w, _)| text.find(w.as_str())) else { return 0..text.len() };
        text.floor_char_boundary(at.saturating_sub(REACH))..text.ceil_char_boundary((at + REACH).min(text.len()))
    }

    /// Every place a word is written in `normalized`, as byte ranges of the
    /// original text (`origin` maps back) with the word's place in
    /// `self.words`, in text order.
    fn matches(&self, normalized: &str, origin: &[usize]) -> Vec<(Range<usize>, usize)> {
        let mut found = Vec::new();
        for (i, (word, _)) in self.words.iter().enumerate() {
            let latin = word.bytes().all(|b| b.is_ascii_alphanumeric());
            for (at, _) in normalized.match_indices(word.as_str()) {
                let end = at + word.len();
                let joined = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
                if latin && (joined(normalized.as_bytes().get(end)) || at > 0 && joined(normalized.as_bytes().get(at - 1))) {
                    continue;
                }
                found.push((origin[at]..origin[end], i));
            }
        }
        found.sort_by_key(|(r, _)| (r.start, r.end));
        found
    }
}

/// Where a clause ends: a fragment may begin after it without an ellipsis.
fn is_break(c: char) -> bool {
    matches!(c, '。' | '，' | '；' | '：' | '！' | '？' | '、' | ',' | '.' | ';' | ':' | '!' | '?') || c.is_whitespace()
}

/// `text[shown]` escaped, with the `found` ranges (inside `shown`, sorted)
/// in `<em>`. Overlapping and touching matches join into one.
fn marked(text: &str, shown: Range<usize>, found: &[(Range<usize>, usize)]) -> String {
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for (r, _) in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r.clone()),
        }
    }
    let mut out = String::with_capacity(shown.len() + 16 * merged.len());
    let mut at = shown.start;
    for r in merged {
        out.push_str(&escape_html(&text[at..r.start]));
        out.push_str("<em>");
        out.push_str(&escape_html(&text[r.clone()]));
        out.push_str("</em>");
        at = r.end;
    }
    out.push_str(&escape_html(&text[at..shown.end]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[(&str, f32)]) -> Highlighter {
        Highlighter::new(list.iter().map(|(w, s)| (w.to_string(), *s)).collect())
    }

    #[test]
    fn a_word_in_other_letters_is_marked_as_written() {
        let h = words(&[("ppp", 1.0), ("模式", 0.5)]);
        assert_eq!(h.title("采用ＰＰＰ模式建设"), "采用<em>ＰＰＰ模式</em>建设");
        assert_eq!(h.title("采用PPP模式"), "采用<em>PPP模式</em>");
    }

    #[test]
    fn latin_words_match_only_whole() {
        let h = words(&[("ppp", 1.0)]);
        assert_eq!(h.title("apppb 与 PPP"), "apppb 与 <em>PPP</em>");
    }

    #[test]
    fn the_fragment_is_where_the_rare_words_are() {
        let h = words(&[("污水", 0.5), ("工作", 0.05)]);
        let body = format!("{}新建污水处理厂。{}", "工作会议。".repeat(100), "工作会议。".repeat(100));
        let f = h.fragment(&body, 160);
        assert!(f.contains("<em>污水</em>"), "{f}");
        let shown = f.replace("<em>", "").replace("</em>", "");
        assert!(shown.trim_matches('…').len() <= 160, "{f}");
        // Alone in the last clause: shown from the clause's start.
        let f = h.fragment(&format!("{}新建污水处理厂。", "会议召开。".repeat(100)), 160);
        assert_eq!(f, "新建<em>污水</em>处理厂。");
    }

    #[test]
    fn a_fragment_cut_inside_a_clause_says_so() {
        let h = words(&[("污水", 1.0)]);
        let body = format!("{}污水{}", "中".repeat(200), "中".repeat(200));
        let f = h.fragment(&body, 160);
        assert!(f.starts_with('…') && f.ends_with('…') && f.contains("<em>污水</em>"), "{f}");
    }

    #[test]
    fn two_words_of_equal_weight_count_as_two() {
        // 污水 three times weighs 1.2; 污水 with 处理厂 weighs 2.
        let h = words(&[("污水", 1.0), ("处理厂", 1.0)]);
        let body = format!("污水污水污水。{}新建处理厂接纳污水。", "会议召开。".repeat(60));
        assert!(h.fragment(&body, 60).contains("<em>处理厂</em>"), "{}", h.fragment(&body, 60));
    }

    #[test]
    fn a_body_without_a_match_shows_its_beginning() {
        let h = words(&[("防汛", 1.0)]);
        assert_eq!(h.fragment("<b>秋季</b>农业生产", 160), "&lt;b&gt;秋季&lt;/b&gt;农业生产");
    }

    #[test]
    fn the_text_around_matches_is_escaped() {
        let h = words(&[("环境", 1.0)]);
        let f = h.fragment("优化营商环境 & 服务 <b>企业</b>", 160);
        assert_eq!(f, "优化营商<em>环境</em> &amp; 服务 &lt;b&gt;企业&lt;/b&gt;");
    }
}
