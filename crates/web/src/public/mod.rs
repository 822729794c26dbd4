//! The public sites.
//!
//! Which tenant a request is for comes from, in order:
//! 1. `/sites/<code>/…` on any host (local use, previews);
//! 2. the `Host` header, and under a portal's host a child site mounted at
//!    `/<code>/…` (国办发〔2017〕47号 puts township sites under the portal);
//! 3. otherwise `/` lists the sites hosted here.
//!
//! The pages inside a site, and how each is written as a path, are the URL
//! map's (`zhanqun_model::urls`); this module finds the site and answers.

mod render;
mod search_page;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
pub use zhanqun_model::urls::Mount;
use zhanqun_model::urls::Page;
use zhanqun_model::{Lifecycle, Tenant};

use render::BoxError;
pub use render::Templates;
pub(crate) use render::preview;
use zhanqun_platform::directory::Sites;
use zhanqun_platform::page_cache::CachedPage;

use crate::App;
use crate::http_metrics::PublicLabels;

fn host_of(headers: &HeaderMap) -> String {
    let raw = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let without_port = if raw.starts_with('[') { raw } else { raw.rsplit_once(':').map_or(raw, |(h, _)| h) };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

/// Finds the site a request is for, and the rest of the path inside it.
fn resolve<'a>(sites: &Sites, host: &str, path: &'a str) -> Option<(Mount, &'a str)> {
    if let Some(after) = path.strip_prefix("/sites/") {
        let code = after.split('/').next().unwrap_or_default();
        let rest = &after[code.len()..];
        return Some((Mount::under_sites(sites.by_code(code)?.clone()), rest));
    }
    let on_host = Mount::own_host(sites.by_host(host)?.clone(), host);
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    if let Some(child) = sites.mounted_child(on_host.tenant.id, first) {
        let rest = &path[1 + first.len()..];
        return Some((Mount::under_portal(child.clone(), &on_host), rest));
    }
    Some((on_host, path))
}

/// The one handler of every public URL.
pub async fn site(
    State(app): State<Arc<App>>,
    client: Option<axum::Extension<crate::client::ClientAddr>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut labels = PublicLabels { tenant: None, route: "public/unknown" };
    let client = client.map(|c| c.0.0);
    let mut response = answer(&app, method, &headers, &uri, client, &mut labels).await;
    response.extensions_mut().insert(labels);
    response
}

/// The public pages' one script (关怀版 and text size), the same on every
/// site and host, compiled into the binary; `/static/` is a reserved site code.
pub async fn care_script() -> Response {
    let body = include_str!("../../../../assets/care.js");
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// What a reader asking for `path` on `site` gets, as its status: the
/// public answer itself, in-process (the content check's link check).
pub(crate) async fn status_of(app: &Arc<App>, site: &Tenant, path: &str) -> u16 {
    let (host, path) = crate::probe::request_target(site, path);
    let (Ok(uri), Ok(host)) = (path.parse::<Uri>(), HeaderValue::from_str(&host)) else { return 400 };
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, host);
    let mut labels = PublicLabels { tenant: None, route: "public/unknown" };
    answer(app, Method::GET, &headers, &uri, None, &mut labels).await.status().as_u16()
}

/// The kind of page, as the `route` label of the HTTP metrics says it.
fn route_label(page: &Page) -> &'static str {
    match page {
        Page::Home => "public/home",
        Page::Channel { .. } => "public/column",
        Page::Rss { .. } => "public/rss",
        Page::Document { .. } => "public/document",
        Page::Attachment { .. } => "public/attachment",
        Page::Sitemap => "public/sitemap",
        Page::Robots => "public/robots",
        Page::Search => "public/search",
        Page::Interpretations { .. } => "public/interpretations",
    }
}

