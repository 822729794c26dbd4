//! Keeps this node's search index in step with what it applies.
//!
//! The apply path only drops the touched document keys into a channel
//! ([`SearchFeed`]); one indexing task drains it in batches (up to 250 ms),
//! re-reads those documents from the local store, and commits with the
//! applied index it read *before* loading them — so the index never claims a
//! position whose changes it lacks, and a later change of the same document
//! arrives as a later batch. A snapshot install or an index behind the store
//! at start rebuilds from the store.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;
use zhanqun_cluster::Node;
use zhanqun_model::Document;
use zhanqun_search::{SearchDoc, SearchIndex};
use zhanqun_store::Store;

pub enum Change {
    Documents(Vec<(i64, i64)>),
    /// The whole store was replaced.
    Reset,
}

/// The sending half, filled in once the index is open.
#[derive(Default)]
pub struct SearchFeed {
    tx: OnceLock<mpsc::UnboundedSender<Change>>,
}

impl SearchFeed {
    pub fn send(&self, change: Change) {
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(change);
        }
    }

    /// Connects the feed; changes sent before are not kept, which is why
    /// the indexer compares positions and rebuilds at start.
    pub fn connect(&self) -> mpsc::UnboundedReceiver<Change> {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.tx.set(tx);
        rx
    }
}

/// What the index holds of a document: its text without markup.
pub fn search_doc(d: &Document) -> SearchDoc {
    SearchDoc {
        id: d.id,
        tenant_id: d.tenant_id,
        title: d.title.clone(),
        body: strip_tags(&d.body_html),
        doc_no: d.meta.doc_no.clone(),
        issuing_organ: d.meta.issuing_organ.clone(),
        published_at: d.published_at.unwrap_or(d.created_at),
        public: d.is_public(),
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

async fn index_keys(index: &SearchIndex, store: &Store, keys: impl IntoIterator<Item = (i64, i64)>) -> anyhow_like::Result<()> {
    let mut docs = Vec::new();
    let mut gone = Vec::new();
    for (tenant, id) in keys {
        match store.document(tenant, id).await? {
            Some(d) => docs.push(search_doc(&d)),
            None => gone.push(id),
        }
        if docs.len() >= 1000 {
            index.upsert(&docs)?;
            docs.clear();
        }
    }
    index.upsert(&docs)?;
    index.delete(&gone);
    Ok(())
}

async fn rebuild(index: &SearchIndex, node: &Node) -> anyhow_like::Result<()> {
    let position = node.applied_index();
    let keys = node.store.document_keys().await?;
    let started = std::time::Instant::now();
    index.clear()?;
    index_keys(index, &node.store, keys.iter().copied()).await?;
    index.commit(position)?;
    tracing::info!(documents = keys.len(), elapsed_ms = started.elapsed().as_millis() as u64, position, "search index rebuilt");
    Ok(())
}

/// Runs the indexing task until the feed closes.
pub async fn run_indexer(index: Arc<SearchIndex>, node: Arc<Node>, mut rx: mpsc::UnboundedReceiver<Change>) {
    match index.indexed_position() {
        Ok(at) if at >= node.applied_index() && at > 0 => tracing::info!(position = at, "search index is current"),
        _ => {
            if let Err(e) = rebuild(&index, &node).await {
                tracing::error!("search index rebuild failed: {e}");
            }
        }
    }
    while let Some(first) = rx.recv().await {
        let mut keys = BTreeSet::new();
        let mut reset = false;
        let mut take = |c: Change| match c {
            Change::Documents(d) => keys.extend(d),
            Change::Reset => reset = true,
        };
        take(first);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
        while let Ok(Some(c)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            take(c);
        }
        let position = node.applied_index();
        let result = if reset {
            rebuild(&index, &node).await
        } else {
            match index_keys(&index, &node.store, keys).await {
                Ok(()) => index.commit(position).map_err(Into::into),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            tracing::error!("search indexing failed: {e}");
        }
    }
}

/// A small error box for the indexer (store and index errors both end in
/// the log).
mod anyhow_like {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}
