//! The three platform administrators' screens (三权分立):
//! - 系统管理员: sites and their lifecycle (开办 → 建设 → 上线 → 关停),
//!   hosts and footer registrations, cluster status — and no content;
//! - 安全管理员: accounts, roles per site, the password policy;
//! - 审计管理员: the audit trail with filters, CSV export, chain check.
//!
//! Every form hands the API's own handler the JSON body a client would
//! send ([`super::body`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde_json::json;
use zhanqun_model::{Lifecycle, TenantKind, TenantRole};

use super::{Browser, Page, body, layout, render, words};
use crate::App;
use crate::api::{self, WriteRefused};

fn lifecycle_name(l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::Planned => "开办",
        Lifecycle::Building => "建设中",
        Lifecycle::Online => "已上线",
        Lifecycle::Suspended => "暂停",
        Lifecycle::Closed => "已关停",
    }
}

/// `GET /admin/platform/sites` (系统管理员).
pub async fn sites(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    if !b.user.is_platform_admin() {
        return Err(Page::NotYours);
    }
    let dir = app.derived.directory.current(&app.store).await?;
    let sites: Vec<Value> = dir
        .tenants()
        .map(|t| context! { code => t.code, name => t.name, kind => t.kind.as_str(), kind_name => words::site_kind(t.kind), hosts => t.hosts.join(" "), lifecycle => t.lifecycle.as_str(), lifecycle_name => lifecycle_name(t.lifecycle) })
        .collect();
    let status = app.node.cluster_status().await;
    let lifecycles: Vec<Value> = Lifecycle::ALL.iter().map(|l| context! { code => l.as_str(), name => lifecycle_name(*l) }).collect();
    let portals: Vec<Value> =
        dir.tenants().filter(|t| t.kind == zhanqun_model::TenantKind::Portal).map(|t| context! { code => t.code, name => t.name }).collect();
    // Townships first: the kind a 系统管理员 opens most.
    let kinds: Vec<Value> = [TenantKind::Township, TenantKind::Department, TenantKind::Special, TenantKind::Portal]
        .iter()
        .map(|k| context! { code => k.as_str(), name => words::site_kind(*k) })
        .collect();
    render(
        &app,
        "admin/platform_sites.html",
        context! { layout => layout(&b, None), sites, lifecycles, portals, kinds, cluster => Value::from_serialize(&status) },
    )
}

/// `GET /admin/platform/feeds`: feeds from above and how their polls go (系统管理员).
/// `/admin/platform/compliance`: every online site ranked by the
/// compliance monitors, worst first.
pub async fn compliance(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    if !b.user.is_platform_admin() {
        return Err(Page::NotYours);
    }
    let round = app.derived.compliance.latest();
    let sites: Vec<Value> = round
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let cells: Vec<Value> =
                s.findings.iter().map(|f| context! { monitor => f.monitor.as_str(), level => f.level.as_str(), summary => f.summary }).collect();
            context! { rank => i + 1, code => s.code, name => s.name, level => s.level.as_str(), red => s.red, warn => s.warn, cells }
        })
        .collect();
    let monitors: Vec<&str> = zhanqun_model::compliance::Monitor::ALL.iter().map(|m| words::monitor(*m)).collect();
    render(
        &app,
        "admin/compliance.html",
        context! { layout => layout(&b, None), sites, monitors, at => (round.at > 0).then_some(round.at), took_ms => round.took_ms },
    )
}

pub async fn compliance_csv(State(app): State<Arc<App>>, b: Browser) -> Response {
    let query = api::Query(body(json!({ "format": "csv" })).expect("a known shape"));
    api::compliance::ranking(State(app.clone()), b.caller(), query).await.unwrap_or_else(|e| Page::Failed(e).into_response())
}

pub async fn site_compliance_csv(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>) -> Response {
    let query = api::Query(body(json!({ "format": "csv" })).expect("a known shape"));
    api::compliance::site(State(app.clone()), b.caller(), api::Path(code), query).await.unwrap_or_else(|e| Page::Failed(e).into_response())
}

