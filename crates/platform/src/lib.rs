//! The application core of a node: what zhanqun does, whatever front door
//! (the admin API, the public site, the operator's console, later the
//! workbench and the feeds) asked for it.
//!
//! - [`proposal`] and [`ids`]: a proposal with its clock, actor and
//!   address; ids decided before Raft;
//! - [`passwords`]: argon2id hashes and session token digests;
//! - [`Derived`]: the state each node derives from what it applies — the
//!   page cache, the site directory, the search feed, failed logins;
//! - [`worker`]: the one shape of background jobs, and the jobs: the
//!   search [`indexer`] and the [`schedule`]r;
//! - [`inspection`]: the annual self-inspection report;
//! - [`compliance`]: the monitors that see each site as the national
//!   inspection does.
//!
//! Below it sit `cluster` (Raft, the only writer), `store` (SQLite) and
//! `search` (tantivy); above it the adapters (`web`, the CLI). It knows no
//! HTTP.

pub mod attachment_text;
pub mod audit_archive;
pub mod backup;
pub mod compliance;
pub mod content_scan;
pub mod derived;
pub mod directory;
pub mod feeds;
pub mod ids;
pub mod indexer;
pub mod inspection;
pub mod integrity;
pub mod link_check;
pub mod login_guard;
pub mod operator;
pub mod pace;
pub mod page_cache;
pub mod passwords;
pub mod reloading;
pub mod replicas;
pub mod reposts;
pub mod schedule;
pub mod tls;
pub mod totp;
pub mod worker;

pub use derived::Derived;
pub use ids::{new_id, now_ms, set_id_node};

use zhanqun_model::{Command, Proposal};

/// A proposal made now: `actor` is who asked (`None`: the system — the
/// first start, the demo, the operator, the scheduler), `client_ip` where
/// from, for the audit trail.
pub fn proposal(actor: Option<i64>, client_ip: Option<String>, command: Command) -> Proposal {
    Proposal::new(now_ms(), actor, client_ip, command)
}
