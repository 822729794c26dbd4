//! Applying commands: the only code in zhanqun that writes content.
//!
//! Each proposal runs inside a savepoint of the entry's transaction. A
//! [`Rejection`] rolls the savepoint back, so a refused command changes
//! nothing, yet the log position still advances in the same transaction:
//! every node refuses the same command in the same way, exactly once.
//!
//! The permission policy is asked first (`permission`); then each command
//! goes to the module of its domain (`Command::domain`): `sites`,
//! `documents` (with `edit`), `workflow`, `accounts`, `reposts` (with
//! `feeds` and `submissions`). This module only
//! dispatches and keeps the transaction.

use std::collections::BTreeSet;

use sqlx::{Acquire, SqliteConnection};
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

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        // Constraints are checked before writing; one that still fires is a
        // conflict the checks missed, and must refuse, not crash the node.
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                return Failure::Rejected(Rejection::conflict("conflict", format!("already exists: {}", db.message())));
            }
            if db.is_foreign_key_violation() {
                return Failure::Rejected(Rejection::not_found("not_found", format!("refers to something that does not exist: {}", db.message())));
            }
        }
        Failure::Store(StoreError::Db(e))
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
    /// Each command runs in its own savepoint, so a refused one changes
    /// nothing but its audit line, exactly as if it were applied alone; the
    /// last entry's id becomes the last-applied position in the same
    /// transaction. A storage failure rolls back the whole batch, which is
    /// then applied again from the log.
    pub async fn apply_entries(&self, entries: &[CommittedEntry<'_>]) -> Result<Vec<(Outcome, Touched)>> {
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await?;
        let mut applied = Vec::with_capacity(entries.len());
        let mut chain = audit::ChainHead::default();
        for entry in entries {
            applied.push(apply_one(&mut tx, &mut chain, entry).await?);
        }
        chain.save(&mut tx).await?;
        if let Some(last) = entries.last() {
            set_meta(&mut tx, "last_applied", last.log_id).await?;
        }
        tx.commit().await?;
        self.transactions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(applied)
    }
}

async fn apply_one(tx: &mut SqliteConnection, chain: &mut audit::ChainHead, entry: &CommittedEntry<'_>) -> Result<(Outcome, Touched)> {
    let mut touched = Touched::default();
    let outcome = match entry.proposal {
        None => Ok(Applied::default()),
        Some(p) => {
            let mut savepoint = tx.begin().await?;
            let result = match permission::check(&mut savepoint, p).await {
                Ok(()) => run(&mut savepoint, p, &p.command, &mut touched).await,
                Err(refused) => Err(refused),
            };
            match result {
                Ok(applied) => {
                    savepoint.commit().await?;
                    Ok(applied)
                }
                Err(Failure::Rejected(r)) => {
                    savepoint.rollback().await?;
                    touched = Touched::default();
                    Err(r)
                }
                Err(Failure::Store(e)) => return Err(e),
            }
        }
    };
    // Entries of version 0 were applied without digests (the table came
    // later): a node that replays one, or applies one beside nodes of
    // that version in a rolling upgrade, leaves what they left. Raising
    // the cluster's level digests what is missing (`apply::cluster`).
    if entry.proposal.is_some_and(|p| p.made_under(1)) {
        crate::integrity::record(tx, &touched).await?;
    }
    if let Some(p) = entry.proposal {
        audit::record(tx, chain, p, &outcome).await?;
    }
    if let Some(m) = entry.membership {
        set_meta(tx, "membership", m).await?;
    }
    Ok((outcome, touched))
}

async fn set_meta(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO raft_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}

/// Hands a command to its domain's module; a batch runs its commands in
/// order, all or nothing.
fn run<'a>(conn: &'a mut SqliteConnection, p: &'a Proposal, cmd: &'a Command, touched: &'a mut Touched) -> futures::future::BoxFuture<'a, Step<Applied>> {
    // Boxed because `Batch` recurses.
    Box::pin(async move {
        match cmd.domain() {
            Domain::Sites => sites::apply(conn, p, cmd, touched).await,
            Domain::Documents => documents::apply(conn, p, cmd, touched).await,
            Domain::Workflow => workflow::apply(conn, p, cmd, touched).await,
            Domain::Accounts => accounts::apply(conn, p, cmd, touched).await,
            Domain::Reposts => reposts::apply(conn, p, cmd, touched).await,
            Domain::Monitoring => monitoring::apply(conn, p, cmd).await,
            Domain::Cluster => cluster::apply(conn, cmd).await,
            Domain::Batch => {
                let Command::Batch { commands } = cmd else { return Err(misrouted(cmd)) };
                let mut last = Applied::default();
                for (i, c) in commands.iter().enumerate() {
                    last = run(conn, p, c, touched).await.map_err(|f| match f {
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
    })
}

/// A command handed to a module that does not apply it: a bug in
/// `Command::domain`, which stops this node's apply rather than guess.
fn misrouted(command: &Command) -> Failure {
    Failure::Store(StoreError::Corrupt(format!("{} was dispatched to the wrong domain", command.name())))
}
