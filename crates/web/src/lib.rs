//! The HTTP face of zhanqun: public sites chosen by `Host`, the admin API
//! under `/api/v1/`, attachments, health.
//!
//! Handlers never write SQL (invariant 1): they validate, authorize, build a
//! command, propose it through [`zhanqun_cluster::Node::write`] and answer
//! with what the state machine said. Reads go straight to the local store.

// The OpenAPI schemas are one large `json!` literal.
#![recursion_limit = "512"]

mod api;
mod auth;
mod blobs;
pub mod client;
mod diff;
mod encoding;
mod error;
mod fast_lane;
mod headers;
pub mod heavy;
pub mod http_metrics;
pub mod operator;
mod peer;
pub mod probe;
mod public;
pub mod rate_limit;
mod ready;
mod refusals;
pub mod sanitize;
pub mod search;
mod serve;
pub mod theme;
mod tls;
mod workbench;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use zhanqun_cluster::Node;
use zhanqun_platform::Derived;
use zhanqun_store::Store;

pub use auth::hash_password;
pub use blobs::Blobs;
pub use error::ApiError;
pub use public::Templates;
pub use serve::ClientTimeouts;
use sha2::Digest;
pub(crate) use zhanqun_platform::{new_id, now_ms};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest attachment accepted, in bytes.
    pub max_upload_bytes: usize,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Deadlines for slow or silent clients.
    pub timeouts: ClientTimeouts,
    /// What `/` answers on a host no site owns.
    pub landing: Landing,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`
    /// (kept as its SHA-256, compared in constant time).
    pub metrics_token: Option<MetricsToken>,
    /// `/metrics` is served on its own listener ([`metrics_router`]) and not
    /// on the public one.
    pub metrics_elsewhere: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `client`).
    pub trusted_proxies: Vec<client::Cidr>,
    /// The content check: the operator's 错敏词 list (`--word-list`) and
    /// outbound link allow-list (`--link-allow-list`), checked at submission,
    /// shown in the editor and re-run over published pages.
    pub content_rules: Arc<zhanqun_model::content_check::ContentRules>,
    /// Searches a client may run per second on this node (a burst of four
    /// times that); 0 for no limit.
    pub search_per_second: u32,
    /// Plain HTTP on a host that has a certificate answers with a redirect
    /// to HTTPS (`--tls-redirect-http`).
    pub tls_redirect: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_upload_bytes: 100 * 1024 * 1024,
            session_ttl: Duration::from_secs(12 * 3600),
            timeouts: ClientTimeouts::default(),
            landing: Landing::OnlineSites,
            metrics_token: None,
            metrics_elsewhere: false,
            trusted_proxies: Vec::new(),
            content_rules: Arc::default(),
            search_per_second: 10,
            tls_redirect: false,
        }
    }
}

/// What `/` shows on a host that belongs to no site (a bare IP, a
/// load-balancer probe, someone guessing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// The online sites, with links: handy on one machine.
    OnlineSites,
    /// A 404 page that names nothing.
    Nothing,
}

/// A bearer token for `/metrics`, held only as its digest.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    pub fn new(token: &str) -> Self {
        MetricsToken(sha2::Sha256::digest(token.as_bytes()).into())
    }

    fn admits(&self, presented: &str) -> bool {
        let digest: [u8; 32] = sha2::Sha256::digest(presented.as_bytes()).into();
        // Constant time: every byte compared whatever the first mismatch.
        digest.iter().zip(self.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// Everything a handler needs.
pub struct App {
    pub node: Arc<Node>,
    pub store: Arc<Store>,
    pub blobs: Blobs,
    pub derived: Arc<Derived>,
    pub templates: Templates,
    pub config: WebConfig,
    /// This node's search index (see [`search`]).
    pub search: Option<Arc<zhanqun_search::SearchIndex>>,
    /// Set while the binary finishes its first start (administrator, demo):
    /// `/readyz` says not ready until then.
    pub starting: std::sync::atomic::AtomicBool,
    /// Refused API requests by status (see `refusals`).
    refusals: prometheus::IntCounterVec,
    /// Sanitizing bodies, diffing revisions, hashing uploads (see `heavy`).
    pub content_work: heavy::Pool,
    /// argon2 hashing and verifying: memory-hard on purpose, so bounded.
    pub password_work: heavy::Pool,
    /// Search queries, public and admin.
    pub search_work: heavy::Pool,
    /// Bytes held by the page cache, set when `/metrics` is read.
    cache_bytes: prometheus::IntGauge,
    pub http_metrics: http_metrics::HttpMetrics,
    pub search_limit: rate_limit::RateLimiter,
    /// When each site's certificate expires (see [`tls`]).
    tls_expiry: prometheus::GaugeVec,
}

pub type AppState = State<Arc<App>>;

impl App {
    pub fn new(node: Arc<Node>, blobs: Blobs, derived: Arc<Derived>, config: WebConfig) -> App {
        let store = node.store.clone();
        zhanqun_platform::set_id_node(node.id);
        let refusals = refusals::counter(&node.metrics.registry);
        derived.login_guard.register(&node.metrics.registry);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let cache_bytes =
            prometheus::IntGauge::new("zhanqun_page_cache_bytes", "Bytes of rendered pages held in this node's page cache").expect("valid metric");
        // A second App over the same node (tests) finds it registered already.
        let _ = node.metrics.registry.register(Box::new(cache_bytes.clone()));
        let http_metrics = http_metrics::HttpMetrics::new(&node.metrics.registry);
        let search_limit = rate_limit::RateLimiter::new(config.search_per_second);
        let tls_expiry = tls::expiry_gauge(&node.metrics.registry);
        App {
            node,
            store,
            blobs,
            derived,
            templates: Templates::new(),
            config,
            starting: Default::default(),
            search: None,
            refusals,
            content_work: heavy::Pool::half_the_cores("edits (sanitizing, diffs, uploads)"),
            password_work: heavy::Pool::half_the_cores("logins"),
            search_work: heavy::Pool::new("searches", cores),
            cache_bytes,
            http_metrics,
            search_limit,
            tls_expiry,
        }
    }
}

/// The whole HTTP surface of a node.
pub fn router(app: Arc<App>) -> Router {
    let trusted = Arc::new(app.config.trusted_proxies.clone());
    let mut routes = Router::new()
        .nest("/api/v1", api::router(&app.config).layer(middleware::from_fn_with_state(app.clone(), refusals::note)))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz))
        .route("/static/care.js", axum::routing::get(public::care_script));
    if !app.config.metrics_elsewhere {
        routes = routes.route("/metrics", axum::routing::get(metrics));
    }
    routes
        .merge(peer::router())
        .merge(workbench::router())
        .fallback(public::site)
        .layer(middleware::from_fn_with_state(app.clone(), http_metrics::observe))
        .layer(middleware::from_fn_with_state(app.clone(), min_index))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(middleware::from_fn(headers::add))
        .layer(middleware::from_fn(move |req, next| client::mark(trusted.clone(), req, next)))
        .with_state(app)
}

/// `/metrics` alone, for a listener of its own (`--metrics-listen`): the
/// public port then has none.
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics)).layer(middleware::from_fn(headers::add)).with_state(app)
}

async fn readyz(State(app): AppState) -> Response {
    if app.starting.load(std::sync::atomic::Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: finishing the first start").into_response()
    } else if app.node.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: no leader yet, or still applying the log").into_response()
    }
}

/// Prometheus text: Raft state, snapshots, forwarding, refused peer calls.
async fn metrics(State(app): AppState, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &app.config.metrics_token {
        let presented = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| token.admits(p.trim())) {
            return ApiError::Unauthenticated("/metrics needs `Authorization: Bearer <the metrics token>` on this node").into_response();
        }
    }
    app.node.refresh_metrics();
    app.cache_bytes.set(app.derived.cache.bytes() as i64);
    // Loads the certificates if they changed, which sets their gauge.
    if let Err(e) = app.tls_sites().await {
        tracing::warn!("cannot read the sites' certificates: {e}");
    }
    let mut out = String::new();
    match prometheus::TextEncoder::new().encode_utf8(&app.node.metrics.registry.gather(), &mut out) {
        Ok(()) => ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Read-your-writes on any node: a request carrying `X-Zhanqun-Min-Index`
/// waits (at most 5 s) until this node has applied that index. A request
/// carrying `X-Zhanqun-Consistency: linearizable` first asks the leader
/// for its commit index with a quorum round and waits for that, so it sees
/// every write acknowledged before it started, through any node.
async fn min_index(State(app): AppState, req: Request, next: Next) -> Response {
    if req.headers().get("x-zhanqun-consistency").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"linearizable"))
        && let Err(e) = app.node.read_barrier(Duration::from_secs(5)).await
    {
        return ApiError::from(e).into_response();
    }
    if let Some(v) = req.headers().get("x-zhanqun-min-index") {
        let Some(index) = v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) else {
            return ApiError::bad_request("invalid_min_index", "X-Zhanqun-Min-Index must be a log index (a non-negative integer)").into_response();
        };
        if !app.node.wait_applied(index, Duration::from_secs(5)).await {
            return ApiError::Unavailable(format!("this node has not applied index {index} yet; retry")).into_response();
        }
    }
    next.run(req).await
}

/// Serves until `shutdown` resolves, then finishes in-flight requests (see
/// `serve` for the deadlines every connection has).
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let timeouts = app.config.timeouts;
    // Setting a site's certificate invalidates its pages, so an answer kept
    // on this listener never outlives a redirect to HTTPS that replaced it.
    let ready = Some(Arc::new(ready::ReadyPages::new(app.clone())));
    let routes = if app.config.tls_redirect { tls::redirecting(app.clone(), router(app.clone())) } else { router(app) };
    serve::serve(routes, ready, listener, timeouts, shutdown).await
}

/// Serves [`router`] over HTTPS on `listener` until `shutdown` resolves:
/// each site's certificate chosen by SNI (see [`tls`]).
pub async fn serve_tls(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timeouts = app.config.timeouts;
    let choose = tls::chooser(app.clone());
    let ready = Some(Arc::new(ready::ReadyPages::new(app.clone())));
    serve::serve_tls(tls::strict_transport(router(app)), ready, listener, timeouts, choose, shutdown).await
}

/// Serves [`metrics_router`] on its own listener until `shutdown` resolves.
pub async fn serve_metrics(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timeouts = app.config.timeouts;
    serve::serve(metrics_router(app), None, listener, timeouts, shutdown).await
}
