//! Logging in and out, and changing one's own password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use zhanqun_model::{Command, User};

use super::{ApiJson, WriteRefused, WriteResponse, WriteResult, propose};
use crate::auth::{SessionUser, hash_password, new_token, token_digest, verify_password};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::{App, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
    /// The 6-digit code of the account's authenticator app, for an account
    /// with a second factor.
    #[serde(default)]
    totp: Option<String>,
}

// Verifying against a real hash when the user does not exist takes as long
// as a real check, so response times do not reveal which usernames exist.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| crate::auth::hash_password(&new_token()));

/// `POST /api/v1/session`.
pub async fn login(State(app): State<Arc<App>>, client: Option<axum::Extension<ClientAddr>>, ApiJson(body): ApiJson<Login>) -> WriteResult {
    let source = client.map_or_else(|| "-".to_string(), |c| c.0.0.to_string());
    let (user, step) = check_credentials(&app, &body.username, body.password, body.totp.as_deref(), &source).await?;
    let opened = open_session(&app, &user, &source, None, step).await?;
    Ok(WriteResponse(
        StatusCode::CREATED,
        opened.headers,
        json!({ "token": opened.token, "expires_at": opened.expires_at, "username": user.username, "must_change_password": user.must_change_password }),
    ))
}

/// The account a name and password (and, for an account with a second
/// factor, a TOTP code) prove, with the code's step, or why not: the lock
/// for this source, a wrong pair or code (after a delay that grows with
/// failures), a disabled account, an account without any role. What every
/// front door that logs people in asks.
pub(crate) async fn check_credentials(app: &App, username: &str, password: String, totp: Option<&str>, source: &str) -> ApiResult<(User, Option<i64>)> {
    let shown_name = username.chars().filter(|c| !c.is_control()).take(64).collect::<String>();
    let guard = &app.derived.login_guard;
    // A source locked out of the account is refused before the password is
    // even checked (which also spares an argon2 hash per guess).
    if let Err(left) = guard.check(username, source, Instant::now()) {
        tracing::info!(username = %shown_name, ip = %source, "login refused: locked out from this address");
        return Err(locked(left));
    }
    let user = app.store.user_by_name(username).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let ok = app.password_work.run(move || verify_password(&password, &hash)).await?;
    let shown = shown_name.as_str();
    let failed = |why: &'static str| async move {
        let policy = app.store.password_policy().await?;
        let verdict = guard.failed(username, source, &policy, Instant::now());
        // Held back before answering: a guessing script slows down,
        // someone who mistyped once does not notice.
        tokio::time::sleep(verdict.delay).await;
        if let Some(lock) = verdict.locked {
            tracing::warn!(username = %shown, ip = %source, failures = policy.max_failed_logins, "login locked for this address after too many failed logins");
            return Err(locked(lock));
        }
        Err(ApiError::Unauthenticated(why))
    };
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %shown_name, ip = %source, "login refused");
            return failed("wrong username or password").await;
        }
    };
    // The second factor, before the failures are forgotten: a right
    // password with wrong codes still ends in the lock.
    let step = match app.store.totp_of(user.id).await? {
        None => None,
        Some((secret, last_step)) => {
            let Some(code) = totp.map(str::trim).filter(|c| !c.is_empty()) else {
                return Err(ApiError::Unauthenticated("this account logs in with a second factor: send `totp`, the 6-digit code of its authenticator app"));
            };
            let secret = zhanqun_platform::totp::decode(&secret).ok_or_else(|| ApiError::internal("a stored TOTP secret is not base32"))?;
            match zhanqun_platform::totp::verify(&secret, code, now_ms(), last_step) {
                Ok(step) => Some(step),
                Err(why) => {
                    tracing::warn!(user = %user.username, ip = %source, "login refused: wrong second-factor code");
                    // Whoever sent it knows the password: kept in the audit trail.
                    let record = zhanqun_platform::proposal(Some(user.id), Some(source.to_string()), Command::RecordTotpFailure { user_id: user.id });
                    if let Err((_, e)) = propose(app, record).await {
                        tracing::warn!("cannot record the wrong second-factor code in the audit trail: {e}");
                    }
                    return failed(match why {
                        zhanqun_platform::totp::Refused::Wrong => "wrong second-factor code",
                        zhanqun_platform::totp::Refused::Replayed => "this second-factor code was used already; wait for the next one",
                    })
                    .await;
                }
            }
        }
    };
    guard.succeeded(username, source);
    // Only someone who knows the password learns these.
    if user.disabled_at.is_some() {
        tracing::info!(user = %user.username, ip = %source, "login refused: account disabled");
        return Err(ApiError::Forbidden("this account is disabled; ask the 安全管理员".into()));
    }
    if !user.has_any_role() {
        tracing::info!(user = %user.username, ip = %source, "login refused: the account holds no role");
        return Err(ApiError::Forbidden("this account holds no role in any site; ask the 安全管理员 to grant one".into()));
    }
    Ok((user, step))
}

/// A session just opened: the token (shown once) and the write's headers.
pub(crate) struct OpenedSession {
    pub token: String,
    pub expires_at: i64,
    pub headers: axum::http::HeaderMap,
}

/// Opens a session for `user`: replicated as the token's SHA-256 only.
/// `idle` limits a browser session left alone; API tokens have none.
pub(crate) async fn open_session(app: &App, user: &User, source: &str, idle: Option<Duration>, totp_step: Option<i64>) -> Result<OpenedSession, WriteRefused> {
    let token = new_token();
    let expires_at = now_ms() + app.config.session_ttl.as_millis() as i64;
    let idle_ms = idle.map(|d| d.as_millis() as i64);
    let proposal = zhanqun_platform::proposal(
        Some(user.id),
        Some(source.to_string()),
        Command::CreateSession { token_sha256: token_digest(&token), user_id: user.id, expires_at, idle_ms, totp_step },
    );
    let (headers, _) = propose(app, proposal).await?;
    tracing::info!(user = %user.username, ip = %source, browser = idle.is_some(), "logged in");
    Ok(OpenedSession { token, expires_at, headers })
}

