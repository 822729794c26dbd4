//! The state-machine adapter: committed Raft entries go to the content store.
//!
//! The store is the only writer of content (invariant 1). After each entry
//! the adapter tells an [`ApplyObserver`] what was touched, so that each node
//! refreshes its own derived state (render cache, tenant directory) from what
//! it applied, whichever node proposed the change.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, SnapshotMeta, StoredMembership};
use tokio::sync::watch;
use zhanqun_store::{Store, Touched};

use crate::group_commit::{Answer, Logged};
use crate::metrics::ClusterMetrics;
use crate::{LogId, StorageError, TypeConfig, io_err};

/// Derived state that follows the content store.
pub trait ApplyObserver: Send + Sync + 'static {
    /// An entry was applied and touched these tenants.
    fn applied(&self, touched: &Touched);
    /// The whole database was replaced (snapshot installed): drop everything.
    fn reset(&self);
}

type Membership = StoredMembership<u64, crate::Member>;

#[derive(Clone)]
pub struct StateMachine {
    store: Arc<Store>,
    snapshot_dir: PathBuf,
    observer: Arc<dyn ApplyObserver>,
    applied_index: Arc<watch::Sender<u64>>,
    metrics: Arc<ClusterMetrics>,
    level: crate::ClusterLevel,
}

impl StateMachine {
    pub fn new(
        store: Arc<Store>,
        snapshot_dir: PathBuf,
        observer: Arc<dyn ApplyObserver>,
        applied_index: Arc<watch::Sender<u64>>,
        metrics: Arc<ClusterMetrics>,
    ) -> Self {
        let level = crate::ClusterLevel::new(metrics.cluster_log_level.clone());
        StateMachine { store, snapshot_dir, observer, applied_index, metrics, level }
    }

    /// The cluster's log format level as this state machine applies it.
    pub fn level(&self) -> crate::ClusterLevel {
        self.level.clone()
    }

    /// Reads the level from the store (at start, after a snapshot).
    pub async fn load_level(&self) -> Result<(), zhanqun_store::StoreError> {
        self.level.set(self.store.cluster_level().await?);
        Ok(())
    }

    fn current_paths(&self) -> (PathBuf, PathBuf) {
        (self.snapshot_dir.join("current.db"), self.snapshot_dir.join("current.meta.json"))
    }

    async fn read_position(&self) -> Result<(Option<LogId>, Membership), StorageError> {
        let read = |e: zhanqun_store::StoreError| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e);
        let applied = self.store.last_applied().await.map_err(read)?;
        let membership = self.store.membership().await.map_err(read)?;
        decode_position(applied.as_deref(), membership.as_deref())
    }
}

/// How many committed entries one state-machine transaction takes at most:
/// enough to carry a burst of concurrent writes in one commit, few enough
/// that their answers are not held back long.
const APPLY_BATCH: usize = 256;

impl StateMachine {
    /// Applies entries openraft committed together in one store
    /// transaction, each proposal of a group on its own, then tells the
    /// observer and the waiters what each did.
    async fn apply_batch(&self, batch: &[openraft::Entry<TypeConfig>], answers: &mut Vec<Answer>) -> Result<(), StorageError> {
        let Some(last) = batch.last() else { return Ok(()) };
        // What the store records of each entry beside its command: its log
        // id and, for a membership change, the membership (both as JSON).
        let recorded: Vec<(String, Option<String>)> = batch
            .iter()
            .map(|e| {
                let membership = match &e.payload {
                    EntryPayload::Membership(m) => Some(serde_json::to_string(&Membership::new(Some(e.log_id), m.clone())).expect("memberships serialize")),
                    _ => None,
                };
                (serde_json::to_string(&e.log_id).expect("log ids serialize"), membership)
            })
            .collect();
        // One store entry per proposal; an entry without any (blank,
        // membership, an empty group) is still one, so that the store
        // records its position.
        let mut committed: Vec<zhanqun_store::CommittedEntry> = Vec::with_capacity(batch.len());
        // The log index of each, for what is logged about it.
        let mut indexes = Vec::with_capacity(batch.len());
        for (e, (log_id, membership)) in batch.iter().zip(&recorded) {
            let proposals = proposals_of(e);
            if proposals.is_empty() {
                committed.push(zhanqun_store::CommittedEntry { log_id, membership: membership.as_deref(), proposal: None });
            }
            committed.extend(proposals.iter().map(|p| zhanqun_store::CommittedEntry { log_id, membership: None, proposal: Some(p) }));
            indexes.resize(committed.len(), e.log_id.index);
        }
        let started = std::time::Instant::now();
        let (_, reapplied_before) = self.store.apply_transactions();
        let applied = self.store.apply_entries(&committed).await.map_err(|e| io_err(ErrorSubject::Apply(last.log_id), ErrorVerb::Write, e))?;
        let each = started.elapsed().as_secs_f64() / committed.len() as f64;
        self.metrics.apply_batch_entries.observe(batch.len() as f64);
        self.metrics.apply_reapplied.inc_by(self.store.apply_transactions().1 - reapplied_before);
        let mut outcomes = Vec::with_capacity(committed.len());
        for ((entry, index), (outcome, touched)) in committed.iter().zip(indexes).zip(applied) {
            self.metrics.apply.observe(each);
            if let (Some(p), Err(r)) = (entry.proposal, &outcome) {
                tracing::info!(index, command = p.command.name(), code = %r.code, "command refused: {}", r.message);
            }
            if let (Some(zhanqun_model::Proposal { command: zhanqun_model::Command::RaiseClusterLevel { level, .. }, .. }), Ok(_)) = (entry.proposal, &outcome)
            {
                self.level.set(*level);
            }
            self.observer.applied(&touched);
            outcomes.push(outcome);
        }
        // Back into one answer per entry, in the shape it was logged in.
        let mut outcomes = outcomes.into_iter();
        for e in batch {
            answers.push(match &e.payload {
                EntryPayload::Normal(Logged::Group { group }) => {
                    // An empty group was applied as a blank entry: its one
                    // outcome is nobody's.
                    let mine: Vec<_> = outcomes.by_ref().take(group.len().max(1)).collect();
                    Answer::Group(if group.is_empty() { Vec::new() } else { mine })
                }
                _ => Answer::One(outcomes.next().expect("the store answers every entry")),
            });
        }
        self.applied_index.send_replace(last.log_id.index);
        Ok(())
    }
}

