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

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::db::{self, Conn};
use zhanqun_model::policy::{self, Target};
use zhanqun_model::workflow::{self, ReviewStage, Step as WorkStep};
use zhanqun_model::{Command, Document, Domain, PlatformRole, Proposal, Rejection, User};

use super::Step;
use crate::{parse, rows};

/// The version from which the policy is asked first, for every command.
pub(super) const POLICY_FIRST: u32 = 2;

pub(super) fn check(conn: &Conn, actors: &mut Actors, p: &Proposal) -> Step {
    if !p.made_under(POLICY_FIRST) {
        return gate(conn, p);
    }
    let Some(actor) = p.actor else { return Ok(()) };
    let actor = actors.read(conn, actor)?;
    let mut leaves = Vec::new();
    collect(&p.command, &mut leaves);
    for command in leaves {
        let target = facts(conn, command)?;
        policy::check(Some(actor), command, &target)?;
    }
    Ok(())
}

/// The acting users the policy was asked about in one transaction, each
/// with its grants, read once: a group of writes by one editor reads the
/// editor once. Only commands of the accounts domain change users or
/// grants; the transaction forgets every user after one of them.
#[derive(Default)]
pub(super) struct Actors(HashMap<i64, User>);

impl Actors {
    fn read(&mut self, conn: &Conn, id: i64) -> Step<&User> {
        match self.0.entry(id) {
            Entry::Occupied(known) => Ok(known.into_mut()),
            Entry::Vacant(unknown) => {
                let user = rows::user_in(conn, id)?.ok_or_else(|| Rejection::forbidden("unknown_actor", "the acting user no longer exists"))?;
                Ok(unknown.insert(user))
            }
        }
    }

    /// Forgets every user once `command` has run, if it may have changed one.
    pub(super) fn after(&mut self, command: &Command) {
        if super::any_of_domain(command, &[Domain::Accounts]) {
            self.0.clear();
        }
    }
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
fn facts(conn: &Conn, command: &Command) -> Step<Target> {
    let mut target = Target::default();
    match command {
        Command::ApproveDocument { tenant_id, document_id }
        | Command::ReturnDocument { tenant_id, document_id, .. }
        | Command::SignOffSecrecy { tenant_id, document_id, .. } => {
            let stage: Option<Option<String>> =
                db::query_scalar("SELECT review_stage FROM documents WHERE id = ? AND tenant_id = ?").bind(document_id).bind(tenant_id).fetch_optional(conn)?;
            target.review_stage = stage.flatten().map(|s| parse::<ReviewStage>(&s)).transpose()?;
        }
        Command::ResetPassword { user_id, .. } | Command::SetAccountDisabled { user_id, .. } | Command::RevokeSessions { user_id } => {
            let role: Option<Option<String>> = db::query_scalar("SELECT platform_role FROM users WHERE id = ?").bind(user_id).fetch_optional(conn)?;
            target.account_role = role.flatten().map(|r| parse::<PlatformRole>(&r)).transpose()?;
        }
        Command::UnlockAccount { username } => {
            let role: Option<Option<String>> =
                db::query_scalar("SELECT platform_role FROM users WHERE lower(username) = lower(?)").bind(username).fetch_optional(conn)?;
            target.account_role = role.flatten().map(|r| parse::<PlatformRole>(&r)).transpose()?;
        }
        _ => {}
    }
    Ok(target)
}

// Entries made before the policy was asked first: the checks as they
// were then, each called from the apply function that made it.

/// The user who proposed, with their grants; `None` for the system itself
/// (bootstrap, demo load), which may take any step.
fn actor(conn: &Conn, p: &Proposal) -> Step<Option<User>> {
    let Some(id) = p.actor else { return Ok(None) };
    match rows::user_in(conn, id)? {
        Some(user) => Ok(Some(user)),
        None => Err(Rejection::forbidden("unknown_actor", "the acting user no longer exists").into()),
    }
}

/// Refuses unless the proposer may take `step` on `d` — for entries older
/// than the policy-first version, which asked here (see `permission`).
pub(super) fn step(conn: &Conn, p: &Proposal, d: &Document, step: WorkStep) -> Step {
    if p.made_under(POLICY_FIRST) {
        return Ok(());
    }
    match actor(conn, p)? {
        Some(user) => Ok(workflow::check_may(&user, d, step)?),
        None => Ok(()),
    }
}

/// Refuses a command of version 1 or later from an actor whose account is
/// disabled or gone, or who must first change a password someone else set
/// (only logging in, out, and that change are left to them).
fn gate(conn: &Conn, p: &Proposal) -> Step {
    let Some(actor) = p.actor else { return Ok(()) };
    if !p.made_under(1) {
        return Ok(());
    }
    let state: Option<(Option<i64>, bool)> =
        db::query_as("SELECT disabled_at, must_change_password FROM users WHERE id = ?").bind(actor).fetch_optional(conn)?;
    match state {
        None => Err(Rejection::forbidden("unknown_actor", "the acting user no longer exists").into()),
        Some((Some(_), _)) => Err(Rejection::forbidden("account_disabled", "this account is disabled; ask the 安全管理员").into()),
        Some((None, true)) if !matches!(p.command, Command::ChangePassword { .. } | Command::CreateSession { .. } | Command::DeleteSession { .. }) => Err(
            Rejection::forbidden("password_change_required", "change the password the 安全管理员 set for this account first (PUT /api/v1/session/password)")
                .into(),
        ),
        Some(_) => Ok(()),
    }
}

/// Who manages accounts: the system (the operator, the first start), or
/// the 安全管理员 for site accounts. `target_role` is the platform role of
/// the account acted on.
pub(super) fn account_manager(conn: &Conn, p: &Proposal, target_role: Option<PlatformRole>) -> Step {
    let Some(actor) = p.actor else { return Ok(()) };
    // Version 1 only: before it nobody asked here; from version 2 the
    // policy was asked before apply began (see `permission`).
    if !p.made_under(1) || p.made_under(POLICY_FIRST) {
        return Ok(());
    }
    let user = rows::user_in(conn, actor)?.ok_or_else(|| Rejection::forbidden("unknown_actor", "the acting user no longer exists"))?;
    if !user.is_security_admin() {
        return Err(Rejection::forbidden("not_your_duty", "only the 安全管理员 (security administrator) manages accounts").into());
    }
    if let Some(role) = target_role {
        return Err(Rejection::forbidden(
            "platform_account",
            format!("platform accounts ({role}) are managed by the operator with `zhanqun account` and the cluster secret, not through the API"),
        )
        .into());
    }
    Ok(())
}

/// A password is changed by its owner.
pub(super) fn owner(p: &Proposal, user_id: i64) -> Step {
    if !p.made_under(POLICY_FIRST) && p.actor.is_some_and(|a| a != user_id) {
        return Err(Rejection::forbidden("not_your_account", "a password is changed by its owner; the 安全管理员 resets it instead").into());
    }
    Ok(())
}
