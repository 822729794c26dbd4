//! The workbench at `/admin/`: the people of the sites do their whole job
//! in the browser, in Chinese.
//!
//! Another front door to the same model, not another model: every write
//! here is the command the JSON API would propose, mostly by calling the
//! API's own handler with the caller the session cookie names, so the
//! permission policy, the state machine and the audit trail are the same.
//! Pages are rendered on the server with the public side's template
//! engine; the one script (`assets/workbench.js`) does only what a page
//! cannot: the rich-text editor, paste cleaning, uploads with progress,
//! and keeping unsaved text in the browser until it is saved.

mod account;
mod documents;
mod home;
mod platform;
mod reposts;
mod review;
mod session;
mod site;
mod words;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use zhanqun_model::{Tenant, TenantRole, User};

use crate::{ApiError, App};
pub use session::Browser;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/admin", get(|| async { axum::response::Redirect::permanent("/admin/") }))
        .route("/admin/", get(home::show))
        .route("/admin/login", get(account::login_page).post(account::login))
        .route("/admin/logout", post(account::logout))
        .route("/admin/password", get(account::password_page).post(account::change_password))
        .route("/admin/totp", get(account::totp_page).post(account::enroll_totp))
        .route("/admin/static/{file}", get(asset))
        .route("/admin/sites/{code}/documents", get(documents::list).post(documents::create))
        .route("/admin/sites/{code}/documents/new", get(documents::new_page))
        .route("/admin/sites/{code}/documents/{id}", get(documents::open).post(documents::save))
        .route("/admin/sites/{code}/documents/{id}/preview", get(documents::preview))
        .route("/admin/sites/{code}/documents/{id}/diff", get(review::diff))
        .route("/admin/sites/{code}/documents/{id}/step/{step}", post(review::step))
        .route("/admin/sites/{code}/review", get(review::queue))
        .route("/admin/sites/{code}/attachments", post(documents::upload).layer(DefaultBodyLimit::disable()))
        .route("/admin/sites/{code}/attachments/{id}", get(documents::attachment))
        .route("/admin/sites/{code}/site", get(site::show))
        .route("/admin/sites/{code}/site/inspection.csv", get(site::inspection_csv))
        .route("/admin/sites/{code}/site/{action}", post(site::act))
        .route("/admin/sites/{code}/reposts", get(reposts::show))
        .route("/admin/sites/{code}/reposts.csv", get(reposts::board_csv))
        .route("/admin/sites/{code}/submissions.csv", get(reposts::counts_csv))
        .route("/admin/sites/{code}/reposts/{action}", post(reposts::act))
        .route("/admin/sites/{code}/compliance.csv", get(platform::site_compliance_csv))
        .route("/admin/platform/compliance", get(platform::compliance))
        .route("/admin/platform/compliance.csv", get(platform::compliance_csv))
        .route("/admin/platform/feeds", get(platform::feeds))
        .route("/admin/platform/sites", get(platform::sites))
        .route("/admin/platform/sites/{code}", get(platform::site))
        .route("/admin/platform/accounts", get(platform::accounts))
        .route("/admin/platform/audit", get(platform::audit))
        .route("/admin/platform/audit.csv", get(platform::audit_csv))
        .route("/admin/platform/{action}", post(platform::act))
        .layer(DefaultBodyLimit::max(session::FORM_LIMIT))
        .layer(axum::middleware::from_fn(session::check_csrf))
}

/// The pieces every workbench page shows: who is logged in, what they may
/// open in the site at hand, the CSRF token for the page's forms.
fn layout(b: &Browser, current: Option<&Tenant>) -> Value {
    let u = &b.user;
    let platform = u.platform_role.map(|r| match r {
        zhanqun_model::PlatformRole::Admin => "系统管理员",
        zhanqun_model::PlatformRole::Security => "安全管理员",
        zhanqun_model::PlatformRole::Auditor => "审计管理员",
    });
    let site = current.map(|t| {
        let reviews = u.may(t.id, &[TenantRole::Admin, TenantRole::Reviewer, TenantRole::DisclosureReviewer, TenantRole::SecrecyReviewer]);
        let writes = u.may(t.id, zhanqun_model::policy::WRITERS);
        let builds = u.may(t.id, &[TenantRole::Admin]) || u.is_platform_admin();
        context! { code => t.code, name => t.name, reviews, writes, builds, member => u.belongs_to(t.id) }
    });
    context! {
        me => context! {
            username => u.username, name => if u.display_name.is_empty() { u.username.clone() } else { u.display_name.clone() }, platform,
            platform_code => u.platform_role.map(|r| r.as_str()),
        },
        csrf => b.csrf, site,
    }
}

