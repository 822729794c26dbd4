//! The public URL map: every page of a site as a value ([`Page`]), the
//! three ways a site is reached ([`Mount`]), and the one place that turns
//! either into a path or a path back into them.
//!
//! A site is reached
//! 1. on its own host: `http://www.nanyuan.gov.cn/art/42.html`;
//! 2. under its portal's host, when it is mounted there (国办发〔2017〕47号
//!    puts township sites under the portal): `/nanyuan/art/42.html`;
//! 3. under `/sites/<code>/` on any host (previews, local use, and the
//!    links the admin API and the search answer give).
//!
//! Inside a site: `/` home, `/col/<slug>/` a column (`?page=N`),
//! `/col/<slug>/rss.xml`, `/art/<id>.html` a document, `/att/<id>` an
//! attachment, `/sitemap.xml`, `/robots.txt`, `/search`, `/zcjd/` 政策解读.
//! Ids are written in one spelling only (decimal, no sign, no leading
//! zero), so a page has one address and one cache entry.

use crate::{Channel, ChannelKind, Tenant};

/// A page of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Home,
    Channel {
        slug: String,
        page: i64,
    },
    Rss {
        slug: String,
    },
    Document {
        id: i64,
    },
    Attachment {
        id: i64,
    },
    Sitemap,
    Robots,
    Search,
    /// 政策解读: the site's interpretations; on a portal, every site's.
    Interpretations {
        page: i64,
    },
}

/// The highest list page a URL may ask for.
const MAX_PAGE: i64 = 100_000;

impl Page {
    /// The page a path inside a site (`rest`, after the site's base) and its
    /// query ask for; `None` for one the site does not have.
    pub fn parse(rest: &str, query: Option<&str>) -> Option<Page> {
        let page = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_PAGE);
        let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        Some(match segments.as_slice() {
            [""] | ["index.html"] => Page::Home,
            ["col", slug, ""] | ["col", slug, "index.html"] => Page::Channel { slug: slug.to_string(), page },
            ["col", slug, "rss.xml"] => Page::Rss { slug: slug.to_string() },
            ["art", file] => Page::Document { id: canonical_id(file.strip_suffix(".html")?)? },
            ["att", id] | ["att", id, _] => Page::Attachment { id: canonical_id(id)? },
            ["sitemap.xml"] => Page::Sitemap,
            ["robots.txt"] => Page::Robots,
            ["search"] | ["search", ""] | ["search.html"] => Page::Search,
            ["zcjd", ""] | ["zcjd", "index.html"] => Page::Interpretations { page },
            _ => return None,
        })
    }

    /// The page's path inside its site, in the one spelling links use.
    pub fn path(&self) -> String {
        let paged = |path: String, page: i64| if page > 1 { format!("{path}?page={page}") } else { path };
        match self {
            Page::Home => "/".into(),
            Page::Channel { slug, page } => paged(format!("/col/{slug}/"), *page),
            Page::Rss { slug } => format!("/col/{slug}/rss.xml"),
            Page::Document { id } => format!("/art/{id}.html"),
            Page::Attachment { id } => format!("/att/{id}"),
            Page::Sitemap => "/sitemap.xml".into(),
            Page::Robots => "/robots.txt".into(),
            Page::Search => "/search".into(),
            Page::Interpretations { page } => paged("/zcjd/".into(), *page),
        }
    }

    /// The page cache's key: one per page however its path was spelled
    /// (`/`, `/index.html`); `None` for pages that are not cached
    /// (attachments are files; search and the portal's 政策解读 draw on
    /// several sites, and the cache is invalidated per site).
    pub fn cache_key(&self) -> Option<String> {
        Some(match self {
            Page::Home => "home".into(),
            Page::Channel { slug, page } => format!("col/{slug}/{page}"),
            Page::Rss { slug } => format!("rss/{slug}"),
            Page::Document { id } => format!("art/{id}"),
            Page::Sitemap => "sitemap".into(),
            Page::Robots => "robots".into(),
            Page::Attachment { .. } | Page::Search | Page::Interpretations { .. } => return None,
        })
    }
}

