//! Scheduled publication and withdrawal.
//!
//! Every node runs this loop; only the leader acts. When a scheduled time
//! has come it proposes the transition as the system (no actor). The state
//! machine makes it happen exactly once: it refuses a transition before its
//! time (`too_early`) and a second one after it (`already_published`,
//! `not_published`), so a new leader that proposes again after a leader
//! change, or two proposals racing, change nothing twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zhanqun_cluster::Node;
use zhanqun_model::Command;

use crate::now_ms;
use crate::worker::Worker;

/// How often the leader looks for due transitions: "at most a few seconds late".
const TICK: Duration = Duration::from_millis(500);
/// A transition proposed less than this long ago is not proposed again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// The scheduling worker.
pub struct Scheduler {
    node: Arc<Node>,
    /// What this node proposed lately, and when: not proposed again before
    /// [`RETRY_AFTER`].
    proposed: HashMap<(i64, bool), Instant>,
}

impl Scheduler {
    pub fn new(node: Arc<Node>) -> Scheduler {
        Scheduler { node, proposed: HashMap::new() }
    }
}

impl Worker for Scheduler {
    const NAME: &'static str = "scheduler";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(TICK).await;
        true
    }

    async fn tick(&mut self) {
        let node = &self.node;
        if node.leader().map(|(id, _)| id) != Some(node.id) {
            self.proposed.clear();
            return;
        }
        let due = match node.store.due(now_ms(), 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!("scheduler: cannot read due transitions: {e}");
                return;
            }
        };
        self.proposed.retain(|_, at| at.elapsed() < RETRY_AFTER);
        for d in due {
            if self.proposed.contains_key(&(d.document_id, d.publish)) {
                continue;
            }
            self.proposed.insert((d.document_id, d.publish), Instant::now());
            let command = if d.publish {
                Command::PublishDocument { tenant_id: d.tenant_id, document_id: d.document_id }
            } else {
                Command::WithdrawDocument { tenant_id: d.tenant_id, document_id: d.document_id }
            };
            let node = node.clone();
            tokio::spawn(async move {
                let what = if d.publish { "publish" } else { "withdraw" };
                match node.write_here(crate::proposal(None, None, command)).await {
                    Ok(w) => match w.outcome {
                        Ok(_) => tracing::info!(document = d.document_id, index = w.index, "scheduled {what} done"),
                        Err(r) => tracing::info!(document = d.document_id, code = %r.code, "scheduled {what} refused: {}", r.message),
                    },
                    Err(e) => tracing::warn!(document = d.document_id, "scheduled {what} not proposed: {e}"),
                }
            });
        }
    }
}
