//! The tamper checker (网页防篡改), on every node: it compares a published
//! document's row with the digest the state machine wrote when a command
//! last changed it (`store::integrity`) — every few seconds for the
//! documents written since its last look (triggers in the database note
//! every write, a hand edit's too), and now and then for all of them (a
//! sweep, for edits that went around the triggers). A document
//! that no longer matches is withheld from the public (its page answers
//! that it is being verified, never the altered text), named in an ERROR
//! log line and counted in `zhanqun_tampered_pages{tenant}`, until a
//! command writes it again or the row is put back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use prometheus::{IntGaugeVec, Opts, Registry};
use zhanqun_cluster::Node;
use zhanqun_store::Mismatch;

use crate::Derived;
use crate::worker::Worker;

/// Documents found altered on this node, by id.
#[derive(Default)]
pub struct Tampered {
    found: RwLock<HashMap<i64, Mismatch>>,
}

impl Tampered {
    pub fn contains(&self, document_id: i64) -> bool {
        self.found.read().expect("tampered lock").contains_key(&document_id)
    }

    pub fn all(&self) -> Vec<Mismatch> {
        self.found.read().expect("tampered lock").values().cloned().collect()
    }
}

/// Rows read per batch; the sweep rests between batches (see `pace`) so that pages
/// keep being served while a million documents are checked.
const BATCH: i64 = 500;

pub struct IntegrityChecker {
    node: Arc<Node>,
    derived: Arc<Derived>,
    /// Between two looks at the documents written since the last one.
    every: Duration,
    /// Between two sweeps over every published document.
    sweep_every: Duration,
    gauge: IntGaugeVec,
    /// Whether the last pass saw any site (a cluster just formed, the demo
    /// loading: look again soon, so the gauges exist).
    saw_sites: bool,
    /// The newest document write looked at; `None` before the first sweep.
    seen: Option<i64>,
    last_sweep: Option<Instant>,
    /// Whether the last look found the write triggers gone (said once).
    triggers_missing: bool,
}

impl IntegrityChecker {
    pub fn new(node: Arc<Node>, derived: Arc<Derived>, every: Duration, sweep_every: Duration, registry: &Registry) -> IntegrityChecker {
        let gauge = IntGaugeVec::new(
            Opts::new(
                "zhanqun_tampered_pages",
                "Published documents whose row on this node no longer matches what the commands wrote (withheld from the public)",
            ),
            &["tenant"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(gauge.clone()));
        IntegrityChecker { node, derived, every, sweep_every, gauge, saw_sites: false, seen: None, last_sweep: None, triggers_missing: false }
    }

    /// One look: the documents written since the last look, or a sweep
    /// over all of them when one is due (the first look, every
    /// `sweep_every`, after a snapshot replaced the database, or when the
    /// triggers that note writes are gone). Answers every document found
    /// altered.
    pub async fn pass(&mut self) -> Result<Vec<Mismatch>, zhanqun_store::StoreError> {
        let store = &self.node.store;
        let missing = store.missing_write_triggers().await?;
        if !missing.is_empty() && !self.triggers_missing {
            tracing::error!(
                ?missing,
                "tamper check: the triggers that note document writes were dropped from this node's database; sweeping every document at every look"
            );
        }
        self.triggers_missing = !missing.is_empty();
        let newest = store.last_document_write().await?;
        let due = match (self.seen, self.last_sweep) {
            (Some(seen), Some(at)) => at.elapsed() >= self.sweep_every || newest < seen || !missing.is_empty(),
            _ => true,
        };
        if due { self.sweep(newest).await } else { self.catch_up().await }
    }

    /// Every published document checked.
    async fn sweep(&mut self, newest: i64) -> Result<Vec<Mismatch>, zhanqun_store::StoreError> {
        let store = &self.node.store;
        let mut found = HashMap::new();
        let mut unrecorded = 0;
        let mut after = 0;
        let mut pace = crate::pace::Pace::default();
        loop {
            pace.breathe().await;
            let checked = store.check_documents(after, BATCH).await?;
            found.extend(checked.mismatches.into_iter().map(|m| (m.id, m)));
            unrecorded += checked.unrecorded;
            match checked.next {
                Some(next) => after = next,
                None => break,
            }
        }
        if unrecorded > 0 {
            tracing::debug!(unrecorded, "tamper check: documents without a digest yet (written before digests existed)");
        }
        // Writes while the sweep ran are looked at again next time.
        self.seen = Some(newest);
        self.last_sweep = Some(Instant::now());
        self.publish(found).await
    }

    /// The documents written since the last look checked; the others keep
    /// their verdict.
    async fn catch_up(&mut self) -> Result<Vec<Mismatch>, zhanqun_store::StoreError> {
        let store = &self.node.store;
        let mut found = self.derived.tampered.found.read().expect("tampered lock").clone();
        let mut seen = self.seen.unwrap_or(0);
        loop {
            let (checked, written) = store.check_written_since(seen, BATCH).await?;
            for (_, id) in &written {
                found.remove(id);
            }
            found.extend(checked.mismatches.into_iter().map(|m| (m.id, m)));
            let Some((last, _)) = written.last() else { break };
            seen = *last;
            if (written.len() as i64) < BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
        self.seen = Some(seen);
        self.publish(found).await
    }

    /// Makes `found` this node's verdict: logs what changed, drops the
    /// cached pages of sites with a newly altered document, sets the gauges.
    async fn publish(&mut self, found: HashMap<i64, Mismatch>) -> Result<Vec<Mismatch>, zhanqun_store::StoreError> {
        let tenants = self.node.store.tenants().await?;
        let before: HashMap<i64, Mismatch> = std::mem::take(&mut *self.derived.tampered.found.write().expect("tampered lock"));
        for m in found.values() {
            if !before.contains_key(&m.id) {
                let site = tenants.iter().find(|t| t.id == m.tenant_id).map_or("?", |t| t.code.as_str());
                tracing::error!(site, document = m.id, index_no = %m.index_no, page = %format!("/sites/{site}/art/{}.html", m.id),
                    "tamper check: this node's copy of a published document differs from what the commands wrote; its page is withheld");
                // Pages that list it were rendered from the altered row too.
                self.derived.cache.invalidate_tenant(m.tenant_id);
            }
        }
        for id in before.keys() {
            if !found.contains_key(id) {
                tracing::info!(document = id, "tamper check: the document matches again; its page is served");
            }
        }
        let list: Vec<Mismatch> = found.values().cloned().collect();
        *self.derived.tampered.found.write().expect("tampered lock") = found;
        for t in &tenants {
            self.gauge.with_label_values(&[&t.code]).set(list.iter().filter(|m| m.tenant_id == t.id).count() as i64);
        }
        self.saw_sites = !tenants.is_empty();
        Ok(list)
    }
}

impl Worker for IntegrityChecker {
    const NAME: &'static str = "tamper checker";

    async fn start(&mut self) {
        self.tick().await;
    }

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(if self.saw_sites { self.every } else { self.every.min(Duration::from_secs(5)) }).await;
        true
    }

    async fn tick(&mut self) {
        if let Err(e) = self.pass().await {
            tracing::warn!("tamper check: cannot read the documents: {e}");
        }
    }
}
