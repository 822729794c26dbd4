//! What every request costs, by site and route, for `/metrics`:
//! `zhanqun_http_requests_total{tenant,route,code}`,
//! `zhanqun_http_request_duration_seconds{tenant,route}`, the page cache's
//! hits and misses, and the search engine's time per query.
//!
//! The labels stay bounded whatever clients send: `route` is the route
//! template axum matched (`/api/v1/tenants/{code}/documents`) or, for the
//! public site, the kind of page (`public/document`); `tenant` is the code
//! of a site the public router resolved, `-` for everything else (an API
//! path's `{code}` is whatever a client typed, so it is never a label).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::App;

pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    pub cache: IntCounterVec,
    pub search: Histogram,
}

/// What the public router says about a response it made: which site and
/// which kind of page (the handler knows; the route template does not).
#[derive(Clone, Debug, Default)]
pub struct PublicLabels {
    pub tenant: Option<String>,
    pub route: &'static str,
}

impl HttpMetrics {
    pub fn new(registry: &Registry) -> HttpMetrics {
        let requests = IntCounterVec::new(
            Opts::new("zhanqun_http_requests_total", "HTTP requests answered, by site (public pages), route template and status class"),
            &["tenant", "route", "code"],
        )
        .expect("valid metric");
        let buckets = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
        let duration = HistogramVec::new(
            HistogramOpts::new("zhanqun_http_request_duration_seconds", "Time from a request's head to its answer's head, by site and route template")
                .buckets(buckets.clone()),
            &["tenant", "route"],
        )
        .expect("valid metric");
        let cache = IntCounterVec::new(Opts::new("zhanqun_page_cache_requests_total", "Public pages asked of the page cache: hit or miss"), &["result"])
            .expect("valid metric");
        let search = Histogram::with_opts(HistogramOpts::new("zhanqun_search_duration_seconds", "Time the search engine took for one query").buckets(buckets))
            .expect("valid metric");
        for m in
            [Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>, Box::new(duration.clone()), Box::new(cache.clone()), Box::new(search.clone())]
        {
            let _ = registry.register(m);
        }
        // Both results exist from the first scrape, so a ratio never divides by nothing.
        cache.with_label_values(&["hit"]);
        cache.with_label_values(&["miss"]);
        HttpMetrics { requests, duration, cache, search }
    }
}

impl HttpMetrics {
    /// The request counter and duration histogram of one kind of answer,
    /// resolved once (for answers kept ready, see `ready`).
    pub(crate) fn handles(&self, tenant: &str, route: &str, status: axum::http::StatusCode) -> (prometheus::IntCounter, Histogram) {
        (self.requests.with_label_values(&[tenant, route, class(status.as_u16())]), self.duration.with_label_values(&[tenant, route]))
    }
}

fn class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The middleware: times the request and counts its answer.
pub async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let response = next.run(req).await;
    let public = response.extensions().get::<PublicLabels>();
    let route = match (&matched, public) {
        (Some(m), _) => m.as_str(),
        (None, Some(p)) => p.route,
        (None, None) => "other",
    };
    let tenant = public.and_then(|p| p.tenant.as_deref()).unwrap_or("-");
    let m = &app.http_metrics;
    m.requests.with_label_values(&[tenant, route, class(response.status().as_u16())]).inc();
    m.duration.with_label_values(&[tenant, route]).observe(started.elapsed().as_secs_f64());
    response
}