pub async fn feeds(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    if !b.user.is_platform_admin() {
        return Err(Page::NotYours);
    }
    let dir = app.derived.directory.current(&app.store).await?;
    let feeds: Vec<Value> = app
        .store
        .feeds()
        .await?
        .iter()
        .map(|f| {
            let at = |ms: Option<i64>| ms.map(zhanqun_model::time::format_minute);
            context! {
                id => f.feed.id, name => f.feed.name, url => f.feed.url, site => dir.by_id(f.feed.tenant_id).map(|t| t.name.clone()),
                minutes => f.feed.poll_seconds / 60, allow_private => f.feed.allow_private, items => f.items, failures => f.failures,
                last_poll => at(f.last_poll_at), last_success => at(f.last_success_at), failing => f.failing_reason.as_deref().map(feed_failure),
                detail => f.failing_detail,
            }
        })
        .collect();
    // Where items may go: every column of the special (source) sites.
    let mut columns = Vec::new();
    for t in dir.tenants().filter(|t| t.kind == zhanqun_model::TenantKind::Special) {
        for c in app.store.channels(t.id).await? {
            columns.push(context! { site => t.code, value => format!("{}:{}", t.code, c.id), name => format!("{} · {}", t.name, c.name) });
        }
    }
    render(&app, "admin/feeds.html", context! { layout => layout(&b, None), feeds, columns })
}

/// A poll's failure, as the 系统管理员 reads it.
fn feed_failure(reason: &str) -> &'static str {
    match reason {
        "blocked_address" => "地址不允许（本机、内网或链路本地地址）",
        "dns" => "域名解析失败",
        "connect" => "连接失败",
        "timeout" => "超时未应答",
        "http_status" => "对方返回错误状态",
        "too_large" => "内容过大",
        "too_many_redirects" => "跳转过多",
        "not_a_feed" => "不是 RSS、Atom 或 JSON Feed",
        _ => "抓取失败",
    }
}

/// `GET /admin/platform/sites/{code}`: one site's settings (系统管理员).
pub async fn site(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>) -> Result<Page, Page> {
    if !b.user.is_platform_admin() {
        return Err(Page::NotYours);
    }
    let t = api::tenant_by_code(&app, &code).await?;
    let lifecycles: Vec<Value> = Lifecycle::ALL.iter().map(|l| context! { code => l.as_str(), name => lifecycle_name(*l) }).collect();
    // What may be shown of its certificate: never the key.
    let certificate = app.store.site_certificate(t.id).await?.map(|c| {
        context! { sha256 => c.sha256, hosts => c.hosts.join("、"), not_after => zhanqun_model::time::format_minute(c.not_after) }
    });
    render(
        &app,
        "admin/platform_site.html",
        context! { layout => layout(&b, None), t => Value::from_serialize(&t), hosts => t.hosts.join("\n"), lifecycles, certificate },
    )
}

