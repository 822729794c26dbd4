//! The one permission policy (`zhanqun_model::policy`), asked by the state
//! machine for every command of a proposal of format version 2 or later,
//! before anything else — creates, sites, columns, accounts and workflow
//! steps alike — with the facts about the target it needs (a document's
//! review stage, the platform role of the account acted on). A refusal is
//! the same on every node and is a line of the audit trail.
//!
//! Entries of older versions are decided as they were: the checks then sat
//! in the apply functions (`workflow::require`, the account rules), which
//! ask the same policy and step aside for version 2.

use sqlx::SqliteConnection;
use zhanqun_model::policy::{self, Target};
use zhanqun_model::workflow::ReviewStage;
use zhanqun_model::{Command, PlatformRole, Proposal, Rejection};

use crate::apply::Step;
use crate::{accounts, parse, rows};

/// The version from which the policy is asked first, for every command.
pub(crate) const POLICY_FIRST: u32 = 2;

pub(crate) async fn check(conn: &mut SqliteConnection, p: &Proposal) -> Step {
    if !p.made_under(POLICY_FIRST) {
        return accounts::gate(conn, p).await;
    }
    let Some(actor) = p.actor else { return Ok(()) };
    let actor = rows::user(conn, actor).await?.ok_or_else(|| Rejection::forbidden("unknown_actor", "the acting user no longer exists"))?;
    let mut leaves = Vec::new();
    collect(&p.command, &mut leaves);
    for command in leaves {
        let target = facts(conn, command).await?;
        policy::check(Some(&actor), command, &target)?;
    }
    Ok(())
}

/// The commands of a batch, batches inside it opened too.
fn collect<'a>(command: &'a Command, out: &mut Vec<&'a Command>) {
    match command {
        Command::Batch { commands } => commands.iter().for_each(|c| collect(c, out)),
        other => out.push(other),
    }
}

/// What the policy needs to know of a command's target. Something that
/// does not exist has no facts; the command then fails on its own terms.
async fn facts(conn: &mut SqliteConnection, command: &Command) -> Step<Target> {
    let mut target = Target::default();
    match command {
        Command::ApproveDocument { tenant_id, document_id }
        | Command::ReturnDocument { tenant_id, document_id, .. }
        | Command::SignOffSecrecy { tenant_id, document_id, .. } => {
            let stage: Option<Option<String>> = sqlx::query_scalar("SELECT review_stage FROM documents WHERE id = ? AND tenant_id = ?")
                .bind(document_id)
                .bind(tenant_id)
                .fetch_optional(&mut *conn)
                .await?;
            target.review_stage = stage.flatten().map(|s| parse::<ReviewStage>(&s)).transpose()?;
        }
        Command::ResetPassword { user_id, .. } | Command::SetAccountDisabled { user_id, .. } | Command::RevokeSessions { user_id } => {
            let role: Option<Option<String>> =
                sqlx::query_scalar("SELECT platform_role FROM users WHERE id = ?").bind(user_id).fetch_optional(&mut *conn).await?;
            target.account_role = role.flatten().map(|r| parse::<PlatformRole>(&r)).transpose()?;
        }
        Command::UnlockAccount { username } => {
            let role: Option<Option<String>> =
                sqlx::query_scalar("SELECT platform_role FROM users WHERE lower(username) = lower(?)").bind(username).fetch_optional(&mut *conn).await?;
            target.account_role = role.flatten().map(|r| parse::<PlatformRole>(&r)).transpose()?;
        }
        _ => {}
    }
    Ok(target)
}
