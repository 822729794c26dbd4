//! Logging in and out at the browser, and changing one's own password.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use minijinja::context;
use serde::Deserialize;

use super::session::{Browser, set_cookie};
use super::{Page, layout, render, render_status, words};
use crate::App;
use crate::api::session::{check_credentials, open_session};
use crate::client::{ClientAddr, FromTrustedProxy};

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    out: Option<String>,
}

/// Only a page of the workbench is somewhere to go back to after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin/") && !n.starts_with("//") && !n.contains('\\') && !n.contains("/admin/login") => n.to_string(),
        _ => "/admin/".into(),
    }
}

pub async fn login_page(State(app): State<Arc<App>>, Query(q): Query<LoginQuery>) -> Result<Page, Page> {
    let notice = if q.expired.is_some() {
        let idle = crate::auth::password_policy(&app).await?.idle_timeout_minutes;
        Some(format!("登录已超时（{idle} 分钟未操作会自动退出），请重新登录。未保存的内容保留在本浏览器中，登录后回到原页面即可恢复。"))
    } else if q.out.is_some() {
        Some("您已安全退出。".to_string())
    } else {
        None
    };
    render(&app, "admin/login.html", context! { next => safe_next(q.next.as_deref()), notice, error => (), username => "" })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    /// Only accounts with a second factor fill it in.
    #[serde(default)]
    totp: Option<String>,
    next: Option<String>,
}

pub async fn login(
    State(app): State<Arc<App>>,
    client: Option<Extension<ClientAddr>>,
    tls: Option<Extension<FromTrustedProxy>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let source = client.map_or_else(|| "-".to_string(), |c| c.0.0.to_string());
    let next = safe_next(form.next.as_deref());
    let refused = |e: crate::ApiError| {
        let (text, _) = words::refusal(&e);
        let status = e.status();
        render_status(&app, status, "admin/login.html", context! { next, notice => (), error => text, username => form.username })
            .unwrap_or_else(|p| p)
            .into_response()
    };
    let (user, step) = match check_credentials(&app, form.username.trim(), form.password.clone(), form.totp.as_deref(), &source).await {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let idle = match crate::auth::password_policy(&app).await {
        Ok(p) => p.idle_timeout(),
        Err(e) => return refused(e),
    };
    let opened = match open_session(&app, &user, &source, Some(idle), step).await {
        Ok(o) => o,
        Err(crate::api::WriteRefused(_, e)) => return refused(e),
    };
    let secure = super::session::over_tls(&headers, tls.is_some());
    let to = if user.must_change_password { "/admin/password".to_string() } else { next };
    let mut r = Redirect::to(&to).into_response();
    r.headers_mut().insert(header::SET_COOKIE, set_cookie(&opened.token, secure));
    r
}

pub async fn logout(State(app): State<Arc<App>>, b: Browser) -> Response {
    let p = zhanqun_platform::proposal(Some(b.user.id), b.client_ip.clone(), zhanqun_model::Command::DeleteSession { token_sha256: b.token_sha256.clone() });
    if let Err(e) = crate::api::propose(&app, p).await {
        return Page::Failed(e.1).into_response();
    }
    let mut r = Redirect::to("/admin/login?out=1").into_response();
    r.headers_mut().insert(header::SET_COOKIE, set_cookie("", false));
    r
}

pub async fn password_page(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    let policy = crate::auth::password_policy(&app).await?;
    render(
        &app,
        "admin/password.html",
        context! {
            layout => layout(&b, None), must => b.user.must_change_password,
            policy => context! { min_length => policy.min_length, min_classes => policy.min_classes },
            error => (), field => (), done => false,
        },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    repeat_password: String,
}

pub async fn change_password(State(app): State<Arc<App>>, b: Browser, Form(form): Form<PasswordForm>) -> Result<Page, Page> {
    let policy = crate::auth::password_policy(&app).await?;
    let show = |error: Option<String>, field: Option<&str>, done: bool, status: StatusCode| {
        render_status(
            &app,
            status,
            "admin/password.html",
            context! {
                layout => layout(&b, None), must => b.user.must_change_password && !done,
                policy => context! { min_length => policy.min_length, min_classes => policy.min_classes },
                error, field, done,
            },
        )
    };
    if form.new_password != form.repeat_password {
        return show(Some("两次输入的新密码不一致".into()), Some("repeat_password"), false, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let session = crate::auth::SessionUser { user: b.user.clone(), client_ip: b.client_ip.clone(), token_sha256: b.token_sha256.clone() };
    let body = crate::api::ApiJson(crate::api::session::NewOwnPassword { current_password: form.current_password, new_password: form.new_password });
    match crate::api::session::change_password(State(app.clone()), session, body).await {
        Ok(_) => show(None, None, true, StatusCode::OK),
        Err(crate::api::WriteRefused(_, e)) => {
            let (text, field) = words::refusal(&e);
            show(Some(text), field, false, e.status())
        }
    }
}

/// `GET /admin/totp`: the second factor — on, or a new secret to put in an
/// authenticator app with the code that turns it on.
pub async fn totp_page(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    let enrolled = app.store.totp_of(b.user.id).await?.is_some();
    let secret = zhanqun_platform::totp::new_secret();
    let uri = zhanqun_platform::totp::uri("zhanqun", &b.user.username, &secret);
    let grouped = secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    render(&app, "admin/totp.html", context! { layout => layout(&b, None), enrolled, secret, grouped, uri, error => (), done => false })
}

#[derive(Deserialize)]
pub struct TotpForm {
    secret: String,
    code: String,
}

/// `POST /admin/totp`: turns the second factor on with the app's code.
pub async fn enroll_totp(State(app): State<Arc<App>>, b: Browser, Form(form): Form<TotpForm>) -> Result<Page, Page> {
    let session = crate::auth::SessionUser { user: b.user.clone(), client_ip: b.client_ip.clone(), token_sha256: b.token_sha256.clone() };
    let body = crate::api::ApiJson(crate::api::session::TotpEnrollment { secret: form.secret.clone(), code: form.code });
    let (status, error, done) = match crate::api::session::totp_enroll(State(app.clone()), session, body).await {
        Ok(_) => (StatusCode::OK, None, true),
        Err(crate::api::WriteRefused(_, e)) => (e.status(), Some(words::refusal(&e).0), false),
    };
    let uri = zhanqun_platform::totp::uri("zhanqun", &b.user.username, &form.secret);
    let grouped = form.secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    render_status(&app, status, "admin/totp.html", context! { layout => layout(&b, None), enrolled => done, secret => form.secret, grouped, uri, error, done })
}
