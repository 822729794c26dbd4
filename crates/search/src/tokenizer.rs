//! Chinese analysis for tantivy over jieba.
//!
//! Text is first normalized — full-width letters, digits and punctuation to
//! their half-width forms, Latin lower-cased — with a map back to the
//! original byte offsets, so highlights land on the text as written. Then
//! jieba segments it: documents in *index* mode (every dictionary word inside
//! a longer one too: 中华人民共和国 also yields 中华, 人民, 共和国), queries in
//! *query* mode (the most likely single segmentation). A query word is
//! then among a document's words, unless the document's segmentation cut
//! it in two (污水处理 in 新建污水处理厂, cut 新建/污水/处理厂): for that,
//! the query also looks for its dictionary parts in a row (`parts_of`).
//! Punctuation and spaces are dropped; numbers and Latin words are kept,
//! which is what makes a 文号 such as 海政办发〔2017〕37号 findable whole
//! (海政/办发/2017/37/号 as a phrase) and in parts (`37号`, `海政办发`), with
//! any bracket style.

use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The government terms shipped with zhanqun (`dict/gov.txt`): one word per
/// line, optionally followed by a frequency and a part-of-speech tag.
pub const GOV_DICTIONARY: &str = include_str!("../dict/gov.txt");

/// Names the analysis documents are tokenized with: the segmentation rules
/// in this file and [`GOV_DICTIONARY`]. Change it when either changes, so an
/// index built by an earlier binary is built again (its documents' words are
/// not what this binary's queries look for).
pub const ANALYSIS_VERSION: &str = "t2";

/// A jieba instance with the default dictionary plus zhanqun's and the
/// operator's own words. Building it takes ~100 ms, so it is built once and
/// shared.
pub fn build_jieba(extra_dictionaries: &[&str]) -> Result<Arc<Jieba>, String> {
    let mut jieba = Jieba::new();
    for dict in std::iter::once(GOV_DICTIONARY).chain(extra_dictionaries.iter().copied()) {
        jieba.load_dict(&mut std::io::BufReader::new(dict.as_bytes())).map_err(|e| format!("invalid dictionary line: {e}"))?;
    }
    Ok(Arc::new(jieba))
}

/// Which segmentation a tokenizer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Documents: every dictionary word, nested ones included.
    Index,
    /// Queries: one best segmentation.
    Query,
}

#[derive(Clone)]
pub struct ChineseTokenizer {
    jieba: Arc<Jieba>,
    mode: Mode,
    tokens: Vec<Token>,
}

impl ChineseTokenizer {
    pub fn new(jieba: Arc<Jieba>, mode: Mode) -> Self {
        ChineseTokenizer { jieba, mode, tokens: Vec::new() }
    }
}

/// Maps full-width forms to half-width and lower-cases Latin. Returns the
/// normalized text and, for each of its bytes, the byte offset in `text` of
/// the character it came from (plus one entry for the end).
pub fn normalize(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    for (at, c) in text.char_indices() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        let c = c.to_ascii_lowercase();
        let before = out.len();
        out.push(c);
        origin.extend(std::iter::repeat_n(at, out.len() - before));
    }
    origin.push(text.len());
    (out, origin)
}

/// Whether a segment carries meaning (letters, digits, CJK), as opposed to
/// spaces and punctuation.
fn is_word(s: &str) -> bool {
    s.chars().any(|c| c.is_alphanumeric())
}

impl Tokenizer for ChineseTokenizer {
    type TokenStream<'a> = ChineseTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ChineseTokenStream<'a> {
        self.tokens.clear();
        let (normalized, origin) = normalize(text);
        // Positions follow the one-best segmentation (what a query yields).
        // In index mode the nested words of a long word share its position,
        // so a query's words stay adjacent for phrase matching: 文号 terms
        // in a document line up with the same terms typed as a query.
        let best: Vec<jieba_rs::Token> = self.jieba.tokenize(&normalized, TokenizeMode::Default, true).into_iter().filter(|t| is_word(t.word)).collect();
        let words: Vec<(usize, usize)> = best.iter().map(|t| (t.start, t.end)).collect();
        let tokens = match self.mode {
            Mode::Index => {
                let mut all = self.jieba.tokenize(&normalized, TokenizeMode::Search, true);
                all.extend(best.iter().flat_map(|w| long_words_inside(&self.jieba, w)));
                all
            }
            Mode::Query => best,
        };
        for t in tokens {
            if !is_word(t.word) {
                continue;
            }
            // The word that contains this token (char offsets).
            let position = words.partition_point(|&(_, end)| end <= t.start);
            self.tokens.push(Token {
                offset_from: origin[t.byte_start],
                offset_to: origin[t.byte_end],
                position,
                text: t.word.to_string(),
                position_length: 1,
            });
        }
        ChineseTokenStream { tokens: &mut self.tokens, next: 0 }
    }
}

/// The dictionary words of four or more characters written inside `word`,
/// a longer one: jieba's search mode offers only the two- and
/// three-character ones, so without these a query for 污水处理 would not find
/// 污水处理厂 (a query segments it as one word).
fn long_words_inside<'a>(jieba: &Jieba, word: &jieba_rs::Token<'a>) -> Vec<jieba_rs::Token<'a>> {
    // Most words are shorter than five characters and hold none.
    if word.end - word.start < 5 {
        return Vec::new();
    }
    let chars: Vec<usize> = word.word.char_indices().map(|(at, _)| at).chain([word.word.len()]).collect();
    let count = chars.len() - 1;
    let mut found = Vec::new();
    for len in 4..count {
        for i in 0..=count - len {
            let inner = &word.word[chars[i]..chars[i + len]];
            if jieba.has_word(inner) {
                found.push(jieba_rs::Token {
                    word: inner,
                    start: word.start + i,
                    end: word.start + i + len,
                    byte_start: word.byte_start + chars[i],
                    byte_end: word.byte_start + chars[i + len],
                });
            }
        }
    }
    found
}

