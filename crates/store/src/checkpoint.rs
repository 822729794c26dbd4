//! Moving the WAL into the database file off the apply path.
//!
//! SQLite checkpoints on the connection whose commit finds the WAL past
//! its threshold (1,000 pages by default): the writer, in the middle of
//! applying, copies the WAL's pages into the database and syncs it before
//! its next entry. In the writes benchmark that was about a quarter of the
//! time applying a document took. So the writer's own threshold is raised
//! to a fallback ([`WRITER_FALLBACK_PAGES`]) and a connection of its own
//! checkpoints (`PASSIVE`: it never waits for, nor blocks, the writer or a
//! reader) a moment after writes, on another thread, while the writer goes
//! on. The fallback keeps the WAL bounded if that connection falls behind
//! or is not running (the operator's tools open the store without it).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::{ConnectOptions, Connection};

use crate::{Result, Store};

/// The writer checkpoints itself only past this many WAL pages (64 MiB of
/// 4 KiB pages), when the background checkpoint has not kept up.
pub(crate) const WRITER_FALLBACK_PAGES: u32 = 16_384;

/// What one checkpoint did, as SQLite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpointed {
    /// Pages in the WAL.
    pub wal_pages: i64,
    /// Of those, pages now in the database file (fewer when a reader still
    /// needs older ones; the next checkpoint goes on from there).
    pub moved_pages: i64,
}

impl Store {
    /// Checkpoints the WAL now (`PASSIVE`), on the store's checkpoint
    /// connection, opened on first use and again after a snapshot install
    /// replaced the file.
    pub async fn checkpoint(&self) -> Result<Checkpointed> {
        let mut slot = self.checkpointer.lock().await;
        if slot.is_none() {
            *slot = Some(Self::options(&self.path).connect().await?);
        }
        let conn = slot.as_mut().expect("opened above");
        let (_busy, wal_pages, moved_pages): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *conn).await?;
        Ok(Checkpointed { wal_pages, moved_pages })
    }

    /// Closes the checkpoint connection; it stays closed while the guard
    /// is held (a snapshot install replacing the database file).
    pub(crate) async fn close_checkpointer(&self) -> Result<tokio::sync::MutexGuard<'_, Option<sqlx::SqliteConnection>>> {
        let mut slot = self.checkpointer.lock().await;
        if let Some(conn) = slot.take() {
            conn.close().await?;
        }
        Ok(slot)
    }

    /// Checkpoints every `every` while there were writes since the last
    /// time, until the store is dropped. A failure is logged and tried again
    /// at the next turn (the writer's fallback threshold still holds).
    pub fn keep_checkpointed(store: &Arc<Store>, every: Duration) {
        let store = Arc::downgrade(store);
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::time::sleep(every).await;
                let Some(store) = store.upgrade() else { return };
                let written = store.transactions.load(Ordering::Relaxed);
                if written == seen {
                    continue;
                }
                seen = written;
                if let Err(e) = store.checkpoint().await {
                    tracing::warn!(error = %e, "cannot checkpoint the content database's WAL; trying again shortly");
                }
            }
        });
    }
}
