//! openraft's own storage test suite (`openraft::testing::Suite`), run
//! against zhanqun's Raft log (group-committed by its flusher thread) and its
//! state-machine adapter over a real SQLite store in a temporary directory:
//! reads see appended entries at once, truncate and purge keep their order
//! with the appends queued before them, votes and log state read back.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use zhanqun_cluster::log_store::LogStore;
use zhanqun_cluster::state_machine::StateMachine;
use zhanqun_cluster::{ClusterMetrics, StorageError, TypeConfig};
use zhanqun_store::{Store, Touched};

struct NoObserver;

impl zhanqun_cluster::ApplyObserver for NoObserver {
    fn applied(&self, _: &Touched) {}
    fn reset(&self) {}
}

struct Stores;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Stores {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().unwrap();
        // Opened outside the builder's future: the store's opening future is
        // not provably `Send` for every lifetime the suite's bound asks of it.
        let (log, sm) = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(open(dir.path())));
        Ok((dir, log, sm))
    }
}

async fn open(dir: &std::path::Path) -> (LogStore, StateMachine) {
    let metrics = Arc::new(ClusterMetrics::new(&prometheus::Registry::new()));
    let log = LogStore::open(&dir.join("raft-log.db"), metrics.log_flush_entries.clone()).await.unwrap();
    let store = Arc::new(Store::open(&dir.join("content.db")).await.unwrap());
    let (applied, _) = tokio::sync::watch::channel(0);
    let sm = StateMachine::new(store, dir.join("snapshots"), Arc::new(NoObserver), Arc::new(applied), metrics);
    (log, sm)
}

/// A runtime of two workers: the stores are opened in `block_in_place`,
/// which needs a multi-threaded runtime.
fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn on_two_workers<F: std::future::Future>(test: F) -> F::Output {
    two_workers().block_on(test)
}

type Checks = Suite<TypeConfig, LogStore, StateMachine, Stores, tempfile::TempDir>;

/// Runs each of the suite's checks on fresh stores. Every check of
/// `Suite::test_store` but its last, `transfer_snapshot`: that one swaps the
/// receiving file handle for the sender's, while this state machine reads
/// a received snapshot from the file it handed out (as openraft's chunked
/// transfer fills it); snapshots are tested by `tests/cluster.rs` and
/// `tests/lost_disk.rs` with real processes.
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        #[test]
        fn the_raft_log_and_state_machine_pass_openrafts_storage_suite() {
            let runtime = two_workers();
            $(
                runtime.block_on(async {
                    let (_dir, log, sm) = Stores.build().await.unwrap();
                    Checks::$check(log, sm).await.unwrap_or_else(|e| panic!("{}: {e}", stringify!($check)));
                });
            )*
        }
    };
}

checks!(
    last_membership_in_log_initial,
    last_membership_in_log,
    last_membership_in_log_multi_step,
    get_membership_initial,
    get_membership_from_log_and_empty_sm,
    get_membership_from_empty_log_and_sm,
    get_membership_from_log_le_sm_last_applied,
    get_membership_from_log_gt_sm_last_applied_1,
    get_membership_from_log_gt_sm_last_applied_2,
    get_initial_state_without_init,
    get_initial_state_membership_from_log_and_sm,
    get_initial_state_with_state,
    get_initial_state_last_log_gt_sm,
    get_initial_state_last_log_lt_sm,
    get_initial_state_log_ids,
    get_initial_state_re_apply_committed,
    save_vote,
    get_log_entries,
    limited_get_log_entries,
    try_get_log_entry,
    initial_logs,
    get_log_state,
    get_log_id,
    last_id_in_log,
    last_applied_state,
    purge_logs_upto_0,
    purge_logs_upto_5,
    purge_logs_upto_20,
    delete_logs_since_11,
    delete_logs_since_0,
    append_to_log,
    snapshot_meta,
    apply_single,
    apply_multiple,
);