/// An id as the site writes it in its links: decimal digits without a
/// sign or leading zeros. Any other spelling (`0042`, `+42`) is not a page,
/// so one document cannot be fetched — and cached — under many names.
fn canonical_id(s: &str) -> Option<i64> {
    let canonical = !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    canonical.then(|| s.parse().ok()).flatten()
}

/// A site as one request reaches it: which tenant, and under which path
/// prefix its links must live.
#[derive(Debug, Clone)]
pub struct Mount {
    pub tenant: Tenant,
    /// `""`, `"/niuzhuang"` or `"/sites/niuzhuang"`.
    pub base: String,
    /// `http://<the site's own host>` for feeds and sitemaps, or `""` when
    /// the site is reached under `/sites/` (links stay relative then).
    pub origin: String,
}

impl Mount {
    /// On its own host (`host` as the site's first host, or as asked).
    pub fn own_host(tenant: Tenant, host: &str) -> Mount {
        let origin = format!("http://{}", tenant.hosts.first().map_or(host, String::as_str));
        Mount { tenant, base: String::new(), origin }
    }

    /// Under its portal's host, at `/<code>`.
    pub fn under_portal(child: Tenant, portal: &Mount) -> Mount {
        Mount { base: format!("/{}", child.code), tenant: child, origin: portal.origin.clone() }
    }

    /// Under `/sites/<code>` on any host.
    pub fn under_sites(tenant: Tenant) -> Mount {
        Mount { base: sites_base(&tenant), tenant, origin: String::new() }
    }

    /// A page of this site, as a link on this site's pages.
    pub fn url(&self, page: &Page) -> String {
        format!("{}{}", self.base, page.path())
    }

    /// A page of this site with its origin, for feeds and sitemaps.
    pub fn absolute(&self, page: &Page) -> String {
        format!("{}{}", self.origin, self.url(page))
    }

    /// Where a column's link goes: its page, or elsewhere for a link column.
    pub fn channel_url(&self, c: &Channel) -> String {
        match (&c.kind, &c.link_url) {
            (ChannelKind::Link, Some(url)) => url.clone(),
            _ => self.url(&Page::Channel { slug: c.slug.clone(), page: 1 }),
        }
    }

    /// A page of `site` (this one or another) as a link on this site's
    /// pages: the same way in when it can be (`/sites/`, or mounted under
    /// this portal), else its own host, else `/sites/<code>/`.
    pub fn url_of(&self, site: &Tenant, page: &Page) -> String {
        if site.id == self.tenant.id {
            return self.url(page);
        }
        if self.base.starts_with("/sites/") {
            return preview_url(site, page);
        }
        if self.base.is_empty() && site.mount_under_parent && site.parent_id == Some(self.tenant.id) {
            return format!("/{}{}", site.code, page.path());
        }
        match site.hosts.first() {
            Some(host) => format!("http://{host}{}", page.path()),
            None => preview_url(site, page),
        }
    }
}

fn sites_base(site: &Tenant) -> String {
    format!("/sites/{}", site.code)
}

