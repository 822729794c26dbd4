//! Rules that decide whether input is acceptable, shared by the API (to
//! answer early with a clear message) and the state machine (which has the
//! last word). Each returns a [`Rejection`] that says what to change.

use crate::{Disclosure, Rejection};

/// Tenant codes and channel slugs appear in URLs and 索引号 prefixes:
/// lowercase latin letters, digits and `-`, starting with a letter, 2–32 long.
pub fn check_code(what: &str, code: &str) -> Result<(), Rejection> {
    let ok = (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Rejection::invalid(
            "invalid_code",
            format!("{what} `{}` is not valid: use 2–32 lowercase latin letters, digits or `-`, starting with a letter", printable(code)),
        ))
    }
}

/// Path segments that the public router uses itself; a tenant mounted under
/// its parent cannot take them as its code.
pub const RESERVED_CODES: &[&str] = &["sites", "col", "art", "att", "search", "api", "admin", "metrics", "healthz", "readyz", "static"];

/// An organ code for 索引号: latin letters, digits and `-`, up to 40 long
/// (often the 统一社会信用代码 or an organ's short code).
pub fn check_organ_code(code: &str) -> Result<(), Rejection> {
    let ok = (1..=40).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Rejection::invalid("invalid_organ_code", format!("organ_code `{}` is not valid: use up to 40 latin letters, digits or `-`", printable(code))))
    }
}

/// A 党政机关网站标识 number (the id the registry's verification page takes):
/// latin letters and digits, up to 64, since it goes into that page's URL.
/// Empty clears it.
pub fn check_conac_id(id: &str) -> Result<(), Rejection> {
    if id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Rejection::invalid(
            "invalid_conac_id",
            format!("conac_id `{}` is not valid: the 党政机关网站标识 number is up to 64 latin letters and digits", printable(id)),
        ))
    }
}

/// A host name: lowercase DNS labels, no port.
pub fn check_host(host: &str) -> Result<(), Rejection> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok { Ok(()) } else { Err(Rejection::invalid("invalid_host", format!("host `{}` is not a lowercase DNS name (no port, no scheme)", printable(host)))) }
}

/// A 文号 is `<organ abbreviation>〔<year>〕<number>号`. Editors type the
/// brackets in several ways; we store the standard `〔〕` form and refuse
/// anything that is not that shape, so that 文号 stays searchable and unique.
pub fn normalize_doc_no(raw: &str) -> Result<String, Rejection> {
    let s: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '[' | '(' | '（' | '【' | '\u{ff3b}' | '〔' => '〔',
            ']' | ')' | '）' | '】' | '\u{ff3d}' | '〕' => '〕',
            c => c,
        })
        .collect();
    let bad =
        || Rejection::invalid("invalid_doc_no", format!("文号 `{}` is not in the form 机关代字〔年份〕序号号, e.g. 海政办发〔2017〕37号", printable(raw)));
    let (prefix, rest) = s.split_once('〔').ok_or_else(bad)?;
    let (year, tail) = rest.split_once('〕').ok_or_else(bad)?;
    let number = tail.strip_suffix('号').ok_or_else(bad)?;
    let prefix_ok = !prefix.is_empty() && prefix.chars().count() <= 20 && prefix.chars().all(|c| is_cjk(c) || c.is_ascii_alphanumeric());
    let year_ok = year.len() == 4 && year.chars().all(|c| c.is_ascii_digit());
    let number_ok = !number.is_empty() && number.len() <= 6 && number.chars().all(|c| c.is_ascii_digit());
    if prefix_ok && year_ok && number_ok { Ok(s) } else { Err(bad()) }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// The 索引号 of the `serial`-th document of `year` of an organ.
pub fn index_no(organ_code: &str, year: i32, serial: i64) -> String {
    format!("{organ_code}/{year}-{serial:05}")
}

/// 公开属性 other than 主动公开 needs a reason.
pub fn check_disclosure(disclosure: Disclosure, reason: Option<&str>) -> Result<(), Rejection> {
    if disclosure.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Rejection::invalid(
            "disclosure_reason_required",
            format!("公开属性 {disclosure} needs a disclosure_reason (the legal basis and why it is not 主动公开)"),
        ));
    }
    Ok(())
}

/// A required single-line text: not blank, no control characters, bounded.
pub fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), Rejection> {
    Limit { field, max_chars, lines: false }.required(value)
}

/// The limit of one free-text field: how long it may be and whether it may
/// hold line breaks. Every free-text field a person fills in has one (see
/// [`LIMITS`]); the API answers early with it and the state machine has
/// the last word.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    pub field: &'a str,
    pub max_chars: usize,
    /// Line breaks and tabs allowed (a reason, a summary), or one line.
    pub lines: bool,
}

