//! Old and new binaries in one cluster: the log format level gate.
//!
//! During a rolling upgrade some members run the previous release. They
//! cannot read a command kind they do not know (`zhanqun_model::command::
//! level`), nor install a snapshot written by a newer binary (its database
//! has migrations they lack). So:
//!
//! - the cluster keeps, as replicated state, the level every member reads
//!   (`RaiseClusterLevel`; 0 for a cluster from before levels);
//! - a write whose command needs more is first met by asking every member
//!   its level (`/_raft/status`; a binary that says none is at 0): when all
//!   read it, the level is raised through the log, then the write goes on;
//!   otherwise it is refused with [`WriteError::Upgrading`] and changes
//!   nothing (the API's 503 `cluster_upgrading`);
//! - every proposal is stamped with the rules of the cluster's level, so old
//!   and new members decide it alike;
//! - no snapshot is sent to a member below this binary's level;
//! - a node below the cluster's level is not let in (`membership`).
//!
//! The leader also raises the level by itself once the last member runs the
//! new version ([`spawn_level_watch`]), so `zhanqun cluster status` shows
//! the upgrade finished without waiting for a write that needs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use prometheus::IntGauge;
use zhanqun_model::command::level::LOG_LEVEL;
use zhanqun_model::{Command, Proposal};

use crate::node::{Node, WriteError};

/// The replicated level as this node has applied it, kept in memory (read
/// on every write) and in the `zhanqun_cluster_log_level` gauge.
#[derive(Clone)]
pub struct ClusterLevel {
    level: Arc<AtomicU32>,
    gauge: IntGauge,
}

impl ClusterLevel {
    pub(crate) fn new(gauge: IntGauge) -> ClusterLevel {
        ClusterLevel { level: Arc::default(), gauge }
    }

    pub fn get(&self) -> u32 {
        self.level.load(Ordering::Acquire)
    }

    pub(crate) fn set(&self, level: u32) {
        self.level.store(level, Ordering::Release);
        self.gauge.set(i64::from(level));
    }
}

/// How long a finding that some member is older is trusted before members
/// are asked again (a burst of writes asks once, not once each).
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(2);

/// What the last asking found, when it found the cluster not ready.
#[derive(Default)]
pub(crate) struct LastAsked {
    not_ready: Option<(Instant, String)>,
}

impl Node {
    /// The log format level every member of the cluster reads.
    pub fn cluster_level(&self) -> u32 {
        self.level.get()
    }

    /// The proposal as this cluster may log it: stamped with the rules of
    /// its level, after raising the level if the command needs more and
    /// every member reads it; refused (nothing changes) if some member
    /// runs an older version.
    pub(crate) async fn admit(&self, proposal: Proposal) -> Result<Proposal, WriteError> {
        let needs = proposal.command.level();
        if needs > self.cluster_level() {
            self.raise_level().await?;
            if needs > self.cluster_level() {
                return Err(WriteError::Upgrading(format!(
                    "`{}` needs log format level {needs}, and some member still runs an older version (the cluster reads level {})",
                    proposal.command.name(),
                    self.cluster_level()
                )));
            }
        }
        Ok(proposal.for_level(self.cluster_level()))
    }

    /// Asks every member which log format level it reads and, when all read
    /// this binary's, raises the cluster's to it through the log. Refuses
    /// with the reason when some member is older or did not answer.
    pub async fn raise_level(&self) -> Result<(), WriteError> {
        let _one_at_a_time = self.raising.lock().await;
        if self.cluster_level() >= LOG_LEVEL {
            return Ok(());
        }
        {
            let last = self.last_asked.lock().await;
            if let Some((at, why)) = &last.not_ready
                && at.elapsed() < ASK_AGAIN_AFTER
            {
                return Err(WriteError::Upgrading(why.clone()));
            }
        }
        // Every member, asked what it reads (an older binary says nothing: 0).
        let members = self.cluster_status().await.members;
        let behind: Vec<String> = members
            .iter()
            .filter_map(|m| match m.level {
                Some(level) if level >= LOG_LEVEL => None,
                Some(level) => Some(format!("node {} reads level {level}", m.id)),
                None => Some(format!("node {} did not answer", m.id)),
            })
            .collect();
        if !behind.is_empty() {
            let why = format!("the cluster stays at log format level {} while a member is older: {}", self.cluster_level(), behind.join(", "));
            self.last_asked.lock().await.not_ready = Some((Instant::now(), why.clone()));
            return Err(WriteError::Upgrading(why));
        }
        let ids: Vec<u64> = members.iter().map(|m| m.id).collect();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let raise = Proposal::new(now, None, None, Command::RaiseClusterLevel { level: LOG_LEVEL, members: ids.clone() });
        // Past the gate: the raise is the step that makes room, and its
        // apply checks that the members asked are still all there is.
        let written = self.write_admitted(raise.for_level(self.cluster_level())).await?;
        match written.outcome {
            Ok(_) => tracing::info!(level = LOG_LEVEL, members = ?ids, "every member reads log format level {LOG_LEVEL}: the cluster now logs it"),
            Err(r) => tracing::info!(code = %r.code, "the cluster's log format level was not raised: {}", r.message),
        }
        self.last_asked.lock().await.not_ready = None;
        Ok(())
    }
}

/// On the leader, raises the cluster's log format level as soon as every
/// member reads this binary's (checked every `every`), so a finished
/// upgrade shows without waiting for a write that needs it.
pub fn spawn_level_watch(node: Arc<Node>, every: Duration) {
    tokio::spawn(async move {
        let mut waiting_since: Option<Instant> = None;
        loop {
            tokio::time::sleep(every).await;
            if node.cluster_level() >= LOG_LEVEL {
                return;
            }
            if node.leader().map(|(id, _)| id) != Some(node.id) {
                continue;
            }
            match node.raise_level().await {
                Ok(()) => waiting_since = None,
                Err(e) => {
                    // Said once a minute while an upgrade is under way.
                    if waiting_since.is_none_or(|since| since.elapsed() > Duration::from_secs(60)) {
                        tracing::info!("upgrade under way: {e}");
                        waiting_since = Some(Instant::now());
                    }
                }
            }
        }
    });
}
