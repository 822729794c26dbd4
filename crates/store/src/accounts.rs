//! Applying account commands: creating a user and replacing their site
//! roles. Both keep 三权分立 (`User::check_separation`): a platform account
//! never holds a site role.

use sqlx::SqliteConnection;
use zhanqun_model::{Applied, Grant, PlatformRole, Proposal, Rejection, User, rules};

use crate::apply::{Step, tenant_exists};
use crate::parse;

pub(crate) async fn create_user(conn: &mut SqliteConnection, p: &Proposal, user: &User) -> Step<Applied> {
    rules::check_username(&user.username)?;
    if p.made_under(1) {
        rules::limits::DISPLAY_NAME.required(&user.display_name)?;
    }
    User::check_separation(user.platform_role, &user.grants)?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?").bind(&user.username).fetch_optional(&mut *conn).await?;
    if taken.is_some() {
        return Err(Rejection::conflict("duplicate_username", format!("a user named `{}` already exists", user.username)).into());
    }
    sqlx::query("INSERT INTO users (id, username, display_name, password_hash, platform_role, created_at) VALUES (?,?,?,?,?,?)")
        .bind(user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(user.platform_role.map(|r| r.as_str()))
        .bind(user.created_at)
        .execute(&mut *conn)
        .await?;
    insert_grants(conn, user.id, &user.grants).await?;
    Ok(Applied { id: Some(user.id), index_no: None })
}

/// Replaces every site role of the user with `grants` (an empty list takes
/// them all away). Sessions stay valid; the next request sees the new roles,
/// since every request reads the caller's roles afresh.
pub(crate) async fn set_roles(conn: &mut SqliteConnection, user_id: i64, grants: &[Grant]) -> Step<Applied> {
    let role: Option<Option<String>> = sqlx::query_scalar("SELECT platform_role FROM users WHERE id = ?").bind(user_id).fetch_optional(&mut *conn).await?;
    let Some(role) = role else {
        return Err(Rejection::not_found("user_not_found", format!("no user with id {user_id}")).into());
    };
    let role = role.map(|r| parse::<PlatformRole>(&r)).transpose()?;
    User::check_separation(role, grants)?;
    sqlx::query("DELETE FROM grants WHERE user_id = ?").bind(user_id).execute(&mut *conn).await?;
    insert_grants(conn, user_id, grants).await?;
    Ok(Applied { id: Some(user_id), index_no: None })
}

async fn insert_grants(conn: &mut SqliteConnection, user_id: i64, grants: &[Grant]) -> Step {
    for g in grants {
        tenant_exists(conn, g.tenant_id).await?;
        sqlx::query("INSERT OR IGNORE INTO grants (user_id, tenant_id, role) VALUES (?,?,?)")
            .bind(user_id)
            .bind(g.tenant_id)
            .bind(g.role.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
