//! Reading the HTML of a document body, which the sanitizer has already
//! normalised (tags closed, attribute values quoted): its text, and its tags
//! with their attributes. Both the content check and the search index read
//! bodies through here, so they agree on what the text of a page is.

/// The text of HTML: tags dropped, each leaving `mark` so that words on
/// either side stay apart, and the common entities decoded.
pub fn text(html: &str, mark: char) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(mark);
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// One start tag: its lower-case name, the byte offset where it starts, and
/// what is between the name and `>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: String,
    pub at: usize,
    attributes: &'a str,
}

impl Tag<'_> {
    /// The value of an attribute (entities decoded), `Some("")` for one
    /// present without a value, `None` when absent.
    pub fn attr(&self, name: &str) -> Option<String> {
        let mut rest = self.attributes;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if rest.is_empty() {
                return None;
            }
            let end = rest.find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
            let key = &rest[..end];
            rest = rest[end..].trim_start();
            let value = if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start();
                let (v, next) = match after.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                        (&after[1..close], after.get(close + 1..).unwrap_or(""))
                    }
                    _ => {
                        let e = after.find(|c: char| c.is_ascii_whitespace()).unwrap_or(after.len());
                        (&after[..e], &after[e..])
                    }
                };
                rest = next;
                v
            } else {
                ""
            };
            if key.eq_ignore_ascii_case(name) {
                return Some(decode_entities(value));
            }
        }
    }
}

/// Every start tag of the HTML, in order (end tags, comments and
/// declarations skipped).
pub fn start_tags(html: &str) -> impl Iterator<Item = Tag<'_>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        loop {
            let open = pos + html.get(pos..)?.find('<')?;
            let close = open + html[open..].find('>')?;
            pos = close + 1;
            let inner = &html[open + 1..close];
            if !inner.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            let name_end = inner.find(|c: char| c.is_ascii_whitespace() || c == '/').unwrap_or(inner.len());
            return Some(Tag { name: inner[..name_end].to_ascii_lowercase(), at: open, attributes: &inner[name_end..] });
        }
    })
}

/// The path on the site of a link to it: a path from the root, or an
/// absolute URL on one of `hosts`, without its query and fragment. `None`
/// for other sites, mail, anchors and relative paths.
pub fn internal_path(href: &str, hosts: &[String]) -> Option<String> {
    let path = if let Some(rest) = href.strip_prefix("http://").or_else(|| href.strip_prefix("https://")) {
        let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return None;
        }
        path
    } else if href.starts_with('/') && !href.starts_with("//") {
        href.to_string()
    } else {
        return None;
    };
    Some(path.split(['#', '?']).next().unwrap_or("/").to_string())
}

/// The site's own pages that `html` links to (any `href`), each once, with
/// the byte offset of its first link.
pub fn internal_links(html: &str, hosts: &[String]) -> Vec<(usize, String)> {
    let mut seen = std::collections::HashSet::new();
    start_tags(html).filter_map(|t| Some((t.at, internal_path(&t.attr("href")?, hosts)?))).filter(|(_, p)| seen.insert(p.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_drops_tags_keeps_words_apart_and_decodes_entities() {
        assert_eq!(text("<p>海城<b>市</b>&amp;牛庄</p>", ' '), " 海城 市 &牛庄 ");
    }

    #[test]
    fn start_tags_read_quoted_unquoted_and_bare_attributes() {
        let html = r#"<p>说明</p><img src="/att/1" alt='会场 照片'><!-- x --><IMG SRC=/a.png alt><a href="https://x.gov.cn/?a=1&amp;b=2">链接</a>"#;
        let tags: Vec<Tag> = start_tags(html).collect();
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["p", "img", "img", "a"]);
        assert_eq!(tags[1].attr("alt").as_deref(), Some("会场 照片"));
        assert_eq!(tags[2].attr("src").as_deref(), Some("/a.png"));
        assert_eq!(tags[2].attr("alt").as_deref(), Some(""));
        assert_eq!(tags[0].attr("alt"), None);
        assert_eq!(tags[3].attr("href").as_deref(), Some("https://x.gov.cn/?a=1&b=2"));
        assert_eq!(&html[tags[1].at..tags[1].at + 4], "<img");
    }

    #[test]
    fn internal_links_keep_the_sites_own_paths_once_and_nothing_else() {
        let html = r#"<a href="/col/tzgg/">a</a><a href="/col/tzgg/#top">b</a><a href="https://www.gov.cn/">c</a>
            <a href="//evil.example/x">d</a><a href="https://aa.example.gov.cn/art/1.html?x=1">e</a><a href="mailto:x@y">f</a><a href="x.html">g</a>"#;
        let paths: Vec<String> = internal_links(html, &["aa.example.gov.cn".into()]).into_iter().map(|(_, p)| p).collect();
        assert_eq!(paths, vec!["/col/tzgg/", "/art/1.html"]);
    }
}
