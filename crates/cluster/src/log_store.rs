//! The Raft log and vote, in their own SQLite file.
//!
//! Kept apart from the content database because they have different lives:
//! the log is appended and purged behind snapshots, the content is replaced
//! wholesale when a snapshot is installed. `synchronous = FULL` makes every
//! commit an fsync, which openraft's durability contract needs: a vote or an
//! entry reported as saved must survive `kill -9` and power loss.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, RaftLogReader, Vote};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};
use tokio::sync::Mutex;

use crate::{LogId, StorageError, TypeConfig, io_err};

#[derive(Clone)]
pub struct LogStore {
    writer: Arc<Mutex<SqliteConnection>>,
    readers: SqlitePool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
";

impl LogStore {
    pub async fn open(path: &Path) -> Result<LogStore, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let mut writer = options.clone().create_if_missing(true).connect().await?;
        sqlx::raw_sql(SCHEMA).execute(&mut writer).await?;
        let readers = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        Ok(LogStore { writer: Arc::new(Mutex::new(writer)), readers })
    }

    /// This data directory's incarnation (see `identity`), made the first
    /// time it is asked for. A directory that already held a log or a vote
    /// then is legacy: it was a member before incarnations existed.
    pub async fn identity(&self) -> Result<crate::Identity, sqlx::Error> {
        let mut conn = self.writer.lock().await;
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = 'identity'").fetch_optional(&mut *conn).await?;
        if let Some(identity) = stored.and_then(|s| serde_json::from_str(&s).ok()) {
            return Ok(identity);
        }
        let used: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM log) + (SELECT COUNT(*) FROM state WHERE key IN ('vote', 'last_purged', 'committed'))")
                .fetch_one(&mut *conn)
                .await?;
        let identity = crate::Identity::new(used > 0);
        Self::put_state(&mut conn, "identity", &identity).await?;
        Ok(identity)
    }

    /// Takes on the incarnation the cluster expects (the operator's
    /// `--adopt-identity`), durably.
    pub async fn set_identity(&self, identity: &crate::Identity) -> Result<(), sqlx::Error> {
        let mut conn = self.writer.lock().await;
        Self::put_state(&mut conn, "identity", identity).await
    }

    async fn get_state<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))?;
        value.map(|v| serde_json::from_str(&v)).transpose().map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))
    }

    async fn put_state<T: serde::Serialize>(conn: &mut SqliteConnection, key: &str, value: &T) -> Result<(), sqlx::Error> {
        let json = serde_json::to_string(value).expect("raft state serializes");
        sqlx::query("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(json)
            .execute(conn)
            .await?;
        Ok(())
    }

    fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<Entry<TypeConfig>, StorageError> {
        let text: &str = row.try_get(0).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        serde_json::from_str(text).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))
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
        let rows = sqlx::query("SELECT entry FROM log WHERE idx >= ? AND idx < ? ORDER BY idx")
            .bind(start)
            .bind(end)
            .fetch_all(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        rows.iter().map(Self::decode).collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.get_state("last_purged").await?;
        let last = sqlx::query("SELECT entry FROM log ORDER BY idx DESC LIMIT 1")
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        let last_log_id = match last {
            Some(row) => Some(Self::decode(&row)?.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().await;
        Self::put_state(&mut conn, "vote", vote).await.map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        self.get_state("vote").await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().await;
        Self::put_state(&mut conn, "committed", &committed).await.map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get_state::<Option<LogId>>("committed").await?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut conn = self.writer.lock().await;
        let result: Result<(), sqlx::Error> = async {
            let mut tx = conn.begin().await?;
            for entry in entries {
                let json = serde_json::to_string(&entry).expect("entries serialize");
                sqlx::query("INSERT OR REPLACE INTO log (idx, entry) VALUES (?, ?)").bind(entry.log_id.index as i64).bind(json).execute(&mut *tx).await?;
            }
            // synchronous = FULL: the commit returns after the WAL is fsynced.
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(io_err(ErrorSubject::Logs, ErrorVerb::Write, e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().await;
        sqlx::query("DELETE FROM log WHERE idx >= ?")
            .bind(log_id.index as i64)
            .execute(&mut *conn)
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().await;
        let result: Result<(), sqlx::Error> = async {
            let mut tx = conn.begin().await?;
            Self::put_state(&mut tx, "last_purged", &log_id).await?;
            sqlx::query("DELETE FROM log WHERE idx <= ?").bind(log_id.index as i64).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await;
        result.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}
