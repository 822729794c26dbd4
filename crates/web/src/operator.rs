//! What the operator does on a node's console with the cluster secret
//! (`zhanqun account …`), never through the admin API: the platform
//! accounts of 三权分立 — creating one, setting its password, disabling or
//! enabling it, ending its sessions, lifting its login lock.
//!
//! No administrator can make another administrator or rescue themselves
//! through the API; the person who holds the cluster secret (who runs the
//! machines) can, and every such act is a command proposed as the system
//! and kept in the audit trail with the address it came from.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use zhanqun_model::{Command, User, rules};
use zhanqun_platform::operator::role_title;
pub use zhanqun_platform::operator::{AccountAnswer, AccountOp};

use crate::auth::hash_password;
use crate::error::ApiError;
use crate::peer::Peer;
use crate::{App, new_id, now_ms};

/// `POST /_raft/account`.
pub(crate) async fn account(_: Peer, State(app): State<Arc<App>>, parts: axum::http::request::Parts, Json(op): Json<AccountOp>) -> Json<AccountAnswer> {
    let from = crate::auth::client_ip(&parts);
    Json(apply(&app, op, from).await.map_err(|e| e.to_string()))
}

async fn apply(app: &App, op: AccountOp, from: Option<String>) -> Result<String, ApiError> {
    let policy = app.store.password_policy().await?;
    let find = |name: String| async move {
        app.store.user_by_name(&name).await?.ok_or_else(|| ApiError::NotFound("user_not_found".into(), format!("no user named `{name}`")))
    };
    let (command, done) = match op {
        AccountOp::Create { username, display_name, role, password } => {
            rules::check_username(&username)?;
            policy.check_for(&password, &username)?;
            let hash = app.password_work.run(move || hash_password(&password)).await?;
            let title = display_name.unwrap_or_else(|| role_title(role).to_string());
            let mut user = User::new(new_id(), username.clone(), title, hash, now_ms());
            user.platform_role = Some(role);
            (Command::CreateUser { user }, format!("created the {} account `{username}`", role_title(role)))
        }
        AccountOp::SetPassword { username, password } => {
            let user = find(username).await?;
            policy.check_for(&password, &user.username)?;
            let hash = app.password_work.run(move || hash_password(&password)).await?;
            (Command::ResetPassword { user_id: user.id, password_hash: hash }, format!("set a new password for `{}`; its sessions ended", user.username))
        }
        AccountOp::Disable { username } => {
            let user = find(username).await?;
            (Command::SetAccountDisabled { user_id: user.id, disabled: true }, format!("disabled `{}`; its sessions ended", user.username))
        }
        AccountOp::Enable { username } => {
            let user = find(username).await?;
            (Command::SetAccountDisabled { user_id: user.id, disabled: false }, format!("enabled `{}`", user.username))
        }
        AccountOp::Revoke { username } => {
            let user = find(username).await?;
            (Command::RevokeSessions { user_id: user.id }, format!("ended every session of `{}`", user.username))
        }
        AccountOp::Unlock { username } => {
            let user = find(username).await?;
            (Command::UnlockAccount { username: user.username.clone() }, format!("lifted the login lock of `{}` on every node", user.username))
        }
        AccountOp::RemoveTotp { username } => {
            let user = find(username).await?;
            (Command::RemoveTotp { user_id: user.id }, format!("took the second factor of `{}` off; it may enroll a new one", user.username))
        }
    };
    let name = command.name();
    let written = app.node.write(zhanqun_platform::proposal(None, from.clone(), command)).await?;
    if let Err(refused) = written.outcome {
        return Err(refused.into());
    }
    tracing::warn!(action = name, from = %from.as_deref().unwrap_or("-"), "operator changed an account with the cluster secret");
    Ok(done)
}
