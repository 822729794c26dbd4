//! A running Raft node over the content store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::storage::RaftLogStorage;
use openraft::{BasicNode, Config, SnapshotPolicy};
use tokio::sync::watch;
use zhanqun_model::{Outcome, Proposal};
use zhanqun_store::Store;

use crate::Raft;
use crate::log_store::LogStore;
use crate::network::NoPeers;
use crate::state_machine::{ApplyObserver, StateMachine};

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the content database, Raft log and snapshots live.
    pub data_dir: PathBuf,
    pub node_id: u64,
    /// The URL other nodes reach this one at.
    pub advertise: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the content database: {0}")]
    Store(#[from] zhanqun_store::StoreError),
    #[error("cannot open the Raft log: {0}")]
    Log(#[from] sqlx::Error),
    #[error("invalid Raft configuration: {0}")]
    Config(#[from] openraft::ConfigError),
    #[error("Raft failed to start: {0}")]
    Raft(String),
}

/// Why a write was not applied.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No leader right now (election in progress) or this node is not it:
    /// the client should retry shortly.
    #[error("the cluster has no leader reachable from this node right now; retry shortly")]
    Unavailable,
    /// Raft stopped (shutting down or a storage failure).
    #[error("this node is shutting down or has failed: {0}")]
    Fatal(String),
}

/// What the state machine answered, and at which log index.
#[derive(Debug, Clone)]
pub struct Written {
    pub outcome: Outcome,
    pub index: u64,
}

pub struct Node {
    pub id: u64,
    pub raft: Raft,
    pub store: Arc<Store>,
    applied: watch::Receiver<u64>,
    /// What was committed before this start: serving before applying it
    /// would show older content than a client may already have seen.
    committed_at_start: u64,
}

impl Node {
    /// Opens the node's storage and starts Raft. A node whose log is empty
    /// initializes a one-member cluster of itself.
    pub async fn start(cfg: NodeConfig, observer: Arc<dyn ApplyObserver>) -> Result<Node, StartError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(zhanqun_store::StoreError::from)?;
        let store = Arc::new(Store::open(&cfg.data_dir.join("content.db")).await?);
        let mut log = LogStore::open(&cfg.data_dir.join("raft-log.db")).await?;
        let committed_at_start = log.read_committed().await.map_err(|e| StartError::Raft(e.to_string()))?.map_or(0, |l| l.index);
        // Entries applied before this start are not applied again: begin the
        // watch where the store stands.
        let applied_before = match store.last_applied().await? {
            Some(json) => serde_json::from_str::<crate::LogId>(&json).map_err(|e| StartError::Raft(format!("unreadable last-applied position: {e}")))?.index,
            None => 0,
        };
        let (applied_tx, applied_rx) = watch::channel(applied_before);
        let sm = StateMachine::new(store.clone(), cfg.data_dir.join("snapshots"), observer, Arc::new(applied_tx));
        let config = Config {
            cluster_name: "zhanqun".into(),
            heartbeat_interval: 250,
            // Above openraft's 150–300 ms default: pods and shared VMs pause.
            election_timeout_min: 1000,
            election_timeout_max: 2000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(20_000),
            max_in_snapshot_log_to_keep: 2_000,
            ..Default::default()
        }
        .validate()?;
        let raft = Raft::new(cfg.node_id, Arc::new(config), NoPeers, log, sm).await.map_err(|e| StartError::Raft(e.to_string()))?;
        if !raft.is_initialized().await.map_err(|e| StartError::Raft(e.to_string()))? {
            let members = BTreeMap::from([(cfg.node_id, BasicNode { addr: cfg.advertise.clone() })]);
            raft.initialize(members).await.map_err(|e| StartError::Raft(e.to_string()))?;
            tracing::info!(node = cfg.node_id, "initialized a new one-member cluster");
        }
        Ok(Node { id: cfg.node_id, raft, store, applied: applied_rx, committed_at_start })
    }

    /// Proposes a change and returns what the state machine answered, once it
    /// is committed and applied on this node.
    pub async fn write(&self, proposal: Proposal) -> Result<Written, WriteError> {
        match self.raft.client_write(proposal).await {
            Ok(resp) => Ok(Written { outcome: resp.data, index: resp.log_id.index }),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(WriteError::Unavailable),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => Err(WriteError::Fatal(e.to_string())),
            Err(RaftError::Fatal(e)) => Err(WriteError::Fatal(e.to_string())),
        }
    }

    /// The last log index applied to the content store on this node.
    pub fn applied_index(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until this node has applied `index` (read-your-writes), at most
    /// `timeout`. Returns whether it got there.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> bool {
        let mut rx = self.applied.clone();
        tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= index)).await.is_ok_and(|r| r.is_ok())
    }

    /// Ready to serve: a leader is known and this node has caught up with
    /// what was committed when it learned of it.
    pub fn is_ready(&self) -> bool {
        self.raft.metrics().borrow().current_leader.is_some() && self.applied_index() >= self.committed_at_start
    }

    /// Waits until this node knows a leader (after start-up), at most `timeout`.
    pub async fn wait_leader(&self, timeout: Duration) -> bool {
        let mut rx = self.raft.metrics();
        tokio::time::timeout(timeout, rx.wait_for(|m| m.current_leader.is_some())).await.is_ok_and(|r| r.is_ok())
    }

    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
    }
}
