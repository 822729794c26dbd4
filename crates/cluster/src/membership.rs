//! Forming and changing the cluster, and reporting on it.
//!
//! Membership changes are Raft entries like any other, so they go through
//! the leader: any node takes a [`ClusterOp`] and forwards it. A new node
//! always enters as a learner, catches up (by snapshot if the log behind it
//! is purged), and only then becomes a voter, so a slow joiner never weakens
//! the quorum.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, RaftMetrics};

use crate::Member;
use serde::{Deserialize, Serialize};

use crate::network::{PeerError, paths};
use crate::node::Node;

/// Membership changes wait for a learner to catch up, which for a large
/// store means shipping a snapshot.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(600);

/// A learner this close behind the leader's log is promoted: the rest
/// arrives in the next append or two. (Demanding zero lag would never end
/// under steady writes.)
const CAUGHT_UP_LAG: u64 = 50;

/// How long a membership change waits for the one before it (a joint
/// configuration being replaced by its final one) to be committed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A change to the cluster's membership.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClusterOp {
    /// Add a node as a learner, wait until it has caught up, make it a voter.
    /// Idempotent: a voter at the same address is left as it is. A node
    /// that comes back as another incarnation (it lost its data) is removed
    /// first and added anew (see `identity`).
    Join {
        id: u64,
        addr: String,
        /// The joiner's incarnation; when absent (an operator's `cluster
        /// add`, an older binary) it is asked of the node.
        #[serde(default)]
        incarnation: Option<String>,
    },
    /// Add a node as a learner only (it replicates, does not vote).
    AddLearner {
        id: u64,
        addr: String,
        #[serde(default)]
        incarnation: Option<String>,
    },
    /// Make a learner a voter, once it has caught up.
    Promote { id: u64 },
    /// Take a node out of the cluster entirely.
    Remove { id: u64 },
}

/// One node's own view of itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalStatus {
    pub node_id: u64,
    pub addr: String,
    pub state: String,
    pub leader: Option<u64>,
    pub term: u64,
    pub last_log_index: u64,
    pub applied_index: u64,
    /// Which life of the node this is (see `identity`); absent from older nodes.
    #[serde(default)]
    pub incarnation: Option<String>,
    /// The node holds Raft state: a membership, log entries or a vote. A
    /// node without any is brand new, or lost its data.
    #[serde(default)]
    pub has_state: bool,
    /// The log format level this node's binary reads (see `upgrade`);
    /// absent, so 0, from binaries before levels.
    #[serde(default)]
    pub level: u32,
}

/// One member as the cluster sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub addr: String,
    pub voter: bool,
    /// The member's own report; `None` when it did not answer in time.
    pub applied_index: Option<u64>,
    /// Entries behind the highest applied index reported by any member.
    pub lag: Option<u64>,
    pub reachable: bool,
    /// The log format level the member's binary reads, as it reported.
    #[serde(default)]
    pub level: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: u64,
    pub leader: Option<u64>,
    pub term: u64,
    pub last_log_index: u64,
    pub applied_index: u64,
    /// A membership change is under way (its joint or final configuration
    /// is not yet committed): another change now would wait for it.
    pub membership_changing: bool,
    pub members: Vec<MemberStatus>,
    /// The log format level every member reads, as the cluster recorded it
    /// (below the members' own while an upgrade finishes).
    #[serde(default)]
    pub level: u32,
}

impl Node {
    pub fn local_status(&self) -> LocalStatus {
        let m = self.raft.metrics().borrow().clone();
        LocalStatus {
            node_id: self.id,
            addr: self.advertise.clone(),
            state: format!("{:?}", m.state),
            leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index.unwrap_or(0),
            applied_index: self.applied_index(),
            incarnation: Some(self.identity().incarnation),
            has_state: m.current_term > 0 || m.last_log_index.is_some() || m.membership_config.membership().nodes().next().is_some(),
            level: zhanqun_model::command::level::LOG_LEVEL,
        }
    }

