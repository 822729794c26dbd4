//! Turning content into pages with the site theme (minijinja).
//!
//! Templates are compiled into the binary from `templates/`, so a node needs
//! no files besides its data directory. Values are escaped by the template
//! engine; only document bodies, sanitized when they were written, are
//! inserted as HTML.

use std::collections::HashSet;

use minijinja::{Environment, Value, context};
use serde::Serialize;
use zhanqun_model::time::{format_date, format_minute, format_rfc822};
use zhanqun_model::{Channel, ChannelKind, Document};

use zhanqun_model::urls::Page;

use super::{Mount, Sites};
use crate::App;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! templates {
    ($env:ident, $($name:literal),+) => {
        $($env.add_template($name, include_str!(concat!("../../../../templates/", $name))).expect(concat!("template ", $name, " compiles"));)+
    };
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        templates!(env, "base.html", "home.html", "channel.html", "document.html", "notice.html", "landing.html", "rss.xml", "sitemap.xml", "search.html");
        // The workbench (`/admin/`), in the same engine.
        templates!(
            env,
            "admin/base.html",
            "admin/login.html",
            "admin/password.html",
            "admin/home.html",
            "admin/documents.html",
            "admin/new.html",
            "admin/editor.html",
            "admin/document.html",
            "admin/review.html",
            "admin/diff.html",
            "admin/site.html",
            "admin/platform_sites.html",
            "admin/platform_site.html",
            "admin/accounts.html",
            "admin/audit.html",
            "admin/reposts.html",
            "admin/feeds.html",
            "admin/compliance.html",
            "admin/totp.html",
            "admin/content_check.html"
        );
        // The default HTML escaper also escapes `/`, which turns every link
        // into `&#x2f;` soup; escaping `& < > " '` is what safety needs.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() && value.as_str().is_some() {
                out.write_str(&zhanqun_model::escape_html(value.as_str().unwrap_or_default()))?;
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.add_filter("minute", |ms: i64| format_minute(ms));
        env.add_filter("date", |ms: i64| format_date(ms));
        env.add_filter("rfc822", |ms: i64| format_rfc822(ms));
        env.add_filter("filesize", |bytes: i64| match bytes {
            b if b < 1024 => format!("{b} B"),
            b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
            b => format!("{:.1} MB", b as f64 / 1024.0 / 1024.0),
        });
        Templates { env }
    }

    /// The built-in templates with those of a theme in their place.
    pub fn with_theme(theme: Vec<(&'static str, String)>) -> Result<Templates, String> {
        let mut t = Templates::new();
        for (name, text) in theme {
            t.env.add_template_owned(name, text).map_err(|e| format!("the theme's {name} does not compile: {e}"))?;
        }
        Ok(t)
    }

    pub(crate) fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    /// The sites of this cluster that are online: a site being planned or
    /// built, suspended or closed is nobody's business yet (or any more).
    pub fn landing(&self, sites: &Sites) -> Result<String, minijinja::Error> {
        let list: Vec<Value> = sites
            .tenants()
            .filter(|t| t.lifecycle == zhanqun_model::Lifecycle::Online)
            .map(|t| context! { name => t.name, code => t.code, kind => t.kind.as_str(), hosts => t.hosts })
            .collect();
        self.render("landing.html", context! { sites => list })
    }

    pub fn notice(&self, mount: &Mount, title: &str, message: &str) -> Result<String, minijinja::Error> {
        self.notice_with_link(mount, title, message, None)
    }

    /// A notice that sends the reader on: (url, name).
    pub fn notice_with_link(&self, mount: &Mount, title: &str, message: &str, link: Option<(String, String)>) -> Result<String, minijinja::Error> {
        let link = link.map(|(url, name)| context! { url, name });
        self.render("notice.html", context! { site => site_value(mount, &[], &HashSet::new()), title, message, link, column => title })
    }
}

/// Channels in the order of the column tree: each top-level column, then its children.
fn tree_order(channels: &[Channel]) -> Vec<&Channel> {
    let mut out = Vec::with_capacity(channels.len());
    for top in channels.iter().filter(|c| c.parent_id.is_none()) {
        out.push(top);
        out.extend(channels.iter().filter(|c| c.parent_id == Some(top.id)));
    }
    out
}

#[derive(Serialize)]
struct NavItem {
    name: String,
    url: String,
    children: Vec<NavItem>,
}

fn doc_url(mount: &Mount, id: i64) -> String {
    mount.url(&Page::Document { id })
}