fn locked(left: Duration) -> ApiError {
    let minutes = left.as_secs().div_ceil(60).max(1);
    ApiError::LoginLocked {
        message: format!(
            "too many failed logins for this account from this address: it is locked here for {minutes} more minute(s); try again then, or ask the 安全管理员 to unlock it"
        ),
        retry_after: left,
    }
}

/// `GET /api/v1/session`: who the token belongs to, and whether they must
/// change their password first.
pub async fn whoami(session: SessionUser) -> ApiResult<Json<serde_json::Value>> {
    let u = &session.user;
    Ok(Json(json!({
        "username": u.username, "display_name": u.display_name, "platform_role": u.platform_role,
        "grants": u.grants, "must_change_password": u.must_change_password,
    })))
}

/// `DELETE /api/v1/session`: the token stops working.
pub async fn logout(State(app): State<Arc<App>>, session: SessionUser) -> WriteResult {
    let proposal = zhanqun_platform::proposal(Some(session.user.id), session.client_ip.clone(), Command::DeleteSession { token_sha256: session.token_sha256 });
    let (headers, _) = propose(&app, proposal).await?;
    Ok(WriteResponse(StatusCode::OK, headers, json!({ "logged_out": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOwnPassword {
    pub current_password: String,
    pub new_password: String,
}

/// `PUT /api/v1/session/password`: the owner changes their own password,
/// proving the current one. Every other session of the account ends; this
/// one stays. Also what a user whose password the 安全管理员 set must do
/// before anything else.
pub async fn change_password(State(app): State<Arc<App>>, session: SessionUser, ApiJson(body): ApiJson<NewOwnPassword>) -> WriteResult {
    let user = &session.user;
    let hash = user.password_hash.clone();
    let current = body.current_password.clone();
    if !app.password_work.run(move || verify_password(&current, &hash)).await? {
        // The request is well formed; the proof is wrong: 403, not 422.
        return Err(ApiError::Denied("wrong_password", "current_password is not this account's password".into()).into());
    }
    if body.new_password == body.current_password {
        return Err(ApiError::Unprocessable("same_password".into(), "new_password must differ from the current one".into()).into());
    }
    let policy = app.store.password_policy().await?;
    policy.check_for(&body.new_password, &user.username).map_err(ApiError::from)?;
    // Not one of the last few (等级保护: no reuse); each is an argon2 check.
    for old in app.store.recent_password_hashes(user.id, policy.history).await? {
        let candidate = body.new_password.clone();
        if app.password_work.run(move || verify_password(&candidate, &old)).await? {
            return Err(ApiError::Unprocessable(
                "password_reused".into(),
                format!("new_password was one of this account's last {} passwords; choose another", policy.history),
            )
            .into());
        }
    }
    let new = body.new_password;
    let password_hash = app.password_work.run(move || hash_password(&new)).await?;
    let command = Command::ChangePassword { user_id: user.id, password_hash, keep_session: Some(session.token_sha256.clone()) };
    let (headers, _) = propose(&app, zhanqun_platform::proposal(Some(user.id), session.client_ip.clone(), command)).await?;
    tracing::info!(user = %user.username, "password changed by its owner");
    Ok(WriteResponse(StatusCode::OK, headers, json!({ "changed": true })))
}

/// `POST /api/v1/session/totp`: a new secret for the caller's authenticator
/// app, with its `otpauth://` address. Nothing is stored until a code of it
/// is shown (`PUT`).
pub async fn totp_secret(session: SessionUser) -> ApiResult<Json<serde_json::Value>> {
    let secret = zhanqun_platform::totp::new_secret();
    let uri = zhanqun_platform::totp::uri("zhanqun", &session.user.username, &secret);
    Ok(Json(json!({ "secret": secret, "uri": uri })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpEnrollment {
    pub secret: String,
    pub code: String,
}

/// `PUT /api/v1/session/totp`: turns the second factor on with the secret
/// the app holds, proved by its current code. From then on every login of
/// the account needs a code.
pub async fn totp_enroll(State(app): State<Arc<App>>, session: SessionUser, ApiJson(body): ApiJson<TotpEnrollment>) -> WriteResult {
    if app.store.totp_of(session.user.id).await?.is_some() {
        return Err(ApiError::Conflict(
            "totp_enrolled".into(),
            "this account has a second factor already; the 安全管理员 removes it before another is enrolled".into(),
        )
        .into());
    }
    let secret: String = body.secret.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bytes = zhanqun_platform::totp::decode(&secret)
        .ok_or_else(|| ApiError::Unprocessable("invalid_secret".into(), "secret must be the base32 text POST /api/v1/session/totp gave".into()))?;
    // A wrong proof in a well-formed request: 403, as a wrong current password is.
    let step = zhanqun_platform::totp::verify(&bytes, &body.code, now_ms(), 0)
        .map_err(|_| ApiError::Denied("wrong_code", "the code is not this secret's code now; check the phone's clock and type the code it shows".into()))?;
    let proposal = zhanqun_platform::proposal(Some(session.user.id), session.client_ip.clone(), Command::EnrollTotp { user_id: session.user.id, secret, step });
    let (headers, _) = propose(&app, proposal).await?;
    tracing::info!(user = %session.user.username, "second factor enrolled");
    Ok(WriteResponse(StatusCode::OK, headers, json!({ "totp": true })))
}