    /// Refreshes the gauges that mirror openraft's view; called when
    /// `/metrics` is scraped.
    pub fn refresh_metrics(&self) {
        let m = self.raft.metrics().borrow().clone();
        let g = &self.metrics;
        g.term.set(m.current_term as i64);
        g.is_leader.set(i64::from(m.current_leader == Some(self.id)));
        g.last_log_index.set(m.last_log_index.unwrap_or(0) as i64);
        g.applied_index.set(self.applied_index() as i64);
        g.purged_index.set(m.purged.map_or(0, |l| l.index) as i64);
        g.replication_lag.reset();
        if let Some(replication) = &m.replication {
            let last = m.last_log_index.unwrap_or(0);
            for (peer, matched) in replication {
                if *peer != self.id {
                    let lag = last.saturating_sub(matched.map_or(0, |l| l.index));
                    g.replication_lag.with_label_values(&[&peer.to_string()]).set(lag as i64);
                }
            }
        }
    }

    /// The whole cluster: membership from this node's log, each member's
    /// applied index asked of the member itself (1 s each, in parallel).
    pub async fn cluster_status(&self) -> ClusterStatus {
        let local = self.local_status();
        let (membership, membership_changing) = {
            let m = self.raft.metrics().borrow().clone();
            (m.membership_config.clone(), !membership_settled(&m))
        };
        let voters: BTreeSet<u64> = membership.membership().voter_ids().collect();
        let nodes: Vec<(u64, String)> = membership.membership().nodes().map(|(id, n)| (*id, n.addr.clone())).collect();
        let reports = futures::future::join_all(nodes.iter().map(|(id, addr)| async move {
            if *id == self.id {
                return Some(self.local_status());
            }
            self.peers.call::<_, LocalStatus>(addr, paths::STATUS, &(), Duration::from_secs(1)).await.ok()
        }))
        .await;
        let newest = reports.iter().flatten().map(|r| r.applied_index).max().unwrap_or(0);
        let members = nodes
            .into_iter()
            .zip(reports)
            .map(|((id, addr), report)| MemberStatus {
                id,
                addr,
                voter: voters.contains(&id),
                applied_index: report.as_ref().map(|r| r.applied_index),
                lag: report.as_ref().map(|r| newest.saturating_sub(r.applied_index)),
                reachable: report.is_some(),
                level: report.as_ref().map(|r| r.level),
            })
            .collect();
        ClusterStatus {
            node_id: self.id,
            leader: local.leader,
            term: local.term,
            last_log_index: local.last_log_index,
            applied_index: local.applied_index,
            membership_changing,
            members,
            level: self.cluster_level(),
        }
    }

    /// Applies a membership change, forwarding it to the leader if need be.
    pub async fn change_members(&self, op: ClusterOp) -> Result<(), String> {
        for _ in 0..20 {
            let leader = self.leader();
            match &leader {
                Some((id, _)) if *id == self.id => match self.change_members_here(&op).await {
                    Err(e) if e.starts_with(NOT_LEADER) => {}
                    other => return other,
                },
                Some((_, addr)) => match self.peers.call::<_, Result<(), String>>(addr, paths::MEMBERS, &op, MEMBERSHIP_TIMEOUT).await {
                    Ok(Err(e)) if e.starts_with(NOT_LEADER) => {}
                    Ok(result) => return result,
                    Err(PeerError::NotSent(_)) => {}
                    Err(e) => return Err(format!("the leader did not answer: {e}")),
                },
                None => {}
            }
            self.leader_change(leader.map(|(id, _)| id), Duration::from_millis(500)).await;
        }
        Err(format!("{NOT_LEADER}: no leader reachable from node {}", self.id))
    }

