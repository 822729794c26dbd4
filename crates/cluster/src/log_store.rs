//! The Raft log and vote, in their own SQLite file.
//!
//! Kept apart from the content database because they have different lives:
//! the log is appended and purged behind snapshots, the content is replaced
//! wholesale when a snapshot is installed. `synchronous = FULL` makes every
//! commit an fsync, which openraft's durability contract needs: a vote or an
//! entry reported as saved must survive `kill -9` and power loss. The one
//! exception is the committed position, a hint kept in memory until the next
//! durable commit carries it to the disk (`save_committed`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, RaftLogReader, Vote};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio::sync::{mpsc, oneshot};

use crate::{LogId, StorageError, TypeConfig, io_err};

/// The log as openraft sees it: entries appended are held in memory
/// (`held`: readable at once, as openraft requires, and for a while after
/// they are in the file), and the one writer — the flusher thread — commits
/// whatever has queued up since its last commit in one transaction, one
/// fsync.
#[derive(Clone)]
pub struct LogStore {
    flusher: mpsc::UnboundedSender<Io>,
    held: Arc<std::sync::Mutex<Held>>,
    /// The committed position last saved by this process, which the file
    /// may not hold yet (see `save_committed`).
    committed: Arc<std::sync::Mutex<Committed>>,
    readers: SqlitePool,
}

/// One write to the log file, in the order openraft asked for it.
enum Io {
    Append(Vec<Entry<TypeConfig>>, LogFlushed<TypeConfig>),
    /// Deletes entries from this index on.
    Truncate(u64, Done),
    /// Deletes entries up to and including this one, and remembers it.
    Purge(LogId, Done),
    /// Sets a key of the `state` table (vote, identity) to JSON.
    State(&'static str, String, Done),
    /// Writes the committed position, if the file lacks the latest: sent
    /// when the log has been idle a while (see `save_committed`).
    Hint,
}

/// How long a committed position waits at most for a durable commit to
/// carry it before it is written on its own.
const HINT_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The committed position as this process last saved it.
#[derive(Default)]
struct Committed {
    /// What `read_committed` answers (`None`: nothing saved since opening,
    /// so the file's is the latest).
    saved: Option<Option<LogId>>,
    /// Its JSON, while the file does not have it yet: the flusher's next
    /// commit takes it along.
    unwritten: Option<String>,
}

type Done = oneshot::Sender<Result<(), std::io::Error>>;

/// The entries of the log kept in memory: every entry appended and not yet
/// in the file, and the latest of those already in it.
///
/// Why keep written ones: openraft reads each committed entry back to apply
/// it, right after its fsync, on its core task, and a leader reads each
/// entry again to send it to its followers. From the file, every such read
/// is a hand-off to a reader's thread, a page read and a JSON decode while
/// the core waits; from here it is a clone. The file stays the truth: an
/// entry leaves memory only once it is in the file, and a read that is not
/// wholly in memory goes to the file.
#[derive(Default)]
struct Held {
    /// By index: the entry and, once it is in the file, the size of its
    /// JSON there (`None` while it is still to be written).
    entries: BTreeMap<u64, (Entry<TypeConfig>, Option<usize>)>,
    /// The sizes of the written entries held, summed.
    written_bytes: usize,
}

/// How many entries already in the file stay in memory at most, and how
/// many bytes of JSON they may come to: enough for the entries being
/// applied and a follower a few seconds behind, without a burst of large
/// documents holding on to much.
const KEEP_WRITTEN: usize = 4096;
const KEEP_WRITTEN_BYTES: usize = 16 << 20;

impl Held {
    fn append(&mut self, entries: &[Entry<TypeConfig>]) {
        for e in entries {
            if let Some((_, Some(bytes))) = self.entries.insert(e.log_id.index, (e.clone(), None)) {
                self.written_bytes -= bytes;
            }
        }
    }

