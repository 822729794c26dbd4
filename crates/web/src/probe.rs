//! The public router as the repost proofs see it: a document's page
//! requested in-process on its site's own host (or under `/sites/<code>/`
//! when the site has none), exactly as a reader's request would be served.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;
use zhanqun_model::Tenant;
use zhanqun_model::urls::{Page, preview_url};
use zhanqun_platform::compliance::SiteFetch;
use zhanqun_platform::reposts::PageProbe;

use crate::App;

pub struct RouterProbe {
    app: Arc<App>,
    router: Router,
}

impl RouterProbe {
    pub fn new(app: Arc<App>) -> RouterProbe {
        RouterProbe { router: crate::router(app.clone()), app }
    }
}

impl PageProbe for RouterProbe {
    fn status(&self, tenant_id: i64, document_id: i64) -> Pin<Box<dyn Future<Output = u16> + Send + '_>> {
        Box::pin(async move {
            let Ok(sites) = self.app.derived.directory.current(&self.app.store).await else { return 503 };
            let Some(site) = sites.by_id(tenant_id) else { return 404 };
            let page = Page::Document { id: document_id };
            let (host, path) = match site.hosts.first() {
                Some(h) => (h.clone(), page.path()),
                None => ("localhost".to_string(), preview_url(site, &page)),
            };
            let Ok(request) = Request::get(path).header(header::HOST, host).body(Body::empty()) else { return 400 };
            match self.router.clone().oneshot(request).await {
                Ok(response) => response.status().as_u16(),
                Err(never) => match never {},
            }
        })
    }
}

/// The largest page body the monitors read.
const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Where a reader's request for `path` on `site` goes: the site's own host,
/// or `/sites/<code>/` when it has none (its pages' links already carry
/// that prefix).
pub(crate) fn request_target(site: &Tenant, path: &str) -> (String, String) {
    match site.hosts.first() {
        Some(h) => (h.clone(), path.to_string()),
        None if path.starts_with("/sites/") => ("localhost".to_string(), path.to_string()),
        None => ("localhost".to_string(), format!("/sites/{}{path}", site.code)),
    }
}

impl SiteFetch for RouterProbe {
    fn get(&self, site: &Tenant, path: &str, body: bool) -> Pin<Box<dyn Future<Output = (u16, Option<String>)> + Send + '_>> {
        let (host, path) = request_target(site, path);
        Box::pin(async move {
            let Ok(request) = Request::get(path).header(header::HOST, host).body(Body::empty()) else { return (400, None) };
            let response = match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            let html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
            if !(body && html) {
                return (status, None);
            }
            let bytes = axum::body::to_bytes(response.into_body(), PAGE_BYTES).await.ok();
            (status, bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
        })
    }
}

/// The body sanitizer every document goes through, for feed items: what
/// cannot be cleaned (too deep, too many elements) becomes empty.
pub fn sanitize_feed_body(html: &str) -> String {
    crate::sanitize::body_html(html).unwrap_or_default()
}