/// The shorter dictionary words that spell `word` from its start, longest
/// first at each place (污水处理 → 污水, 处理); empty when it has no such
/// spelling of two or more parts. A query word can be written across two of
/// a document's words: jieba cuts 新建污水处理厂 as 新建/污水/处理厂, and the
/// query matches it as the phrase of these parts.
pub(crate) fn parts_of(jieba: &Jieba, word: &str) -> Vec<String> {
    let chars: Vec<usize> = word.char_indices().map(|(at, _)| at).chain([word.len()]).collect();
    let count = chars.len() - 1;
    if count < 3 {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < count {
        let longest = (i + 2..=count).rev().filter(|&end| end - i < count).find(|&end| jieba.has_word(&word[chars[i]..chars[end]]));
        let end = longest.unwrap_or(i + 1);
        parts.push(word[chars[i]..chars[end]].to_string());
        i = end;
    }
    parts
}

pub struct ChineseTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for ChineseTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(mode: Mode, text: &str) -> Vec<String> {
        let mut t = ChineseTokenizer::new(build_jieba(&[]).unwrap(), mode);
        let mut stream = t.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// Fails when the shipped dictionary changes, as a reminder: documents
    /// indexed with the old one must be indexed again.
    #[test]
    fn the_analysis_version_names_this_gov_dictionary() {
        let fnv = GOV_DICTIONARY.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        assert_eq!(
            (ANALYSIS_VERSION, fnv),
            ("t2", 13_392_771_354_179_706_192),
            "dict/gov.txt changed: raise ANALYSIS_VERSION, then put the new version and digest here"
        );
    }

    #[test]
    fn full_width_and_case_are_normalized_with_offsets_kept() {
        let (n, origin) = normalize("ＡＢＣ１２３　Ok");
        assert_eq!(n, "abc123 ok");
        assert_eq!(origin[3], 9, "the 4th normalized byte comes from the 4th full-width char");
        assert_eq!(*origin.last().unwrap(), "ＡＢＣ１２３　Ok".len());
    }

    #[test]
    fn doc_numbers_tokenize_alike_in_every_bracket_style() {
        let whole = words(Mode::Query, "海政办发〔2017〕37号");
        assert_eq!(words(Mode::Query, "海政办发[2017]37号"), whole);
        assert_eq!(words(Mode::Query, "海政办发(2017)37号"), whole);
        assert_eq!(words(Mode::Query, "海政办发（２０１７）３７号"), whole);
        assert!(whole.contains(&"2017".to_string()) && whole.contains(&"37".to_string()), "{whole:?}");
    }

    #[test]
    fn index_mode_yields_nested_words_and_the_gov_dictionary_is_loaded() {
        let index = words(Mode::Index, "中华人民共和国政府信息公开条例");
        for w in ["中华", "人民", "共和国", "政府信息公开", "条例"] {
            assert!(index.contains(&w.to_string()), "{w} missing from {index:?}");
        }
        assert_eq!(words(Mode::Query, "推进一网通办"), vec!["推进", "一网通办"]);
    }

    #[test]
    fn a_long_word_yields_the_long_dictionary_words_inside_it() {
        let index = words(Mode::Index, "中华人民共和国政府信息公开条例");
        assert!(index.contains(&"中华人民共和国".to_string()), "{index:?}");
        assert!(index.contains(&"中华人民".to_string()), "{index:?}");
    }

    #[test]
    fn a_long_query_word_is_spelled_by_its_parts() {
        let jieba = build_jieba(&[]).unwrap();
        assert_eq!(parts_of(&jieba, "污水处理"), vec!["污水", "处理"]);
        assert!(parts_of(&jieba, "工作").is_empty(), "two characters are one part");
    }

    #[test]
    fn nested_words_share_the_position_of_the_word_they_are_in() {
        let mut t = ChineseTokenizer::new(build_jieba(&[]).unwrap(), Mode::Index);
        let mut stream = t.token_stream("海城市人民政府办公室 海政办发〔2017〕37号");
        let mut at = std::collections::HashMap::new();
        while stream.advance() {
            at.insert(stream.token().text.clone(), stream.token().position);
        }
        // Query mode yields 2017, 37, 号 as consecutive words; so must the index.
        assert_eq!((at["37"], at["号"]), (at["2017"] + 1, at["2017"] + 2), "{at:?}");
        let query = words(Mode::Query, "海政办发〔2017〕37号");
        let positions: Vec<usize> = query.iter().map(|w| at[w]).collect();
        assert!(positions.windows(2).all(|p| p[1] == p[0] + 1), "{query:?} at {positions:?}");
    }

    #[test]
    fn punctuation_is_dropped_and_offsets_point_into_the_original() {
        let mut t = ChineseTokenizer::new(build_jieba(&[]).unwrap(), Mode::Query);
        let text = "关于（乡村振兴）的通知！";
        let mut stream = t.token_stream(text);
        let mut seen = Vec::new();
        while stream.advance() {
            let tok = stream.token();
            assert_eq!(&text[tok.offset_from..tok.offset_to], tok.text, "offsets of {}", tok.text);
            seen.push(tok.text.clone());
        }
        assert!(seen.contains(&"乡村振兴".to_string()), "{seen:?}");
        assert!(!seen.iter().any(|w| w.contains('(') || w.contains('!')), "{seen:?}");
    }
}
