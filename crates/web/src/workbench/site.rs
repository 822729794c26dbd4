//! The site administrator's screens: the column tree (create, rename,
//! move, reorder, update class, delete), the site's settings as the
//! 系统管理员 keeps them, and the annual self-inspection report.
//!
//! Each form posts to `…/site/{action}`, which hands the API's own handler
//! the same JSON body a client would send ([`super::body`]), so the checks, the policy and
//! the audit trail are the API's.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use zhanqun_model::{Tenant, TenantRole, UpdateClass};

use super::{Browser, Page, body, layout, render};
use crate::api::{self, WriteRefused};
use crate::{ApiError, App};

/// The site, for its 站点管理员 or the 系统管理员 (who builds every site's
/// columns but reads none of its documents).
async fn built_site(app: &App, b: &Browser, code: &str) -> Result<Tenant, Page> {
    let sites = app.derived.directory.current(&app.store).await?;
    match sites.by_code(code) {
        Some(t) if b.user.may(t.id, &[TenantRole::Admin]) || b.user.is_platform_admin() => Ok(t.clone()),
        _ => Err(Page::NotYours),
    }
}

fn class_name(c: UpdateClass) -> &'static str {
    match c.as_str() {
        "dynamic" => "动态类（两周内更新）",
        "regular" => "通知公告、政策文件类（半年内更新）",
        _ => "不要求定期更新",
    }
}

#[derive(Deserialize, Default)]
pub struct SiteQuery {
    year: Option<String>,
}

/// `GET /admin/sites/{code}/site`.
pub async fn show(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Query(q): Query<SiteQuery>) -> Result<Page, Page> {
    let t = built_site(&app, &b, &code).await?;
    let channels = app.store.channels(t.id).await?;
    let row = |c: &zhanqun_model::Channel, depth: usize| {
        let siblings: Vec<i64> = channels.iter().filter(|k| k.parent_id == c.parent_id).map(|k| k.id).collect();
        let at = siblings.iter().position(|&i| i == c.id).unwrap_or(0);
        context! {
            id => c.id, name => c.name, slug => c.slug, kind => c.kind.as_str(), class => c.update_class.as_str(), class_name => class_name(c.update_class),
            depth, parent => c.parent_id, first => at == 0, last => at + 1 == siblings.len(),
        }
    };
    let mut tree = Vec::new();
    for top in channels.iter().filter(|c| c.parent_id.is_none()) {
        tree.push(row(top, 0));
        tree.extend(channels.iter().filter(|c| c.parent_id == Some(top.id)).map(|c| row(c, 1)));
    }
    let tops: Vec<Value> = channels.iter().filter(|c| c.parent_id.is_none()).map(|c| json!({ "id": c.id, "name": c.name })).collect();
    let classes: Vec<Value> = UpdateClass::ALL.iter().map(|c| json!({ "code": c.as_str(), "name": class_name(*c) })).collect();
    let year = q.year.unwrap_or_else(|| zhanqun_model::time::format_date(crate::now_ms())[..4].to_string());
    let reads_report = b.user.may(t.id, &[TenantRole::Admin, TenantRole::Reviewer, TenantRole::DisclosureReviewer]);
    let report = if reads_report { Some(zhanqun_platform::inspection::report(&app.store, &t, year.parse().unwrap_or(2026)).await?) } else { None };
    render(
        &app,
        "admin/site.html",
        context! {
            layout => layout(&b, Some(&t)), tree, tops, classes, year, report => report.map(|r| minijinja::Value::from_serialize(&r)),
            settings => context! { name => t.name, hosts => t.hosts, site_id_code => t.site_id_code, icp => t.icp, police_record => t.police_record, conac_id => t.conac_id, mailbox => t.mailbox, lifecycle => t.lifecycle.as_str() },
            may_settings => b.user.is_platform_admin(),
        },
    )
}

/// `GET /admin/sites/{code}/site/inspection.csv?year=`: the report as CSV.
pub async fn inspection_csv(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Query(q): Query<SiteQuery>) -> Response {
    let query = api::Query(body(json!({ "year": q.year, "format": "csv" })).expect("a known shape"));
    match api::inspection::report(State(app.clone()), b.caller(), api::Path(code), query).await {
        Ok(r) => r,
        Err(e) => Page::Failed(e).into_response(),
    }
}

/// `POST /admin/sites/{code}/site/{action}`: one change of the column tree.
pub async fn act(
    State(app): State<Arc<App>>,
    b: Browser,
    Path((code, action)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, Page> {
    let t = built_site(&app, &b, &code).await?;
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let id = || get("id").parse::<i64>().map_err(|_| Page::Failed(ApiError::Unprocessable("invalid_field".into(), "请选择栏目".into())));
    let opt_id = |k: &str| get(k).parse::<i64>().ok();
    let (s, c) = (State(app.clone()), b.caller());
    let done = match action.as_str() {
        "create" => {
            let v =
                json!({ "slug": get("slug"), "name": get("name"), "kind": get("kind"), "update_class": get("update_class"), "parent_id": opt_id("parent_id") });
            api::channels::create(s, c, api::Path(code.clone()), api::ApiJson(body(v).map_err(Page::refused)?)).await
        }
        "rename" => {
            api::channels::rename(s, c, api::Path((code.clone(), id()?)), api::ApiJson(body(json!({ "name": get("name") })).map_err(Page::refused)?)).await
        }
        "move" => api::channels::move_to(s, c, api::Path((code.clone(), id()?)), api::ApiJson(body(json!({ "parent_id": opt_id("parent_id") }))?)).await,
        "update-class" => {
            api::channels::set_update_class(s, c, api::Path((code.clone(), id()?)), api::ApiJson(body(json!({ "update_class": get("update_class") }))?)).await
        }
        "delete" => api::channels::delete(s, c, api::Path((code.clone(), id()?))).await,
        "up" | "down" => {
            let id = id()?;
            let channels = app.store.channels(t.id).await?;
            let parent = channels.iter().find(|k| k.id == id).and_then(|k| k.parent_id);
            let mut order: Vec<i64> = channels.iter().filter(|k| k.parent_id == parent).map(|k| k.id).collect();
            if let Some(at) = order.iter().position(|&i| i == id) {
                let to = if action == "up" { at.saturating_sub(1) } else { (at + 1).min(order.len() - 1) };
                order.swap(at, to);
            }
            api::channels::reorder(s, c, api::Path(code.clone()), api::ApiJson(body(json!({ "parent_id": parent, "order": order })).map_err(Page::refused)?))
                .await
        }
        _ => return Err(Page::NotYours),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/admin/sites/{code}/site#columns")).into_response()),
        Err(WriteRefused(_, e)) => Err(Page::refused(e)),
    }
}
