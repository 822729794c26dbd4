//! Applying account commands: creating a user, replacing their site roles,
//! and the account's life (passwords, disabling, sessions, the login lock).
//!
//! 三权分立 is kept here, on every node, whatever front door proposed:
//! - a platform account never holds a site role (`User::check_separation`);
//! - accounts are the 安全管理员's business alone, and among them only
//!   site accounts: platform accounts (系统/安全/审计管理员) are created,
//!   reset, disabled and unlocked only by the operator, who proposes as
//!   the system (`zhanqun account …` with the cluster secret), so no
//!   administrator can make themselves a second duty;
//! - a password the 安全管理员 chose is known to them, so its owner must
//!   change it before doing anything else (see [`gate`]).
//!
//! These rules belong to proposals of version 1 on (`Proposal::VERSION`);
//! older entries replay as they were decided.

use crate::db::{self, Conn};
use zhanqun_model::{Applied, Command, Grant, PlatformRole, Proposal, Rejection, User, rules};

use super::sites::tenant_exists;
use super::{Step, Touched, misrouted, permission};
use crate::parse;

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::CreateUser { user } => create_user(conn, p, user),
        Command::SetRoles { user_id, grants } => set_roles(conn, p, *user_id, grants),
        Command::ChangePassword { user_id, password_hash, keep_session } => change_password(conn, p, *user_id, password_hash, keep_session.as_deref()),
        Command::ResetPassword { user_id, password_hash } => reset_password(conn, p, *user_id, password_hash),
        Command::SetAccountDisabled { user_id, disabled } => set_disabled(conn, p, *user_id, *disabled),
        Command::RevokeSessions { user_id } => revoke_sessions(conn, p, *user_id),
        Command::UnlockAccount { username } => unlock(conn, p, username, touched),
        Command::SetPasswordPolicy { policy } => {
            permission::account_manager(conn, p, None)?;
            policy.validate()?;
            let value = serde_json::to_string(policy).expect("policy serializes");
            db::query("INSERT INTO settings (key, value) VALUES ('password_policy', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(value)
                .execute(conn)?;
            touched.settings = true;
            Ok(Applied::default())
        }
        Command::CreateSession { token_sha256, user_id, expires_at, idle_ms, totp_step } => {
            if let Some(step) = totp_step {
                // A second-factor code is good once, on every node.
                let used = db::query("UPDATE totp SET last_step = ? WHERE user_id = ? AND last_step < ?").bind(step).bind(user_id).bind(step).execute(conn)?;
                if used == 0 {
                    return Err(Rejection::conflict("totp_replayed", "this second-factor code was used already; wait for the next one").into());
                }
            }
            db::query("INSERT INTO sessions (token_sha256, user_id, created_at, expires_at, idle_ms, last_seen_at) VALUES (?,?,?,?,?,?)")
                .bind(token_sha256)
                .bind(user_id)
                .bind(p.at)
                .bind(expires_at)
                .bind(idle_ms)
                // Version 0 had no such column; migrating its sessions left
                // it NULL, and so does applying its entries now.
                .bind(p.made_under(1).then_some(p.at))
                .execute(conn)?;
            // Expired sessions go as new ones come: no timer needed, and
            // every node drops the same rows.
            db::query("DELETE FROM sessions WHERE expires_at < ?").bind(p.at).execute(conn)?;
            Ok(Applied { id: Some(*user_id), index_no: None })
        }
        Command::TouchSession { token_sha256, user_id } => {
            // Only the owner's own session, and only forward in time.
            db::query("UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE token_sha256 = ? AND user_id = ?")
                .bind(p.at)
                .bind(token_sha256)
                .bind(user_id)
                .execute(conn)?;
            Ok(Applied::default())
        }
        Command::EnrollTotp { user_id, secret, step } => {
            if secret.len() < 16 || !secret.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)) {
                return Err(Rejection::invalid("invalid_secret", "a TOTP secret is at least 16 base32 characters (A–Z, 2–7)").into());
            }
            db::query(
                "INSERT INTO totp (user_id, secret, enrolled_at, last_step) VALUES (?, ?, ?, ?)
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enrolled_at = excluded.enrolled_at, last_step = excluded.last_step",
            )
            .bind(user_id)
            .bind(secret)
            .bind(p.at)
            .bind(step)
            .execute(conn)?;
            Ok(Applied { id: Some(*user_id), index_no: None })
        }
        Command::RemoveTotp { user_id } => {
            let gone = db::query("DELETE FROM totp WHERE user_id = ?").bind(user_id).execute(conn)?;
            if gone == 0 {
                return Err(Rejection::not_found("no_totp", "this account has no second factor").into());
            }
            Ok(Applied { id: Some(*user_id), index_no: None })
        }
        // Nothing changes: the audit line is the record.
        Command::RecordTotpFailure { user_id } => Ok(Applied { id: Some(*user_id), index_no: None }),
        Command::DeleteSession { token_sha256 } => {
            db::query("DELETE FROM sessions WHERE token_sha256 = ?").bind(token_sha256).execute(conn)?;
            Ok(Applied::default())
        }
        other => Err(misrouted(other)),
    }
}

