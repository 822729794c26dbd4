//! Applying commands: the only code in zhanqun that writes content.
//!
//! The entries committed together are applied in one transaction. A
//! [`Rejection`] changes nothing of its command, yet the log position still
//! advances in the same transaction: every node refuses the same command in
//! the same way, exactly once. (The transaction runs without savepoints
//! until a command is refused; it is then applied again with one around
//! each command, which the refusal rolls back: see
//! [`Store::apply_entries`].) The audit lines and document digests of the
//! transaction are written at its end (`Trail`).
//!
//! The permission policy is asked first (`permission`); then each command
//! goes to the module of its domain (`Command::domain`): `sites`,
//! `documents` (with `edit`), `workflow`, `accounts`, `reposts` (with
//! `feeds` and `submissions`). This module only
//! dispatches and keeps the transaction.

use std::collections::BTreeSet;

use crate::db::{self, Conn};
use zhanqun_model::{Applied, Command, Domain, Outcome, Proposal, Rejection};

use crate::{Result, Store, StoreError, audit};

mod accounts;
mod cluster;
mod documents;
mod edit;
mod feeds;
mod monitoring;
mod permission;
mod reposts;
mod sites;
mod submissions;
mod workflow;

pub(crate) use workflow::body_digest;

/// What an applied entry touched, so that derived state (render caches,
/// the tenant directory) can be refreshed on every node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Touched {
    /// Tenants whose public pages may have changed.
    pub tenants: BTreeSet<i64>,
    /// Tenants were created or changed (hosts, names, lifecycle).
    pub directory: bool,
    /// Documents created or changed, as (tenant, document): the search
    /// index re-reads them.
    pub documents: BTreeSet<(i64, i64)>,
    /// Accounts (lowercased names) whose failed-login lock is lifted: each
    /// node clears its own count.
    pub unlocked: Vec<String>,
    /// The platform's settings (the password policy) changed.
    pub settings: bool,
    /// A site's HTTPS certificate was set or taken off.
    pub certificates: bool,
}

/// A refusal or a storage failure while applying one command.
pub(crate) enum Failure {
    Rejected(Rejection),
    Store(StoreError),
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        Failure::Rejected(r)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        // Constraints are checked before writing; one that still fires is a
        // conflict the checks missed, and must refuse, not crash the node.
        if let rusqlite::Error::SqliteFailure(failure, message) = &e {
            let message = message.as_deref().unwrap_or("");
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return Failure::Rejected(Rejection::conflict("conflict", format!("already exists: {message}")));
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return Failure::Rejected(Rejection::not_found("not_found", format!("refers to something that does not exist: {message}")));
                }
                _ => {}
            }
        }
        Failure::Store(StoreError::Sqlite(e))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

pub(crate) type Step<T = ()> = std::result::Result<T, Failure>;

/// One committed Raft entry to apply: its id (JSON, recorded as the last
/// applied position), the membership it carries if any, and its command if
/// any (`None` for blank and membership entries).
#[derive(Debug, Clone, Copy)]
pub struct CommittedEntry<'a> {
    pub log_id: &'a str,
    pub membership: Option<&'a str>,
    pub proposal: Option<&'a Proposal>,
}

impl Store {
    /// Applies one Raft entry: [`Store::apply_entries`] of one.
    pub async fn apply_entry(&self, log_id: &str, membership: Option<&str>, proposal: Option<&Proposal>) -> Result<(Outcome, Touched)> {
        let mut applied = self.apply_entries(&[CommittedEntry { log_id, membership, proposal }]).await?;
        Ok(applied.pop().expect("one outcome per entry"))
    }

    /// Applies committed entries in order, in one transaction (group
    /// commit: entries that were committed together are written together).
    /// A refused command changes nothing but its audit line, exactly as if
    /// it were applied alone; the last entry's id becomes the last-applied
    /// position in the same transaction. A storage failure rolls back the
    /// whole batch, which is then applied again from the log.
    ///
    /// Nearly every command is applied, and a savepoint around each costs
    /// two statements more than the command's own few. So the batch is
    /// first applied without savepoints; the first refusal rolls that
    /// transaction back, and the batch is applied again with a savepoint
    /// around each command, where a refusal undoes only its own.
    ///
    /// The transaction runs here, on the calling task's thread, on the
    /// state machine's own connection (`db`): a batch is a millisecond or
    /// a few of SQLite work, cheaper done in place than handed to a thread
    /// and waited for.
    pub async fn apply_entries(&self, entries: &[CommittedEntry<'_>]) -> Result<Vec<(Outcome, Touched)>> {
        let conn = self.writer.lock().await;
        let applied = match apply_transaction(&conn, entries, Guard::None)? {
            Some(applied) => applied,
            None => {
                self.reapplied.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                apply_transaction(&conn, entries, Guard::Savepoints)?.expect("with savepoints, a refusal does not abandon the transaction")
            }
        };
        self.transactions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(applied)
    }
}

/// What stands between one command of a transaction and the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// Nothing: the first refusal abandons the transaction.
    None,
    /// A savepoint per command, rolled back if the command is refused.
    Savepoints,
}

