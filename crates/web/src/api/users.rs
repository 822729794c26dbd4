//! User accounts: the 安全管理员's business alone (三权分立).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::{Command, Grant, PasswordPolicy, PlatformRole, TenantRole, User};

use super::{ApiJson, Path, WriteResponse, WriteResult, propose, tenant_by_code, to_json};
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

pub async fn list(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    caller.require_security_admin()?;
    let users: Vec<User> = app.store.users().await?.into_iter().map(|u| User { password_hash: String::new(), ..u }).collect();
    Ok(Json(serde_json::json!({ "items": users })))
}

pub async fn create(State(app): State<Arc<App>>, caller: Caller, ApiJson(body): ApiJson<NewUser>) -> WriteResult {
    caller.require_security_admin()?;
    zhanqun_model::rules::check_username(&body.username).map_err(crate::ApiError::from)?;
    app.store.password_policy().await?.check(&body.password).map_err(crate::ApiError::from)?;
    let grants = resolve_grants(&app, &body.roles).await?;
    let password = body.password;
    let password_hash = app.password_work.run(move || hash_password(&password)).await?;
    let user = User {
        id: new_id(),
        display_name: body.display_name.unwrap_or_else(|| body.username.clone()),
        username: body.username,
        password_hash,
        platform_role: body.platform_role,
        grants,
        created_at: now_ms(),
    };
    let (headers, _) = propose(&app, caller.propose(Command::CreateUser { user: user.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&User { password_hash: String::new(), ..user })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoles {
    roles: Vec<NewGrant>,
}

/// `PUT /api/v1/users/{username}/roles`: replaces the user's site roles
/// (`{"roles": []}` takes them all away). Effective from the next request.
pub async fn set_roles(State(app): State<Arc<App>>, caller: Caller, Path(username): Path<String>, ApiJson(body): ApiJson<NewRoles>) -> WriteResult {
    caller.require_security_admin()?;
    let user = app.store.user_by_name(&username).await?.ok_or_else(|| ApiError::NotFound("user_not_found".into(), format!("no user named `{username}`")))?;
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
    caller.require_security_admin()?;
    Ok(Json(app.store.password_policy().await?))
}

/// `PUT /api/v1/settings/password-policy`: change it (new passwords only;
/// existing ones are checked when they are next changed).
pub async fn set_password_policy(State(app): State<Arc<App>>, caller: Caller, ApiJson(policy): ApiJson<PasswordPolicy>) -> WriteResult {
    caller.require_security_admin()?;
    policy.validate().map_err(crate::ApiError::from)?;
    let (headers, _) = propose(&app, caller.propose(Command::SetPasswordPolicy { policy })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(&policy)))
}