async fn answer(app: &Arc<App>, method: Method, headers: &HeaderMap, uri: &Uri, client: Option<std::net::IpAddr>, labels: &mut PublicLabels) -> Response {
    let app = app.clone();
    // Public pages are read, never written: anything but GET and HEAD
    // (POST, TRACE, made-up methods) is 405 with the methods that work.
    if method != Method::GET && method != Method::HEAD {
        let mut resp = notice(
            &app,
            &Mount { tenant: placeholder(), base: String::new(), origin: String::new() },
            StatusCode::METHOD_NOT_ALLOWED,
            "请求方式不受支持",
            "公开页面只支持浏览（GET）。",
        );
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let sites = match app.derived.directory.current(&app.store).await {
        Ok(s) => s,
        Err(e) => return server_error(&app, e),
    };
    let host = host_of(headers);
    let path = uri.path();
    let Some((mount, rest)) = resolve(&sites, &host, path) else {
        if path == "/" && app.config.landing == crate::Landing::OnlineSites {
            labels.route = "public/landing";
            return app.templates.landing(&sites).map_or_else(|e| server_error(&app, e), |html| html_response(StatusCode::OK, html));
        }
        return not_found(&app, None);
    };
    labels.tenant = Some(mount.tenant.code.clone());
    // `/sites/x` and `/x` need the slash, or relative paths would break.
    if rest.is_empty() {
        return Redirect::permanent(&mount.url(&Page::Home)).into_response();
    }
    match mount.tenant.lifecycle {
        Lifecycle::Online => {}
        Lifecycle::Suspended => return notice(&app, &mount, StatusCode::SERVICE_UNAVAILABLE, "站点维护中", "本站正在维护，请稍后访问。"),
        Lifecycle::Closed => {
            // Where its content went: the portal it belonged to (集约化
            // moves a closed township's content there), when that is online.
            let portal = mount.tenant.parent_id.and_then(|p| sites.by_id(p)).filter(|p| p.lifecycle == Lifecycle::Online);
            let link = portal.map(|p| (mount.url_of(p, &Page::Home), p.name.clone()));
            return match app.templates.notice_with_link(&mount, "站点已关停", "本站已关停，相关信息请访问上级政府门户网站：", link) {
                Ok(html) => html_response(StatusCode::GONE, html),
                Err(e) => server_error(&app, e),
            };
        }
        Lifecycle::Planned | Lifecycle::Building => return notice(&app, &mount, StatusCode::NOT_FOUND, "站点建设中", "本站尚未上线。"),
    }
    let Some(target) = Page::parse(rest, uri.query()) else {
        return not_found(&app, Some(&mount));
    };
    labels.route = route_label(&target);
    if let Page::Document { id } = target
        && app.derived.tampered.contains(id)
    {
        // Never the altered text: the tamper checker found this node's row
        // differs from what the commands wrote (see platform::integrity).
        return notice(&app, &mount, StatusCode::SERVICE_UNAVAILABLE, "页面核验中", "本页面内容未通过防篡改核验，已暂停显示，请稍后访问。");
    }
    if let Page::Attachment { id } = target {
        return attachment(&app, &mount, id, headers).await;
    }
    if target == Page::Search {
        if let Some(ip) = client
            && let Err(wait) = app.search_limit.take(ip, std::time::Instant::now())
        {
            let mut r = notice(&app, &mount, StatusCode::TOO_MANY_REQUESTS, "搜索过于频繁", "您的搜索过于频繁，请稍后再试。");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
            return r;
        }
        return search_page::page(&app, &sites, &mount, uri).await.unwrap_or_else(|e| server_error(&app, e));
    }
    // Lists drawn from several sites are not cached: the cache is
    // invalidated per site, and another site's change would not reach it.
    if let Page::Interpretations { page } = target {
        return match render::interpretations(&app, &sites, &mount, page).await {
            Ok(Some(html)) => html_response(StatusCode::OK, html),
            Ok(None) => not_found(&app, Some(&mount)),
            Err(e) => server_error(&app, e),
        };
    }
    let Some(key) = target.cache_key().map(|k| format!("{}|{k}", mount.base)) else {
        return not_found(&app, Some(&mount));
    };
    // Read before the lookup: an answer kept ready (see `ready`) is good
    // only while nothing was invalidated since.
    let epoch = app.derived.cache.epoch();
    let cached = app.derived.cache.get(mount.tenant.id, &key);
    app.http_metrics.cache.with_label_values(&[if cached.is_some() { "hit" } else { "miss" }]).inc();
    let page = match cached {
        Some(p) => p,
        None => match render::page(&app, &sites, &mount, &target).await {
            Ok(Some((body, content_type))) => {
                let etag = etag_of(&body);
                let page = Arc::new(CachedPage::new(body.into(), etag, content_type));
                app.derived.cache.put(mount.tenant.id, key, page.clone(), epoch);
                page
            }
            Ok(None) => return not_found(&app, Some(&mount)),
            Err(e) => return server_error(&app, e),
        },
    };
    let document = if let Page::Document { id } = target { Some(id) } else { None };
    send_page(&page, headers, epoch, document).await
}

fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// A cached page as the reader accepts it: compressed when it may be (each
/// form made once and kept with the page, see `encoding`), 304 when the
/// reader holds it already.
async fn send_page(page: &Arc<CachedPage>, request: &HeaderMap, epoch: u64, document: Option<i64>) -> Response {
    let encoding = crate::encoding::preferred(request.get(header::ACCEPT_ENCODING));
    let tag = format!("{}{}\"", page.etag.trim_end_matches('"'), encoding.etag_suffix());
    let etag = HeaderValue::from_str(&tag).expect("a quoted hex digest is a header value");
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Any form the reader holds is this content: no need to send it again.
    let held = |t: &[u8]| t == tag.as_bytes() || t == page.etag.as_bytes();
    if request.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes().split(|b| *b == b',').any(|t| held(t.trim_ascii()))) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(page.content_type));
    if let Some(coding) = encoding.header() {
        headers.insert(header::CONTENT_ENCODING, coding);
    }
    let body = crate::encoding::body(page, encoding).await;
    let mut response = (headers, body.clone()).into_response();
    response.extensions_mut().insert(crate::ready::Memoizable { epoch, body, document });
    response
}