/// openraft saves the committed position inside its core loop, so saving
/// it does not wait for the disk (waiting held every other write back by an
/// fsync). It must still read back at once, and reach the file in order
/// with what is written after it: here a vote, which does wait.
#[test]
fn a_saved_committed_position_reads_back_at_once_and_is_on_disk_after_the_next_durable_write() {
    use openraft::storage::RaftLogStorage;
    on_two_workers(async {
        let dir = tempfile::tempdir().unwrap();
        let position = openraft::LogId::new(openraft::CommittedLeaderId::new(3, 1), 42);
        {
            let (mut log, _sm) = open(dir.path()).await;
            log.save_committed(Some(position)).await.unwrap();
            assert_eq!(log.read_committed().await.unwrap(), Some(position), "read back before the flusher wrote it");
            log.save_vote(&openraft::Vote::new(3, 1)).await.unwrap();
        }
        let (mut reopened, _sm) = open(dir.path()).await;
        assert_eq!(reopened.read_committed().await.unwrap(), Some(position), "the position queued before a durable vote is in the file");
    });
}

/// With no write after it, a saved committed position still reaches the
/// file on its own, within a second or so of the log going idle (the
/// deadline here leaves room for a loaded machine).
#[test]
fn a_saved_committed_position_reaches_the_file_when_the_log_is_idle() {
    use openraft::storage::RaftLogStorage;
    on_two_workers(async {
        let dir = tempfile::tempdir().unwrap();
        let position = openraft::LogId::new(openraft::CommittedLeaderId::new(2, 1), 7);
        let (mut log, _sm) = open(dir.path()).await;
        log.save_committed(Some(position)).await.unwrap();
        let file = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("raft-log.db")).read_only(true);
        let mut reader = sqlx::ConnectOptions::connect(&file).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let stored: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = 'committed'").fetch_optional(&mut reader).await.unwrap();
            if stored.as_deref() == Some(serde_json::to_string(&Some(position)).unwrap().as_str()) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the committed position was not in the file 15 s after it was saved (found {stored:?})");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(log);
    });
}

/// The log keeps its latest entries in memory once written (applying and
/// replicating read them back at once), and lets the oldest go: a read that
/// reaches past what memory holds comes from the file. Either way it reads
/// what was last appended at each index, nothing truncated or purged, and
/// the same again after a restart.
#[test]
fn entries_read_back_the_same_from_memory_and_from_the_file_after_truncate_and_purge() {
    use openraft::RaftLogReader;
    use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
    use openraft::testing::{blank_ent, log_id};
    on_two_workers(async {
        let dir = tempfile::tempdir().unwrap();
        // More entries than memory keeps once written, so the oldest are
        // only in the file.
        let (mut log, _sm) = open(dir.path()).await;
        for chunk in (0..6_000u64).collect::<Vec<_>>().chunks(100) {
            log.blocking_append(chunk.iter().map(|&i| blank_ent::<TypeConfig>(1, 1, i))).await.unwrap();
        }
        log.truncate(log_id(1, 1, 5_500)).await.unwrap();
        log.blocking_append((5_500..5_600).map(|i| blank_ent::<TypeConfig>(2, 1, i))).await.unwrap();
        log.purge(log_id(1, 1, 99)).await.unwrap();
        let expected = |i: u64| if i < 5_500 { log_id(1, 1, i) } else { log_id(2, 1, i) };
        for (mut reader, when) in [(log.clone(), "before a restart"), (open(dir.path()).await.0, "after a restart")] {
            let read = |entries: Vec<openraft::Entry<TypeConfig>>| entries.into_iter().map(|e| e.log_id).collect::<Vec<_>>();
            for range in [100..5_600, 5_590..5_600, 5_400..5_510, 100..200] {
                let ids = read(reader.try_get_log_entries(range.clone()).await.unwrap());
                assert_eq!(ids, range.clone().map(expected).collect::<Vec<_>>(), "entries {range:?} {when}");
            }
            assert!(reader.try_get_log_entries(0..100).await.unwrap().is_empty(), "purged entries are gone {when}");
            assert!(reader.try_get_log_entries(5_600..5_700).await.unwrap().is_empty(), "truncated entries are gone {when}");
            let state = reader.get_log_state().await.unwrap();
            assert_eq!((state.last_purged_log_id, state.last_log_id), (Some(log_id(1, 1, 99)), Some(log_id(2, 1, 5_599))), "log state {when}");
        }
    });
}