/// The sites the person at the browser works in.
async fn my_sites(app: &App, user: &User) -> Result<Vec<Tenant>, ApiError> {
    let sites = app.derived.directory.current(&app.store).await?;
    Ok(sites.tenants().filter(|t| user.belongs_to(t.id)).cloned().collect())
}

/// A site the person works in, by code; anyone else gets the same 404 as
/// for a site that does not exist (a township editor learns nothing about
/// the others).
async fn my_site(app: &App, b: &Browser, code: &str) -> Result<Tenant, Page> {
    let sites = app.derived.directory.current(&app.store).await.map_err(|e| Page::Failed(e.into()))?;
    match sites.by_code(code) {
        Some(t) if b.user.belongs_to(t.id) => Ok(t.clone()),
        _ => Err(Page::NotYours),
    }
}

/// What a workbench handler answers when it is not a page of its own.
pub enum Page {
    Html(StatusCode, String),
    /// Not a site or document of this person: one answer for both.
    NotYours,
    Failed(ApiError),
    /// A refused change, already in the person's words.
    Refused(StatusCode, String),
}

impl Page {
    /// A change the API refused, said in Chinese on a page of its own
    /// (the browser's Back keeps what was typed in the form).
    pub fn refused(e: ApiError) -> Page {
        Page::Refused(e.status(), words::refusal(&e).0)
    }
}

impl From<minijinja::Error> for Page {
    fn from(e: minijinja::Error) -> Self {
        Page::Failed(ApiError::internal(e))
    }
}

impl From<ApiError> for Page {
    fn from(e: ApiError) -> Self {
        Page::Failed(e)
    }
}

impl From<zhanqun_store::StoreError> for Page {
    fn from(e: zhanqun_store::StoreError) -> Self {
        Page::Failed(e.into())
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut r = match self {
            Page::Html(status, html) => (status, Html(html)).into_response(),
            Page::Refused(status, text) => (status, Html(simple_page("操作未完成", &text))).into_response(),
            Page::NotYours => (StatusCode::NOT_FOUND, Html(simple_page("找不到", "没有这个页面，或者它不属于您工作的站点。"))).into_response(),
            Page::Failed(e) => {
                let status = e.status();
                let (text, _) = words::refusal(&e);
                if let ApiError::Internal(detail) = &e {
                    tracing::error!(%detail, "workbench page failed");
                }
                (status, Html(simple_page("操作未完成", &text))).into_response()
            }
        };
        r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        r
    }
}

/// A page with nothing but a message, when the templates cannot be used.
fn simple_page(title: &str, message: &str) -> String {
    let (t, m) = (zhanqun_model::escape_html(title), zhanqun_model::escape_html(message));
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} - 工作台</title><link rel=\"stylesheet\" href=\"/admin/static/workbench.css\"></head><body><main class=\"narrow\"><h1>{t}</h1><p role=\"alert\">{m}</p><p><a href=\"/admin/\">返回工作台首页</a></p></main></body></html>"
    )
}

fn render(app: &App, name: &str, ctx: Value) -> Result<Page, Page> {
    Ok(Page::Html(StatusCode::OK, app.templates.render(name, ctx)?))
}

fn render_status(app: &App, status: StatusCode, name: &str, ctx: Value) -> Result<Page, Page> {
    Ok(Page::Html(status, app.templates.render(name, ctx)?))
}

/// A body for an API handler, read from JSON exactly as the API reads it,
/// so a workbench form is checked by the same types as a client's request.
pub fn body<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Unprocessable("invalid_field".into(), e.to_string()))
}

/// Percent-encodes a value for a URL query.
pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|q| q[1..].to_string()).unwrap_or_default()
}

/// The workbench's own script and style, compiled into the binary.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match file.as_str() {
        "workbench.js" => (include_str!("../../../../assets/workbench.js"), "text/javascript; charset=utf-8"),
        "workbench.css" => (include_str!("../../../../assets/workbench.css"), "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}