async fn attachment(app: &App, mount: &Mount, id: i64, headers: &HeaderMap) -> Response {
    // Only files of public documents are public (invariant 6).
    let found = match app.store.attachment(mount.tenant.id, id).await {
        Ok(Some(a)) => match a.document_id {
            Some(doc) => match app.store.public_document(mount.tenant.id, doc).await {
                Ok(Some(_)) => Some(a),
                Ok(None) => None,
                Err(e) => return server_error(app, e),
            },
            None => None,
        },
        Ok(None) => None,
        Err(e) => return server_error(app, e),
    };
    match found {
        Some(a) => crate::blobs::serve(&app.blobs, &a, headers).await.unwrap_or_else(|e| server_error(app, e)),
        None => not_found(app, Some(mount)),
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html).into_response()
}

fn not_found(app: &App, mount: Option<&Mount>) -> Response {
    notice(
        app,
        mount.unwrap_or(&Mount { tenant: placeholder(), base: String::new(), origin: String::new() }),
        StatusCode::NOT_FOUND,
        "页面不存在",
        "您访问的页面不存在或已被删除。",
    )
}

/// A site-less stand-in for the 404 page of an unknown host.
fn placeholder() -> Tenant {
    Tenant::new(0, "", "政府网站", zhanqun_model::TenantKind::Portal, "", 0)
}

fn notice(app: &App, mount: &Mount, status: StatusCode, title: &str, message: &str) -> Response {
    match app.templates.notice(mount, title, message) {
        Ok(html) => html_response(status, html),
        Err(e) => server_error(app, e),
    }
}

fn server_error(_app: &App, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "public page failed");
    html_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!doctype html><meta charset=utf-8><title>服务暂时不可用</title><p>服务暂时不可用，请稍后再试。</p>".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_loses_its_port_and_case() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("WWW.Haicheng.gov.cn:8080"));
        assert_eq!(host_of(&h), "www.haicheng.gov.cn");
    }
}
