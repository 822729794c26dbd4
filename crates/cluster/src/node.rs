//! A running Raft node over the content store: start, write from any node,
//! linearizable read barriers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::RaftError;
use openraft::storage::RaftLogStorage;
use openraft::{Config, SnapshotPolicy};

use crate::Member;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zhanqun_model::{Outcome, Proposal};
use zhanqun_store::Store;

use crate::group_commit::{Answer, GroupCommit, Logged};
use crate::log_store::LogStore;
use crate::metrics::ClusterMetrics;
use crate::network::{HttpNetwork, PeerError, Peers, paths};
use crate::secret::ClusterSecret;
use crate::state_machine::{ApplyObserver, StateMachine};
use crate::{Raft, StorageError};

/// A replica's content digest at the index it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub applied_index: u64,
    pub sha256: String,
}

/// Raft timing. The election timeout is well above openraft's 150–300 ms
/// default because pods and shared VMs pause; the partition test and the
/// failure-behaviour page quote these numbers.
pub const HEARTBEAT_MS: u64 = 250;
pub const ELECTION_TIMEOUT_MIN_MS: u64 = 1000;
pub const ELECTION_TIMEOUT_MAX_MS: u64 = 2000;

/// How long a write looks for a leader (through an election) before the
/// client is told to retry.
const WRITE_PATIENCE: Duration = Duration::from_secs(5);
/// How long a write that reached a leader may take to commit; after that its
/// outcome is unknown (the leader lost its quorum mid-way).
pub(crate) const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the content database, Raft log and snapshots live.
    pub data_dir: PathBuf,
    pub node_id: u64,
    /// The URL other nodes reach this one at.
    pub advertise: String,
    /// Required as soon as the cluster has more than one member.
    pub secret: Option<ClusterSecret>,
    /// Build a snapshot (and purge the log behind it) every this many
    /// applied entries.
    pub snapshot_every: u64,
    /// The operator's word that this node may take on whatever incarnation
    /// the cluster expects of it (see `identity`): for a node whose data is
    /// lost when the cluster cannot do without its vote. Entries it had
    /// acknowledged may be lost with it.
    pub adopt_identity: bool,
    /// The node's one metrics registry: the cluster registers its metrics
    /// here, and so does every other part of the node.
    pub metrics: prometheus::Registry,
}

/// The default of [`NodeConfig::snapshot_every`].
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 20_000;

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

/// Why a write was not (or not knowingly) applied. Travels between nodes.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
pub enum WriteError {
    /// No leader could take the write (election in progress, leader
    /// unreachable): it was not applied, and the client should retry.
    #[error("the cluster has no leader reachable from this node right now; retry shortly")]
    Unavailable,
    /// The write reached a leader but no answer came back in time: it may or
    /// may not be applied. Retrying a create may create it twice.
    #[error("the write was sent to the leader but its outcome is unknown: {0}")]
    OutcomeUnknown(String),
    /// The command needs a log format level some member does not read yet
    /// (a rolling upgrade is under way): it was not applied; retry once
    /// every member runs the new version.
    #[error("the cluster is being upgraded: {0}")]
    Upgrading(String),
    /// Raft stopped (shutting down, storage failure) or the cluster is
    /// misconfigured (a peer refused our secret).
    #[error("{0}")]
    Fatal(String),
}

/// What the state machine answered, and at which log index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    pub outcome: Outcome,
    pub index: u64,
}

