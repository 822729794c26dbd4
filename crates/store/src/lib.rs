//! The SQLite state machine of zhanqun.
//!
//! One writer connection applies commands, each in a single transaction that
//! also records the Raft log position it was applied at (so a restart resumes
//! exactly after the last applied entry). It is the state machine's own
//! (rusqlite, see `db`), run on the applying task's thread. A read-only
//! sqlx pool answers queries concurrently: in WAL mode readers never wait
//! for the writer.
//!
//! The store knows nothing of Raft types: the cluster crate hands it the log
//! position and membership as opaque JSON.

/// Builds SQL from trusted fragments (column lists and clauses defined in this
/// crate, never user input; values always go through `bind`).
macro_rules! sql {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}

mod apply;
mod audit;
mod certificates;
mod checkpoint;
mod compliance;
mod db;
mod integrity;
mod query;
mod reposts;
mod rows;
mod snapshot;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Mutex;

pub use apply::{CommittedEntry, Touched};
pub use audit::{AuditArchive, AuditEntry, AuditLine, ChainCheck, verify_audit_file};
pub use checkpoint::Checkpointed;
pub use compliance::ProbeCount;
pub use integrity::{Checked, Mismatch, RecordedDigest, RecordedDocument, document_digest};
pub use query::{After, DocumentFilter, Due, LiveSession, Page};
pub use reposts::{FeedStatus, ProofDue, RepostQuery, RepostRow, SubmissionCount, SubmissionRow};
pub use snapshot::{copy_contents, copy_database, forget_cluster};

/// The settings of every connection to the content database (beyond WAL
/// mode). NORMAL in WAL mode survives a process crash; a power loss may
/// drop the last transactions, which the fsynced Raft log replays.
const SETTINGS: [(&str, &str); 3] = [("synchronous", "NORMAL"), ("foreign_keys", "ON"), ("cache_size", "-16000")];

/// How long a connection waits for a lock another holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// From the state machine's own connection (`db`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
    #[error("snapshot file error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The content database of one node.
pub struct Store {
    path: PathBuf,
    /// The only connection that writes. Held for the whole of an apply.
    writer: Mutex<db::Conn>,
    /// Read-only connections; swapped when a snapshot is installed.
    readers: RwLock<SqlitePool>,
    /// A read-only connection read in place ([`Store::read_in_place`]);
    /// `None` until first used and after a snapshot install.
    in_place: std::sync::Mutex<Option<db::Conn>>,
    /// The connection that checkpoints the WAL (`checkpoint`); `None` until
    /// first used and after a snapshot install.
    checkpointer: Mutex<Option<sqlx::SqliteConnection>>,
    /// Apply transactions committed since the store was opened.
    transactions: AtomicU64,
    /// Of those, the ones applied a second time, with a savepoint around
    /// each command, because a command in them was refused (`apply`).
    reapplied: AtomicU64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and runs migrations.
    pub async fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Migrations are sqlx's, on a connection of their own; the writer
        // opens the file once they are done.
        let mut migrating = Self::options(path).create_if_missing(true).connect().await?;
        MIGRATOR.run(&mut migrating).await?;
        migrating.close().await?;
        let writer = Self::open_writer(path)?;
        let readers = Self::connect_readers(path).await?;
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: RwLock::new(readers),
            in_place: std::sync::Mutex::new(None),
            checkpointer: Mutex::new(None),
            transactions: AtomicU64::new(0),
            reapplied: AtomicU64::new(0),
        })
    }

    /// Every connection's settings but the writer's WAL checkpoints: sqlx's
    /// options from [`SETTINGS`], which the writer runs as they are.
    fn options(path: &Path) -> SqliteConnectOptions {
        let options = SqliteConnectOptions::new().filename(path).journal_mode(SqliteJournalMode::Wal).busy_timeout(BUSY_TIMEOUT);
        SETTINGS.iter().fold(options, |options, (name, value)| options.pragma(*name, *value))
    }

    /// The writer, with [`SETTINGS`]. Checkpoints are the checkpoint
    /// connection's work (`checkpoint`); the writer only falls back to one
    /// when the WAL has grown far.
    fn open_writer(path: &Path) -> Result<db::Conn> {
        let conn = db::Conn::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // `journal_mode` answers with the mode it is in, so it is read.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!("{} could not be put in WAL mode (it is in {mode} mode)", path.display())));
        }
        for (name, value) in SETTINGS {
            conn.execute_batch(&format!("PRAGMA {name} = {value}"))?;
        }
        conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {}", checkpoint::WRITER_FALLBACK_PAGES))?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }

    async fn connect_readers(path: &Path) -> Result<SqlitePool> {
        // No ping before each acquire (sqlx's default): a local file has no
        // link to lose, and the ping is one more round trip to the
        // connection's thread on every query (a failed worker fails the
        // query itself).
        Ok(SqlitePoolOptions::new().max_connections(8).min_connections(1).test_before_acquire(false).connect_with(Self::options(path).read_only(true)).await?)
    }

    /// Apply transactions committed since the store was opened, and how
    /// many of them were applied a second time because a command in them
    /// was refused.
    pub fn apply_transactions(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.transactions.load(Relaxed), self.reapplied.load(Relaxed))
    }

    /// Runs a short read on the store's in-place reader, on the calling
    /// thread: for the few small, indexed reads every API request makes
    /// (its session, a site's columns), which take microseconds, less than
    /// a round trip through the pool's connection thread. One such
    /// connection serves every caller, one at a time: nothing long may
    /// read here.
    ///
    /// The writer's connection serves it when no apply holds it, which
    /// for all but a busy node is nearly always: its page cache is warm,
    /// where a reader's is dropped whenever anything was written (every
    /// apply) and each page then read again from the file. The read runs
    /// between the writer's transactions, so it sees what they committed.
    pub(crate) fn read_in_place<T>(&self, read: impl FnOnce(&db::Conn) -> Result<T>) -> Result<T> {
        if let Ok(writer) = self.writer.try_lock() {
            return read(&writer);
        }
        let mut slot = self.in_place.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = match &mut *slot {
            Some(conn) => conn,
            None => slot.insert(Self::open_in_place(&self.path)?),
        };
        read(conn)
    }

    fn open_in_place(path: &Path) -> Result<db::Conn> {
        use rusqlite::OpenFlags;
        let conn = db::Conn::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }

    /// Drops the in-place reader, which reopens the file when next used
    /// (after a snapshot replaced it).
    pub(crate) fn forget_in_place(&self) {
        *self.in_place.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    pub(crate) fn reader(&self) -> SqlitePool {
        self.readers.read().expect("reader pool lock poisoned").clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) fn parse<T: FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse().map_err(StoreError::Corrupt)
}

#[cfg(test)]
mod tests;