/// Applies the entries in one transaction and commits it; `None` (rolled
/// back) when a command was refused under [`Guard::None`].
fn apply_transaction(conn: &Conn, entries: &[CommittedEntry<'_>], guard: Guard) -> Result<Option<Vec<(Outcome, Touched)>>> {
    let tx = conn.unchecked_transaction()?;
    let mut applied = Vec::with_capacity(entries.len());
    let mut trail = Trail::default();
    let mut actors = permission::Actors::default();
    for entry in entries {
        match apply_one(&tx, &mut trail, &mut actors, entry, guard)? {
            Some(one) => applied.push(one),
            None => {
                tx.rollback()?;
                return Ok(None);
            }
        }
    }
    let head = trail.write(&tx)?;
    // The applied position and the audit chain's head, in one statement.
    db::query(
        "INSERT INTO raft_meta (key, value) SELECT column1, column2 FROM (VALUES ('last_applied', ?), ('audit_head', ?)) WHERE column2 IS NOT NULL \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(entries.last().map(|e| e.log_id))
    .bind(head)
    .execute(&tx)?;
    tx.commit()?;
    Ok(Some(applied))
}

/// What a transaction's commands leave to be written at its end, together:
/// their audit lines and the digests of the documents they changed.
#[derive(Default)]
struct Trail {
    chain: audit::ChainHead,
    digests: crate::integrity::OwedDigests,
}

impl Trail {
    /// Writes what is pending, for a command that reads it, or that must
    /// find the digests as they would stand had each command written its
    /// own (one of version 0, which writes none).
    fn flush(&mut self, tx: &Conn) -> Result<()> {
        self.digests.record(tx)?;
        self.chain.flush(tx)
    }

    /// Writes what is pending, at the end; answers the chain's head to
    /// write beside it (see `audit::ChainHead::finish`).
    fn write(mut self, tx: &Conn) -> Result<Option<String>> {
        self.digests.record(tx)?;
        self.chain.finish(tx)
    }
}

/// Whether a command reads the audit trail or the digests (archiving the
/// trail; raising the cluster's level, which digests what has none).
fn reads_trail(command: &Command) -> bool {
    any_of_domain(command, &[Domain::Monitoring, Domain::Cluster])
}

/// Whether the command, or one inside it if it is a batch, is of one of
/// `domains`.
pub(super) fn any_of_domain(command: &Command, domains: &[Domain]) -> bool {
    match command {
        Command::Batch { commands } => commands.iter().any(|c| any_of_domain(c, domains)),
        other => domains.contains(&other.domain()),
    }
}

/// Applies one entry: `None` when its command was refused under
/// [`Guard::None`] (the caller abandons the transaction).
fn apply_one(tx: &Conn, trail: &mut Trail, actors: &mut permission::Actors, entry: &CommittedEntry<'_>, guard: Guard) -> Result<Option<(Outcome, Touched)>> {
    let mut touched = Touched::default();
    // Entries of version 0 were applied without digests (the table came
    // later): a node that replays one, or applies one beside nodes of
    // that version in a rolling upgrade, leaves what they left. Raising
    // the cluster's level digests what is missing (`apply::cluster`).
    let digested = entry.proposal.is_some_and(|p| p.made_under(1));
    if entry.proposal.is_some_and(|p| !digested || reads_trail(&p.command)) {
        trail.flush(tx)?;
    }
    let outcome = match entry.proposal {
        None => Ok(Applied::default()),
        Some(p) => match guard {
            Guard::None => match command(tx, actors, p, &mut touched) {
                Ok(applied) => Ok(applied),
                Err(Failure::Rejected(_)) => return Ok(None),
                Err(Failure::Store(e)) => return Err(e),
            },
            Guard::Savepoints => match db::savepoint(tx, || command(tx, actors, p, &mut touched)) {
                Ok(applied) => Ok(applied),
                Err(Failure::Rejected(r)) => {
                    touched = Touched::default();
                    Err(r)
                }
                Err(Failure::Store(e)) => return Err(e),
            },
        },
    };
    if digested {
        trail.digests.note(&touched);
    }
    if let Some(p) = entry.proposal {
        audit::record(tx, &mut trail.chain, p, &outcome)?;
    }
    if let Some(m) = entry.membership {
        set_meta(tx, "membership", m)?;
    }
    Ok(Some((outcome, touched)))
}

/// The permission policy, then the command.
fn command(conn: &Conn, actors: &mut permission::Actors, p: &Proposal, touched: &mut Touched) -> Step<Applied> {
    permission::check(conn, actors, p)?;
    let applied = run(conn, p, &p.command, touched);
    actors.after(&p.command);
    applied
}

fn set_meta(conn: &Conn, key: &str, value: &str) -> Result<()> {
    db::query("INSERT INTO raft_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").bind(key).bind(value).execute(conn)?;
    Ok(())
}

/// Hands a command to its domain's module; a batch runs its commands in
/// order, all or nothing.
fn run(conn: &Conn, p: &Proposal, cmd: &Command, touched: &mut Touched) -> Step<Applied> {
    match cmd.domain() {
        Domain::Sites => sites::apply(conn, p, cmd, touched),
        Domain::Documents => documents::apply(conn, p, cmd, touched),
        Domain::Workflow => workflow::apply(conn, p, cmd, touched),
        Domain::Accounts => accounts::apply(conn, p, cmd, touched),
        Domain::Reposts => reposts::apply(conn, p, cmd, touched),
        Domain::Monitoring => monitoring::apply(conn, p, cmd),
        Domain::Cluster => cluster::apply(conn, cmd),
        Domain::Batch => {
            let Command::Batch { commands } = cmd else { return Err(misrouted(cmd)) };
            let mut last = Applied::default();
            for (i, c) in commands.iter().enumerate() {
                last = run(conn, p, c, touched).map_err(|f| match f {
                    Failure::Rejected(mut r) => {
                        r.message = format!("command {} of the batch ({}): {}", i + 1, c.name(), r.message);
                        Failure::Rejected(r)
                    }
                    other => other,
                })?;
            }
            Ok(last)
        }
    }
}

/// A command handed to a module that does not apply it: a bug in
/// `Command::domain`, which stops this node's apply rather than guess.
fn misrouted(command: &Command) -> Failure {
    Failure::Store(StoreError::Corrupt(format!("{} was dispatched to the wrong domain", command.name())))
}
