//! `GET /api/v1/search?q=…[&tenant=<code>][&page=N][&per_page=N]`: the admin
//! search. Finds drafts and non-public documents too, but only in the sites
//! the caller belongs to (every site for the platform administrator).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::AppState;
use crate::api::tenant_by_code;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    tenant: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

pub async fn search(State(app): AppState, caller: Caller, Query(p): Query<SearchParams>) -> ApiResult<Json<serde_json::Value>> {
    let index = app.search.as_ref().ok_or_else(|| ApiError::Unavailable("search is not enabled on this node".into()))?;
    let tenants = match &p.tenant {
        Some(code) => {
            let t = tenant_by_code(&app, code).await?;
            if !caller.user.belongs_to(t.id) {
                return Err(ApiError::forbidden());
            }
            vec![t.id]
        }
        None if caller.user.is_platform_admin() => vec![],
        None => caller.user.grants.iter().map(|g| g.tenant_id).collect(),
    };
    if tenants.is_empty() && !caller.user.is_platform_admin() {
        return Ok(Json(serde_json::json!({ "total": 0, "hits": [] })));
    }
    let per_page = p.per_page.unwrap_or(20).clamp(1, 100);
    let page = p.page.unwrap_or(1).clamp(1, 500);
    let query = zhanqun_search::Query { text: p.q.unwrap_or_default(), tenants, public_only: false, limit: per_page, offset: (page - 1) * per_page };
    let index = index.clone();
    let results = tokio::task::spawn_blocking(move || index.search(&query)).await.map_err(ApiError::internal)?.map_err(|e| match e {
        zhanqun_search::SearchError::BadQuery(m) => ApiError::bad_request("bad_query", m),
        other => ApiError::internal(other),
    })?;
    let sites = app.derived.directory.current(&app.store).await?;
    let hits: Vec<serde_json::Value> = results
        .hits
        .iter()
        .map(|h| {
            let code = sites.by_id(h.tenant_id).map(|t| t.code.clone()).unwrap_or_default();
            serde_json::json!({
                "id": h.id,
                "tenant": code,
                "url": format!("/sites/{code}/art/{}.html", h.id),
                "title_html": h.title_html,
                "snippet_html": h.snippet_html,
                "score": h.score,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "total": results.total, "page": page, "hits": hits })))
}