/// Whether a column is in the public navigation: a list column only when it
/// or one of its sub-columns holds a public document (an empty column is what
/// inspectors mark down, and a reader gains nothing from it); single pages,
/// links and interaction columns always.
fn shown_in_navigation(c: &Channel, channels: &[Channel], filled: &HashSet<i64>) -> bool {
    match c.kind {
        ChannelKind::List | ChannelKind::Disclosure => {
            filled.contains(&c.id) || channels.iter().any(|k| k.parent_id == Some(c.id) && shown_in_navigation(k, channels, filled))
        }
        ChannelKind::Page | ChannelKind::Link | ChannelKind::Interaction => true,
    }
}

/// The site's columns and what every page of it shows around its content
/// (name, navigation, footer).
pub(super) async fn site_of(app: &App, mount: &Mount) -> Result<(Vec<Channel>, Value), BoxError> {
    let channels = app.store.channels(mount.tenant.id).await?;
    let filled = app.store.channels_with_public_documents(mount.tenant.id).await?;
    let site = site_value(mount, &channels, &filled);
    Ok((channels, site))
}

pub(super) fn site_value(mount: &Mount, channels: &[Channel], filled: &HashSet<i64>) -> Value {
    let t = &mount.tenant;
    let shown = |c: &&Channel| shown_in_navigation(c, channels, filled);
    let nav: Vec<NavItem> = channels
        .iter()
        .filter(|c| c.parent_id.is_none())
        .filter(shown)
        .map(|c| NavItem {
            name: c.name.clone(),
            url: mount.channel_url(c),
            children: channels
                .iter()
                .filter(|k| k.parent_id == Some(c.id))
                .filter(shown)
                .map(|k| NavItem { name: k.name.clone(), url: mount.channel_url(k), children: vec![] })
                .collect(),
        })
        .chain(
            // Every site has its 政策解读 column (a portal's gathers every site's):
            // inspectors look for it in the navigation.
            (!channels.is_empty()).then(|| NavItem { name: "政策解读".into(), url: mount.url(&Page::Interpretations { page: 1 }), children: vec![] }),
        )
        .collect();
    context! {
        name => t.name, code => t.code, base => mount.base, home => mount.url(&Page::Home), search => mount.url(&Page::Search),
        domain => t.hosts.first().cloned().unwrap_or_default(),
        site_id_code => t.site_id_code, icp => t.icp, police_record => t.police_record,
        police_record_number => t.police_record_number(), conac_id => t.conac_id.as_deref().filter(|s| !s.is_empty()), mailbox => t.mailbox, nav,
    }
}

fn doc_item(mount: &Mount, d: &Document) -> Value {
    context! { title => d.title, url => doc_url(mount, d.id), published_at => d.published_at.unwrap_or(d.updated_at), doc_no => d.meta.doc_no }
}

const PER_PAGE: i64 = 20;

