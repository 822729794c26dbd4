//! Who is at the browser: the session cookie, its idle clock and the CSRF
//! token every form carries.
//!
//! The cookie holds the same kind of random token the API hands out (the
//! cluster stores only its SHA-256). It is `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it) and `Secure` when the
//! request came over TLS. A browser session also ends after the password
//! policy's idle timeout; a request marks it in use, replicated at most
//! every few minutes (`TouchSession`), so any node knows when it idled out.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::Digest;
use zhanqun_model::{Command, User};
use zhanqun_store::LiveSession;

use crate::auth::{Caller, client_ip, token_digest};
use crate::{App, now_ms};

pub const COOKIE: &str = "zq_session";
/// The form field (or `X-CSRF-Token` header) that proves a write came from
/// one of our own pages.
pub const CSRF_FIELD: &str = "_csrf";
const CSRF_HEADER: &str = "x-csrf-token";
/// Forms may carry a whole document body: 2 MiB of HTML, percent-encoded.
pub const FORM_LIMIT: usize = 8 * 1024 * 1024;

/// A logged-in person at a browser.
pub struct Browser {
    pub user: User,
    pub client_ip: Option<String>,
    /// The token's CSRF twin, put in every form of every page.
    pub csrf: String,
    pub token_sha256: String,
}

impl Browser {
    /// The same caller the JSON API knows, for the same handlers.
    pub fn caller(&self) -> Caller {
        Caller { user: self.user.clone(), client_ip: self.client_ip.clone() }
    }
}

/// The CSRF token of a session: derived from its secret token, so it
/// needs no storage, and useless without the cookie it belongs to.
pub fn csrf_of(token: &str) -> String {
    hex::encode(&sha2::Sha256::digest(format!("zhanqun-csrf\0{token}").as_bytes())[..16])
}

pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whether the browser reached us over TLS: directly, or through a trusted
/// proxy that says so (`X-Forwarded-Proto: https`).
pub fn over_tls(headers: &HeaderMap, from_trusted_proxy: bool) -> bool {
    from_trusted_proxy && headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// `Set-Cookie` for a new session, or (`token` empty) one that clears it.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    let max_age = if token.is_empty() { "; Max-Age=0" } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}{max_age}")).expect("a token is ASCII")
}

/// Why a page could not be shown to the person at the browser.
pub enum NotLoggedIn {
    /// No session: go and log in.
    Absent {
        next: String,
    },
    /// The session idled out or expired; what was being typed is kept by
    /// the page (in the browser's storage) and offered back after login.
    Expired {
        next: String,
    },
    /// Logged in, but the 安全管理员 set the password: change it first.
    MustChangePassword,
    /// A platform account the policy asks for a second factor: enroll first.
    MustEnrollTotp,
    /// A script asked (an upload): it gets a status, not a page.
    ForScript(&'static str),
    Broken(crate::ApiError),
}

impl IntoResponse for NotLoggedIn {
    fn into_response(self) -> Response {
        let to_login = |next: &str, expired: bool| {
            let next = super::url_encode(next);
            let mut r = Redirect::to(&format!("/admin/login?next={next}{}", if expired { "&expired=1" } else { "" })).into_response();
            if expired {
                r.headers_mut().insert(header::SET_COOKIE, set_cookie("", false));
            }
            r
        };
        match self {
            NotLoggedIn::Absent { next } => to_login(&next, false),
            NotLoggedIn::Expired { next } => to_login(&next, true),
            NotLoggedIn::MustChangePassword => Redirect::to("/admin/password").into_response(),
            NotLoggedIn::MustEnrollTotp => Redirect::to("/admin/totp").into_response(),
            NotLoggedIn::ForScript(why) => (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response(),
            NotLoggedIn::Broken(e) => super::Page::Failed(e).into_response(),
        }
    }
}

/// Where to come back to after logging in: this page, or for a form's
/// POST the page it was on.
fn come_back_to(parts: &Parts) -> String {
    if parts.method == Method::GET {
        return parts.uri.path_and_query().map_or("/admin/", |p| p.as_str()).to_string();
    }
    parts
        .headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        // The page without its query: `?saved=1` would tell the editor the
        // text it kept in the browser was saved, which it was not.
        .and_then(|r| r.find("/admin/").map(|i| r[i..].split(['?', '#']).next().unwrap_or_default().to_string()))
        .unwrap_or_else(|| "/admin/".into())
}

/// A request from a script (`fetch`) rather than a page load.
fn from_script(parts: &Parts) -> bool {
    parts.headers.contains_key(CSRF_HEADER)
}

/// Looks up the session of the cookie, marking it in use when its idle
/// clock needs it.
async fn live_session(app: &App, token: &str, client_ip: Option<String>) -> Result<Option<LiveSession>, crate::ApiError> {
    let digest = token_digest(token);
    let now = now_ms();
    let Some(session) = app.store.session(&digest, now).await? else { return Ok(None) };
    if let Some(idle) = session.idle_ms {
        // Marked when a sixth of the idle time has gone (five minutes of
        // thirty): a session in use never idles out, and a busy editor
        // costs one small write every few minutes, not one per click.
        if now - session.last_seen_at > (idle / 6).max(1000) {
            let p = zhanqun_platform::proposal(Some(session.user.id), client_ip, Command::TouchSession { token_sha256: digest, user_id: session.user.id });
            if let Err(e) = app.node.write(p).await {
                tracing::warn!(error = %e, "could not mark a browser session in use; it may idle out early");
            }
        }
    }
    Ok(Some(session))
}

impl FromRequestParts<Arc<App>> for Browser {
    type Rejection = NotLoggedIn;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(if from_script(parts) {
                NotLoggedIn::ForScript("登录已失效，请重新登录")
            } else {
                NotLoggedIn::Absent { next: come_back_to(parts) }
            });
        };
        let session = live_session(app, &token, ip.clone()).await.map_err(NotLoggedIn::Broken)?;
        let Some(session) = session else {
            return Err(if from_script(parts) {
                NotLoggedIn::ForScript("登录已超时，请重新登录")
            } else {
                NotLoggedIn::Expired { next: come_back_to(parts) }
            });
        };
        let mut session = session;
        crate::auth::password_expiry(app, &mut session.user).await.map_err(NotLoggedIn::Broken)?;
        let on_password_page = parts.uri.path() == "/admin/password" || parts.uri.path() == "/admin/logout";
        if session.user.must_change_password && !on_password_page {
            return Err(NotLoggedIn::MustChangePassword);
        }
        let on_totp_page = parts.uri.path() == "/admin/totp" || on_password_page;
        if !on_totp_page && crate::auth::second_factor_gate(app, &session.user).await.is_err() {
            return Err(NotLoggedIn::MustEnrollTotp);
        }
        Ok(Browser { user: session.user, client_ip: ip, csrf: csrf_of(&token), token_sha256: token_digest(&token) })
    }
}