    /// Marks what the flusher wrote, each with its size in the file, then
    /// lets the oldest written entries go while there are too many.
    fn written(&mut self, written: &[(LogId, usize)]) {
        for (id, bytes) in written {
            // A later truncate may have replaced the entry at this index
            // with another one, still to be written.
            if let Some((e, size @ None)) = self.entries.get_mut(&id.index)
                && e.log_id == *id
            {
                *size = Some(*bytes);
                self.written_bytes += bytes;
            }
        }
        while self.entries.len() > KEEP_WRITTEN || self.written_bytes > KEEP_WRITTEN_BYTES {
            match self.entries.first_entry() {
                Some(first) if first.get().1.is_some() => {
                    self.written_bytes -= first.remove().1.unwrap_or(0);
                }
                // The oldest is still to be written: nothing older is written.
                _ => break,
            }
        }
    }

    /// Forgets the entries from `index` on (a truncate).
    fn forget_from(&mut self, index: u64) {
        let gone = self.entries.split_off(&index);
        self.uncount(&gone);
    }

    /// Forgets the entries up to and including `index` (a purge).
    fn forget_through(&mut self, index: u64) {
        let later = self.entries.split_off(&(index + 1));
        let gone = std::mem::replace(&mut self.entries, later);
        self.uncount(&gone);
    }

    fn uncount(&mut self, gone: &BTreeMap<u64, (Entry<TypeConfig>, Option<usize>)>) {
        self.written_bytes -= gone.values().filter_map(|(_, bytes)| *bytes).sum::<usize>();
    }

    /// The entries of `start..end` memory holds.
    fn range(&self, start: u64, end: u64) -> Vec<Entry<TypeConfig>> {
        self.entries.range(start..end).map(|(_, (e, _))| e.clone()).collect()
    }

    fn last(&self) -> Option<LogId> {
        self.entries.last_key_value().map(|(_, (e, _))| e.log_id)
    }
}

/// How many queued writes one commit takes at most, so that a long queue
/// is acknowledged in steps rather than all at once at its end.
const BATCH: usize = 512;

/// The `state` key of the committed position.
const COMMITTED: &str = "committed";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
";

impl LogStore {
    /// Opens (or creates) the log at `path`; `flushes` observes how many
    /// entries each fsync carried.
    pub async fn open(path: &Path, flushes: prometheus::Histogram) -> Result<LogStore, sqlx::Error> {
        // The writer first: it creates the file and its tables, and puts it
        // in WAL mode, before any reader opens it.
        let (opened, writer) = oneshot::channel();
        let (flusher, queue) = mpsc::unbounded_channel();
        let held = Arc::new(std::sync::Mutex::new(Held::default()));
        let file = path.to_owned();
        let shared = held.clone();
        let committed = Arc::new(std::sync::Mutex::new(Committed::default()));
        let hint = committed.clone();
        std::thread::Builder::new()
            .name("raft-log".into())
            .spawn(move || match LogFile::open(&file) {
                Ok(log) => {
                    let _ = opened.send(Ok(()));
                    flush(log, queue, shared, hint, flushes);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(sqlx::Error::Io)?;
        let opening = |e: String| sqlx::Error::Io(std::io::Error::other(format!("opening the Raft log {}: {e}", path.display())));
        writer.await.map_err(|_| opening("its writer thread stopped".into()))?.map_err(opening)?;
        tokio::spawn(hint_when_idle(flusher.downgrade(), committed.clone()));
        // Readers only read: the file's WAL mode is the writer's, and sync
        // settings concern commits.
        let options = SqliteConnectOptions::new().filename(path).read_only(true).busy_timeout(std::time::Duration::from_secs(10));
        // No ping before each acquire, as the store's readers (`Store::open`).
        let readers = SqlitePoolOptions::new().max_connections(4).test_before_acquire(false).connect_with(options).await?;
        Ok(LogStore { flusher, held, committed, readers })
    }

    /// This data directory's incarnation (see `identity`), made the first
    /// time it is asked for. A directory that already held a log or a vote
    /// then is legacy: it was a member before incarnations existed.
    pub async fn identity(&self) -> Result<crate::Identity, sqlx::Error> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = 'identity'").fetch_optional(&self.readers).await?;
        if let Some(identity) = stored.and_then(|s| serde_json::from_str(&s).ok()) {
            return Ok(identity);
        }
        let used: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM log) + (SELECT COUNT(*) FROM state WHERE key IN ('vote', 'last_purged', 'committed'))")
                .fetch_one(&self.readers)
                .await?;
        let identity = crate::Identity::new(used > 0);
        self.put_state("identity", &identity).await.map_err(sqlx::Error::Io)?;
        Ok(identity)
    }

    /// Takes on the incarnation the cluster expects (the operator's
    /// `--adopt-identity`), durably.
    pub async fn set_identity(&self, identity: &crate::Identity) -> Result<(), sqlx::Error> {
        self.put_state("identity", identity).await.map_err(sqlx::Error::Io)
    }

    async fn get_state<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))?;
        value.map(|v| serde_json::from_str(&v)).transpose().map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))
    }

    /// Sets a state key durably: returns once the flusher has committed it
    /// (with everything queued before it).
    async fn put_state<T: serde::Serialize>(&self, key: &'static str, value: &T) -> Result<(), std::io::Error> {
        let json = serde_json::to_string(value).expect("raft state serializes");
        self.queue(|done| Io::State(key, json, done)).await
    }

    /// Queues a write and waits until the flusher has committed it.
    async fn queue(&self, io: impl FnOnce(Done) -> Io) -> Result<(), std::io::Error> {
        let (done, finished) = oneshot::channel();
        self.flusher.send(io(done)).map_err(|_| flusher_stopped())?;
        finished.await.map_err(|_| flusher_stopped())?
    }

    fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<Entry<TypeConfig>, StorageError> {
        let text: &str = row.try_get(0).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        serde_json::from_str(text).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        lock_held(&self.held)
    }
}

