//! Reading a feed: RSS 2.0, Atom 1.0 or JSON Feed 1.1, into items the
//! state machine takes. Pure: bytes in, items (or why not) out.
//!
//! Fields beyond the standard ones, read where an item carries them (any
//! namespace; the README's feed section lists them):
//!
//! | field | XML element (local name) | JSON Feed |
//! |---|---|---|
//! | 文号 | `docNo`, `doc_no`, `wenhao`, `文号` | `_gov.doc_no` |
//! | 发文机关 | `issuingOrgan`, `publisher` (e.g. `dc:publisher`), `发文机关`; RSS `source` | `_gov.issuing_organ`, `authors[0].name` |
//! | 成文日期 | `writtenDate`, `chengwenriqi`, `成文日期` | `_gov.written_date` |
//! | 主题分类 | `topic`, `subject` (e.g. `dc:subject`), `主题分类`; RSS/Atom `category` | `_gov.topic`, `tags[0]` |
//!
//! Dates are read from RFC 822 (a Chinese weekday such as `周五,` or
//! `星期五,` is allowed), RFC 3339, `YYYY-MM-DD` and `2024年3月1日`; an item
//! without a readable date gets the time it was polled.

use zhanqun_model::Millis;
use zhanqun_model::time::date_to_millis;

/// An item as the feed had it, before sanitizing and ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    pub guid: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// HTML (or text) of the item: its content, else its summary.
    pub content: Option<String>,
    pub summary: Option<String>,
    pub published_at: Option<Millis>,
    pub issuing_organ: Option<String>,
    pub doc_no: Option<String>,
    pub written_date: Option<String>,
    pub topic: Option<String>,
}

/// At most this many items are read from one fetch.
pub const MAX_ITEMS: usize = 2_000;

/// Reads a feed document. `Err` says why it is no feed at all.
pub fn parse(bytes: &[u8]) -> Result<Vec<RawItem>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the feed is not UTF-8 text".to_string())?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    match text.chars().next() {
        Some('{') => json_feed(text),
        Some('<') => xml_feed(text),
        _ => Err("the answer is neither XML nor JSON".into()),
    }
}

fn json_feed(text: &str) -> Result<Vec<RawItem>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let version = v.get("version").and_then(|x| x.as_str()).unwrap_or("");
    if !version.starts_with("https://jsonfeed.org/version/") {
        return Err("JSON without a JSON Feed `version`".into());
    }
    let items = v.get("items").and_then(|x| x.as_array()).ok_or("a JSON Feed without `items`")?;
    let s = |o: &serde_json::Value, k: &str| o.get(k).and_then(|x| x.as_str()).map(str::to_string).filter(|x| !x.trim().is_empty());
    Ok(items
        .iter()
        .take(MAX_ITEMS)
        .map(|it| {
            let gov = it.get("_gov").cloned().unwrap_or_default();
            RawItem {
                guid: it.get("id").and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string()))),
                title: s(it, "title"),
                link: s(it, "url"),
                content: s(it, "content_html").or_else(|| s(it, "content_text").map(|t| text_to_html(&t))),
                summary: s(it, "summary"),
                published_at: s(it, "date_published").and_then(|d| parse_date_time(&d)),
                issuing_organ: s(&gov, "issuing_organ").or_else(|| it.get("authors").and_then(|a| a.get(0)).and_then(|a| s(a, "name"))),
                doc_no: s(&gov, "doc_no"),
                written_date: s(&gov, "written_date").and_then(|d| civil_date(&d)),
                topic: s(&gov, "topic").or_else(|| it.get("tags").and_then(|t| t.get(0)).and_then(|t| t.as_str()).map(str::to_string)),
            }
        })
        .collect())
}

fn xml_feed(text: &str) -> Result<Vec<RawItem>, String> {
    // No DTD (roxmltree refuses one by default): no entity expansion.
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    let entries: Vec<roxmltree::Node> = match root.tag_name().name() {
        "rss" => root.children().filter(|n| n.has_tag_name("channel")).flat_map(|c| c.children().filter(|n| n.has_tag_name("item"))).collect(),
        "feed" => root.children().filter(|n| n.has_tag_name("entry")).collect(),
        // RSS 1.0 (RDF): items are the root's children.
        "RDF" => root.children().filter(|n| n.tag_name().name() == "item").collect(),
        other => return Err(format!("XML whose root is <{other}>, not <rss> or <feed>")),
    };
    Ok(entries.into_iter().take(MAX_ITEMS).map(xml_item).collect())
}

