//! Logging in and out.

use std::sync::Arc;

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
    let user = app.store.user_by_name(&body.username).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %body.username.chars().filter(|c| !c.is_control()).take(64).collect::<String>(), ip = %addr.ip(), "login refused");
            return Err(ApiError::Unauthenticated("wrong username or password").into());
        }
    };
    let token = new_token();
    let expires_at = now_ms() + app.config.session_ttl.as_millis() as i64;
    let proposal = Proposal {
        at: now_ms(),
        actor: Some(user.id),
        client_ip: Some(addr.ip().to_string()),
        command: Command::CreateSession { token_sha256: token_digest(&token), user_id: user.id, expires_at },
    };
    let (headers, _) = propose(&app, proposal).await?;
    tracing::info!(user = %user.username, ip = %addr.ip(), "logged in");
    Ok(WriteResponse(StatusCode::CREATED, headers, json!({ "token": token, "expires_at": expires_at, "username": user.username })))
}

pub async fn logout(State(app): State<Arc<App>>, caller: Caller, headers: axum::http::HeaderMap) -> WriteResult {
    let token = headers.get("authorization").and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
    let (headers, _) = propose(&app, caller.propose(Command::DeleteSession { token_sha256: token_digest(token.trim()) })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, json!({ "logged_out": true })))
}
