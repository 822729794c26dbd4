//! Keeps this node's search index in step with what it applies.
//!
//! The apply path only drops the touched document keys into a channel
//! ([`SearchFeed`]); one indexing task drains it in batches (up to 250 ms),
//! re-reads those documents from the local store, and commits with the
//! applied index it read *before* loading them — so the index never claims a
//! position whose changes it lacks, and a later change of the same document
//! arrives as a later batch.
//!
//! An index behind the store at start catches up from the log. When the log
//! no longer reaches back, or a snapshot replaced the store wholesale, the
//! index is [`reconcile`]d: each document carries a stamp of what it was
//! when indexed (its digest and its column's kind), and only documents whose
//! stamp the store no longer matches are read and indexed again. Only a new
//! index, or one tokenized with another dictionary, is rebuilt whole.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use zhanqun_cluster::Node;
use zhanqun_model::{ChannelKind, Document};
use zhanqun_search::{SearchDoc, SearchIndex};
use zhanqun_store::{RecordedDocument, Store};

use crate::worker::Worker;

pub enum Change {
    Documents(Vec<(i64, i64)>),
    /// The whole store was replaced (a snapshot installed).
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

/// What the index holds of a document: its text without markup, its
/// column's kind, the key its reposted copies share, and its stamp (from
/// the digest recorded with its last change).
pub fn search_doc(recorded: &RecordedDocument, channel_kind: Option<ChannelKind>) -> SearchDoc {
    let d = &recorded.document;
    let body = strip_tags(&d.body_html);
    SearchDoc {
        id: d.id,
        tenant_id: d.tenant_id,
        dedup_key: repost_key(d),
        title: d.title.clone(),
        body,
        doc_no: d.meta.doc_no.clone(),
        issuing_organ: d.meta.issuing_organ.clone(),
        topic: d.meta.topic.clone(),
        channel_kind: channel_kind.map_or("list", |k| k.as_str()).to_string(),
        published_at: d.published_at.unwrap_or(d.created_at),
        public: d.is_public(),
        validity: d.meta.validity.as_str().to_string(),
        // Without a recorded digest reconcile indexes it again anyway.
        stamp: recorded.digest.as_deref().map_or(0, |digest| stamp(digest, channel_kind)),
    }
}

/// What a document was when indexed, in 64 bits: its digest (every field
/// of its row) and the kind of its column (which the index also holds).
fn stamp(digest: &str, channel_kind: Option<ChannelKind>) -> u64 {
    let mut h = Sha256::new();
    h.update(digest.as_bytes());
    h.update(b"/");
    h.update(channel_kind.map_or("", |k| k.as_str()).as_bytes());
    u64::from_be_bytes(h.finalize()[..8].try_into().expect("a SHA-256 has 8 bytes"))
}

/// Copies of one source show once in search: a copy records its source
/// (`copy_of`), and the source and all its copies share the source's id as
/// their key. (Ids are positive, so no key is 0.)
fn repost_key(d: &Document) -> u64 {
    d.copy_of.unwrap_or(d.id) as u64
}

fn strip_tags(html: &str) -> String {
    zhanqun_model::html::text(html, ' ')
}

/// Documents re-read from the store per query.
const REREAD_BATCH: usize = 500;

/// Re-reads the given documents and puts them in the index (or takes them
/// out when they are gone). Not committed.
async fn index_keys(index: &SearchIndex, store: &Store, keys: impl IntoIterator<Item = (i64, i64)>) -> BoxResult<()> {
    let kinds = store.channel_kinds().await?;
    let keys: Vec<(i64, i64)> = keys.into_iter().collect();
    for chunk in keys.chunks(REREAD_BATCH) {
        let found = store.recorded_documents_by_keys(chunk).await?;
        let present: std::collections::HashSet<i64> = found.iter().map(|r| r.document.id).collect();
        let docs: Vec<SearchDoc> = found.iter().map(|r| search_doc(r, kinds.get(&r.document.channel_id).copied())).collect();
        let gone: Vec<i64> = chunk.iter().map(|&(_, id)| id).filter(|id| !present.contains(id)).collect();
        index.upsert(&docs)?;
        index.delete(&gone);
    }
    Ok(())
}

/// Documents read from the store per step of a rebuild.
const REBUILD_BATCH: i64 = 2000;

/// Empties the index and fills it from the store, committing at `position`
/// (the store's applied index, read before the first document), and merges
/// it into one segment. Calls `progress(done, total)` after every batch.
pub async fn rebuild(index: &SearchIndex, store: &Store, position: u64, mut progress: impl FnMut(u64, u64)) -> BoxResult<u64> {
    let total = store.document_count().await?.max(0) as u64;
    let kinds = store.channel_kinds().await?;
    index.clear()?;
    let (mut after, mut done) = (0, 0u64);
    loop {
        let batch = store.recorded_documents_after(after, REBUILD_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.document.id;
        done += batch.len() as u64;
        let docs: Vec<SearchDoc> = batch.iter().map(|r| search_doc(r, kinds.get(&r.document.channel_id).copied())).collect();
        index.add_new(&docs)?;
        progress(done, total.max(done));
    }
    index.commit(position)?;
    // The writer leaves a dozen segments at a million documents; every
    // query visits each (`SearchIndex::merge_segments`).
    index.merge_segments()?;
    Ok(done)
}

/// Documents compared per step of a reconcile.
const RECONCILE_BATCH: i64 = 10_000;

/// What a [`reconcile`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Documents in the store.
    pub documents: u64,
    /// Indexed again: new, changed, or without a recorded digest.
    pub reindexed: u64,
    /// Taken out: in the index, no longer in the store.
    pub removed: u64,
}

/// Brings an index that followed some earlier state of the store up to
/// the store as it is, committing at `position` (the store's applied index,
/// read before the comparison): documents whose stamp differs from the
/// index's, or that the index lacks, are indexed again; documents the store
/// no longer has are taken out. Reads no document text for the others.
pub async fn reconcile(index: &SearchIndex, store: &Store, position: u64) -> BoxResult<Reconciled> {
    let mut indexed = index.stamps()?;
    let kinds = store.channel_kinds().await?;
    let mut changed = Vec::new();
    let (mut after, mut documents) = (0, 0u64);
    loop {
        let batch = store.recorded_digests_after(after, RECONCILE_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        documents += batch.len() as u64;
        for d in batch {
            let now = d.digest.map(|digest| stamp(&digest, kinds.get(&d.channel_id).copied()));
            let then = indexed.remove(&d.id);
            // A document without a recorded digest cannot be compared.
            if now.is_none() || now != then {
                changed.push((d.tenant_id, d.id));
            }
        }
    }
    let gone: Vec<i64> = indexed.into_keys().collect();
    let reindexed = changed.len() as u64;
    index_keys(index, store, changed).await?;
    index.delete(&gone);
    index.commit(position)?;
    Ok(Reconciled { documents, reindexed, removed: gone.len() as u64 })
}

async fn reconcile_here(index: &SearchIndex, node: &Node) -> BoxResult<()> {
    let position = node.applied_index();
    let started = std::time::Instant::now();
    let r = reconcile(index, &node.store, position).await?;
    tracing::info!(
        documents = r.documents,
        reindexed = r.reindexed,
        removed = r.removed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        position,
        "search index reconciled with the store"
    );
    Ok(())
}

/// An index that followed some state of this store (same analysis, a
/// position recorded) is reconciled; any other is rebuilt.
async fn refresh_here(index: &SearchIndex, node: &Node) -> BoxResult<()> {
    match index.indexed_position() {
        Ok(at) if at > 0 => reconcile_here(index, node).await,
        _ => rebuild_here(index, node).await,
    }
}

async fn rebuild_here(index: &SearchIndex, node: &Node) -> BoxResult<()> {
    let position = node.applied_index();
    let started = std::time::Instant::now();
    let documents = rebuild(index, &node.store, position, |_, _| {}).await?;
    tracing::info!(documents, elapsed_ms = started.elapsed().as_millis() as u64, position, "search index rebuilt");
    Ok(())
}

/// Brings an index that stopped at `from` up to the node's applied index by
/// re-reading the documents the log entries in between name. `false` when
/// the log no longer reaches back that far.
async fn catch_up(index: &SearchIndex, node: &Node, from: u64) -> BoxResult<bool> {
    let position = node.applied_index();
    let Some(commands) = node.logged_commands(from + 1, position).await? else { return Ok(false) };
    let keys = node.store.documents_touched_by(&commands).await?;
    index_keys(index, &node.store, keys.iter().copied()).await?;
    index.commit(position)?;
    tracing::info!(from, to = position, documents = keys.len(), "search index caught up from the log");
    Ok(true)
}

/// The indexing worker: brings the index up to date at start, then indexes
/// each batch of changes the feed brings.
pub struct Indexer {
    index: Arc<SearchIndex>,
    node: Arc<Node>,
    rx: mpsc::UnboundedReceiver<Change>,
    keys: BTreeSet<(i64, i64)>,
    reset: bool,
}

impl Indexer {
    pub fn new(index: Arc<SearchIndex>, node: Arc<Node>, rx: mpsc::UnboundedReceiver<Change>) -> Indexer {
        Indexer { index, node, rx, keys: BTreeSet::new(), reset: false }
    }

    fn take(&mut self, change: Change) {
        match change {
            Change::Documents(d) => self.keys.extend(d),
            Change::Reset => self.reset = true,
        }
    }
}

impl Worker for Indexer {
    const NAME: &'static str = "search indexer";

    async fn start(&mut self) {
        let (index, node) = (&self.index, &self.node);
        let applied = node.applied_index();
        let start = match index.indexed_position() {
            Ok(at) if at == applied && (at > 0 || index.is_empty()) => {
                tracing::info!(position = at, "search index is current");
                Ok(())
            }
            // Behind, with the log still holding what it missed: catch up.
            Ok(at) if at > 0 && at < applied => match catch_up(index, node, at).await {
                Ok(true) => Ok(()),
                Ok(false) => reconcile_here(index, node).await,
                Err(e) => Err(e),
            },
            // Ahead of the store (the store restored from a backup): compare.
            Ok(at) if at > applied => reconcile_here(index, node).await,
            // New, built with another dictionary, or unreadable.
            _ => rebuild_here(index, node).await,
        };
        if let Err(e) = start {
            tracing::error!("search index could not be brought up to date: {e}");
        }
    }

    /// The first change, then whatever else arrives within 250 ms: one batch.
    async fn wait(&mut self) -> bool {
        let Some(first) = self.rx.recv().await else { return false };
        self.take(first);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
        while let Ok(Some(c)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.take(c);
        }
        true
    }

    async fn tick(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        let reset = std::mem::replace(&mut self.reset, false);
        let position = self.node.applied_index();
        let result = if reset {
            refresh_here(&self.index, &self.node).await
        } else {
            match index_keys(&self.index, &self.node.store, keys).await {
                Ok(()) => self.index.commit(position).map_err(Into::into),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            tracing::error!("search indexing failed: {e}");
        }
    }
}

/// Store and index errors both end in the log (or the reindex command's
/// message).
pub type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[cfg(test)]
mod tests;