fn xml_item(n: roxmltree::Node) -> RawItem {
    let text_of = |names: &[&str]| -> Option<String> {
        n.children()
            .find(|c| c.is_element() && names.contains(&c.tag_name().name()))
            .map(|c| c.text().unwrap_or("").trim().to_string())
            .filter(|t| !t.is_empty())
    };
    // Atom links are attributes; RSS links are text.
    let link = n
        .children()
        .filter(|c| c.has_tag_name("link") || c.tag_name().name() == "link")
        .find_map(|c| match c.attribute("href") {
            Some(href) if c.attribute("rel").is_none_or(|r| r == "alternate") => Some(href.trim().to_string()),
            Some(_) => None,
            None => c.text().map(|t| t.trim().to_string()),
        })
        .filter(|l| !l.is_empty());
    let date = text_of(&["pubDate", "published", "updated", "date", "issued"]);
    RawItem {
        guid: text_of(&["guid", "id"]),
        title: text_of(&["title"]),
        link,
        content: text_of(&["encoded", "content"]),
        summary: text_of(&["description", "summary"]),
        published_at: date.as_deref().and_then(parse_date_time),
        issuing_organ: text_of(&["issuingOrgan", "publisher", "发文机关", "source", "creator"]),
        doc_no: text_of(&["docNo", "doc_no", "wenhao", "文号"]),
        written_date: text_of(&["writtenDate", "chengwenriqi", "成文日期"]).and_then(|d| civil_date(&d)),
        topic: text_of(&["topic", "subject", "主题分类"]).or_else(|| {
            n.children()
                .find(|c| c.tag_name().name() == "category")
                .and_then(|c| c.attribute("term").map(str::to_string).or_else(|| c.text().map(|t| t.trim().to_string())))
        }),
    }
}

/// Plain text as paragraphs.
fn text_to_html(t: &str) -> String {
    t.split("\n\n").filter(|p| !p.trim().is_empty()).map(|p| format!("<p>{}</p>", zhanqun_model::escape_html(p.trim()))).collect()
}

/// A date with or without a time, in the formats feeds use.
pub fn parse_date_time(s: &str) -> Option<Millis> {
    let s = s.trim();
    rfc3339(s).or_else(|| rfc822(s)).or_else(|| civil_date(s).and_then(|d| date_to_millis(&d)))
}

/// `YYYY-MM-DD`, `YYYY/M/D` or `YYYY年M月D日` → `YYYY-MM-DD`.
pub fn civil_date(s: &str) -> Option<String> {
    let s = s.trim();
    let digits: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    let shape_ok = s.contains('年') || s.contains('-') || s.contains('/');
    if digits.len() < 3 || !shape_ok || digits[0].len() != 4 {
        return None;
    }
    let date = format!("{}-{:02}-{:02}", digits[0], digits[1].parse::<u32>().ok()?, digits[2].parse::<u32>().ok()?);
    zhanqun_model::time::parse_date(&date).map(|_| date)
}

/// `2024-03-01T08:00:00+08:00`, `…Z`, fractions allowed.
fn rfc3339(s: &str) -> Option<Millis> {
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let day = date_to_millis(&civil_date(date)?)? + 8 * 3600 * 1000; // back to UTC midnight
    let (clock, offset_ms) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':').unwrap_or((&off[1..3.min(off.len())], off.get(3..).unwrap_or("0")));
        (c, sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().unwrap_or(0) * 60) * 1000)
    };
    Some(day + clock_ms(clock)? - offset_ms)
}

fn clock_ms(c: &str) -> Option<i64> {
    let c = c.split('.').next()?;
    let mut parts = c.split(':').map(|p| p.parse::<i64>());
    let (h, m, sec) = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next().unwrap_or(Ok(0)).ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && (0..61).contains(&sec)).then_some((h * 3600 + m * 60 + sec) * 1000)
}