fn lock_held(held: &std::sync::Mutex<Held>) -> std::sync::MutexGuard<'_, Held> {
    held.lock().expect("the held log is never left poisoned")
}

/// Has the flusher write the committed position when no durable commit
/// has carried it for [`HINT_IDLE`]; ends with the log.
async fn hint_when_idle(flusher: mpsc::WeakUnboundedSender<Io>, committed: Arc<std::sync::Mutex<Committed>>) {
    loop {
        tokio::time::sleep(HINT_IDLE).await;
        let Some(flusher) = flusher.upgrade() else { return };
        if lock_committed(&committed).unwritten.is_some() && flusher.send(Io::Hint).is_err() {
            return;
        }
    }
}

fn lock_committed(committed: &std::sync::Mutex<Committed>) -> std::sync::MutexGuard<'_, Committed> {
    committed.lock().expect("the committed position is never left poisoned")
}

fn flusher_stopped() -> std::io::Error {
    std::io::Error::other("the Raft log's flusher has stopped")
}

/// The flusher: the log file's only writer, on a thread of its own that owns
/// its SQLite connection outright. Each turn takes every write queued since
/// the last (up to [`BATCH`]), runs them in order in one transaction — one
/// fsync, `synchronous = FULL` — and only then reports each done: appends to
/// openraft (`LogFlushed`), the rest to their caller. Entries written are
/// marked so in `held`, which may then let them go.
///
/// Why a thread and not sqlx: every statement through sqlx is a hand-off to
/// its connection's thread and a wake-up back, and on a virtual machine a
/// wake-up costs more than the statement. Here a turn is one wake-up in (the
/// queue) and one out (the callbacks), whatever the batch holds.
fn flush(
    mut log: LogFile,
    mut queue: mpsc::UnboundedReceiver<Io>,
    memory: Arc<std::sync::Mutex<Held>>,
    committed: Arc<std::sync::Mutex<Committed>>,
    flushes: prometheus::Histogram,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.blocking_recv_many(&mut batch, BATCH) > 0 {
        let mut written: Vec<(LogId, usize)> = Vec::new();
        let hint = lock_committed(&committed).unwritten.take();
        let result = log.write(&batch, hint.as_deref(), &mut written).map_err(|e| e.to_string());
        if let (Err(_), Some(hint)) = (&result, hint) {
            // Not written: the next commit takes it, unless a newer one has
            // come meanwhile.
            lock_committed(&committed).unwritten.get_or_insert(hint);
        }
        if result.is_ok() {
            if !written.is_empty() {
                flushes.observe(written.len() as f64);
            }
            lock_held(&memory).written(&written);
        }
        for io in batch.drain(..) {
            let outcome = result.clone().map_err(std::io::Error::other);
            match io {
                Io::Append(_, callback) => callback.log_io_completed(outcome),
                Io::Truncate(_, done) | Io::Purge(_, done) | Io::State(_, _, done) => {
                    let _ = done.send(outcome);
                }
                // Nobody waits for a hint.
                Io::Hint => {}
            }
        }
    }
}

