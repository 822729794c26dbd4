//! Evidence that reposts are really on their sites, and the gauges that
//! show what is not.
//!
//! - [`Proofs`] (the leader): after a fan-out, each copy's public URL is
//!   fetched through the node's own public router, on the target site's
//!   own host, and the status and time are recorded in the log — the
//!   tracking board shows what the public got, not what was meant.
//! - [`Gauges`] (every node): `zhanqun_reposts_overdue{tenant}` and
//!   `zhanqun_feed_last_success_timestamp_seconds{feed}` from the
//!   replicated state, so any node scraped tells the same.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};
use zhanqun_cluster::Node;
use zhanqun_model::Command;
use zhanqun_model::repost::RepostProof;

use crate::now_ms;
use crate::worker::Worker;

/// Fetches a document's public page the way the public reaches it and
/// answers the HTTP status (the web layer implements it over its router).
pub trait PageProbe: Send + Sync + 'static {
    fn status(&self, tenant_id: i64, document_id: i64) -> Pin<Box<dyn Future<Output = u16> + Send + '_>>;
}

/// A failed fetch is tried again after this long.
const RETRY_MS: i64 = 30_000;

pub struct Proofs {
    node: Arc<Node>,
    probe: Arc<dyn PageProbe>,
}

impl Proofs {
    pub fn new(node: Arc<Node>, probe: Arc<dyn PageProbe>) -> Proofs {
        Proofs { node, probe }
    }
}

impl Worker for Proofs {
    const NAME: &'static str = "repost proofs";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(Duration::from_millis(300)).await;
        true
    }

    async fn tick(&mut self) {
        let node = &self.node;
        if node.leader().map(|(id, _)| id) != Some(node.id) {
            return;
        }
        let due = match node.store.proofs_due(now_ms(), RETRY_MS, 500).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("repost proofs: cannot read what is due: {e}");
                return;
            }
        };
        if due.is_empty() {
            return;
        }
        let mut proofs = Vec::with_capacity(due.len());
        for d in due {
            let status = self.probe.status(d.tenant_id, d.copy_id).await;
            proofs.push(RepostProof { repost_id: d.repost_id, status, at: now_ms() });
        }
        let n = proofs.len();
        match node.write_here(crate::proposal(None, None, Command::RecordRepostProofs { proofs })).await {
            Ok(w) => tracing::debug!(copies = n, index = w.index, "repost proofs recorded"),
            Err(e) => tracing::warn!("repost proofs not recorded: {e}"),
        }
    }
}

pub struct Gauges {
    node: Arc<Node>,
    overdue: IntGaugeVec,
    feed_success: GaugeVec,
}

impl Gauges {
    pub fn new(node: Arc<Node>, registry: &Registry) -> Gauges {
        let overdue = IntGaugeVec::new(
            Opts::new("zhanqun_reposts_overdue", "Reposts into a site past their deadline and not shown with proof (nor refused)"),
            &["tenant"],
        )
        .expect("valid metric");
        let feed_success = GaugeVec::new(
            Opts::new("zhanqun_feed_last_success_timestamp_seconds", "When a feed was last polled successfully (Unix seconds), by feed id"),
            &["feed"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(overdue.clone()));
        let _ = registry.register(Box::new(feed_success.clone()));
        Gauges { node, overdue, feed_success }
    }
}

impl Worker for Gauges {
    const NAME: &'static str = "repost gauges";

    /// Every site's gauge from the first scrape on.
    async fn start(&mut self) {
        self.tick().await;
    }

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(Duration::from_secs(5)).await;
        true
    }

    async fn tick(&mut self) {
        let store = &self.node.store;
        let (Ok(overdue), Ok(feeds), Ok(tenants)) = (store.overdue_reposts(now_ms()).await, store.feeds().await, store.tenants().await) else {
            tracing::warn!("repost gauges: cannot read the state");
            return;
        };
        // Every site has its gauge (0 when nothing is overdue); a site gone is dropped.
        self.overdue.reset();
        for t in &tenants {
            let n = overdue.iter().find(|(id, _)| *id == t.id).map_or(0, |(_, n)| *n);
            self.overdue.with_label_values(&[&t.code]).set(n);
        }
        self.feed_success.reset();
        for f in feeds {
            if let Some(at) = f.last_success_at {
                self.feed_success.with_label_values(&[&f.feed.id.to_string()]).set(at as f64 / 1000.0);
            }
        }
    }
}
