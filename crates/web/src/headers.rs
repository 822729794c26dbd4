//! Security headers on every answer, chosen by what the answer is.
//!
//! - Public pages: a Content-Security-Policy that lets a page load only its
//!   own scripts and styles (the themes use inline `<style>`, never inline
//!   scripts; images in bodies may come from other government hosts), may be
//!   framed only by the same site, and never sends a full URL to others.
//! - The admin API and node-to-node calls: never cached by anyone
//!   (`no-store`: a login answer holds a token), framed by no one.
//! - The workbench (`/admin/`): like the API, never cached or framed; its
//!   own scripts only.
//! - Everything: `X-Content-Type-Options: nosniff`, so a browser never runs
//!   an answer as a type it was not declared as.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: http: https:; media-src 'self' http: https:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";
const ADMIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: http: https:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn add(req: Request, next: Next) -> Response {
    let private = ["/api/", "/_raft/", "/metrics", "/healthz", "/readyz"].iter().any(|p| req.uri().path().starts_with(p));
    let workbench = req.uri().path().starts_with("/admin");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    set_if_missing(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if workbench {
        // Pages of a logged-in person: kept by no cache, framed by no one.
        set_if_missing(h, header::CACHE_CONTROL, "no-store");
        set_if_missing(h, header::CONTENT_SECURITY_POLICY, ADMIN_CSP);
        set_if_missing(h, header::REFERRER_POLICY, "same-origin");
        set_if_missing(h, header::X_FRAME_OPTIONS, "DENY");
    } else if private {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        set_if_missing(h, header::CONTENT_SECURITY_POLICY, API_CSP);
        set_if_missing(h, header::REFERRER_POLICY, "no-referrer");
        set_if_missing(h, header::X_FRAME_OPTIONS, "DENY");
    } else {
        set_if_missing(h, header::REFERRER_POLICY, "strict-origin-when-cross-origin");
        set_if_missing(h, header::X_FRAME_OPTIONS, "SAMEORIGIN");
        if h.get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html")) {
            set_if_missing(h, header::CONTENT_SECURITY_POLICY, PAGE_CSP);
        }
    }
    resp
}

fn set_if_missing(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !h.contains_key(&name) {
        h.insert(name, HeaderValue::from_static(value));
    }
}
