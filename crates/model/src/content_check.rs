//! Content safety before publishing (发布前内容检查): words the operator
//! lists (错敏词: wrong names and titles, banned or outdated expressions,
//! common misspellings), and personal data that must not be published
//! (身份证号 with a valid check digit, mobile numbers, bank card numbers
//! passing Luhn). Pure: the text and the list in, the hits with their
//! position out; the API refuses a submission with a blocking hit and the
//! editor shows every hit where it is.

use serde::Serialize;

/// One entry of the operator's word list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordRule {
    pub word: String,
    /// A blocking word stops submission; the others are shown as warnings.
    pub block: bool,
    /// What to write instead, if there is one.
    pub suggestion: Option<String>,
}

/// Reads a word list: one entry per line, `block` or `warn`, a tab, the
/// word, and optionally a tab and what to write instead. `#` starts a
/// comment line.
pub fn parse_word_list(text: &str) -> Result<Vec<WordRule>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let mut parts = line.split('\t');
        let block = match parts.next().map(str::trim) {
            Some("block") => true,
            Some("warn") => false,
            other => return Err(format!("line {}: starts with `{}`; expected `block` or `warn`, then a tab and the word", n + 1, other.unwrap_or(""))),
        };
        let word = parts.next().map(str::trim).filter(|w| !w.is_empty()).ok_or_else(|| format!("line {}: no word after the tab", n + 1))?;
        let suggestion = parts.next().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        out.push(WordRule { word: word.to_string(), block, suggestion });
    }
    Ok(out)
}

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A word of the operator's list.
    Word,
    /// 身份证号.
    IdCard,
    /// 手机号.
    Mobile,
    /// 银行卡号.
    BankCard,
    /// An image without alternative text (alt): a screen reader says
    /// nothing of it (GB/T 37668-2019, WCAG 1.1.1).
    ImageAlt,
    /// A link to a host not on the outbound allow-list: expired and
    /// re-registered domains are how 暗链 get onto government pages.
    OutboundLink,
    /// A link to one of the site's own pages that does not answer (错链).
    DeadLink,
}

/// Something found, where it was (in characters from the start of the
/// field), and whether it stops submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub kind: HitKind,
    pub field: &'static str,
    pub at: usize,
    /// The word, or the number masked (never the full number).
    pub text: String,
    pub block: bool,
    pub suggestion: Option<String>,
    /// The attachment the text came from, when not the document itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Hit {
    /// The hit in Chinese for the editor and the refusal.
    pub fn describe(&self) -> String {
        let field = match (&self.source, self.field) {
            (Some(file), _) => format!("附件《{file}》"),
            (None, "title") => "标题".to_string(),
            (None, "summary") => "摘要".to_string(),
            (None, _) => "正文".to_string(),
        };
        let what = match self.kind {
            HitKind::Word => match &self.suggestion {
                Some(s) => format!("「{}」应为「{s}」", self.text),
                None => format!("「{}」不宜使用", self.text),
            },
            HitKind::IdCard => format!("疑似身份证号 {}", self.text),
            HitKind::Mobile => format!("疑似手机号 {}", self.text),
            HitKind::BankCard => format!("疑似银行卡号 {}", self.text),
            HitKind::ImageAlt => format!("图片缺少替代文字（alt）{}", self.text),
            HitKind::OutboundLink => format!("链接指向白名单以外的网站 {}", self.text),
            HitKind::DeadLink => format!("站内链接打不开 {}", self.text),
        };
        format!("{field}第{}字：{what}", self.at + 1)
    }
}

/// What a tag leaves in [`visible_text`]: it keeps words split by markup
/// apart, and is not counted in positions.
const TAG: char = '\u{1}';

/// The text of HTML for checking: tags dropped (each leaves a mark that
/// keeps words on either side apart and is not counted as a character),
/// the common entities decoded.
pub fn visible_text(html: &str) -> String {
    crate::html::text(html, TAG)
}

/// What the operator configured the content check with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRules {
    pub words: Vec<WordRule>,
    pub links: LinkAllowList,
}

impl Default for ContentRules {
    fn default() -> Self {
        ContentRules { words: Vec::new(), links: LinkAllowList::default_domains() }
    }
}

