//! The replication layer: zhanqun's commands go through one openraft log.
//!
//! - [`log_store`] keeps the Raft log and vote in their own SQLite file,
//!   fsynced before openraft is told an entry is durable;
//! - [`state_machine`] applies committed entries to the content store and
//!   tells the layers above what changed;
//! - [`group_commit`] puts the writes that arrive together into one entry;
//! - [`node`] wires both into a running Raft node and gives the web layer
//!   one call to make a change: [`Node::write`].
//!
//! - [`network`] carries Raft RPC and node-to-node calls over HTTP, with the
//!   cluster secret; [`membership`] forms and changes the cluster.
//!
//! A single node is a one-member cluster: the same code path, no special mode.

// openraft's trait methods return its `StorageError` (224 bytes); helpers
// that build one share the trait's signature rather than box it twice.
#![allow(clippy::result_large_err)]

pub mod group_commit;
mod identity;
pub mod log_store;
mod membership;
pub mod metrics;
pub mod network;
pub mod node;
mod secret;
pub mod state_machine;
mod upgrade;

pub use identity::{Identity, Member, TARGET_HEADER};
pub use membership::{ClusterOp, ClusterStatus, LocalStatus, MemberStatus};
pub use metrics::ClusterMetrics;
pub use node::{Checksum, DEFAULT_SNAPSHOT_EVERY, Node, NodeConfig, WriteError, Written};
pub use secret::{ClusterSecret, FROM_HEADER, SECRET_HEADER};
pub use state_machine::ApplyObserver;
pub use upgrade::{ClusterLevel, spawn_level_watch};

openraft::declare_raft_types!(
    /// The Raft types of zhanqun: each log entry carries a [`Proposal`], or
    /// a group of them, and the state machine answers with an [`Outcome`]
    /// for each (`group_commit`).
    pub TypeConfig:
        D = group_commit::Logged,
        R = group_commit::Answer,
        NodeId = u64,
        Node = crate::Member,
        SnapshotData = tokio::fs::File,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<u64>;
pub type StorageError = openraft::StorageError<u64>;

/// Wraps any error as an openraft storage error of the given kind.
pub(crate) fn io_err(kind: openraft::ErrorSubject<u64>, verb: openraft::ErrorVerb, e: impl std::error::Error + 'static) -> StorageError {
    openraft::StorageIOError::new(kind, verb, openraft::AnyError::new(&e)).into()
}
