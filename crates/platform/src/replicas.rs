//! Replicas compared (副本一致性核验), on every node: each node asks every
//! other member for its content digest (`Store::content_checksum`, a
//! SHA-256 over every row, with the index it was read at) and compares it
//! with its own read at the same index. Replicas that applied the same log
//! must agree; a difference means one node's database changed outside the
//! log (a hand edit, a disk fault, a bug that made apply depend on the
//! node), and the peer that differs is named in an ERROR line with the
//! index; `zhanqun_replica_divergence` counts the members that differed.
//!
//! Digests are compared only at one index: under steady writes two nodes
//! rarely read at the same one, so a comparison is tried a few times a
//! second apart, and the last conclusive one is timestamped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{Gauge, IntGauge, Registry};
use zhanqun_cluster::{Checksum, Node};

use crate::worker::Worker;

/// What one comparison with a peer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Agree {
        index: u64,
    },
    Differ {
        index: u64,
        mine: String,
        theirs: String,
    },
    /// The peer did not answer, or was never at this node's index.
    Inconclusive,
}

/// Tries per comparison to meet a peer at the same index.
const TRIES: usize = 5;

pub struct ReplicaCompare {
    node: Arc<Node>,
    every: Duration,
    divergence: IntGauge,
    compared_at: Gauge,
    /// Per peer, whether it differed at the last conclusive comparison.
    differs: BTreeMap<u64, bool>,
}

impl ReplicaCompare {
    pub fn new(node: Arc<Node>, every: Duration, registry: &Registry) -> ReplicaCompare {
        let divergence = IntGauge::new(
            "zhanqun_replica_divergence",
            "Members whose content digest differed from this node's at the same applied index, at the last comparison with each (the log names them)",
        )
        .expect("valid metric");
        let compared_at =
            Gauge::new("zhanqun_replica_compare_timestamp_seconds", "When this node last compared its content with a peer at one index").expect("valid metric");
        let _ = registry.register(Box::new(divergence.clone()));
        let _ = registry.register(Box::new(compared_at.clone()));
        ReplicaCompare { node, every, divergence, compared_at, differs: BTreeMap::new() }
    }

    /// One comparison with every other member.
    pub async fn compare(&mut self) -> Result<Vec<(u64, Verdict)>, zhanqun_store::StoreError> {
        let mut verdicts: Vec<(u64, Verdict)> = Vec::new();
        for attempt in 0..TRIES {
            let mine = self.node.checksum().await?;
            let pending: Vec<u64> = verdicts.iter().filter(|(_, v)| *v == Verdict::Inconclusive).map(|(id, _)| *id).collect();
            for (peer, theirs) in self.node.peer_checksums(Duration::from_secs(120)).await {
                if attempt > 0 && !pending.contains(&peer) {
                    continue;
                }
                let verdict = judge(&mine, theirs.as_ref());
                match verdicts.iter_mut().find(|(id, _)| *id == peer) {
                    Some(slot) => slot.1 = verdict,
                    None => verdicts.push((peer, verdict)),
                }
            }
            if verdicts.iter().all(|(_, v)| *v != Verdict::Inconclusive) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // A member that left is no longer counted.
        self.differs.retain(|peer, _| verdicts.iter().any(|(id, _)| id == peer));
        for (peer, verdict) in &verdicts {
            match verdict {
                Verdict::Agree { .. } => {
                    self.differs.insert(*peer, false);
                    self.compared_at.set(crate::now_ms() as f64 / 1000.0);
                }
                Verdict::Differ { index, mine, theirs } => {
                    tracing::error!(peer, index, mine = %mine, theirs = %theirs,
                        "replica check: this node's content differs from the peer's at the same applied index; one of the two databases was changed outside the log");
                    self.differs.insert(*peer, true);
                    self.compared_at.set(crate::now_ms() as f64 / 1000.0);
                }
                Verdict::Inconclusive => tracing::debug!(peer, "replica check: not at the same index as the peer this time"),
            }
        }
        self.divergence.set(self.differs.values().filter(|d| **d).count() as i64);
        Ok(verdicts)
    }
}

fn judge(mine: &Checksum, theirs: Option<&Checksum>) -> Verdict {
    match theirs {
        Some(t) if t.applied_index == mine.applied_index && t.sha256 == mine.sha256 => Verdict::Agree { index: mine.applied_index },
        Some(t) if t.applied_index == mine.applied_index => Verdict::Differ { index: mine.applied_index, mine: mine.sha256.clone(), theirs: t.sha256.clone() },
        _ => Verdict::Inconclusive,
    }
}

impl Worker for ReplicaCompare {
    const NAME: &'static str = "replica check";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(self.every).await;
        true
    }

    async fn tick(&mut self) {
        if let Err(e) = self.compare().await {
            tracing::warn!("replica check: cannot read this node's content: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_judged_only_at_the_same_index() {
        let at = |index, sha: &str| Checksum { applied_index: index, sha256: sha.into() };
        assert_eq!(judge(&at(7, "a"), Some(&at(7, "a"))), Verdict::Agree { index: 7 });
        assert_eq!(judge(&at(7, "a"), Some(&at(7, "b"))), Verdict::Differ { index: 7, mine: "a".into(), theirs: "b".into() });
        assert_eq!(judge(&at(7, "a"), Some(&at(8, "b"))), Verdict::Inconclusive, "another index says nothing");
        assert_eq!(judge(&at(7, "a"), None), Verdict::Inconclusive);
    }
}