/// A page of `site` under `/sites/<code>/`: reachable on every node
/// whatever the site's hosts, so the admin API and search answers use it.
pub fn preview_url(site: &Tenant, page: &Page) -> String {
    format!("{}{}", sites_base(site), page.path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantKind;

    fn site(id: i64, code: &str, hosts: &[&str], parent: Option<i64>, mounted: bool) -> Tenant {
        let mut t = Tenant::new(id, code, code, TenantKind::Township, code.to_uppercase(), 0);
        t.hosts = hosts.iter().map(|h| h.to_string()).collect();
        t.parent_id = parent;
        t.mount_under_parent = mounted;
        t
    }

    #[test]
    fn site_paths_map_to_pages() {
        assert_eq!(Page::parse("/", None), Some(Page::Home));
        assert_eq!(Page::parse("/col/tzgg/", Some("page=3")), Some(Page::Channel { slug: "tzgg".into(), page: 3 }));
        assert_eq!(Page::parse("/col/tzgg/", Some("page=-4")), Some(Page::Channel { slug: "tzgg".into(), page: 1 }));
        assert_eq!(Page::parse("/art/123.html", None), Some(Page::Document { id: 123 }));
        assert_eq!(Page::parse("/art/../../etc/passwd", None), None);
        assert_eq!(Page::parse("/../../etc/passwd", None), None);
        assert_eq!(Page::parse("/att/9", None), Some(Page::Attachment { id: 9 }));
        for other_spelling in ["/art/0123.html", "/art/+123.html", "/art/00000000000000000000123.html", "/art/123.html.html", "/art/1%32.html"] {
            assert_eq!(Page::parse(other_spelling, None), None, "{other_spelling}");
        }
        assert_eq!(Page::parse("/att/09", None), None);
        let key = |path: &str, q: Option<&str>| Page::parse(path, q).and_then(|p| p.cache_key());
        assert_eq!(key("/index.html", None), key("/", None));
        assert_eq!(key("/col/tzgg/index.html", Some("page=02&x=1")), key("/col/tzgg/", Some("page=2")));
    }

    /// Every page's path parses back to the page: links and the router agree.
    #[test]
    fn every_page_path_parses_back() {
        let pages = [
            Page::Home,
            Page::Channel { slug: "tzgg".into(), page: 1 },
            Page::Channel { slug: "tzgg".into(), page: 7 },
            Page::Rss { slug: "tzgg".into() },
            Page::Document { id: 42 },
            Page::Attachment { id: 9 },
            Page::Sitemap,
            Page::Robots,
            Page::Search,
            Page::Interpretations { page: 1 },
            Page::Interpretations { page: 2 },
        ];
        for page in pages {
            let link = page.path();
            let (path, query) = link.split_once('?').map_or((link.as_str(), None), |(p, q)| (p, Some(q)));
            assert_eq!(Page::parse(path, query), Some(page), "{link}");
        }
    }

    #[test]
    fn a_document_is_linked_the_way_its_site_is_reached() {
        let portal = site(1, "haicheng", &["www.haicheng.gov.cn"], None, false);
        let mounted = site(2, "nanyuan", &[], Some(1), true);
        let own = site(3, "beiyuan", &["beiyuan.haicheng.gov.cn"], Some(1), false);
        let hostless = site(4, "dongyuan", &[], Some(1), false);
        let doc = Page::Document { id: 42 };
        let on_portal = Mount::own_host(portal.clone(), "www.haicheng.gov.cn");
        assert_eq!(on_portal.url(&doc), "/art/42.html");
        assert_eq!(on_portal.absolute(&doc), "http://www.haicheng.gov.cn/art/42.html");
        assert_eq!(on_portal.url_of(&mounted, &doc), "/nanyuan/art/42.html");
        assert_eq!(on_portal.url_of(&own, &doc), "http://beiyuan.haicheng.gov.cn/art/42.html");
        assert_eq!(on_portal.url_of(&hostless, &doc), "/sites/dongyuan/art/42.html");
        let under = Mount::under_portal(mounted.clone(), &on_portal);
        assert_eq!(under.absolute(&doc), "http://www.haicheng.gov.cn/nanyuan/art/42.html");
        let preview = Mount::under_sites(own.clone());
        assert_eq!((preview.url(&doc), preview.absolute(&doc)), ("/sites/beiyuan/art/42.html".into(), "/sites/beiyuan/art/42.html".into()));
        assert_eq!(preview.url_of(&mounted, &doc), "/sites/nanyuan/art/42.html");
        assert_eq!(preview_url(&portal, &Page::Attachment { id: 9 }), "/sites/haicheng/att/9");
    }
}