/// The proposals a committed entry carries (none for a blank or membership
/// entry).
fn proposals_of(entry: &openraft::Entry<TypeConfig>) -> &[zhanqun_model::Proposal] {
    match &entry.payload {
        EntryPayload::Normal(logged) => logged.proposals(),
        _ => &[],
    }
}

fn decode_position(applied: Option<&str>, membership: Option<&str>) -> Result<(Option<LogId>, Membership), StorageError> {
    let bad = |e: serde_json::Error| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e);
    let applied = applied.map(serde_json::from_str).transpose().map_err(bad)?;
    let membership = membership.map(serde_json::from_str).transpose().map_err(bad)?.unwrap_or_default();
    Ok((applied, membership))
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        self.read_position().await
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Answer>, StorageError>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<openraft::Entry<TypeConfig>> = entries.into_iter().collect();
        let mut answers = Vec::with_capacity(entries.len());
        for batch in entries.chunks(APPLY_BATCH) {
            self.apply_batch(batch, &mut answers).await?;
        }
        Ok(answers)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        tokio::fs::create_dir_all(&self.snapshot_dir).await.map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?;
        let file =
            tokio::fs::File::create(self.snapshot_dir.join("incoming.db")).await.map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta<u64, crate::Member>, snapshot: Box<tokio::fs::File>) -> Result<(), StorageError> {
        let err = |e: &dyn std::fmt::Display| io_err(ErrorSubject::Snapshot(Some(meta.signature())), ErrorVerb::Write, std::io::Error::other(e.to_string()));
        let started = std::time::Instant::now();
        snapshot.sync_all().await.map_err(|e| err(&e))?;
        drop(snapshot);
        let incoming = self.snapshot_dir.join("incoming.db");
        self.store.install_snapshot(&incoming).await.map_err(|e| err(&e))?;
        let (db, meta_path) = self.current_paths();
        tokio::fs::rename(&incoming, &db).await.map_err(|e| err(&e))?;
        write_meta(&meta_path, meta).await.map_err(|e| err(&e))?;
        self.observer.reset();
        self.load_level().await.map_err(|e| err(&e))?;
        if let Some(last) = meta.last_log_id {
            self.applied_index.send_replace(last.index);
        }
        self.metrics.snapshot_installs.observe(started.elapsed().as_secs_f64());
        tracing::info!(snapshot = %meta.snapshot_id, elapsed_ms = started.elapsed().as_millis() as u64, "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let (db, meta_path) = self.current_paths();
        let Ok(meta_json) = tokio::fs::read_to_string(&meta_path).await else { return Ok(None) };
        let meta: SnapshotMeta<u64, crate::Member> = serde_json::from_str(&meta_json).map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))?;
        let file = tokio::fs::File::open(&db).await.map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))?;
        Ok(Some(Snapshot { meta, snapshot: Box::new(file) }))
    }
}

async fn write_meta(path: &Path, meta: &SnapshotMeta<u64, crate::Member>) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, serde_json::to_vec(meta).expect("snapshot meta serializes")).await?;
    tokio::fs::rename(&tmp, path).await
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let err = |e: &dyn std::fmt::Display| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, std::io::Error::other(e.to_string()));
        tokio::fs::create_dir_all(&self.snapshot_dir).await.map_err(|e| err(&e))?;
        let building = self.snapshot_dir.join("building.db");
        let _ = tokio::fs::remove_file(&building).await;
        let started = std::time::Instant::now();
        let (applied, membership) = self.store.write_snapshot(&building).await.map_err(|e| err(&e))?;
        let (last_log_id, last_membership) = decode_position(applied.as_deref(), membership.as_deref())?;
        let snapshot_id = match last_log_id {
            Some(l) => format!("{}-{}", l.leader_id.term, l.index),
            None => "empty".to_string(),
        };
        let meta = SnapshotMeta { last_log_id, last_membership, snapshot_id };
        let (db, meta_path) = self.current_paths();
        tokio::fs::rename(&building, &db).await.map_err(|e| err(&e))?;
        write_meta(&meta_path, &meta).await.map_err(|e| err(&e))?;
        self.metrics.snapshot_builds.observe(started.elapsed().as_secs_f64());
        tracing::info!(snapshot = %meta.snapshot_id, elapsed_ms = started.elapsed().as_millis() as u64, "built snapshot");
        let file = tokio::fs::File::open(&db).await.map_err(|e| err(&e))?;
        Ok(Snapshot { meta, snapshot: Box::new(file) })
    }
}