/// The log file's writing connection.
struct LogFile {
    conn: rusqlite::Connection,
}

impl LogFile {
    fn open(path: &Path) -> Result<LogFile, String> {
        let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
        // `journal_mode` answers with the mode it is in, so it is read, not executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("it could not be put in WAL mode (it is in {mode} mode)"));
        }
        conn.execute_batch("PRAGMA synchronous = FULL;").map_err(|e| e.to_string())?;
        conn.execute_batch(SCHEMA).map_err(|e| e.to_string())?;
        Ok(LogFile { conn })
    }

    /// Runs a batch in one transaction, with the committed position `hint`
    /// if there is one to write (JSON); rolls it all back if any part fails.
    fn write(&mut self, batch: &[Io], hint: Option<&str>, written: &mut Vec<(LogId, usize)>) -> rusqlite::Result<()> {
        // Nothing but the committed position: its commit need not reach the
        // disk by itself, the next durable one takes it along (WAL frames
        // are synced in order). Set before every batch, not switched back
        // after a hint: a durable batch then never runs under NORMAL, even
        // if a switch once failed.
        let hint_only = batch.iter().all(|io| matches!(io, Io::Hint));
        if hint_only && hint.is_none() {
            return Ok(());
        }
        self.conn.execute_batch(if hint_only { "PRAGMA synchronous = NORMAL" } else { "PRAGMA synchronous = FULL" })?;
        self.conn.execute_batch("BEGIN")?;
        let result = self
            .statements(batch, written)
            .and_then(|()| hint.map_or(Ok(()), |json| self.set_state(COMMITTED, json)))
            .and_then(|()| self.conn.execute_batch("COMMIT"));
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if result.is_err() {
            written.clear();
        }
        result
    }

    fn statements(&self, batch: &[Io], written: &mut Vec<(LogId, usize)>) -> rusqlite::Result<()> {
        for io in batch {
            match io {
                Io::Append(entries, _) => {
                    let mut insert = self.conn.prepare_cached("INSERT OR REPLACE INTO log (idx, entry) VALUES (?1, ?2)")?;
                    for entry in entries {
                        let json = serde_json::to_string(entry).expect("entries serialize");
                        insert.execute(rusqlite::params![entry.log_id.index as i64, json])?;
                        written.push((entry.log_id, json.len()));
                    }
                }
                Io::Truncate(index, _) => {
                    self.conn.execute("DELETE FROM log WHERE idx >= ?1", [*index as i64])?;
                }
                Io::Purge(log_id, _) => {
                    self.set_state("last_purged", &serde_json::to_string(log_id).expect("log ids serialize"))?;
                    self.conn.execute("DELETE FROM log WHERE idx <= ?1", [log_id.index as i64])?;
                }
                Io::State(key, json, _) => self.set_state(key, json)?,
                // Written beside the batch (`write`).
                Io::Hint => {}
            }
        }
        Ok(())
    }

    fn set_state(&self, key: &str, json: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
            .execute([key, json])?;
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(&mut self, range: RB) -> Result<Vec<Entry<TypeConfig>>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i as i64,
            Bound::Excluded(i) => *i as i64 + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => *i as i64 + 1,
            Bound::Excluded(i) => *i as i64,
            Bound::Unbounded => i64::MAX,
        };
        if start >= end {
            return Ok(Vec::new());
        }
        // Memory first: an entry that leaves it for the file meanwhile is
        // then read from the file. Most reads (applying what was just
        // committed, replicating it) find every entry there.
        let held = self.held().range(start as u64, end as u64);
        if held.len() as i64 == end - start {
            return Ok(held);
        }
        let rows = sqlx::query("SELECT entry FROM log WHERE idx >= ? AND idx < ? ORDER BY idx")
            .bind(start)
            .bind(end)
            .fetch_all(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        let mut entries = BTreeMap::new();
        for row in &rows {
            let entry = Self::decode(row)?;
            entries.insert(entry.log_id.index, entry);
        }
        entries.extend(held.into_iter().map(|e| (e.log_id.index, e)));
        Ok(entries.into_values().collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_held = self.held().last();
        let last_purged_log_id: Option<LogId> = self.get_state("last_purged").await?;
        let last = sqlx::query("SELECT entry FROM log ORDER BY idx DESC LIMIT 1")
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        let last_in_file = match last {
            Some(row) => Some(Self::decode(&row)?.log_id),
            None => None,
        };
        let last_log_id = last_held.max(last_in_file).or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        self.put_state("vote", vote).await.map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        self.get_state("vote").await
    }

    /// Keeps the committed position in memory for the flusher's next commit
    /// to take along (or, when the log is idle, for a commit of its own
    /// within [`HINT_IDLE`]), and returns at once. openraft runs this inside its
    /// core loop, after an entry's fsync and before applying it, so
    /// anything it waits on delays every write: waiting for an fsync here
    /// held every other write back for one (each entry then went to the
    /// disk alone, however many writers were waiting), and even waking the
    /// flusher for a commit of its own cost a lone write about 20 µs
    /// (`benches/writes.rs`, the core's step from the fsync to the apply:
    /// 50 µs with the wake-up, 28 µs without).
    ///
    /// Nothing is lost by not writing it at once. The position is only a
    /// hint for a restart, to apply what was committed before the node
    /// knows a leader. An older one on disk (lacking the last entries
    /// committed) means a little less is applied early, and the rest once
    /// a leader commits again — which a leader does on taking office, with
    /// the blank entry of its term. It is never ahead of the log on
    /// disk: openraft commits only entries already there, and the commit
    /// that carries it holds them or comes after.
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let json = serde_json::to_string(&committed).expect("log ids serialize");
        let mut position = lock_committed(&self.committed);
        position.saved = Some(committed);
        position.unwritten = Some(json);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        if let Some(saved) = lock_committed(&self.committed).saved {
            return Ok(saved);
        }
        Ok(self.get_state::<Option<LogId>>(COMMITTED).await?.flatten())
    }

    /// Returns once the entries are readable (in `held`); `callback`
    /// is called once the flusher has them in the file.
    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        self.held().append(&entries);
        match self.flusher.send(Io::Append(entries, callback)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(unsent)) => {
                if let Io::Append(_, callback) = unsent {
                    callback.log_io_completed(Err(flusher_stopped()));
                }
                Err(io_err(ErrorSubject::Logs, ErrorVerb::Write, flusher_stopped()))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.held().forget_from(log_id.index);
        self.queue(|done| Io::Truncate(log_id.index, done)).await.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.held().forget_through(log_id.index);
        self.queue(|done| Io::Purge(log_id, done)).await.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}
