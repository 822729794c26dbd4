//! User accounts: the 安全管理员's business alone (三权分立).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::policy::Need;
use zhanqun_model::{Command, Grant, PasswordPolicy, PlatformRole, TenantRole, User};

use super::{ApiJson, Path, Query, Strict, WriteResponse, WriteResult, next_key, propose, tenant_by_code, to_json};
use crate::auth::{Caller, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::{App, new_id, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    display_name: Option<String>,
    password: String,
    platform_role: Option<PlatformRole>,
    /// Roles per tenant: `[{"tenant": "niuzhuang", "role": "editor"}]`.
    #[serde(default)]
    roles: Vec<NewGrant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    tenant: String,
    role: TenantRole,
}

#[derive(Deserialize)]
pub struct UserListQuery {
    /// Where the page starts: the `next` of the page before (a username).
    after: Option<String>,
    per_page: Option<i64>,
}

/// `GET /api/v1/users`: the accounts by username, a page at a time.
pub async fn list(State(app): State<Arc<App>>, caller: Caller, Query(q): Query<UserListQuery>) -> ApiResult<Json<serde_json::Value>> {
    caller.may(Need::SecurityAdmin)?;
    let per_page = q.per_page.unwrap_or(100).clamp(1, 500);
    let mut users = app.store.users_page(q.after.as_deref(), per_page + 1).await?;
    let next = next_key(&mut users, per_page, |u| u.username.clone());
    let users: Vec<User> = users.into_iter().map(|u| User { password_hash: String::new(), ..u }).collect();
    Ok(Json(serde_json::json!({ "items": users, "next": next })))
}

pub async fn create(State(app): State<Arc<App>>, caller: Caller, ApiJson(body): ApiJson<NewUser>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    if let Some(role) = body.platform_role {
        // 三权分立: no administrator makes another administrator.
        return Err(ApiError::Forbidden(format!(
            "platform accounts ({role}) are created by the operator on a node's console (`zhanqun account create --role {role}` with the cluster secret), never through the API"
        ))
        .into());
    }
    zhanqun_model::rules::check_username(&body.username).map_err(ApiError::from)?;
    let display_name = body.display_name.unwrap_or_else(|| body.username.clone());
    zhanqun_model::rules::limits::DISPLAY_NAME.required(&display_name).map_err(ApiError::from)?;
    crate::auth::password_policy(&app).await?.check_for(&body.password, &body.username).map_err(ApiError::from)?;
    if let Some(existing) = app.store.user_by_name(&body.username).await? {
        return Err(ApiError::Conflict(
            "duplicate_username".into(),
            format!("a user named `{}` already exists (names are compared without case)", existing.username),
        )
        .into());
    }
    let grants = resolve_grants(&app, &body.roles).await?;
    let password = body.password;
    let password_hash = app.password_work.run(move || hash_password(&password)).await?;
    let mut user = User::new(new_id(), body.username, display_name, password_hash, now_ms());
    user.grants = grants;
    // The 安全管理员 chose this password: its owner changes it first.
    user.must_change_password = true;
    let (headers, _) = propose(&app, caller.propose(Command::CreateUser { user: user.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&User { password_hash: String::new(), ..user })))
}

/// The account named in the path, or a 404 naming it.
async fn account(app: &App, username: &str) -> ApiResult<User> {
    let shown: String = username.chars().filter(|c| !c.is_control()).take(64).collect();
    app.store.user_by_name(username).await?.ok_or_else(|| ApiError::NotFound("user_not_found".into(), format!("no user named `{shown}`")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    password: String,
}

/// `POST /api/v1/users/{username}/password`: the 安全管理员 sets a new
/// password (the owner forgot theirs). Every session of the account ends,
/// and the owner must change the password at the next login.
pub async fn reset_password(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>, ApiJson(body): ApiJson<NewPassword>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(&app, &username).await?;
    crate::auth::password_policy(&app).await?.check_for(&body.password, &user.username).map_err(ApiError::from)?;
    let password = body.password;
    let password_hash = app.password_work.run(move || hash_password(&password)).await?;
    let (headers, _) = propose(&app, caller.propose(Command::ResetPassword { user_id: user.id, password_hash })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "username": user.username, "must_change_password": true })))
}

/// `POST /api/v1/users/{username}/disable` and `…/enable`.
pub async fn disable(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>) -> WriteResult {
    set_disabled(&app, &caller, &username, true).await
}

pub async fn enable(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>) -> WriteResult {
    set_disabled(&app, &caller, &username, false).await
}

async fn set_disabled(app: &App, caller: &Caller, username: &str, disabled: bool) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(app, username).await?;
    let (headers, _) = propose(app, caller.propose(Command::SetAccountDisabled { user_id: user.id, disabled })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "username": user.username, "disabled": disabled })))
}

/// `DELETE /api/v1/users/{username}/sessions`: every login of the account ends.
pub async fn revoke_sessions(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(&app, &username).await?;
    let (headers, _) = propose(&app, caller.propose(Command::RevokeSessions { user_id: user.id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "username": user.username, "sessions_revoked": true })))
}

/// `POST /api/v1/users/{username}/unlock`: lifts the failed-login lock of
/// the account on every node, for every address.
pub async fn unlock(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(&app, &username).await?;
    let (headers, _) = propose(&app, caller.propose(Command::UnlockAccount { username: user.username.clone() })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "username": user.username, "unlocked": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoles {
    roles: Vec<NewGrant>,
}

/// `PUT /api/v1/users/{username}/roles`: replaces the user's site roles
/// (`{"roles": []}` takes them all away). Effective from the next request.
pub async fn set_roles(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>, ApiJson(body): ApiJson<NewRoles>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(&app, &username).await?;
    let grants = resolve_grants(&app, &body.roles).await?;
    let (headers, _) = propose(&app, caller.propose(Command::SetRoles { user_id: user.id, grants: grants.clone() })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(&User { password_hash: String::new(), grants, ..user })))
}

/// Site codes to site ids; an unknown site is a 404 naming it.
async fn resolve_grants(app: &App, roles: &[NewGrant]) -> ApiResult<Vec<Grant>> {
    let mut grants = Vec::new();
    for g in roles {
        grants.push(Grant { tenant_id: tenant_by_code(app, &g.tenant).await?.id, role: g.role });
    }
    Ok(grants)
}

/// `GET /api/v1/settings/password-policy`: the policy in force.
pub async fn password_policy(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<Json<PasswordPolicy>> {
    caller.may(Need::SecurityAdmin)?;
    Ok(Json(*crate::auth::password_policy(&app).await?))
}

/// `PUT /api/v1/settings/password-policy`: change it (new passwords only;
/// existing ones are checked when they are next changed).
pub async fn set_password_policy(State(app): State<Arc<App>>, caller: Caller, Strict(policy): Strict<PasswordPolicy>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    policy.validate().map_err(crate::ApiError::from)?;
    let (headers, _) = propose(&app, caller.propose(Command::SetPasswordPolicy { policy })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(&policy)))
}

/// `DELETE /api/v1/users/{username}/totp`: takes a site account's second
/// factor off (a lost phone); its owner may enroll a new one. Platform
/// accounts' are the operator's (`zhanqun account`), as their passwords are.
pub async fn remove_totp(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>) -> WriteResult {
    caller.may(Need::SecurityAdmin)?;
    let user = account(&app, &username).await?;
    let (headers, _) = propose(&app, caller.propose(Command::RemoveTotp { user_id: user.id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "username": user.username, "totp": false })))
}
