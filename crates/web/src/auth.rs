//! Who is calling: bearer tokens, passwords, permission checks.
//!
//! Tokens are random 256-bit values handed out once at login; the cluster
//! only ever stores their SHA-256, so a copy of the database (or a snapshot
//! in transit) does not let anyone log in.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use zhanqun_model::policy::{self, Need};
use zhanqun_model::{Command, Proposal, TenantRole, User};

use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use zhanqun_platform::now_ms;
pub use zhanqun_platform::passwords::{hash_password, new_token, token_digest, verify_password};

use crate::App;

/// How long a follower waits to catch up before calling a token unknown.
const SESSION_CATCH_UP: Duration = Duration::from_secs(2);

/// The holder of a live session, whatever state their account is in: what
/// logging out and changing one's own password need.
pub struct SessionUser {
    pub user: User,
    pub client_ip: Option<String>,
    /// SHA-256 of the bearer token the request came with.
    pub token_sha256: String,
}

/// An authenticated API caller who may act: a [`SessionUser`] whose
/// password was not set by someone else (if it was, every endpoint but the
/// change of password and logout answers 403 `password_change_required`).
pub struct Caller {
    pub user: User,
    pub client_ip: Option<String>,
}

impl Caller {
    /// Wraps a command with who, when and from where.
    pub fn propose(&self, command: Command) -> Proposal {
        zhanqun_platform::proposal(Some(self.user.id), self.client_ip.clone(), command)
    }

    /// Refuses early, with the policy's own words, a caller who lacks the
    /// duty a command will need (the state machine asks again, and has the
    /// last say).
    pub fn may(&self, need: Need) -> ApiResult<()> {
        Ok(policy::meets(&self.user, need)?)
    }

    /// For reads, which are not commands: one of `roles` in the site.
    pub fn require(&self, tenant_id: i64, roles: &[TenantRole]) -> ApiResult<()> {
        if self.user.may(tenant_id, roles) { Ok(()) } else { Err(ApiError::forbidden()) }
    }

    pub fn require_auditor(&self) -> ApiResult<()> {
        if self.user.is_auditor() { Ok(()) } else { Err(ApiError::Forbidden("only the 审计管理员 (auditor) reads the audit trail".into())) }
    }
}

/// The client's address as the request's [`ClientAddr`] says (see `client`).
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ClientAddr>().map(|c| c.0.to_string())
}

impl FromRequestParts<Arc<App>> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthenticated("log in first: send `Authorization: Bearer <token>` (POST /api/v1/session gives a token)"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        let digest = token_digest(token);
        let mut user = app.store.session_user(&digest, now_ms()).await?;
        if user.is_none() && app.node.leader().is_some_and(|(leader, _)| leader != app.node.id) {
            // A login answered by another node a moment ago may not have
            // reached this one yet (a load balancer sends the next request
            // anywhere). Catch up with what the leader has committed, then
            // look again. Costs the leader one quorum round per unknown
            // token; such requests are refusals, counted on /metrics.
            if app.node.read_barrier(SESSION_CATCH_UP).await.is_ok() {
                user = app.store.session_user(&digest, now_ms()).await?;
            }
        }
        let mut user = user.ok_or(ApiError::Unauthenticated("the session token is unknown or expired, or the account was disabled; log in again"))?;
        password_expiry(app, &mut user).await?;
        Ok(SessionUser { user, client_ip: client_ip(parts), token_sha256: digest })
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let SessionUser { mut user, client_ip, token_sha256 } = SessionUser::from_request_parts(parts, app).await?;
        if user.must_change_password && app.node.leader().is_some_and(|(leader, _)| leader != app.node.id) {
            // The password may have been changed through another node a
            // moment ago (the session stays): catch up with what the leader
            // has committed before refusing, as for an unknown token.
            if app.node.read_barrier(SESSION_CATCH_UP).await.is_ok()
                && let Some(mut fresh) = app.store.session_user(&token_sha256, now_ms()).await?
            {
                password_expiry(app, &mut fresh).await?;
                user = fresh;
            }
        }
        if user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        second_factor_gate(app, &user).await?;
        Ok(Caller { user, client_ip })
    }
}

/// The password policy as this node last applied it (held in memory: it is
/// read on every authenticated request).
pub async fn password_policy(app: &App) -> ApiResult<Arc<zhanqun_model::PasswordPolicy>> {
    Ok(app.derived.password_policy.current(|| app.store.password_policy()).await?)
}

/// When the policy asks the platform accounts for a second factor, one
/// that has not enrolled can do nothing but enroll (`/session/totp`) — in
/// the API and in the workbench alike.
pub async fn second_factor_gate(app: &App, user: &User) -> ApiResult<()> {
    if user.platform_role.is_none() || !password_policy(app).await?.totp_for_platform || app.store.totp_of(user.id).await?.is_some() {
        return Ok(());
    }
    Err(ApiError::Denied(
        "totp_enrollment_required",
        "the password policy asks this platform account for a second factor: enroll one first (POST, then PUT /api/v1/session/totp)".into(),
    ))
}

/// A password past the policy's `max_age_days` is treated as one the
/// 安全管理员 set: its owner changes it before doing anything else (the
/// API's 403 `password_change_required`, the workbench's password page).
pub async fn password_expiry(app: &App, user: &mut User) -> ApiResult<()> {
    if !user.must_change_password {
        let policy = password_policy(app).await?;
        if policy.max_age_days > 0 && policy.expired(app.store.password_changed_at(user.id).await?, now_ms()) {
            user.must_change_password = true;
        }
    }
    Ok(())
}