impl Limit<'_> {
    /// Checks a value that may be absent; present, it may be empty.
    pub fn check(&self, value: Option<&str>) -> Result<(), Rejection> {
        let Some(value) = value else { return Ok(()) };
        let field = self.field;
        if value.chars().count() > self.max_chars {
            return Err(Rejection::invalid("too_long", format!("{field} is longer than {} characters", self.max_chars)));
        }
        if let Some(c) = value.chars().find(|c| is_deceptive(*c)) {
            return Err(Rejection::invalid(
                "invalid_text",
                format!("{field} contains an invisible or text-direction character (U+{:04X}), which can disguise what it says; remove it", c as u32),
            ));
        }
        if value.chars().any(|c| c.is_control() && !(self.lines && matches!(c, '\n' | '\r' | '\t'))) {
            let what = if self.lines { "control characters other than line breaks and tabs" } else { "control characters or line breaks" };
            return Err(Rejection::invalid("invalid_text", format!("{field} must not contain {what}")));
        }
        Ok(())
    }

    /// Checks a value that must be there and not blank.
    pub fn required(&self, value: &str) -> Result<(), Rejection> {
        if value.trim().is_empty() {
            return Err(Rejection::invalid("missing_field", format!("{} must not be empty", self.field)));
        }
        self.check(Some(value))
    }
}

/// Characters that change how text around them is shown without being seen
/// themselves: bidirectional overrides, embeddings and isolates (which
/// turn `a\u{202e}gnp.exe` into what looks like `aexe.png`), marks,
/// zero-width characters and the byte-order mark.
pub fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The limits of the free-text fields people fill in, by field. The README's
/// Security section lists the same numbers.
pub mod limits {
    use super::Limit;

    const fn line(field: &'static str, max_chars: usize) -> Limit<'static> {
        Limit { field, max_chars, lines: false }
    }
    const fn text(field: &'static str, max_chars: usize) -> Limit<'static> {
        Limit { field, max_chars, lines: true }
    }

    pub const TITLE: Limit = line("title", 200);
    pub const SUMMARY: Limit = text("summary", 1_000);
    pub const SOURCE: Limit = line("source (来源)", 100);
    pub const AUTHOR: Limit = line("author", 100);
    pub const ISSUING_ORGAN: Limit = line("issuing_organ (发布机构)", 100);
    pub const TOPIC: Limit = line("topic (主题分类)", 50);
    pub const DISCLOSURE_BASIS: Limit = text("disclosure_basis (公开依据)", 500);
    pub const DISCLOSURE_REASON: Limit = text("disclosure_reason", 500);
    pub const RETURN_REASON: Limit = text("reason (退文理由)", 500);
    pub const CONCLUSION: Limit = text("conclusion (保密审查结论)", 500);
    pub const ALLOWANCE_REASON: Limit = text("reason (个人信息须公开的理由)", 500);
    pub const SITE_NAME: Limit = line("name", 100);
    pub const CHANNEL_NAME: Limit = line("name", 60);
    pub const REGISTRATION: Limit = line("filing number (网站标识码, ICP备案号, 公安备案号)", 100);
    pub const MAILBOX: Limit = line("mailbox", 254);
    pub const LINK_URL: Limit = line("link_url", 2_000);
    pub const DISPLAY_NAME: Limit = line("display_name", 50);
    pub const FILE_NAME: Limit = line("file name", 200);
    /// Feeds, repost rules, site tags and rule filters.
    pub const FEED_NAME: Limit = line("name", 60);
    pub const RULE_NAME: Limit = line("name", 100);
    pub const TAG: Limit = line("tag", 30);
    pub const FILTER_WORD: Limit = line("filter word", 50);

    /// Every limit above, for the documentation and its test.
    pub const ALL: &[Limit<'static>] = &[
        TITLE,
        SUMMARY,
        SOURCE,
        AUTHOR,
        ISSUING_ORGAN,
        TOPIC,
        DISCLOSURE_BASIS,
        DISCLOSURE_REASON,
        RETURN_REASON,
        CONCLUSION,
        ALLOWANCE_REASON,
        SITE_NAME,
        CHANNEL_NAME,
        REGISTRATION,
        MAILBOX,
        LINK_URL,
        DISPLAY_NAME,
        FILE_NAME,
        FEED_NAME,
        RULE_NAME,
        TAG,
        FILTER_WORD,
    ];

    /// A document body, sanitized HTML, in bytes.
    pub const BODY_HTML_BYTES: usize = 2 * 1024 * 1024;
}

/// A column's link: an http(s) URL or a path on the site.
///
/// An absolute URL must name its host plainly — letters, digits, `-` and
/// dots, an optional port — because the column's link is shown to the
/// public: `http://www.gov.cn@evil.example/` (a user part) or
/// `http://evil.example\www.gov.cn` would send a reader elsewhere than the
/// link reads, and `http://[` is no address at all.
pub fn check_link_url(url: &str) -> Result<(), Rejection> {
    limits::LINK_URL.required(url)?;
    let absolute = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = match absolute {
        Some(rest) => plain_authority(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]),
        None => url.starts_with('/') && !url.starts_with("//"),
    };
    if ok && !url.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(Rejection::invalid(
            "invalid_link",
            "link_url must be an http(s) URL with a plain host name (letters, digits, `-`, dots and an optional port) or a path on the site (starting with one `/`), without spaces",
        ))
    }
}

