//! Refused admin API requests — 401 (no valid session) and 403 (a role the
//! caller lacks) — are security events under 等级保护 2.0: each one is
//! counted for alerting (`zhanqun_api_refusals_total{status}`) and logged
//! with who, what and from where.
//!
//! They are deliberately *not* lines of the audit trail. The trail is
//! replicated through Raft; one entry per refused request would let anyone
//! with a script grow every node's log. Refused *commands* (a reviewer's
//! step taken by the wrong person) are in the trail, written by the state
//! machine.

use std::sync::Arc;

use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::{App, auth, now_ms};

pub(crate) fn counter(registry: &Registry) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new("zhanqun_api_refusals_total", "Admin API requests refused with 401 or 403"), &["status"]).expect("valid metric");
    // A second App over the same node (tests) finds it registered already.
    let _ = registry.register(Box::new(c.clone()));
    c
}

/// Middleware over `/api/v1`.
pub(crate) async fn note(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // The full path: inside the nested router the URI has lost `/api/v1`.
    let path = req.extensions().get::<OriginalUri>().map_or_else(|| req.uri().path().to_owned(), |u| u.0.path().to_owned());
    let client_ip = req.extensions().get::<crate::client::ClientAddr>().map(|c| c.0.to_string());
    let token = req.headers().get(AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer ")).map(|t| t.trim().to_owned());
    let response = next.run(req).await;
    let status = response.status();
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
        return response;
    }
    app.refusals.with_label_values(&[status.as_str()]).inc();
    // A failed login logs itself, with the username tried.
    if path.ends_with("/session") {
        return response;
    }
    // Only the username ever reaches the log, never the token.
    let user = match token {
        Some(t) => app.store.session_user(&auth::token_digest(&t), now_ms()).await.ok().flatten().map(|u| u.username),
        None => None,
    };
    tracing::warn!(
        status = status.as_u16(),
        %method,
        %path,
        user = %user.as_deref().unwrap_or("-"),
        client_ip = %client_ip.as_deref().unwrap_or("-"),
        "API request refused"
    );
    response
}