/// Renders a site page; `None` means "no such page" (a 404).
pub async fn page(app: &App, sites: &Sites, mount: &Mount, target: &Page) -> Result<Option<(String, &'static str)>, BoxError> {
    const HTML: &str = "text/html; charset=utf-8";
    let t = &mount.tenant;
    let (channels, site) = site_of(app, mount).await?;
    let by_slug = |slug: &str| channels.iter().find(|c| c.slug == slug);
    let tpl = &app.templates;
    let out = match target {
        Page::Home => {
            let mut blocks = Vec::new();
            for c in tree_order(&channels).into_iter().filter(|c| matches!(c.kind, ChannelKind::List | ChannelKind::Disclosure)) {
                let docs = app.store.public_documents(t.id, Some(c.id), 7, 0).await?;
                if !docs.items.is_empty() {
                    blocks.push(
                        context! { name => c.name, url => mount.channel_url(c), docs => docs.items.iter().map(|d| doc_item(mount, d)).collect::<Vec<_>>() },
                    );
                }
            }
            let children: Vec<Value> = sites
                .children(t.id)
                .filter(|c| c.lifecycle == zhanqun_model::Lifecycle::Online)
                .map(|c| {
                    let url = mount.url_of(c, &Page::Home);
                    context! { name => c.name, url }
                })
                .collect();
            Some((tpl.render("home.html", context! { site, blocks, children, column => "首页" })?, HTML))
        }
        Page::Channel { slug, page } => {
            let Some(c) = by_slug(slug) else { return Ok(None) };
            let docs = app.store.public_documents(t.id, Some(c.id), PER_PAGE, (page - 1) * PER_PAGE).await?;
            let pages = ((docs.total + PER_PAGE - 1) / PER_PAGE).max(1);
            if *page > pages {
                return Ok(None);
            }
            let parent = c.parent_id.and_then(|p| channels.iter().find(|k| k.id == p)).map(|p| context! { name => p.name, url => mount.channel_url(p) });
            let subchannels: Vec<Value> =
                channels.iter().filter(|k| k.parent_id == Some(c.id)).map(|k| context! { name => k.name, url => mount.channel_url(k) }).collect();
            let at = |page: i64| mount.url(&Page::Channel { slug: c.slug.clone(), page });
            let rss = mount.url(&Page::Rss { slug: c.slug.clone() });
            Some((
                tpl.render(
                    "channel.html",
                    context! {
                        site, column => c.name, channel => context! { name => c.name, url => mount.channel_url(c), rss }, parent, subchannels,
                        // An interaction column (互动交流) says first where a letter goes.
                        interaction => (c.kind == ChannelKind::Interaction).then(|| context! { mailbox => t.mailbox }),
                        docs => docs.items.iter().map(|d| doc_item(mount, d)).collect::<Vec<_>>(), total => docs.total,
                        page => *page, pages, prev => (*page > 1).then(|| at(page - 1)), next => (*page < pages).then(|| at(page + 1)),
                    },
                )?,
                HTML,
            ))
        }
        Page::Rss { slug } => {
            let Some(c) = by_slug(slug) else { return Ok(None) };
            let docs = app.store.public_documents(t.id, Some(c.id), PER_PAGE, 0).await?;
            let items: Vec<Value> = docs
                .items
                .iter()
                .map(|d| context! { title => d.title, link => mount.absolute(&Page::Document { id: d.id }), published_at => d.published_at.unwrap_or(d.updated_at), summary => d.summary, id => d.id })
                .collect();
            Some((
                tpl.render(
                    "rss.xml",
                    context! { site, channel => context! { name => c.name, link => format!("{}{}", mount.origin, mount.channel_url(c)) }, items },
                )?,
                "application/rss+xml; charset=utf-8",
            ))
        }
        Page::Document { id } => {
            let Some(d) = app.store.public_document(t.id, *id).await? else { return Ok(None) };
            Some((document(app, mount, &channels, site, &d).await?, HTML))
        }
        Page::Sitemap => {
            // The protocol wants absolute URLs on the site's own host,
            // however the sitemap itself was reached (`/sites/<code>/`
            // included); a site without a host keeps the way it was reached.
            let own = if t.hosts.is_empty() { mount.clone() } else { Mount::own_host(t.clone(), "") };
            let mut urls = vec![context! { loc => own.absolute(&Page::Home), lastmod => Value::from(()) }];
            for c in channels.iter().filter(|c| c.kind != ChannelKind::Link) {
                urls.push(context! { loc => format!("{}{}", own.origin, own.channel_url(c)), lastmod => Value::from(()) });
            }
            for (id, updated) in app.store.public_document_stamps(t.id).await? {
                urls.push(context! { loc => own.absolute(&Page::Document { id }), lastmod => format_date(updated) });
            }
            Some((tpl.render("sitemap.xml", context! { urls })?, "application/xml; charset=utf-8"))
        }
        Page::Robots => Some((format!("User-agent: *\nAllow: /\nSitemap: {}\n", mount.absolute(&Page::Sitemap)), "text/plain; charset=utf-8")),
        Page::Attachment { .. } | Page::Search | Page::Interpretations { .. } => None,
    };
    Ok(out)
}

