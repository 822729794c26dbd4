//! Revisions of a document: list, show, diff, restore.
//!
//! `GET …/documents/{id}/revisions`, `GET …/revisions/{n}`,
//! `GET …/revisions/{n}/diff?against=m` (default: the revision before),
//! `POST …/revisions/{n}/restore` (a new revision; the document must be
//! editable).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::Command;
use zhanqun_model::revision::{Revision, diff_lines, html_lines};

use super::documents::{load, view};
use super::{WriteResponse, WriteResult, propose};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

async fn revisions(app: &App, caller: &Caller, code: &str, id: i64) -> ApiResult<Vec<Revision>> {
    let (t, d) = load(app, caller, code, id).await?;
    Ok(app.store.revisions(t.id, d.id).await?)
}

fn pick(all: &[Revision], n: i64) -> ApiResult<&Revision> {
    all.iter().find(|r| r.revision == n).ok_or_else(|| ApiError::NotFound("unknown_revision".into(), format!("this document has no revision {n}")))
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> ApiResult<Json<serde_json::Value>> {
    let all = revisions(&app, &caller, &code, id).await?;
    let items: Vec<serde_json::Value> =
        all.iter().map(|r| serde_json::json!({ "revision": r.revision, "at": r.at, "actor": r.actor, "title": r.content.title })).collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Path((code, id, n)): Path<(String, i64, i64)>) -> ApiResult<Json<Revision>> {
    let all = revisions(&app, &caller, &code, id).await?;
    Ok(Json(pick(&all, n)?.clone()))
}

#[derive(Deserialize)]
pub struct DiffQuery {
    against: Option<i64>,
}

/// What changed from revision `against` to revision `n`: the metadata
/// fields that differ, and a line diff of the body.
pub async fn diff(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id, n)): Path<(String, i64, i64)>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let all = revisions(&app, &caller, &code, id).await?;
    let after = pick(&all, n)?;
    let before = pick(&all, q.against.unwrap_or(n - 1))?;
    let fields: Vec<serde_json::Value> = before
        .content
        .fields()
        .into_iter()
        .zip(after.content.fields())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| serde_json::json!({ "field": name, "before": a, "after": b }))
        .collect();
    let body = diff_lines(&html_lines(&before.content.body_html), &html_lines(&after.content.body_html));
    let changed = body.iter().any(|l| l.op != " ");
    Ok(Json(serde_json::json!({ "from": before.revision, "to": after.revision, "fields": fields, "body_changed": changed, "body": body })))
}

pub async fn restore(State(app): State<Arc<App>>, caller: Caller, Path((code, id, n)): Path<(String, i64, i64)>) -> WriteResult {
    let (t, _) = load(&app, &caller, &code, id).await?;
    let (headers, _) = propose(&app, caller.propose(Command::RestoreRevision { tenant_id: t.id, document_id: id, revision: n })).await?;
    let d = app.store.document(t.id, id).await?.ok_or_else(|| ApiError::internal("document vanished after a restore"))?;
    Ok(WriteResponse(StatusCode::OK, headers, view(&app, &t, d).await?))
}