/// `Fri, 01 Mar 2024 08:00:00 +0800` (weekday optional, any language; GMT,
/// UT and Z as zones; no zone read as Beijing time).
fn rfc822(s: &str) -> Option<Millis> {
    let s = match s.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => s,
    };
    let mut parts = s.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let month = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        .iter()
        .position(|m| month.len() >= 3 && month[..3].eq_ignore_ascii_case(m))? as u32
        + 1;
    let year: i32 = parts.next()?.parse().ok()?;
    let year = if year < 100 { year + 2000 } else { year };
    let clock = parts.next().unwrap_or("00:00:00");
    let zone = parts.next().unwrap_or("+0800");
    let offset_ms = match zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 5 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (z[1..3].parse::<i64>().ok()? * 3600 + z[3..5].parse::<i64>().ok()? * 60) * 1000
        }
        _ => 8 * 3600 * 1000,
    };
    let day_ms = date_to_millis(&format!("{year:04}-{month:02}-{day:02}"))? + 8 * 3600 * 1000;
    Some(day_ms + clock_ms(clock)? - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAR_1_2024_8AM_BEIJING: Millis = 1_709_251_200_000;

    #[test]
    fn dates_in_the_forms_feeds_use() {
        assert_eq!(parse_date_time("Fri, 01 Mar 2024 08:00:00 +0800"), Some(MAR_1_2024_8AM_BEIJING));
        assert_eq!(parse_date_time("周五, 01 Mar 2024 08:00:00 +0800"), Some(MAR_1_2024_8AM_BEIJING), "a Chinese weekday");
        assert_eq!(parse_date_time("星期五, 01 Mar 2024 00:00:00 GMT"), Some(MAR_1_2024_8AM_BEIJING));
        assert_eq!(parse_date_time("2024-03-01T08:00:00+08:00"), Some(MAR_1_2024_8AM_BEIJING));
        assert_eq!(parse_date_time("2024-03-01T00:00:00.000Z"), Some(MAR_1_2024_8AM_BEIJING));
        assert_eq!(parse_date_time("2024年3月1日"), date_to_millis("2024-03-01"));
        assert_eq!(parse_date_time("2024-03-01"), date_to_millis("2024-03-01"));
        assert_eq!(parse_date_time("yesterday"), None);
        assert_eq!(parse_date_time(""), None);
        assert_eq!(parse_date_time("2024年2月30日"), None, "no such day");
    }

    #[test]
    fn rss_atom_and_json_feed_with_the_government_fields() {
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:gov="urn:example:gov">
<channel><title>国务院文件</title>
<item><title>国务院关于印发某规划的通知</title><link>https://www.gov.cn/zhengce/content/1.htm</link><guid>gov-1</guid>
<pubDate>周五, 01 Mar 2024 08:00:00 +0800</pubDate><description><![CDATA[<p>各省人民政府：</p><script>x()</script>]]></description>
<gov:docNo>国发〔2024〕5号</gov:docNo><dc:publisher>国务院</dc:publisher><gov:writtenDate>2024年2月28日</gov:writtenDate><dc:subject>国民经济管理</dc:subject></item>
</channel></rss>"#;
        let items = parse(rss.as_bytes()).unwrap();
        assert_eq!(items.len(), 1);
        let it = &items[0];
        assert_eq!(it.guid.as_deref(), Some("gov-1"));
        assert_eq!(it.doc_no.as_deref(), Some("国发〔2024〕5号"));
        assert_eq!(it.issuing_organ.as_deref(), Some("国务院"));
        assert_eq!(it.written_date.as_deref(), Some("2024-02-28"));
        assert_eq!(it.topic.as_deref(), Some("国民经济管理"));
        assert_eq!(it.published_at, Some(MAR_1_2024_8AM_BEIJING));

        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>urn:1</id><title>一</title><link rel="alternate" href="https://example.gov.cn/1"/><updated>2024-03-01T00:00:00Z</updated><summary>摘要</summary><category term="财政"/></entry></feed>"#;
        let items = parse(atom.as_bytes()).unwrap();
        assert_eq!(
            (items[0].guid.as_deref(), items[0].link.as_deref(), items[0].topic.as_deref()),
            (Some("urn:1"), Some("https://example.gov.cn/1"), Some("财政"))
        );

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"9","title":"二","content_text":"正文","date_published":"2024-03-01T08:00:00+08:00","_gov":{"doc_no":"辽政发〔2024〕1号"}}]}"#;
        let items = parse(json.as_bytes()).unwrap();
        assert_eq!(items[0].content.as_deref(), Some("<p>正文</p>"));
        assert_eq!(items[0].doc_no.as_deref(), Some("辽政发〔2024〕1号"));
    }

    #[test]
    fn what_is_no_feed_says_why() {
        assert!(parse(b"<html><body>hi</body></html>").unwrap_err().contains("<html>"));
        assert!(parse(b"hello").unwrap_err().contains("neither XML nor JSON"));
        assert!(parse(br#"{"a":1}"#).unwrap_err().contains("JSON Feed"));
        assert!(parse(b"<rss><channel>").unwrap_err().contains("well-formed"));
        let dtd = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><rss><channel><item><title>&lol;</title></item></channel></rss>"#;
        assert!(parse(dtd.as_bytes()).is_err(), "a DTD (entity expansion) is refused");
    }
}