/// `host` or `host:port`: dot-separated non-empty labels of letters (any
/// script, for 中文 domain names), digits and `-`; a port of 1–5 digits.
fn plain_authority(authority: &str) -> bool {
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    let host_ok = host.strip_suffix('.').unwrap_or(host).split('.').all(label_ok);
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// A username: latin letters, digits, `.`, `_`, `-`, 2–64 long.
pub fn check_username(name: &str) -> Result<(), Rejection> {
    let ok = (2..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(Rejection::invalid("invalid_username", "username must be 2–64 latin letters, digits, `.`, `_` or `-`")) }
}

/// Keeps error messages printable and short whatever the input was.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_no_accepts_every_bracket_spelling_and_stores_the_standard_one() {
        for raw in ["海政办发〔2017〕37号", "海政办发[2017]37号", "海政办发(2017)37号", "海政办发（2017）37号", " 海政办发【2017】37号 "]
        {
            assert_eq!(normalize_doc_no(raw).unwrap(), "海政办发〔2017〕37号", "{raw}");
        }
    }

    #[test]
    fn doc_no_refuses_odd_shapes() {
        for raw in ["", "37号", "海政办发〔17〕37号", "海政办发〔2017〕号", "海政<script>〔2017〕1号", "海政办发〔2017〕37"] {
            let err = normalize_doc_no(raw).unwrap_err();
            assert_eq!(err.code, "invalid_doc_no", "{raw}");
        }
    }

    #[test]
    fn codes_refuse_paths_and_uppercase() {
        assert!(check_code("code", "niuzhuang").is_ok());
        assert!(check_code("code", "jyj-2").is_ok());
        for bad in ["../../etc/passwd", "Niu", "a", "1abc", "a b", "镇"] {
            assert!(check_code("code", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn index_no_pads_serial_to_five_digits() {
        assert_eq!(index_no("11210381MB0123456X", 2017, 37), "11210381MB0123456X/2017-00037");
    }

    #[test]
    fn free_text_refuses_direction_overrides_and_stray_controls_but_reasons_keep_their_lines() {
        for deceptive in ["a\u{202e}gnp.exe", "通知\u{200b}", "\u{2066}标题\u{2069}", "\u{feff}标题"] {
            assert_eq!(limits::TITLE.required(deceptive).unwrap_err().code, "invalid_text", "{deceptive:?}");
        }
        assert_eq!(limits::SOURCE.check(Some("新华社\u{7}")).unwrap_err().code, "invalid_text");
        assert_eq!(limits::AUTHOR.check(Some("张三\n李四")).unwrap_err().code, "invalid_text", "one-line fields refuse line breaks");
        assert!(limits::DISCLOSURE_REASON.check(Some("涉及个人隐私；\n依据第十五条。")).is_ok(), "reasons may run over lines");
        assert_eq!(limits::SUMMARY.check(Some(&"摘".repeat(1_001))).unwrap_err().code, "too_long");
        assert!(limits::SUMMARY.check(Some(&"摘".repeat(1_000))).is_ok(), "the limit counts characters, not bytes");
        assert!(check_link_url("//evil.example/").is_err() && check_link_url("javascript:alert(1)").is_err());
        assert!(check_link_url("https://www.gov.cn/").is_ok() && check_link_url("/col/tzgg/").is_ok());
    }

    #[test]
    fn a_link_names_its_host_plainly_or_is_a_path_on_the_site() {
        for good in [
            "https://www.gov.cn/",
            "http://www.haicheng.gov.cn",
            "http://10.0.0.7:8080/zwgk/index.html?col=1#top",
            "https://中国政府网.政务/",
            "https://www.gov.cn.",
            "/col/tzgg/",
            "/search?q=[x]",
        ] {
            assert!(check_link_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://[",
            "http://[::1]/",
            "https://www.gov.cn@evil.example/",
            "http://evil.example\\www.gov.cn",
            "https://",
            "https://a..b/",
            "http://www.gov.cn:/",
            "http://www.gov.cn:123456/",
            "https://www.gov.cn/a b",
            "//evil.example/",
            "ftp://www.gov.cn/",
        ] {
            assert_eq!(check_link_url(bad).unwrap_err().code, "invalid_link", "{bad}");
        }
    }

    #[test]
    fn non_proactive_disclosure_needs_reason() {
        assert!(check_disclosure(Disclosure::Proactive, None).is_ok());
        assert!(check_disclosure(Disclosure::OnRequest, Some("  ")).is_err());
        assert!(check_disclosure(Disclosure::Withheld, Some("涉及个人隐私")).is_ok());
    }
}