impl ContentRules {
    /// Every hit in a document's title, summary and body (its words and
    /// numbers, then its markup), with the hosts of the sites on this
    /// platform allowed as link targets.
    pub fn check_document(&self, title: &str, summary: &str, body_html: &str, own_hosts: impl IntoIterator<Item = String>) -> Vec<Hit> {
        let allowed = self.links.with(own_hosts);
        let mut hits = check("title", title, &self.words);
        hits.extend(check("summary", summary, &self.words));
        let mut body = check("body", &visible_text(body_html), &self.words);
        body.extend(check_markup(body_html, &allowed));
        body.sort_by_key(|h| h.at);
        hits.extend(body);
        hits
    }
}

impl Hit {
    /// A hit that must not stay on a published page: personal data, or a
    /// word the operator blocks.
    pub fn serious(&self) -> bool {
        self.is_personal_data() || self.kind == HitKind::Word && self.block
    }

    /// 身份证号, mobile or bank card number: what a reviewer may let stay.
    pub fn is_personal_data(&self) -> bool {
        matches!(self.kind, HitKind::IdCard | HitKind::Mobile | HitKind::BankCard)
    }
}

/// The domains a body may link to without a warning: each entry allows
/// itself and every name under it (`gov.cn` allows `www.gov.cn`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkAllowList {
    domains: Vec<String>,
}

impl LinkAllowList {
    /// The list when the operator gives none: government domains.
    pub fn default_domains() -> LinkAllowList {
        LinkAllowList { domains: vec!["gov.cn".into()] }
    }

    /// Reads an allow-list file: one domain per line, `#` starts a comment.
    pub fn parse(text: &str) -> Result<LinkAllowList, String> {
        let mut domains = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let d = line.split('#').next().unwrap_or("").trim().trim_start_matches("*.").trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty() {
                continue;
            }
            if crate::rules::check_host(&d).is_err() {
                return Err(format!("line {}: `{d}` is not a domain name (write one domain per line, such as `gov.cn`)", n + 1));
            }
            domains.push(d);
        }
        Ok(LinkAllowList { domains })
    }

    /// The list with more domains (the hosts of the sites on this platform).
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> LinkAllowList {
        let mut domains = self.domains.clone();
        domains.extend(more);
        LinkAllowList { domains }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().any(|d| host == *d || host.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
    }
}

/// The words and personal data in the text of an attachment named `file`.
pub fn check_attachment(file: &str, text: &str, words: &[WordRule]) -> Vec<Hit> {
    let mut hits = check("attachment", text, words);
    for h in &mut hits {
        h.source = Some(file.to_string());
    }
    hits
}

/// What the markup of a body shows that its text does not: images without
/// alternative text (blocking), and links to hosts not on the allow-list
/// (a warning). Positions are in characters of the visible text before the
/// tag, as [`check`] counts them.
pub fn check_markup(html: &str, allowed: &LinkAllowList) -> Vec<Hit> {
    let mut hits = Vec::new();
    let at = |byte: usize| visible_chars_before(html, byte);
    for tag in crate::html::start_tags(html) {
        match tag.name.as_str() {
            "img" if tag.attr("alt").is_none_or(|a| a.trim().is_empty()) => {
                let src: String = tag.attr("src").unwrap_or_default().chars().take(80).collect();
                hits.push(Hit { kind: HitKind::ImageAlt, field: "body", at: at(tag.at), text: src, block: true, suggestion: None, source: None });
            }
            "a" => {
                let Some(host) = tag.attr("href").as_deref().and_then(link_host) else { continue };
                if !allowed.allows(&host) {
                    hits.push(Hit { kind: HitKind::OutboundLink, field: "body", at: at(tag.at), text: host, block: false, suggestion: None, source: None });
                }
            }
            _ => {}
        }
    }
    hits
}

/// The site's own pages a body links to, each with its position in
/// characters of the visible text, for checking that they answer.
pub fn internal_links(html: &str, hosts: &[String]) -> Vec<(usize, String)> {
    crate::html::internal_links(html, hosts).into_iter().map(|(byte, path)| (visible_chars_before(html, byte), path)).collect()
}

