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
use zhanqun_model::urls::{Page, preview_url};
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

/// The body sanitizer every document goes through, for feed items: what
/// cannot be cleaned (too deep, too many elements) becomes empty.
pub fn sanitize_feed_body(html: &str) -> String {
    crate::sanitize::body_html(html).unwrap_or_default()
}
