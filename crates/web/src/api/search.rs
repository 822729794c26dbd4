//! `GET /api/v1/search`: the admin search, and the JSON form of the public
//! one. Takes the parameters of the public search page (`q`, `site`, `year`,
//! `from`, `to`, `doc_no`, `topic`, `organ`, `kind`, `sort`, `page`,
//! `per_page`). Finds drafts and non-public documents too, but only in the
//! sites the caller holds a role in (none for the platform accounts).

use axum::Json;
use axum::extract::State;
use zhanqun_model::urls::{Page, preview_url};

use crate::AppState;
use crate::api::{Query, tenant_by_code};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::search::request::{self, SearchParams, SearchView};

fn bad_query(message: String) -> ApiError {
    ApiError::bad_request("bad_query", message)
}

pub async fn search(State(app): AppState, caller: Caller, Query(p): Query<SearchParams>) -> ApiResult<Json<SearchView>> {
    let index = app.search.as_ref().ok_or_else(|| ApiError::Unavailable("search is not enabled on this node".into()))?;
    let tenants = match p.site_code() {
        Some(code) => {
            let t = tenant_by_code(&app, code).await?;
            if !caller.user.belongs_to(t.id) {
                return Err(ApiError::forbidden());
            }
            vec![t.id]
        }
        None => caller.user.grants.iter().map(|g| g.tenant_id).collect(),
    };
    let per_page = p.per_page().map_err(|e| bad_query(e.0))?;
    let query = p.to_query(tenants, false).map_err(|e| bad_query(e.0))?;
    let results = request::run(&app, index, query).await?.map_err(|e| match e {
        zhanqun_search::SearchError::BadQuery(m) => bad_query(m),
        other => ApiError::internal(other),
    })?;
    let sites = app.derived.directory.current(&app.store).await?;
    Ok(Json(request::view(&p, results, &sites, per_page, |t, id| preview_url(t, &Page::Document { id }))))
}
