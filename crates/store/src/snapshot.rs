//! Snapshots ship the whole database as one SQLite file.
//!
//! `VACUUM INTO` writes a consistent, compact copy from a read transaction of
//! its own, beside the writer; installing replaces the database
//! file and reopens every connection.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Result, Store};

/// Writes a consistent copy of the content database at `db` to `dest`
/// (which must not exist) from a read-only connection of its own — from
/// another process too, while the node serves (a backup) — and returns the
/// last-applied position the copy holds (opaque JSON).
pub async fn copy_database(db: &Path, dest: &Path) -> Result<Option<String>> {
    let mut conn = SqliteConnectOptions::new().filename(db).read_only(true).connect().await?;
    sqlx::query("VACUUM INTO ?").bind(dest.to_string_lossy().as_ref()).execute(&mut conn).await?;
    conn.close().await?;
    let mut copy = SqliteConnectOptions::new().filename(dest).read_only(true).connect().await?;
    let applied: Option<String> = sqlx::query_scalar("SELECT value FROM raft_meta WHERE key = 'last_applied'").fetch_optional(&mut copy).await?;
    copy.close().await?;
    Ok(applied)
}

/// What a copy of the database holds, for a backup's manifest: each
/// attachment once as (sha256, bytes), the number of sites and documents.
pub async fn copy_contents(db: &Path) -> Result<(Vec<(String, i64)>, i64, i64)> {
    let mut conn = SqliteConnectOptions::new().filename(db).read_only(true).connect().await?;
    let attachments: Vec<(String, i64)> =
        sqlx::query_as("SELECT sha256, MAX(size) FROM attachments GROUP BY sha256 ORDER BY sha256").fetch_all(&mut conn).await?;
    let sites: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(&mut conn).await?;
    let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok((attachments, sites, documents))
}

/// Leaves an old cluster's Raft position and membership out of a restored
/// database, so that a node started on it founds a new cluster whose log
/// starts afresh on top of the content.
pub async fn forget_cluster(db: &Path) -> Result<()> {
    let mut conn = SqliteConnectOptions::new().filename(db).connect().await?;
    sqlx::query("DELETE FROM raft_meta WHERE key IN ('last_applied', 'membership')").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

impl Store {
    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist) and returns the last-applied position and membership it
    /// contains (opaque JSON).
    ///
    /// The copy runs on a connection of its own: in WAL mode its read
    /// transaction sees one consistent state while the writer goes on
    /// applying, so a snapshot of a large store does not stall the cluster.
    /// The position is read back from the copy itself, so the two agree.
    pub async fn write_snapshot(&self, dest: &Path) -> Result<(Option<String>, Option<String>)> {
        let mut conn = Self::options(&self.path).connect().await?;
        sqlx::query("VACUUM INTO ?").bind(dest.to_string_lossy().as_ref()).execute(&mut conn).await?;
        conn.close().await?;
        let mut copy = SqliteConnectOptions::new().filename(dest).read_only(true).connect().await?;
        let applied: Option<String> = sqlx::query_scalar("SELECT value FROM raft_meta WHERE key = 'last_applied'").fetch_optional(&mut copy).await?;
        let membership: Option<String> = sqlx::query_scalar("SELECT value FROM raft_meta WHERE key = 'membership'").fetch_optional(&mut copy).await?;
        copy.close().await?;
        Ok((applied, membership))
    }

    /// Replaces the whole database with the snapshot file at `src`.
    pub async fn install_snapshot(&self, src: &Path) -> Result<()> {
        let mut conn = self.writer.lock().await;
        let _closed = self.close_checkpointer().await?;
        let old_pool = self.reader();
        old_pool.close().await;
        // Leave WAL mode's side files behind with the old database.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let staged = self.path.with_extension("installing");
        tokio::fs::copy(src, &staged).await?;
        tokio::fs::File::open(&staged).await?.sync_all().await?;
        tokio::fs::rename(&staged, &self.path).await?;
        for side in ["db-wal", "db-shm"] {
            let _ = tokio::fs::remove_file(self.path.with_extension(side)).await;
        }
        *conn = Self::open_writer(&self.path)?;
        *self.readers.write().expect("reader pool lock poisoned") = Self::connect_readers(&self.path).await?;
        self.forget_in_place();
        Ok(())
    }
}

impl Store {
    /// A SHA-256 over every row of every table, read in one transaction,
    /// with the last-applied position it belongs to. Two replicas at the
    /// same position must give the same digest; the cluster tests and
    /// operators compare them.
    pub async fn content_checksum(&self) -> Result<(Option<String>, String)> {
        use sha2::{Digest, Sha256};
        let mut tx = self.reader().begin().await?;
        let applied: Option<String> = sqlx::query_scalar("SELECT value FROM raft_meta WHERE key = 'last_applied'").fetch_optional(&mut *tx).await?;
        let tables: Vec<String> =
            // `document_writes` is this node's journal of writes to its own
            // rows (a hand edit adds to it too), numbered as they happened
            // here: the tamper checker's feed, not replicated content.
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' AND name <> 'document_writes' ORDER BY name")
                .fetch_all(&mut *tx)
                .await?;
        let mut hasher = Sha256::new();
        for table in tables {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid").bind(&table).fetch_all(&mut *tx).await?;
            let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
            // Rows in the order of their full text: independent of rowid or
            // insertion order, which replicas need not share.
            let select = format!("SELECT {} FROM \"{table}\" ORDER BY 1", quoted.join(" || ',' || "));
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select)).fetch_all(&mut *tx).await?;
            hasher.update(table.as_bytes());
            for row in rows {
                hasher.update(row.as_bytes());
                hasher.update(b"\n");
            }
        }
        Ok((applied, hex::encode(hasher.finalize())))
    }
}