pub(crate) fn create_user(conn: &Conn, p: &Proposal, user: &User) -> Step<Applied> {
    rules::check_username(&user.username)?;
    User::check_separation(user.platform_role, &user.grants)?;
    permission::account_manager(conn, p, user.platform_role)?;
    if p.made_under(1) {
        rules::limits::DISPLAY_NAME.required(&user.display_name)?;
    }
    // Names are unique whatever their case (from version 1): `NA-EDITOR`
    // beside `na-editor` would be two accounts nobody can tell apart.
    let taken: Option<String> = if p.made_under(1) {
        db::query_scalar("SELECT username FROM users WHERE lower(username) = lower(?)").bind(&user.username).fetch_optional(conn)?
    } else {
        db::query_scalar("SELECT username FROM users WHERE username = ?").bind(&user.username).fetch_optional(conn)?
    };
    if let Some(existing) = taken {
        return Err(Rejection::conflict("duplicate_username", format!("a user named `{existing}` already exists (names are compared without case)")).into());
    }
    // Someone else chose this password: its owner changes it first.
    let must_change = user.must_change_password || (p.made_under(1) && p.actor.is_some());
    db::query(
        "INSERT INTO users (id, username, display_name, password_hash, platform_role, created_at, must_change_password, password_changed_at)
         VALUES (?,?,?,?,?,?,?,?)",
    )
    .bind(user.id)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(user.platform_role.map(|r| r.as_str()))
    .bind(user.created_at)
    .bind(must_change)
    // Version 0 had no such column; migrating its accounts left it NULL,
    // and so does applying its entries now.
    .bind(p.made_under(1).then_some(p.at))
    .execute(conn)?;
    insert_grants(conn, user.id, &user.grants)?;
    Ok(Applied { id: Some(user.id), index_no: None })
}

/// The platform role of an existing account, or a refusal naming the id.
fn target(conn: &Conn, user_id: i64) -> Step<Option<PlatformRole>> {
    let role: Option<Option<String>> = db::query_scalar("SELECT platform_role FROM users WHERE id = ?").bind(user_id).fetch_optional(conn)?;
    let Some(role) = role else {
        return Err(Rejection::not_found("user_not_found", format!("no user with id {user_id}")).into());
    };
    Ok(role.map(|r| parse::<PlatformRole>(&r)).transpose()?)
}

/// Replaces every site role of the user with `grants` (an empty list takes
/// them all away). Sessions stay valid; the next request sees the new roles,
/// since every request reads the caller's roles afresh.
pub(crate) fn set_roles(conn: &Conn, p: &Proposal, user_id: i64, grants: &[Grant]) -> Step<Applied> {
    let role = target(conn, user_id)?;
    User::check_separation(role, grants)?;
    permission::account_manager(conn, p, role)?;
    db::query("DELETE FROM grants WHERE user_id = ?").bind(user_id).execute(conn)?;
    insert_grants(conn, user_id, grants)?;
    Ok(Applied { id: Some(user_id), index_no: None })
}

fn insert_grants(conn: &Conn, user_id: i64, grants: &[Grant]) -> Step {
    for g in grants {
        tenant_exists(conn, g.tenant_id)?;
        db::query("INSERT OR IGNORE INTO grants (user_id, tenant_id, role) VALUES (?,?,?)")
            .bind(user_id)
            .bind(g.tenant_id)
            .bind(g.role.as_str())
            .execute(conn)?;
    }
    Ok(())
}