pub struct Node {
    pub id: u64,
    pub advertise: String,
    pub raft: Raft,
    pub store: Arc<Store>,
    pub metrics: Arc<ClusterMetrics>,
    pub(crate) peers: Peers,
    /// A reader of this node's Raft log (derived state catches up from it).
    log: LogStore,
    applied: watch::Receiver<u64>,
    /// What was committed before this start: serving before applying it
    /// would show older content than a client may already have seen.
    committed_at_start: u64,
    /// Which life of this node this is (see `identity`).
    identity: Arc<std::sync::RwLock<crate::Identity>>,
    /// The membership names this node with its own incarnation: it may vote
    /// and stand for election. Shared with the network, which sends no vote
    /// request while this is false.
    admitted: Arc<std::sync::atomic::AtomicBool>,
    warned: Arc<std::sync::atomic::AtomicBool>,
    adopt_identity: bool,
    /// Until then this node stands for no election (see `Admission`).
    quiet_until: Instant,
    /// The node was told to stop: it stands for no election any more.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// The log format level every member reads (see `upgrade`).
    pub(crate) level: crate::ClusterLevel,
    pub(crate) raising: tokio::sync::Mutex<()>,
    pub(crate) last_asked: tokio::sync::Mutex<crate::upgrade::LastAsked>,
    /// Gathers the writes proposed here into shared log entries.
    group_commit: GroupCommit,
}

/// How soon after writes the content database's WAL is checkpointed, off
/// the apply path (`Store::keep_checkpointed`).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