/// `POST /admin/platform/{action}`: one change by a platform administrator.
pub async fn act(State(app): State<Arc<App>>, b: Browser, Path(action): Path<String>, Form(f): Form<HashMap<String, String>>) -> Result<Response, Page> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    let (s, c) = (State(app.clone()), b.caller());
    let (done, back) = match action.as_str() {
        "site-create" => {
            let v = json!({
                "code": get("code"), "name": get("name"), "kind": get("kind"), "organ_code": get("organ_code"), "parent": opt("parent"),
                "hosts": get("hosts").split_whitespace().collect::<Vec<_>>(), "mount_under_parent": opt("parent").is_some(),
            });
            (api::tenants::create(s, c, api::ApiJson(body(v).map_err(Page::refused)?)).await, "/admin/platform/sites".to_string())
        }
        "site-update" => {
            let code = get("code");
            let v = json!({
                "name": get("name"), "hosts": get("hosts").split_whitespace().collect::<Vec<_>>(), "lifecycle": get("lifecycle"),
                "site_id_code": get("site_id_code"), "icp": get("icp"), "police_record": get("police_record"),
                "conac_id": get("conac_id"), "mailbox": get("mailbox"),
            });
            (api::tenants::update(s, c, api::Path(code.clone()), api::Strict(body(v).map_err(Page::refused)?)).await, format!("/admin/platform/sites/{code}"))
        }
        "site-certificate" => {
            let code = get("code");
            // PEM keeps its line breaks: not trimmed line by line.
            let v = json!({ "chain_pem": f.get("chain_pem").cloned().unwrap_or_default(), "private_key_pem": f.get("private_key_pem").cloned().unwrap_or_default() });
            (
                api::certificates::set(s, c, api::Path(code.clone()), api::ApiJson(body(v).map_err(Page::refused)?)).await,
                format!("/admin/platform/sites/{code}"),
            )
        }
        "site-certificate-remove" => {
            let code = get("code");
            (api::certificates::remove(s, c, api::Path(code.clone())).await, format!("/admin/platform/sites/{code}"))
        }
        "user-create" => {
            let roles: Vec<serde_json::Value> = match (opt("site"), opt("role")) {
                (Some(tenant), Some(role)) => vec![json!({ "tenant": tenant, "role": role })],
                _ => vec![],
            };
            let v = json!({ "username": get("username"), "display_name": opt("display_name"), "password": get("password"), "roles": roles });
            (api::users::create(s, c, api::ApiJson(body(v).map_err(Page::refused)?)).await, "/admin/platform/accounts".to_string())
        }
        "user-roles" => {
            let roles: Vec<serde_json::Value> = get("roles")
                .split([',', '，', '\n', ' '])
                .filter_map(|r| r.trim().split_once(':'))
                .map(|(t, r)| json!({ "tenant": t.trim(), "role": r.trim() }))
                .collect();
            (
                api::users::set_roles(s, c, api::Path(get("username")), api::ApiJson(body(json!({ "roles": roles })).map_err(Page::refused)?)).await,
                "/admin/platform/accounts".to_string(),
            )
        }
        "user-password" => (
            api::users::reset_password(s, c, api::Path(get("username")), api::ApiJson(body(json!({ "password": get("password") }))?)).await,
            "/admin/platform/accounts".to_string(),
        ),
        "user-disable" => (api::users::disable(s, c, api::Path(get("username"))).await, "/admin/platform/accounts".to_string()),
        "user-enable" => (api::users::enable(s, c, api::Path(get("username"))).await, "/admin/platform/accounts".to_string()),
        "user-unlock" => (api::users::unlock(s, c, api::Path(get("username"))).await, "/admin/platform/accounts".to_string()),
        "policy" => {
            let n = |k: &str| get(k).parse::<u32>().unwrap_or(0);
            let v = json!({
                "min_length": n("min_length"), "min_classes": n("min_classes"), "max_failed_logins": n("max_failed_logins"),
                "lockout_minutes": n("lockout_minutes"), "idle_timeout_minutes": n("idle_timeout_minutes"),
                "totp_for_platform": get("totp_for_platform") == "yes",
                "max_age_days": n("max_age_days"), "history": n("history"),
            });
            (api::users::set_password_policy(s, c, api::Strict(body(v).map_err(Page::refused)?)).await, "/admin/platform/accounts".to_string())
        }
        "feed-create" => {
            let (site, channel) = get("column").split_once(':').map(|(s, c)| (s.to_string(), c.parse::<i64>().unwrap_or(0))).unwrap_or_default();
            let v = json!({
                "name": get("name"), "url": get("url"), "site": site, "channel_id": channel,
                "poll_seconds": get("minutes").parse::<i64>().unwrap_or(15) * 60, "allow_private": get("allow_private") == "yes",
            });
            (api::reposts::create_feed(s, c, api::ApiJson(body(v).map_err(Page::refused)?)).await, "/admin/platform/feeds".to_string())
        }
        "feed-poll" => {
            let id = get("id").parse::<i64>().unwrap_or(0);
            (api::reposts::poll_now(s, c, api::Path(id)).await, "/admin/platform/feeds".to_string())
        }
        "feed-delete" => {
            let id = get("id").parse::<i64>().unwrap_or(0);
            (api::reposts::delete_feed(s, c, api::Path(id)).await, "/admin/platform/feeds".to_string())
        }
        _ => return Err(Page::NotYours),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(WriteRefused(_, e)) => Err(Page::refused(e)),
    }
}

/// Accounts on one page of the workbench's list.
const ACCOUNTS_PER_PAGE: i64 = 100;

