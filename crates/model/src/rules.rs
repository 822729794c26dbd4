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
    if value.trim().is_empty() {
        return Err(Rejection::invalid("missing_field", format!("{field} must not be empty")));
    }
    if value.chars().count() > max_chars {
        return Err(Rejection::invalid("too_long", format!("{field} is longer than {max_chars} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Rejection::invalid("invalid_text", format!("{field} must not contain control characters")));
    }
    Ok(())
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
    fn non_proactive_disclosure_needs_reason() {
        assert!(check_disclosure(Disclosure::Proactive, None).is_ok());
        assert!(check_disclosure(Disclosure::OnRequest, Some("  ")).is_err());
        assert!(check_disclosure(Disclosure::Withheld, Some("涉及个人隐私")).is_ok());
    }
}
