//! Logging in and out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use zhanqun_model::{Command, Proposal};

use super::{ApiJson, WriteResponse, WriteResult, propose};
use crate::auth::{Caller, new_token, token_digest, verify_password};
use crate::error::ApiError;
use crate::{App, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

// Verifying against a real hash when the user does not exist takes as long
// as a real check, so response times do not reveal which usernames exist.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| crate::auth::hash_password(&new_token()));

pub async fn login(State(app): State<Arc<App>>, ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>, ApiJson(body): ApiJson<Login>) -> WriteResult {
    let shown_name = body.username.chars().filter(|c| !c.is_control()).take(64).collect::<String>();
    // A locked account is refused before its password is even checked
    // (which also spares the CPU an argon2 hash per guess).
    if let Err(left) = app.login_guard.check(&body.username, Instant::now()) {
        tracing::info!(username = %shown_name, ip = %addr.ip(), "login refused: account locked");
        return Err(locked(left).into());
    }
    let user = app.store.user_by_name(&body.username).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = body.password;
    let ok = app.password_work.run(move || verify_password(&password, &hash)).await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %shown_name, ip = %addr.ip(), "login refused");
            let policy = app.store.password_policy().await?;
            if let Some(lock) = app.login_guard.failed(&body.username, &policy, Instant::now()) {
                tracing::warn!(username = %shown_name, ip = %addr.ip(), failures = policy.max_failed_logins, "account locked on this node after too many failed logins");
                return Err(locked(lock).into());
            }
            return Err(ApiError::Unauthenticated("wrong username or password").into());
        }
    };
    app.login_guard.succeeded(&body.username);
    let token = new_token();
    let expires_at = now_ms() + app.config.session_ttl.as_millis() as i64;
    let proposal = Proposal::new(
        now_ms(),
        Some(user.id),
        Some(addr.ip().to_string()),
        Command::CreateSession { token_sha256: token_digest(&token), user_id: user.id, expires_at },
    );
    let (headers, _) = propose(&app, proposal).await?;
    tracing::info!(user = %user.username, ip = %addr.ip(), "logged in");
    Ok(WriteResponse(StatusCode::CREATED, headers, json!({ "token": token, "expires_at": expires_at, "username": user.username })))
}

fn locked(left: Duration) -> ApiError {
    let minutes = left.as_secs().div_ceil(60).max(1);
    ApiError::LoginLocked {
        message: format!(
            "too many failed logins for this account: it is locked for {minutes} more minute(s); try again then, or ask the 安全管理员 to check the account"
        ),
        retry_after: left,
    }
}

pub async fn logout(State(app): State<Arc<App>>, caller: Caller, headers: axum::http::HeaderMap) -> WriteResult {
    let token = headers.get("authorization").and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
    let (headers, _) = propose(&app, caller.propose(Command::DeleteSession { token_sha256: token_digest(token.trim()) })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, json!({ "logged_out": true })))
}