/// `GET /admin/platform/accounts?after=` (安全管理员): by username, a page
/// at a time (by key).
pub async fn accounts(State(app): State<Arc<App>>, b: Browser, Query(q): Query<HashMap<String, String>>) -> Result<Page, Page> {
    if !b.user.is_security_admin() {
        return Err(Page::NotYours);
    }
    let dir = app.derived.directory.current(&app.store).await?;
    let code_of = |id: i64| dir.by_id(id).map(|t| t.code.clone()).unwrap_or_else(|| id.to_string());
    let mut page = app.store.users_page(q.get("after").map(String::as_str), ACCOUNTS_PER_PAGE + 1).await?;
    let next = api::next_key(&mut page, ACCOUNTS_PER_PAGE, |u| super::url_encode(&u.username));
    let users: Vec<Value> = page
        .iter()
        .map(|u| {
            let roles: Vec<String> = u.grants.iter().map(|g| format!("{}:{}", code_of(g.tenant_id), g.role.as_str())).collect();
            let shown: Vec<String> = u.grants.iter().map(|g| format!("{} {}", dir.by_id(g.tenant_id).map_or("?", |t| t.name.as_str()), words::role(g.role))).collect();
            context! {
                username => u.username, name => u.display_name, platform => u.platform_role.map(|r| r.as_str()), roles => roles.join(", "), shown => shown.join("；"),
                disabled => u.disabled_at.is_some(), must_change => u.must_change_password,
            }
        })
        .collect();
    let sites: Vec<Value> = dir.tenants().map(|t| context! { code => t.code, name => t.name }).collect();
    let roles: Vec<Value> = TenantRole::ALL.iter().map(|r| context! { code => r.as_str(), name => words::role(*r) }).collect();
    let policy = crate::auth::password_policy(&app).await?;
    render(&app, "admin/accounts.html", context! { layout => layout(&b, None), users, next, sites, roles, policy => Value::from_serialize(policy) })
}

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    site: Option<String>,
    before: Option<i64>,
    action: Option<String>,
}

/// `GET /admin/platform/audit` (审计管理员).
pub async fn audit(State(app): State<Arc<App>>, b: Browser, Query(q): Query<AuditQuery>) -> Result<Page, Page> {
    if !b.user.is_auditor() {
        return Err(Page::NotYours);
    }
    let dir = app.derived.directory.current(&app.store).await?;
    let site = q.site.as_deref().filter(|s| !s.is_empty());
    let tenant = match site {
        Some(code) => Some(api::tenant_by_code(&app, code).await?.id),
        None => None,
    };
    let action = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let entries = app.store.audit(tenant, None, q.before, 200).await?;
    let oldest = entries.last().map(|e| e.id);
    let actors: Vec<i64> = entries.iter().filter_map(|e| e.line.actor).collect();
    let names = app.store.usernames(&actors).await?;
    let rows: Vec<Value> = entries
        .iter()
        .filter(|e| action.is_none_or(|a| e.line.action.contains(a)))
        .map(|e| {
            let l = &e.line;
            context! {
                id => e.id, at => l.at, actor => l.actor.map(|a| names.get(&a).cloned().unwrap_or_else(|| a.to_string())), ip => l.client_ip,
                site => l.tenant_id.and_then(|t| dir.by_id(t)).map(|t| t.name.clone()), target => l.target_id, action => l.action, result => l.result, detail => l.detail,
            }
        })
        .collect();
    let check = app.store.verify_audit_chain().await?;
    let sites: Vec<Value> = dir.tenants().map(|t| context! { code => t.code, name => t.name }).collect();
    let csv = format!("/admin/platform/audit.csv{}", site.map(|s| format!("?tenant={}", super::url_encode(s))).unwrap_or_default());
    render(
        &app,
        "admin/audit.html",
        context! { layout => layout(&b, None), rows, sites, site, action, older => oldest, csv, check => Value::from_serialize(&check) },
    )
}

/// `GET /admin/platform/audit.csv?tenant=`: the API's CSV export.
pub async fn audit_csv(State(app): State<Arc<App>>, b: Browser, Query(q): Query<HashMap<String, String>>) -> Response {
    let query = json!({ "tenant": q.get("tenant"), "limit": 1000, "format": "csv" });
    match body(query) {
        Ok(query) => match api::audit::list(State(app.clone()), b.caller(), api::Query(query)).await {
            Ok(r) => r,
            Err(e) => Page::Failed(e).into_response(),
        },
        Err(e) => Page::Failed(e).into_response(),
    }
}