/// The owner's own change: only the owner makes it.
/// Keeps the hash being replaced, so that a later change can refuse it
/// (the policy's `history`); at most the last 24 of an account.
fn remember_password(conn: &Conn, p: &Proposal, user_id: i64) -> Step<()> {
    db::query("INSERT INTO password_history (user_id, password_hash, at) SELECT id, password_hash, ? FROM users WHERE id = ? AND password_hash != ''")
        .bind(p.at)
        .bind(user_id)
        .execute(conn)?;
    db::query("DELETE FROM password_history WHERE user_id = ?1 AND rowid NOT IN (SELECT rowid FROM password_history WHERE user_id = ?1 ORDER BY at DESC, rowid DESC LIMIT 24)")
        .bind(user_id)
        .execute(conn)?;
    Ok(())
}

pub(crate) fn change_password(conn: &Conn, p: &Proposal, user_id: i64, password_hash: &str, keep_session: Option<&str>) -> Step<Applied> {
    target(conn, user_id)?;
    permission::owner(p, user_id)?;
    remember_password(conn, p, user_id)?;
    db::query("UPDATE users SET password_hash = ?, must_change_password = 0, password_changed_at = ? WHERE id = ?")
        .bind(password_hash)
        .bind(p.at)
        .bind(user_id)
        .execute(conn)?;
    db::query("DELETE FROM sessions WHERE user_id = ? AND token_sha256 IS NOT ?").bind(user_id).bind(keep_session).execute(conn)?;
    Ok(Applied { id: Some(user_id), index_no: None })
}

pub(crate) fn reset_password(conn: &Conn, p: &Proposal, user_id: i64, password_hash: &str) -> Step<Applied> {
    let role = target(conn, user_id)?;
    permission::account_manager(conn, p, role)?;
    remember_password(conn, p, user_id)?;
    db::query("UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? WHERE id = ?")
        .bind(password_hash)
        // The operator resetting a platform account's password from the
        // console is its owner's own act; the 安全管理员's is not.
        .bind(p.actor.is_some())
        .bind(p.at)
        .bind(user_id)
        .execute(conn)?;
    end_sessions(conn, user_id)?;
    Ok(Applied { id: Some(user_id), index_no: None })
}

pub(crate) fn set_disabled(conn: &Conn, p: &Proposal, user_id: i64, disabled: bool) -> Step<Applied> {
    let role = target(conn, user_id)?;
    permission::account_manager(conn, p, role)?;
    if p.actor == Some(user_id) {
        return Err(Rejection::invalid("own_account", "an administrator cannot disable their own account").into());
    }
    db::query("UPDATE users SET disabled_at = ? WHERE id = ?").bind(disabled.then_some(p.at)).bind(user_id).execute(conn)?;
    if disabled {
        end_sessions(conn, user_id)?;
    }
    Ok(Applied { id: Some(user_id), index_no: None })
}

pub(crate) fn revoke_sessions(conn: &Conn, p: &Proposal, user_id: i64) -> Step<Applied> {
    let role = target(conn, user_id)?;
    permission::account_manager(conn, p, role)?;
    end_sessions(conn, user_id)?;
    Ok(Applied { id: Some(user_id), index_no: None })
}

/// Lifts the login lock of `username` on every node: the lock is node-local
/// state, so applying this only names the account in `touched`, for each
/// node's login guard.
pub(crate) fn unlock(conn: &Conn, p: &Proposal, username: &str, touched: &mut Touched) -> Step<Applied> {
    let found: Option<(i64, Option<String>)> =
        db::query_as("SELECT id, platform_role FROM users WHERE lower(username) = lower(?)").bind(username).fetch_optional(conn)?;
    let Some((id, role)) = found else {
        return Err(Rejection::not_found("user_not_found", format!("no user named `{}`", username.chars().take(64).collect::<String>())).into());
    };
    permission::account_manager(conn, p, role.map(|r| parse::<PlatformRole>(&r)).transpose()?)?;
    touched.unlocked.push(username.to_lowercase());
    Ok(Applied { id: Some(id), index_no: None })
}

fn end_sessions(conn: &Conn, user_id: i64) -> Step {
    db::query("DELETE FROM sessions WHERE user_id = ?").bind(user_id).execute(conn)?;
    Ok(())
}
