//! The tamper checker (网页防篡改), on every node: a pass over every
//! published document compares its row with the digest the state machine
//! wrote when a command last changed it (`store::integrity`). A document
//! that no longer matches is withheld from the public (its page answers
//! that it is being verified, never the altered text), named in an ERROR
//! log line and counted in `zhanqun_tampered_pages{tenant}`, until a
//! command writes it again or the row is put back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

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

/// Rows read per batch; the pass yields between batches so that pages
/// keep being served while a million documents are checked.
const BATCH: i64 = 500;

pub struct IntegrityChecker {
    node: Arc<Node>,
    derived: Arc<Derived>,
    every: Duration,
    gauge: IntGaugeVec,
    /// Whether the last pass saw any site (a cluster just formed, the demo
    /// loading: look again soon, so the gauges exist).
    saw_sites: bool,
}

impl IntegrityChecker {
    pub fn new(node: Arc<Node>, derived: Arc<Derived>, every: Duration, registry: &Registry) -> IntegrityChecker {
        let gauge = IntGaugeVec::new(
            Opts::new(
                "zhanqun_tampered_pages",
                "Published documents whose row on this node no longer matches what the commands wrote (withheld from the public)",
            ),
            &["tenant"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(gauge.clone()));
        IntegrityChecker { node, derived, every, gauge, saw_sites: false }
    }

    /// One full pass; answers what it found.
    pub async fn pass(&mut self) -> Result<Vec<Mismatch>, zhanqun_store::StoreError> {
        let store = &self.node.store;
        let mut found = Vec::new();
        let mut unrecorded = 0;
        let mut after = 0;
        loop {
            let checked = store.check_documents(after, BATCH).await?;
            found.extend(checked.mismatches);
            unrecorded += checked.unrecorded;
            match checked.next {
                Some(next) => after = next,
                None => break,
            }
            tokio::task::yield_now().await;
        }
        let tenants = store.tenants().await?;
        let before: HashMap<i64, Mismatch> = std::mem::take(&mut *self.derived.tampered.found.write().expect("tampered lock"));
        for m in &found {
            if !before.contains_key(&m.id) {
                let site = tenants.iter().find(|t| t.id == m.tenant_id).map_or("?", |t| t.code.as_str());
                tracing::error!(site, document = m.id, index_no = %m.index_no, page = %format!("/sites/{site}/art/{}.html", m.id),
                    "tamper check: this node's copy of a published document differs from what the commands wrote; its page is withheld");
                // Pages that list it were rendered from the altered row too.
                self.derived.cache.invalidate_tenant(m.tenant_id);
            }
        }
        for id in before.keys() {
            if !found.iter().any(|m| m.id == *id) {
                tracing::info!(document = id, "tamper check: the document matches again; its page is served");
            }
        }
        *self.derived.tampered.found.write().expect("tampered lock") = found.iter().map(|m| (m.id, m.clone())).collect();
        for t in &tenants {
            self.gauge.with_label_values(&[&t.code]).set(found.iter().filter(|m| m.tenant_id == t.id).count() as i64);
        }
        self.saw_sites = !tenants.is_empty();
        if unrecorded > 0 {
            tracing::debug!(unrecorded, "tamper check: documents without a digest yet (written before digests existed)");
        }
        Ok(found)
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
