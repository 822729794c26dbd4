//! A site's columns (栏目): listing, creating, renaming, moving, ordering,
//! deleting an empty one, and its update duty. Who may is the policy's
//! (`zhanqun_model::policy`: the 系统管理员 or the site's admin), asked by
//! the state machine, so a refusal is in the audit trail.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::{Channel, ChannelKind, Command, UpdateClass};

use super::tenants::sees_site;
use super::{ApiJson, Path, WriteResponse, WriteResult, propose, tenant_by_code, to_json};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{App, new_id, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    slug: String,
    name: String,
    #[serde(default = "default_kind")]
    kind: ChannelKind,
    #[serde(default = "default_update_class")]
    update_class: UpdateClass,
    parent_id: Option<i64>,
    #[serde(default)]
    position: i64,
    link_url: Option<String>,
    /// The part the column plays, e.g. `policy-repost` (reposts land here).
    #[serde(default)]
    role: Option<String>,
}

fn default_kind() -> ChannelKind {
    ChannelKind::List
}

fn default_update_class() -> UpdateClass {
    UpdateClass::Dynamic
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    let t = tenant_by_code(&app, &code).await?;
    if !sees_site(&caller, &t) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(serde_json::json!({ "items": app.store.channels(t.id).await? })))
}

pub async fn create(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, ApiJson(body): ApiJson<NewChannel>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    // Checked before proposing, so a bad link costs no log entry.
    if let Some(url) = &body.link_url {
        zhanqun_model::rules::check_link_url(url).map_err(ApiError::from)?;
    }
    let channel = Channel {
        id: new_id(),
        tenant_id: t.id,
        parent_id: body.parent_id,
        slug: body.slug,
        name: body.name,
        kind: body.kind,
        update_class: body.update_class,
        position: body.position,
        link_url: body.link_url,
        created_at: now_ms(),
        role: body.role,
    };
    let (headers, _) = propose(&app, caller.propose(Command::CreateChannel { channel: channel.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&channel)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewName {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParent {
    /// `null` moves the column to the top level.
    parent_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpdateClass {
    update_class: UpdateClass,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The parent whose columns are ordered; `null` for the top level.
    parent_id: Option<i64>,
    order: Vec<i64>,
}

/// Proposes one command on a column of the site and answers the column as
/// it now is.
async fn change(app: &App, caller: &Caller, code: &str, command: impl FnOnce(i64) -> Command) -> WriteResult {
    let t = tenant_by_code(app, code).await?;
    let (headers, applied) = propose(app, caller.propose(command(t.id))).await?;
    let channels = app.store.channels(t.id).await?;
    let channel = channels.iter().find(|c| Some(c.id) == applied.id).ok_or_else(|| ApiError::internal("the changed column is gone"))?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(channel)))
}

pub async fn rename(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<NewName>) -> WriteResult {
    change(&app, &caller, &code, |tenant_id| Command::RenameChannel { tenant_id, channel_id: id, name: body.name }).await
}

pub async fn move_to(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<NewParent>) -> WriteResult {
    change(&app, &caller, &code, |tenant_id| Command::MoveChannel { tenant_id, channel_id: id, parent_id: body.parent_id }).await
}

pub async fn set_update_class(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<NewUpdateClass>,
) -> WriteResult {
    change(&app, &caller, &code, |tenant_id| Command::SetUpdateClass { tenant_id, channel_id: id, update_class: body.update_class }).await
}

/// Answers every column of the site, in their new order.
pub async fn reorder(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, ApiJson(body): ApiJson<NewOrder>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::ReorderChannels { tenant_id: t.id, parent_id: body.parent_id, order: body.order })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "items": app.store.channels(t.id).await? })))
}

pub async fn delete(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::DeleteChannel { tenant_id: t.id, channel_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "deleted": true })))
}
