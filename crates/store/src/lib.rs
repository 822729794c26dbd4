//! The SQLite state machine of zhanqun.
//!
//! One writer connection applies commands, each in a single transaction that
//! also records the Raft log position it was applied at (so a restart resumes
//! exactly after the last applied entry). A read-only pool answers queries
//! concurrently: in WAL mode readers never wait for the writer.
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

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqliteConnection};
use tokio::sync::Mutex;

pub use apply::{CommittedEntry, Touched};
pub use audit::{AuditArchive, AuditEntry, AuditLine, ChainCheck, verify_audit_file};
pub use checkpoint::Checkpointed;
pub use compliance::ProbeCount;
pub use integrity::{Checked, Mismatch, RecordedDigest, RecordedDocument, document_digest};
pub use query::{After, DocumentFilter, Due, LiveSession, Page};
pub use reposts::{FeedStatus, ProofDue, RepostQuery, RepostRow, SubmissionCount, SubmissionRow};
pub use snapshot::{copy_contents, copy_database, forget_cluster};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
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
    writer: Mutex<SqliteConnection>,
    /// Read-only connections; swapped when a snapshot is installed.
    readers: RwLock<SqlitePool>,
    /// The connection that checkpoints the WAL (`checkpoint`); `None` until
    /// first used and after a snapshot install.
    checkpointer: Mutex<Option<SqliteConnection>>,
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
        let mut writer = Self::connect_writer(path).await?;
        MIGRATOR.run(&mut writer).await?;
        let readers = Self::connect_readers(path).await?;
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: RwLock::new(readers),
            checkpointer: Mutex::new(None),
            transactions: AtomicU64::new(0),
            reapplied: AtomicU64::new(0),
        })
    }

    fn options(path: &Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a process crash; a power loss may
            // drop the last transactions, which the fsynced Raft log replays.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-16000")
    }

    async fn connect_writer(path: &Path) -> Result<SqliteConnection> {
        // Checkpoints are the checkpoint connection's work (`checkpoint`).
        let fallback = checkpoint::WRITER_FALLBACK_PAGES.to_string();
        Ok(Self::options(path).create_if_missing(true).pragma("wal_autocheckpoint", fallback).connect().await?)
    }

    async fn connect_readers(path: &Path) -> Result<SqlitePool> {
        Ok(SqlitePoolOptions::new().max_connections(8).min_connections(1).connect_with(Self::options(path).read_only(true)).await?)
    }

    /// Apply transactions committed since the store was opened, and how
    /// many of them were applied a second time because a command in them
    /// was refused.
    pub fn apply_transactions(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.transactions.load(Relaxed), self.reapplied.load(Relaxed))
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