/// A link to `path` that answered `status` (0: no answer), as a hit.
pub fn dead_link(at: usize, path: &str, status: u16) -> Hit {
    let answer = if status == 0 { "无应答".to_string() } else { status.to_string() };
    Hit { kind: HitKind::DeadLink, field: "body", at, text: format!("{path} → {answer}"), block: false, suggestion: None, source: None }
}

fn visible_chars_before(html: &str, byte: usize) -> usize {
    crate::html::text(&html[..byte], TAG).chars().filter(|c| *c != TAG).count()
}

/// The host of an absolute http(s) link (or a scheme-relative one);
/// `None` for links inside the site, mail and anchors.
fn link_host(href: &str) -> Option<String> {
    let href = href.trim();
    let lower = href.to_ascii_lowercase();
    let rest = ["http://", "https://", "//"].iter().find_map(|p| lower.strip_prefix(p))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') { host } else { host.split(':').next().unwrap_or("") };
    (!host.is_empty()).then(|| host.to_string())
}

/// Every hit in one field's text, at its position as a reader counts it.
pub fn check(field: &'static str, text: &str, words: &[WordRule]) -> Vec<Hit> {
    let chars: Vec<char> = text.chars().collect();
    let mut hits = raw_hits(field, &chars, words);
    // Tag marks are not characters the reader sees.
    let mut shown_before = Vec::with_capacity(chars.len() + 1);
    let mut n = 0;
    for c in &chars {
        shown_before.push(n);
        if *c != TAG {
            n += 1;
        }
    }
    for h in &mut hits {
        h.at = shown_before[h.at];
    }
    hits
}

fn raw_hits(field: &'static str, chars: &[char], words: &[WordRule]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for rule in words {
        let w: Vec<char> = rule.word.chars().collect();
        if w.is_empty() {
            continue;
        }
        let mut i = 0;
        while i + w.len() <= chars.len() {
            if chars[i..i + w.len()] == w[..] {
                hits.push(Hit {
                    kind: HitKind::Word,
                    field,
                    at: i,
                    text: rule.word.clone(),
                    block: rule.block,
                    suggestion: rule.suggestion.clone(),
                    source: None,
                });
                i += w.len();
            } else {
                i += 1;
            }
        }
    }
    // Runs of digits (an ID card's last character may be X), standing alone.
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let mut run: String = chars[start..i].iter().collect();
        if run.len() == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') {
            run.push('X');
            i += 1;
        }
        if i < chars.len() && chars[i].is_ascii_alphanumeric() || start > 0 && chars[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let kind = if run.len() == 18 && id_card_valid(&run) {
            Some(HitKind::IdCard)
        } else if run.len() == 11 && run.starts_with('1') && matches!(run.as_bytes()[1], b'3'..=b'9') {
            Some(HitKind::Mobile)
        } else if (16..=19).contains(&run.len()) && luhn(&run) {
            Some(HitKind::BankCard)
        } else {
            None
        };
        if let Some(kind) = kind {
            hits.push(Hit { kind, field, at: start, text: mask(&run), block: true, suggestion: None, source: None });
        }
    }
    hits.sort_by_key(|h| h.at);
    hits
}

/// The first four and last four characters, the rest hidden.
fn mask(number: &str) -> String {
    let n = number.len();
    format!("{}{}{}", &number[..4], "*".repeat(n - 8), &number[n - 4..])
}