impl Node {
    /// Opens the node's storage and starts Raft. A node with an empty log is
    /// not a member of anything yet: call [`Node::bootstrap`] or
    /// [`Node::join`].
    pub async fn start(cfg: NodeConfig, observer: Arc<dyn ApplyObserver>) -> Result<Node, StartError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(zhanqun_store::StoreError::from)?;
        let store = Arc::new(Store::open(&cfg.data_dir.join("content.db")).await?);
        Store::keep_checkpointed(&store, CHECKPOINT_EVERY);
        let metrics = Arc::new(ClusterMetrics::new(&cfg.metrics));
        let mut log = LogStore::open(&cfg.data_dir.join("raft-log.db"), metrics.log_flush_entries.clone()).await?;
        let identity = log.identity().await?;
        let committed_at_start = log.read_committed().await.map_err(|e| StartError::Raft(e.to_string()))?.map_or(0, |l| l.index);
        // Entries applied before this start are not applied again: begin the
        // watch where the store stands.
        let applied_before = match store.last_applied().await? {
            Some(json) => serde_json::from_str::<crate::LogId>(&json).map_err(|e| StartError::Raft(format!("unreadable last-applied position: {e}")))?.index,
            None => 0,
        };
        let (applied_tx, applied_rx) = watch::channel(applied_before);
        let sm = StateMachine::new(store.clone(), cfg.data_dir.join("snapshots"), observer, Arc::new(applied_tx), metrics.clone());
        sm.load_level().await?;
        let level = sm.level();
        let config = Config {
            cluster_name: "zhanqun".into(),
            heartbeat_interval: HEARTBEAT_MS,
            election_timeout_min: ELECTION_TIMEOUT_MIN_MS,
            election_timeout_max: ELECTION_TIMEOUT_MAX_MS,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_every.max(10)),
            // Followers a little behind catch up from the log, not a snapshot.
            max_in_snapshot_log_to_keep: (cfg.snapshot_every / 10).max(10),
            // Chunks of 1 MiB keep each snapshot request well inside the
            // RPC timeout even on a slow link.
            snapshot_max_chunk_size: 1024 * 1024,
            install_snapshot_timeout: 30_000,
            // Off until `Admission` says otherwise: the membership names this
            // node as itself, and its first election timeout has passed.
            enable_elect: false,
            ..Default::default()
        }
        .validate()?;
        let peers = Peers::new(cfg.node_id, cfg.secret.clone());
        let log_reader = log.clone();
        let admitted = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let network = HttpNetwork { peers: peers.clone(), admitted: admitted.clone(), level: level.clone() };
        let raft = Raft::new(cfg.node_id, Arc::new(config), network, log, sm).await.map_err(|e| StartError::Raft(e.to_string()))?;
        tokio::spawn(count_leader_changes(raft.metrics(), metrics.clone()));
        let group_commit = GroupCommit::start(raft.clone(), metrics.entry_proposals.clone());
        let node = Node {
            id: cfg.node_id,
            advertise: cfg.advertise,
            raft,
            store,
            metrics,
            peers,
            log: log_reader,
            applied: applied_rx,
            committed_at_start,
            identity: Arc::new(std::sync::RwLock::new(identity)),
            admitted,
            warned: Arc::default(),
            adopt_identity: cfg.adopt_identity,
            quiet_until: Instant::now() + Duration::from_millis(ELECTION_TIMEOUT_MAX_MS),
            stopping: Arc::default(),
            level,
            raising: Default::default(),
            last_asked: Default::default(),
            group_commit,
        };
        node.follow_admission();
        Ok(node)
    }

    /// This node's incarnation.
    pub fn identity(&self) -> crate::Identity {
        self.identity.read().expect("identity lock").clone()
    }

    /// Whether a Raft call meant for incarnation `expected` of this node is
    /// for this node. With `--adopt-identity`, a call naming an incarnation
    /// makes it this node's (once, durably): the operator said so.
    pub async fn accepts_call_for(&self, expected: Option<&str>) -> bool {
        if self.identity().is(expected) {
            return true;
        }
        if self.adopt_identity {
            {
                let adopted = match expected {
                    Some(inc) => crate::Identity { incarnation: inc.to_string(), legacy: false },
                    // A member recorded before incarnations: be that one.
                    None => crate::Identity { legacy: true, ..self.identity() },
                };
                if let Err(e) = self.log.set_identity(&adopted).await {
                    tracing::error!(error = %e, "cannot record the adopted incarnation");
                    return false;
                }
                tracing::warn!(incarnation = ?expected, "adopted the incarnation the cluster expects (--adopt-identity): entries this node had acknowledged before losing its data may be lost");
                *self.identity.write().expect("identity lock") = adopted;
                self.update_admission(&self.raft.metrics().borrow().clone());
                return true;
            }
        }
        false
    }

    /// Whether the membership names this node with its own incarnation.
    pub fn admitted(&self) -> bool {
        self.admitted.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Keeps `admitted`, and whether this node may stand for election, in
    /// step with the membership it sees.
    fn follow_admission(&self) {
        let admission = self.admission();
        let mut rx = self.raft.metrics();
        admission.update(&rx.borrow().clone());
        tokio::spawn(async move {
            let quiet_over = tokio::time::sleep_until(admission.quiet_until.into());
            tokio::pin!(quiet_over);
            let mut quiet = true;
            loop {
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return },
                    _ = &mut quiet_over, if quiet => quiet = false,
                }
                let m = rx.borrow().clone();
                admission.update(&m);
            }
        });
    }

    fn admission(&self) -> Admission {
        Admission {
            id: self.id,
            raft: self.raft.clone(),
            identity: self.identity.clone(),
            admitted: self.admitted.clone(),
            warned: self.warned.clone(),
            quiet_until: self.quiet_until,
            stopping: self.stopping.clone(),
        }
    }

    /// From now on this node stands for no election: it is stopping. Its
    /// listener closes before Raft does, so the leader's calls stop
    /// reaching it while it drains; standing then would unseat a healthy
    /// leader with a term nobody needs (the previous release does this on
    /// every SIGTERM).
    pub fn stop_standing(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::Release);
        self.raft.runtime_config().elect(false);
    }

    fn update_admission(&self, m: &openraft::RaftMetrics<u64, Member>) {
        self.admission().update(m);
    }

    /// Whether this node's log already holds a membership (it bootstrapped
    /// or joined before): then it needs neither again.
    pub async fn is_initialized(&self) -> bool {
        self.raft.is_initialized().await.unwrap_or(false)
    }

    /// Makes this node the one member of a new cluster, if it is not a
    /// member of one already. Idempotent.
    pub async fn bootstrap(&self) -> Result<(), StartError> {
        if self.is_initialized().await {
            return Ok(());
        }
        let members = std::collections::BTreeMap::from([(self.id, self.identity().member(&self.advertise))]);
        self.raft.initialize(members).await.map_err(|e| StartError::Raft(e.to_string()))?;
        tracing::info!(node = self.id, "bootstrapped a new one-member cluster");
        // Its one member runs this binary: it logs this binary's format
        // from the first write on (group commit included), once it leads
        // (before, the membership it would ask is not yet in view). Should
        // this fail, the leader's level watch raises it later.
        if !self.wait_leader(WRITE_PATIENCE).await {
            tracing::warn!("the new cluster elected no leader within {} s; its log format level is raised later", WRITE_PATIENCE.as_secs());
        } else {
            // A raise refused as the membership came into view is asked again.
            for _ in 0..3 {
                if let Err(e) = self.raise_level().await {
                    tracing::warn!("the new cluster's log format level was not raised yet: {e}");
                }
                if self.cluster_level() >= zhanqun_model::command::level::LOG_LEVEL {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// The secret peers must present, if this node has one.
    pub fn peers_secret(&self) -> Option<&ClusterSecret> {
        self.peers.secret()
    }

    /// The leader this node knows of, with its address.
    pub fn leader(&self) -> Option<(u64, String)> {
        let m = self.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id).map(|n| n.addr.clone())?;
        Some((id, addr))
    }

    /// Waits until the leader this node knows of changes (or `timeout`).
    pub(crate) async fn leader_change(&self, seen: Option<u64>, timeout: Duration) {
        let mut rx = self.raft.metrics();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|m| m.current_leader.is_some() && m.current_leader != seen)).await;
    }

    /// Proposes a change from any node and returns what the state machine
    /// answered once it is applied on the leader. A follower forwards the
    /// command to the leader; through an election it keeps trying for a few
    /// seconds, then answers [`WriteError::Unavailable`].
    pub async fn write(&self, proposal: Proposal) -> Result<Written, WriteError> {
        let proposal = self.admit(proposal).await?;
        self.write_admitted(proposal).await
    }

    /// [`Node::write`] of a proposal the level gate let through.
    pub(crate) async fn write_admitted(&self, proposal: Proposal) -> Result<Written, WriteError> {
        let deadline = Instant::now() + WRITE_PATIENCE;
        loop {
            let leader = self.leader();
            let attempt = match &leader {
                Some((id, _)) if *id == self.id => self.write_here(proposal.clone()).await,
                Some((_, addr)) => self.forward_write(addr, &proposal).await,
                None => Err(WriteError::Unavailable),
            };
            match attempt {
                // The handler answers from this node's store: wait until the
                // write is applied here too (read-your-writes).
                Ok(written) if !self.wait_applied(written.index, COMMIT_TIMEOUT).await => {
                    return Err(WriteError::OutcomeUnknown(format!("applied on the leader at index {} but not yet on this node", written.index)));
                }
                Err(WriteError::Unavailable) if Instant::now() < deadline => {
                    tracing::info!(leader = ?leader.as_ref().map(|l| l.0), "write not taken (no leader, or not the leader any more); retrying");
                    let left = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(500));
                    self.leader_change(leader.map(|(id, _)| id), left).await;
                }
                other => return other,
            }
        }
    }

    /// Proposes on this node, which must be the leader. Once every member
    /// reads groups, concurrent writes share log entries (`group_commit`).
    pub async fn write_here(&self, proposal: Proposal) -> Result<Written, WriteError> {
        if self.cluster_level() >= crate::group_commit::GROUP_LEVEL {
            return self.group_commit.write(proposal).await;
        }
        match crate::group_commit::write_entry(&self.raft, Logged::One(proposal)).await? {
            (Answer::One(outcome), index) => Ok(Written { outcome, index }),
            (other, index) => Err(WriteError::OutcomeUnknown(format!("entry {index} of one proposal was answered as a group: {other:?}"))),
        }
    }

    async fn forward_write(&self, leader_addr: &str, proposal: &Proposal) -> Result<Written, WriteError> {
        self.metrics.forwarded_writes.inc();
        let answer: Result<Result<Written, WriteError>, PeerError> =
            self.peers.call(leader_addr, paths::WRITE, proposal, COMMIT_TIMEOUT + Duration::from_secs(2)).await;
        match answer {
            Ok(result) => result,
            Err(PeerError::NotSent(_)) => Err(WriteError::Unavailable),
            Err(PeerError::Lost(e)) => Err(WriteError::OutcomeUnknown(e)),
            Err(e @ PeerError::Refused { .. }) => Err(WriteError::Fatal(format!("the leader refused the forwarded write: {e}"))),
        }
    }

    /// A linearizable read barrier: returns once this node has applied
    /// everything committed before the call, as confirmed by the leader
    /// with a quorum round (Raft's read-index). Reads after it see every
    /// write acknowledged before it, whichever node took that write.
    pub async fn read_barrier(&self, timeout: Duration) -> Result<u64, WriteError> {
        let deadline = Instant::now() + timeout;
        let index = loop {
            let leader = self.leader();
            let attempt = match &leader {
                Some((id, _)) if *id == self.id => self.read_index_here().await,
                Some((_, addr)) => match self.peers.call::<_, Result<u64, WriteError>>(addr, paths::READ_INDEX, &(), timeout).await {
                    Ok(r) => r,
                    Err(_) => Err(WriteError::Unavailable),
                },
                None => Err(WriteError::Unavailable),
            };
            match attempt {
                Ok(index) => break index,
                Err(WriteError::Unavailable) if Instant::now() < deadline => {
                    let left = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(500));
                    self.leader_change(leader.map(|(id, _)| id), left).await;
                }
                Err(e) => return Err(e),
            }
        };
        if self.wait_applied(index, deadline.saturating_duration_since(Instant::now())).await { Ok(index) } else { Err(WriteError::Unavailable) }
    }

    /// The leader's half of [`Node::read_barrier`].
    pub async fn read_index_here(&self) -> Result<u64, WriteError> {
        match tokio::time::timeout(Duration::from_secs(5), self.raft.ensure_linearizable()).await {
            Ok(Ok(log_id)) => {
                // A leader restarted without an election (openraft resumes
                // it in its term, with no new blank entry) reports the
                // commit index it had persisted, which can lag what it
                // acknowledged before the crash. Its own log holds those
                // entries, and a leader's log is never cut: reading after
                // all of it is applied sees every acknowledged write.
                let last = self.raft.metrics().borrow().last_log_index.unwrap_or(0);
                Ok(log_id.map_or(0, |l| l.index).max(last))
            }
            Ok(Err(RaftError::Fatal(e))) => Err(WriteError::Fatal(e.to_string())),
            Ok(Err(RaftError::APIError(_))) | Err(_) => Err(WriteError::Unavailable),
        }
    }

    /// The last log index applied to the content store on this node.
    /// The commands of log entries `from..=to`, in order, or `None` when
    /// the log no longer holds `from` (purged behind a snapshot).
    pub async fn logged_commands(&self, from: u64, to: u64) -> Result<Option<Vec<zhanqun_model::Command>>, StorageError> {
        use openraft::RaftLogReader;
        if from > to {
            return Ok(Some(Vec::new()));
        }
        let entries = self.log.clone().try_get_log_entries(from..=to).await?;
        if entries.first().map(|e| e.log_id.index) != Some(from) || entries.len() as u64 != to - from + 1 {
            return Ok(None);
        }
        Ok(Some(
            entries
                .into_iter()
                .flat_map(|e| match e.payload {
                    openraft::EntryPayload::Normal(Logged::One(p)) => vec![p.command],
                    openraft::EntryPayload::Normal(Logged::Group { group }) => group.into_iter().map(|p| p.command).collect(),
                    _ => Vec::new(),
                })
                .collect(),
        ))
    }

    pub fn applied_index(&self) -> u64 {
        *self.applied.borrow()
    }

    /// This replica's content digest and the index it belongs to
    /// (`Store::content_checksum`; `/_raft/checksum` answers it).
    pub async fn checksum(&self) -> Result<Checksum, zhanqun_store::StoreError> {
        let (applied, sha256) = self.store.content_checksum().await?;
        let applied_index = applied.as_deref().and_then(|a| serde_json::from_str::<openraft::LogId<u64>>(a).ok()).map_or(0, |l| l.index);
        Ok(Checksum { applied_index, sha256 })
    }

    /// The other members' content digests, each asked of the member (`None`
    /// when it did not answer within `timeout`).
    pub async fn peer_checksums(&self, timeout: Duration) -> Vec<(u64, Option<Checksum>)> {
        let members: Vec<(u64, String)> = {
            let m = self.raft.metrics().borrow().clone();
            m.membership_config.membership().nodes().filter(|(id, _)| **id != self.id).map(|(id, n)| (*id, n.addr.clone())).collect()
        };
        futures::future::join_all(
            members.iter().map(|(id, addr)| async move { (*id, self.peers.call::<_, Checksum>(addr, paths::CHECKSUM, &(), timeout).await.ok()) }),
        )
        .await
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

    /// Waits until this node knows a leader, at most `timeout`.
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

/// What decides whether this node may vote: its id, its incarnation and
/// the membership Raft reports.
struct Admission {
    id: u64,
    raft: Raft,
    identity: Arc<std::sync::RwLock<crate::Identity>>,
    admitted: Arc<std::sync::atomic::AtomicBool>,
    /// The mismatch was logged (once per spell, not per metrics update).
    warned: Arc<std::sync::atomic::AtomicBool>,
    /// A restarted node has heard nobody yet: openraft then counts its
    /// election timeout as long passed and it would stand at once — a
    /// follower restarted in a rolling upgrade would unseat a healthy
    /// leader. It waits one election timeout first, like a follower that
    /// stopped hearing the leader. (A node that was the leader resumes
    /// leading at start; founding a cluster elects without this timer.)
    quiet_until: Instant,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Admission {
    fn update(&self, m: &openraft::RaftMetrics<u64, Member>) {
        let membership = m.membership_config.membership();
        let recorded = membership.get_node(&self.id);
        let identity = self.identity.read().expect("identity lock").clone();
        let admitted = recorded.is_some_and(|n| identity.is(n.incarnation.as_deref()));
        // Only an admitted node may stand for election, and not before its
        // first election timeout.
        let stopping = self.stopping.load(std::sync::atomic::Ordering::Acquire);
        self.raft.runtime_config().elect(admitted && Instant::now() >= self.quiet_until && !stopping);
        let was = self.admitted.swap(admitted, std::sync::atomic::Ordering::AcqRel);
        if admitted && !was {
            tracing::info!(node = self.id, "the membership names this node as itself: it may vote and stand for election");
        }
        if admitted {
            self.warned.store(false, std::sync::atomic::Ordering::Relaxed);
        } else if recorded.is_some() && !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                node = self.id,
                incarnation = %identity.incarnation,
                "the cluster knows this node as another incarnation (this data directory is not the one it had): it will neither vote nor stand for election until it is removed and re-added, which it asks for when it joins"
            );
        }
    }
}

async fn count_leader_changes(mut rx: watch::Receiver<openraft::RaftMetrics<u64, Member>>, metrics: Arc<ClusterMetrics>) {
    let mut last = rx.borrow().current_leader;
    while rx.changed().await.is_ok() {
        let now = rx.borrow().current_leader;
        if now.is_some() && now != last {
            metrics.leader_changes.inc();
            tracing::info!(leader = now, "leader changed");
            last = now;
        }
    }
}
