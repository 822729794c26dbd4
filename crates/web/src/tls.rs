//! HTTPS served by the node itself (`--tls-listen`): each site's stored
//! certificate picked by SNI, reloaded when a `set_certificate` is applied
//! (no restart), HSTS on every HTTPS answer, and optionally plain HTTP on a
//! site host redirected to HTTPS. The certificates are read and checked in
//! `zhanqun_platform::tls`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use zhanqun_platform::tls::TlsSites;

use crate::App;
use crate::serve::ChooseTls;

/// A year: browsers then go straight to HTTPS on a host they have seen.
/// Not `includeSubDomains`: a portal's HTTPS says nothing of the hosts
/// under it, which may be other sites.
const HSTS: &str = "max-age=31536000";

pub(crate) fn expiry_gauge(registry: &prometheus::Registry) -> prometheus::GaugeVec {
    let gauge = prometheus::GaugeVec::new(
        prometheus::Opts::new("zhanqun_tls_cert_expiry_seconds", "When each site's HTTPS certificate expires (Unix time, seconds)"),
        &["tenant"],
    )
    .expect("valid metric");
    let _ = registry.register(Box::new(gauge.clone()));
    gauge
}

impl App {
    /// The certificates as served now, loaded again after one was set.
    pub async fn tls_sites(&self) -> Result<Arc<TlsSites>, zhanqun_store::StoreError> {
        self.derived
            .certificates
            .current(|| async {
                let certificates = self.store.site_certificates().await?;
                let directory = self.derived.directory.current(&self.store).await?;
                self.tls_expiry.reset();
                for (tenant_id, c) in &certificates {
                    let site = directory.by_id(*tenant_id).map_or_else(|| tenant_id.to_string(), |t| t.code.clone());
                    self.tls_expiry.with_label_values(&[site.as_str()]).set((c.not_after / 1000) as f64);
                }
                Ok(TlsSites::from_certificates(&certificates))
            })
            .await
    }
}

pub(crate) fn chooser(app: Arc<App>) -> ChooseTls {
    Arc::new(move |host| {
        let app = app.clone();
        Box::pin(async move {
            match app.tls_sites().await {
                Ok(sites) => sites.for_host(&host),
                Err(e) => {
                    tracing::warn!("cannot read the sites' certificates: {e}");
                    None
                }
            }
        })
    })
}

/// Every answer over HTTPS says to keep to HTTPS.
pub(crate) fn strict_transport(router: Router) -> Router {
    router.layer(middleware::map_response(|mut response: Response| async move {
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        response
    }))
}

/// Plain HTTP on a host with a certificate answers 308 to the same address
/// over HTTPS (a 308 keeps a form's POST a POST). Hosts without one, and
/// the nodes' own addresses (peers, probes, /metrics), are served as they are.
pub(crate) fn redirecting(app: Arc<App>, router: Router) -> Router {
    router.layer(middleware::from_fn_with_state(app, redirect))
}

async fn redirect(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    if let Some(host) = host
        && app.tls_sites().await.is_ok_and(|sites| sites.has_host(&host))
    {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        if let Ok(location) = HeaderValue::from_str(&format!("https://{host}{path}")) {
            return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response();
        }
    }
    next.run(req).await
}