    /// The leader's half of [`Node::change_members`].
    pub async fn change_members_here(&self, op: &ClusterOp) -> Result<(), String> {
        let membership = self.raft.metrics().borrow().membership_config.clone();
        let is_voter = |id: u64| membership.membership().voter_ids().any(|v| v == id);
        let uniform = membership.membership().get_joint_config().len() == 1;
        let known = |id: u64| membership.membership().get_node(&id).cloned();
        match op {
            ClusterOp::Join { id, addr, incarnation } | ClusterOp::AddLearner { id, addr, incarnation } => {
                let join = matches!(op, ClusterOp::Join { .. });
                let status = self.probe(addr).await;
                // A binary older than the cluster's log format level could not
                // read the log (see `upgrade`): it is not let in.
                if let Some(status) = &status
                    && status.level < self.cluster_level()
                {
                    return Err(format!(
                        "node {id} runs a version that reads log format level {}, older than the cluster's ({}): start it on the version the members run",
                        status.level,
                        self.cluster_level()
                    ));
                }
                // Which life of the node this is: said by the node when it
                // joins, asked of it when an operator adds it.
                let incarnation = incarnation.clone().or_else(|| status.and_then(|s| s.incarnation));
                let mut add = known(*id).is_none();
                if let Some(existing) = known(*id) {
                    if incarnation.is_some() && existing.incarnation != incarnation {
                        // It lost its data: the member the cluster knows is
                        // gone, and must not be counted or voted as.
                        tracing::warn!(
                            node = id,
                            "node {id} came back as another incarnation (it lost its data): removing the old member, then adding it anew as a learner that catches up"
                        );
                        self.remove_member(*id, is_voter(*id), &membership).await?;
                        add = true;
                    } else if existing.addr != *addr {
                        return Err(format!("node {id} is already a member at {}; remove it first to change its address", existing.addr));
                    } else if join && is_voter(*id) && uniform {
                        // A voter in a joint configuration (a join whose
                        // leader stepped down between the two steps) is
                        // finished below.
                        return Ok(());
                    }
                }
                if add {
                    tracing::info!(node = id, addr, "adding a learner; it catches up before anything else");
                    let member = Member { addr: addr.clone(), incarnation };
                    // What openraft's non-blocking `add_learner` proposes.
                    self.propose_membership(ChangeMembers::AddNodes(BTreeMap::from([(*id, member)]))).await?;
                }
                if join {
                    // Also on a retry that finds the learner already added
                    // (the first attempt's leader may have stepped down).
                    self.wait_caught_up(*id).await?;
                    tracing::info!(node = id, "promoting the caught-up learner to voter");
                    self.propose_membership(ChangeMembers::AddVoterIds(BTreeSet::from([*id]))).await?;
                }
                Ok(())
            }
            ClusterOp::Promote { id } => {
                if known(*id).is_none() {
                    return Err(format!("node {id} is not a member; add it first"));
                }
                if !is_voter(*id) {
                    self.wait_caught_up(*id).await?;
                }
                self.propose_membership(ChangeMembers::AddVoterIds(BTreeSet::from([*id]))).await
            }
            ClusterOp::Remove { id } => {
                if known(*id).is_none() {
                    return Err(format!("node {id} is not a member"));
                }
                self.remove_member(*id, is_voter(*id), &membership).await
            }
        }
    }

