//! Revisions of a document: list, show, diff, restore.
//!
//! `GET …/documents/{id}/revisions`, `GET …/revisions/{n}`,
//! `GET …/revisions/{n}/diff?against=m` (default: the revision before),
//! `POST …/revisions/{n}/restore` (a new revision; the document must be
//! editable).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::Command;
use zhanqun_model::revision::{Revision, html_lines};

use super::documents::{load, view};
use super::{Path, Query, WriteResponse, WriteResult, next_key, propose};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// One revision of a document the caller may read, or a 404 naming it.
async fn revision(app: &App, caller: &Caller, code: &str, id: i64, n: i64) -> ApiResult<Revision> {
    let (t, d) = load(app, caller, code, id).await?;
    app.store.revision(t.id, d.id, n).await?.ok_or_else(|| ApiError::NotFound("unknown_revision".into(), format!("this document has no revision {n}")))
}

#[derive(Deserialize)]
pub struct RevisionListQuery {
    /// Where the page starts: the `next` of the page before (a revision).
    after: Option<i64>,
    per_page: Option<i64>,
}

/// `GET …/revisions`: oldest first, a page at a time.
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    Query(q): Query<RevisionListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let (t, d) = load(&app, &caller, &code, id).await?;
    let per_page = q.per_page.unwrap_or(100).clamp(1, 500);
    let mut items = app.store.revision_list(t.id, d.id, q.after.unwrap_or(0), per_page + 1).await?;
    let next = next_key(&mut items, per_page, |r| r.revision.to_string());
    Ok(Json(serde_json::json!({ "items": items, "next": next })))
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Path((code, id, n)): Path<(String, i64, i64)>) -> ApiResult<Json<Revision>> {
    Ok(Json(revision(&app, &caller, &code, id, n).await?))
}

#[derive(Deserialize)]
pub struct DiffQuery {
    pub against: Option<i64>,
}

/// What changed from revision `against` to revision `n`: the metadata
/// fields that differ, and a line diff of the body.
pub async fn diff(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id, n)): Path<(String, i64, i64)>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let after = revision(&app, &caller, &code, id, n).await?;
    let before = revision(&app, &caller, &code, id, q.against.unwrap_or(n - 1)).await?;
    let fields: Vec<serde_json::Value> = before
        .content
        .fields()
        .into_iter()
        .zip(after.content.fields())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| serde_json::json!({ "field": name, "before": a, "after": b }))
        .collect();
    // Splitting and diffing a large body takes real CPU: the heavy pool.
    let (old_body, new_body) = (before.content.body_html.clone(), after.content.body_html.clone());
    let body = app
        .content_work
        .run(move || crate::diff::diff_lines(&html_lines(&old_body), &html_lines(&new_body), std::time::Instant::now() + crate::diff::DEADLINE))
        .await?;
    let changed = body.iter().any(|l| l.op != " ");
    Ok(Json(serde_json::json!({ "from": before.revision, "to": after.revision, "fields": fields, "body_changed": changed, "body": body })))
}

pub async fn restore(State(app): State<Arc<App>>, caller: Caller, Path((code, id, n)): Path<(String, i64, i64)>) -> WriteResult {
    let (t, _) = load(&app, &caller, &code, id).await?;
    let (headers, _) = propose(&app, caller.propose(Command::RestoreRevision { tenant_id: t.id, document_id: id, revision: n })).await?;
    let d = app.store.document(t.id, id).await?.ok_or_else(|| ApiError::internal("document vanished after a restore"))?;
    Ok(WriteResponse(StatusCode::OK, headers, view(&app, &t, d).await?))
}