/// GB 11643-1999: 17 digits weighted, the check character from the sum
/// mod 11, and a birth date that exists.
fn id_card_valid(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let month: u32 = id[10..12].parse().unwrap_or(0);
    let day: u32 = id[12..14].parse().unwrap_or(0);
    let year: u32 = id[6..10].parse().unwrap_or(0);
    CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase() && (1900..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The Luhn check that bank card numbers carry.
fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Vec<WordRule> {
        parse_word_list("# 常见错别字\nwarn\t布署\t部署\nblock\t某已撤销机构\n\nwarn\t既使\t即使\n").unwrap()
    }

    #[test]
    fn the_word_list_reads_actions_words_and_suggestions_and_says_which_line_is_wrong() {
        let l = list();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0], WordRule { word: "布署".into(), block: false, suggestion: Some("部署".into()) });
        assert!(l[1].block && l[1].suggestion.is_none());
        assert_eq!(parse_word_list("stop\t词").unwrap_err(), "line 1: starts with `stop`; expected `block` or `warn`, then a tab and the word");
        assert!(parse_word_list("warn\t").unwrap_err().contains("no word"));
    }

    #[test]
    fn words_are_found_with_their_position_in_characters() {
        let hits = check("body", "各单位要认真布署，既使困难也要完成。", &list());
        let found: Vec<(usize, &str, bool)> = hits.iter().map(|h| (h.at, h.text.as_str(), h.block)).collect();
        assert_eq!(found, [(6, "布署", false), (9, "既使", false)]);
        assert_eq!(hits[0].describe(), "正文第7字：「布署」应为「部署」");
    }

    #[test]
    fn an_id_card_number_is_found_only_with_a_valid_check_digit() {
        // A made-up number with a correct check character (GB 11643's own example form).
        let valid = "11010519491231002X";
        let hits = check("body", &format!("申请人身份证号{valid}。"), &[]);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].kind, hits[0].at, hits[0].text.as_str()), (HitKind::IdCard, 7, "1101**********002X"));
        assert!(check("body", "编号110105194912310021。", &[]).is_empty(), "a wrong check digit is some other number");
    }

    #[test]
    fn mobiles_and_bank_cards_are_found_but_other_numbers_are_not() {
        let hits = check("body", "联系电话13912345678，账号6222021234567890128。", &[]);
        let kinds: Vec<HitKind> = hits.iter().map(|h| h.kind).collect();
        assert_eq!(kinds, [HitKind::Mobile, HitKind::BankCard]);
        assert_eq!(hits[0].text, "1391***5678");
        for harmless in ["海政发〔2024〕12号", "2024年1月1日", "电话0417-3825678", "索引号11210381MB0123456X/2024-00012", "投资12345678901234567元"]
        {
            assert!(check("body", harmless, &[]).is_empty(), "{harmless}: {:?}", check("body", harmless, &[]));
        }
    }

    #[test]
    fn an_image_needs_alternative_text_and_links_outside_the_allow_list_are_named() {
        let allowed = LinkAllowList::parse("# 本市常用\ngov.cn\n*.haicheng.net.cn\n").unwrap();
        let html = r#"<p>会议现场</p><img src="/att/1"><p>见<a href="https://www.gov.cn/zhengce/">国务院</a>、<a href="http://old-bureau.com.cn/x">原网站</a>和<a href="/col/tzgg/">通知</a></p><img src="/att/2" alt="会场全景"><img src="/att/3" alt=" "><a href="https://news.haicheng.net.cn/">新闻</a><a href="//evil.example:8080/">x</a>"#;
        let hits = check_markup(html, &allowed);
        let found: Vec<(HitKind, &str, usize, bool)> = hits.iter().map(|h| (h.kind, h.text.as_str(), h.at, h.block)).collect();
        assert_eq!(
            found,
            [
                (HitKind::ImageAlt, "/att/1", 4, true),
                (HitKind::OutboundLink, "old-bureau.com.cn", 9, false),
                (HitKind::ImageAlt, "/att/3", 15, true),
                (HitKind::OutboundLink, "evil.example", 17, false),
            ]
        );
        assert_eq!(hits[0].describe(), "正文第5字：图片缺少替代文字（alt）/att/1");
        assert!(LinkAllowList::parse("gov.cn\nnot a domain\n").unwrap_err().starts_with("line 2:"));
        assert!(!LinkAllowList::default_domains().allows("fakegov.cn"));
    }

    #[test]
    fn markup_is_not_text_and_does_not_glue_words() {
        assert_eq!(visible_text("<p>布<b>署</b></p><p>a&amp;b</p>").replace(TAG, "|"), "|布|署|||a&b|");
        assert!(check("body", &visible_text("<p>布<b>署</b></p>"), &list()).is_empty());
        let hits = check("body", &visible_text("<p>第一段。</p><p>请<b>认真</b>布署。</p>"), &list());
        assert_eq!(hits[0].at, 7, "positions count what a reader sees, not the markup");
    }
}