    /// Takes node `id` out of the membership entirely.
    async fn remove_member(&self, id: u64, voter: bool, membership: &openraft::StoredMembership<u64, Member>) -> Result<(), String> {
        let voters: BTreeSet<u64> = membership.membership().voter_ids().collect();
        if voters.len() == 1 && voters.contains(&id) {
            return Err(format!("node {id} is the last voter; a cluster cannot remove its last voter"));
        }
        if voter {
            self.propose_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id]))).await
        } else {
            self.propose_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id]))).await
        }
    }

    /// Proposes one membership change once the one before it is committed.
    ///
    /// openraft changes voters in two steps (a joint configuration, then
    /// the final one) and refuses a new change while a membership entry is
    /// uncommitted. Waiting here means an operator who removes a node right
    /// after adding one, or whose join raced another, gets the change
    /// instead of an "already undergoing a configuration change" error.
    ///
    /// A change can still slip in between the two steps of another (a
    /// learner added while a joint configuration is committed but its
    /// final one not yet proposed); openraft then refuses the second step.
    /// Proposing the same change again finishes it: from a joint
    /// configuration, the next step towards its own goal is the final one.
    async fn propose_membership(&self, change: ChangeMembers<u64, Member>) -> Result<(), String> {
        let mut attempts = 0;
        loop {
            self.wait_membership_committed().await?;
            match self.raft.change_membership(change.clone(), false).await {
                Ok(_) => return Ok(()),
                Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(ChangeMembershipError::InProgress(_)))) if attempts < 5 => attempts += 1,
                Err(e) => return Err(self.explain(e)),
            }
        }
    }

    /// Waits until the newest membership entry in the log is applied (so
    /// committed): Raft takes one membership change at a time.
    async fn wait_membership_committed(&self) -> Result<(), String> {
        self.raft
            .wait(Some(SETTLE_TIMEOUT))
            .metrics(membership_committed, "membership committed")
            .await
            .map(|_| ())
            .map_err(|e| format!("a previous membership change has not been committed: {e}"))
    }

    fn explain(&self, e: RaftError<u64, ClientWriteError<u64, Member>>) -> String {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => format!("{NOT_LEADER}: node {} is no longer the leader", self.id),
            other => other.to_string(),
        }
    }

    /// Waits, as the leader, until learner `id` trails this node's log by at
    /// most [`CAUGHT_UP_LAG`] entries.
    ///
    /// openraft's own blocking `add_learner` is not enough: it counts a
    /// learner within 5,000 entries as up to date, so on a young cluster a
    /// joiner that has not even received its snapshot would become a voter,
    /// and with it voting the cluster tolerates one failure fewer until it
    /// has caught up.
    async fn wait_caught_up(&self, id: u64) -> Result<(), String> {
        let caught_up = |m: &openraft::RaftMetrics<u64, Member>| match &m.replication {
            // No longer the leader: stop waiting (reported below).
            None => true,
            Some(targets) => {
                let matched = targets.get(&id).cloned().flatten().map_or(0, |l| l.index);
                matched + CAUGHT_UP_LAG >= m.last_log_index.unwrap_or(0)
            }
        };
        let metrics =
            self.raft.wait(Some(MEMBERSHIP_TIMEOUT)).metrics(caught_up, "learner caught up").await.map_err(|e| format!("node {id} did not catch up: {e}"))?;
        if metrics.replication.is_none() {
            return Err(format!("{NOT_LEADER}: node {} stepped down while node {id} was catching up", self.id));
        }
        Ok(())
    }

    /// Joins the cluster that the node at `member_url` belongs to, retrying
    /// until a leader accepts. Does nothing if this node already belongs to
    /// a cluster (a restart).
    pub async fn join(&self, member_url: &str) {
        let op = ClusterOp::Join { id: self.id, addr: self.advertise.clone(), incarnation: Some(self.identity().incarnation) };
        let mut attempt = 0u32;
        loop {
            if self.is_voter_here() {
                tracing::info!(node = self.id, "member of the cluster as a voter");
                return;
            }
            attempt += 1;
            match self.peers.call::<_, Result<(), String>>(member_url, paths::MEMBERS, &op, MEMBERSHIP_TIMEOUT).await {
                Ok(Ok(())) => {
                    tracing::info!(node = self.id, via = member_url, "joined the cluster");
                    // Our own log learns of the promotion shortly.
                    let mut rx = self.raft.metrics();
                    let id = self.id;
                    let _ = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|m| m.membership_config.membership().voter_ids().any(|v| v == id))).await;
                    return;
                }
                Ok(Err(e)) => tracing::warn!(attempt, via = member_url, "join refused: {e}; retrying"),
                Err(e) => tracing::warn!(attempt, via = member_url, "cannot reach a member to join: {e}; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    fn is_voter_here(&self) -> bool {
        self.raft.metrics().borrow().membership_config.membership().voter_ids().any(|v| v == self.id)
    }

    /// Asks the node at `url` for its view; used to decide between
    /// bootstrapping and joining (StatefulSet start-up).
    pub async fn probe(&self, url: &str) -> Option<LocalStatus> {
        self.peers.call::<_, LocalStatus>(url, paths::STATUS, &(), Duration::from_secs(2)).await.ok()
    }
}

/// The newest membership entry in the log is applied, so committed.
fn membership_committed(m: &RaftMetrics<u64, Member>) -> bool {
    m.membership_config.log_id().map(|l| l.index) <= m.last_applied.map(|l| l.index)
}

/// No membership change under way: the newest membership is committed and
/// is a single configuration, not a joint one between two.
fn membership_settled(m: &RaftMetrics<u64, Member>) -> bool {
    membership_committed(m) && m.membership_config.membership().get_joint_config().len() == 1
}

/// Prefix of the error a former leader answers with, so the caller retries
/// against the new one.
const NOT_LEADER: &str = "not the leader";