/// Refuses a write to the workbench that does not carry the CSRF token of
/// the session it comes with: in the `X-CSRF-Token` header (scripts) or
/// the `_csrf` field of a form. The login form, which has no session yet,
/// must come from a page of this host (`Origin`), as browsers send it.
pub async fn check_csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    if req.uri().path() == "/admin/login" {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok());
        return match origin {
            Some(o) if o.split_once("://").map(|(_, h)| h) != Some(host) => refuse("login from another origin"),
            _ => next.run(req).await,
        };
    }
    let Some(token) = cookie_token(req.headers()) else {
        // No session at all: the handler sends them to log in, changing nothing.
        return next.run(req).await;
    };
    let expected = csrf_of(&token);
    if let Some(sent) = req.headers().get(CSRF_HEADER) {
        return if sent.as_bytes() == expected.as_bytes() { next.run(req).await } else { refuse("wrong header") };
    }
    let is_form = req.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !is_form {
        return refuse("neither header nor form");
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "提交的内容过大").into_response();
    };
    let sent = form_urlencoded_field(&bytes, CSRF_FIELD);
    if sent.as_deref() != Some(expected.as_str()) {
        return refuse("form field missing or wrong");
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn refuse(why: &'static str) -> Response {
    tracing::info!(why, "workbench write refused: CSRF check");
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "请求被拒绝：表单已失效或来自其他网站（CSRF 校验未通过）。请回到工作台重新操作。",
    )
        .into_response()
}

/// One field of an `application/x-www-form-urlencoded` body.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = set_cookie("abc", false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && plain.contains("Path=/admin"));
        assert!(!plain.contains("Secure"));
        assert!(set_cookie("abc", true).to_str().unwrap().contains("; Secure"));
        assert!(set_cookie("", false).to_str().unwrap().contains("Max-Age=0"), "logging out clears it");
    }

    #[test]
    fn forwarded_https_counts_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(over_tls(&h, true));
        assert!(!over_tls(&h, false), "anyone can send the header; only a trusted proxy is believed");
        assert!(!over_tls(&HeaderMap::new(), true));
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        assert_eq!(csrf_of("t1"), csrf_of("t1"));
        assert_ne!(csrf_of("t1"), csrf_of("t2"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("other=1; zq_session=tok; x=2"));
        assert_eq!(cookie_token(&h).as_deref(), Some("tok"));
        assert_eq!(form_urlencoded_field(b"a=1&_csrf=abc", CSRF_FIELD).as_deref(), Some("abc"));
    }
}