/// A document's page. Files the text shows inline (its pictures) are not
/// listed again under it.
async fn document(app: &App, mount: &Mount, channels: &[Channel], site: Value, d: &Document) -> Result<String, BoxError> {
    let t = &mount.tenant;
    let c = channels.iter().find(|c| c.id == d.channel_id);
    let parent =
        c.and_then(|c| c.parent_id).and_then(|p| channels.iter().find(|k| k.id == p)).map(|p| context! { name => p.name, url => mount.channel_url(p) });
    let attachments: Vec<Value> = app
        .store
        .attachments_of(t.id, d.id)
        .await?
        .iter()
        .filter(|a| !d.body_html.contains(&format!("{}\"", Page::Attachment { id: a.id }.path())))
        .map(|a| context! { name => a.file_name, size => a.size, url => mount.url(&Page::Attachment { id: a.id }) })
        .collect();
    let column = c.map(|c| c.name.clone()).unwrap_or_default();
    // 政策解读 and their policy link to each other.
    let policy = match d.interprets {
        Some(pid) => app.store.public_document(t.id, pid).await?.map(|p| context! { title => p.title, url => doc_url(mount, p.id) }),
        None => None,
    };
    let replaced = match d.replaced_by {
        Some(rid) => app.store.public_document(t.id, rid).await?.map(|r| context! { title => r.title, url => doc_url(mount, r.id) }),
        None => None,
    };
    let interpretations: Vec<Value> = app
        .store
        .public_interpretations_of(t.id, d.id)
        .await?
        .iter()
        .map(|i| context! { title => i.title, url => doc_url(mount, i.id), kind => i.interpretation_kind.map(|k| k.as_str()) })
        .collect();
    let origin = origin_of(app, mount, d).await?;
    Ok(app.templates.render(
        "document.html",
        context! {
            site, column, origin, channel => c.map(|c| context! { name => c.name, url => mount.channel_url(c) }), parent, attachments,
            policy, interpretations, kind => d.interpretation_kind.map(|k| k.as_str()), replaced,
            still_valid => d.meta.validity == zhanqun_model::Validity::Valid,
            doc => context! {
                title => d.title, body_html => Value::from_safe_string(d.body_html.clone()), source => d.source, author => d.author,
                summary => d.summary, published_at => d.published_at, index_no => d.meta.index_no, doc_no => d.meta.doc_no,
                issuing_organ => d.meta.issuing_organ, written_date => d.meta.written_date, topic => d.meta.topic,
                disclosure => d.meta.disclosure.map_or("", |x| x.as_str()), validity => d.meta.validity.as_str(),
            },
        },
    )?)
}

/// Where a copy (or a feed item) came from: the link its 来源 points to and
/// its canonical URL — the original for a feed item, else the source
/// document on its own site's host.
async fn origin_of(app: &App, mount: &Mount, d: &Document) -> Result<Option<Value>, BoxError> {
    if let Some(url) = &d.origin_url {
        return Ok(Some(context! { url => url, canonical => url, name => d.meta.issuing_organ }));
    }
    let Some((tenant_id, id)) = app.store.copy_source(d.tenant_id, d.id).await? else { return Ok(None) };
    let sites = app.derived.directory.current(&app.store).await?;
    let Some(site) = sites.by_id(tenant_id) else { return Ok(None) };
    let page = Page::Document { id };
    let url = mount.url_of(site, &page);
    let canonical = if site.hosts.is_empty() { url.clone() } else { Mount::own_host(site.clone(), "").absolute(&page) };
    Ok(Some(context! { url, canonical, name => site.name }))
}

/// A document's page as it will be published, whatever its state now:
/// the workbench's preview, on the site's own template.
pub async fn preview(app: &App, tenant: &zhanqun_model::Tenant, d: &Document) -> Result<String, BoxError> {
    let mount = Mount::under_sites(tenant.clone());
    let (channels, site) = site_of(app, &mount).await?;
    document(app, &mount, &channels, site, d).await
}

/// The 政策解读 column: a site's interpretations, or on a portal those of
/// every online site, newest first, 20 a page.
pub async fn interpretations(app: &App, sites: &Sites, mount: &Mount, page: i64) -> Result<Option<String>, BoxError> {
    let t = &mount.tenant;
    let scope: Vec<i64> = if t.kind == zhanqun_model::TenantKind::Portal {
        sites.tenants().filter(|s| s.lifecycle == zhanqun_model::Lifecycle::Online).map(|s| s.id).collect()
    } else {
        vec![t.id]
    };
    let docs = app.store.public_interpretations(&scope, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let pages = ((docs.total + PER_PAGE - 1) / PER_PAGE).max(1);
    if page > pages {
        return Ok(None);
    }
    let (_, site) = site_of(app, mount).await?;
    let at = |page: i64| mount.url(&Page::Interpretations { page });
    let url = at(1);
    let items: Vec<Value> = docs
        .items
        .iter()
        .filter_map(|d| {
            let site = sites.by_id(d.tenant_id)?;
            let kind = d.interpretation_kind.map_or("", |k| k.as_str());
            let title = if site.id == t.id { format!("【{kind}】{}", d.title) } else { format!("【{kind}】{}（{}）", d.title, site.name) };
            Some(context! { title, url => mount.url_of(site, &Page::Document { id: d.id }), published_at => d.published_at.unwrap_or(d.updated_at), doc_no => d.meta.doc_no })
        })
        .collect();
    Ok(Some(app.templates.render(
        "channel.html",
        context! {
            site, column => "政策解读", channel => context! { name => "政策解读", url => url.clone(), rss => () },
            parent => (), subchannels => Vec::<Value>::new(), docs => items, total => docs.total, page, pages,
            prev => (page > 1).then(|| at(page - 1)), next => (page < pages).then(|| at(page + 1)),
        },
    )?))
}
