//! Tamper evidence for documents (网页防篡改): the state machine writes a
//! digest of every document it creates or changes, in the same transaction
//! as the change; a row that no longer matches its digest was changed by
//! something other than a command — a hand edit of one node's database —
//! and its page must not be served as it now reads.
//!
//! The digest is SHA-256 of the document as the model reads it from its
//! row (every field a page shows), so it is the same on every node.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{self, Conn};
use zhanqun_model::Document;

use crate::rows::{DOCUMENT_COLUMNS, document};
use crate::{Result, Store, Touched};

/// The digest of a document as its row reads (SHA-256, hex): what the
/// state machine records beside each change, and what others who follow
/// documents (the search index's stamps) compare with.
pub fn document_digest(d: &Document) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(d).expect("documents serialize")))
}

/// The documents a transaction changed whose digests are still to be
/// written: noted after each command, recorded together at the end of the
/// transaction ([`OwedDigests::record`]), each of the row as it then
/// reads. That is the digest the last command to touch it would have
/// written, since nothing between changes a document without noting it.
#[derive(Default)]
pub(crate) struct OwedDigests(BTreeSet<i64>);

impl OwedDigests {
    pub(crate) fn note(&mut self, touched: &Touched) {
        self.0.extend(touched.documents.iter().map(|&(_, id)| id));
    }

    /// Writes the digest of every noted document (or forgets a document
    /// that is gone), in three statements however many there are.
    pub(crate) fn record(&mut self, conn: &Conn) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let owed = std::mem::take(&mut self.0);
        let ids = serde_json::to_string(&owed).expect("ids serialize");
        let rows = db::query(format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id IN (SELECT value FROM json_each(?))")).bind(&ids).fetch_all(conn)?;
        let mut digests = Vec::with_capacity(rows.len());
        let mut gone = owed;
        for row in &rows {
            let d = document(row)?;
            gone.remove(&d.id);
            digests.push(serde_json::json!([d.id, document_digest(&d)]));
        }
        if !digests.is_empty() {
            // `WHERE true`: SQLite's parser needs it between a SELECT and
            // an upsert's ON CONFLICT.
            db::query(
                "INSERT INTO document_digests (id, digest) SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true \
                 ON CONFLICT (id) DO UPDATE SET digest = excluded.digest",
            )
            .bind(serde_json::Value::Array(digests).to_string())
            .execute(conn)?;
        }
        if !gone.is_empty() {
            db::query("DELETE FROM document_digests WHERE id IN (SELECT value FROM json_each(?))")
                .bind(serde_json::to_string(&gone).expect("ids serialize"))
                .execute(conn)?;
        }
        Ok(())
    }
}

/// Digests every document that has none (written by entries of version 0,
/// before digests existed), as its row now reads: the same on every node,
/// which hold the same rows. Run when the cluster's level is raised, inside
/// that entry's apply. Returns how many were digested.
pub(crate) fn record_missing(conn: &Conn) -> Result<u64> {
    let mut digested = 0;
    let mut after = 0i64;
    loop {
        let rows =
            db::query(format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id > ? AND id NOT IN (SELECT id FROM document_digests) ORDER BY id LIMIT 500"))
                .bind(after)
                .fetch_all(conn)?;
        let Some(last) = rows.last() else { return Ok(digested) };
        after = last.named("id")?;
        for row in &rows {
            let d = document(row)?;
            db::query("INSERT INTO document_digests (id, digest) VALUES (?, ?)").bind(d.id).bind(document_digest(&d)).execute(conn)?;
            digested += 1;
        }
    }
}

/// A published document whose row does not match the digest written when
/// it last changed through a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub tenant_id: i64,
    pub id: i64,
    pub index_no: String,
}

/// One batch of a pass over the published documents.
pub struct Checked {
    pub mismatches: Vec<Mismatch>,
    /// Documents without a digest: written before digests existed, and
    /// digested when next changed.
    pub unrecorded: u64,
    /// Where the next batch starts; `None` at the end of the pass.
    pub next: Option<i64>,
}

/// A document's place and the digest its last command recorded, read
/// without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDigest {
    pub tenant_id: i64,
    pub id: i64,
    pub channel_id: i64,
    /// `None` for a document written before digests existed.
    pub digest: Option<String>,
}

/// A document and the digest its last command recorded: what the search
/// indexer reads, so that it stamps the document with the digest already
/// made rather than making it again.
#[derive(Debug, Clone)]
pub struct RecordedDocument {
    pub document: Document,
    /// `None` for a document written before digests existed.
    pub digest: Option<String>,
}

/// The triggers that note every write to a document (migration 0014).
const WRITE_TRIGGERS: [&str; 3] = ["document_written_insert", "document_written_update", "document_digest_written"];

fn judge(rows: &[sqlx::sqlite::SqliteRow], checked: &mut Checked) -> Result<()> {
    for row in rows {
        let d = document(row)?;
        match row.try_get::<Option<String>, _>("recorded")? {
            None => checked.unrecorded += 1,
            Some(recorded) if recorded != document_digest(&d) => {
                checked.mismatches.push(Mismatch { tenant_id: d.tenant_id, id: d.id, index_no: d.meta.index_no.clone() })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn recorded_document(row: &sqlx::sqlite::SqliteRow) -> Result<RecordedDocument> {
    Ok(RecordedDocument { document: document(row)?, digest: row.get("recorded") })
}

/// The start of a read of documents (as `d`) with the digest each last
/// recorded (as `recorded`); the caller adds its `WHERE`.
fn documents_with_digests() -> String {
    let cols = DOCUMENT_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
    format!("SELECT {cols}, g.digest AS recorded FROM documents d LEFT JOIN document_digests g ON g.id = d.id")
}

impl Store {
    /// Checks up to `limit` published documents with ids above `after`.
    pub async fn check_documents(&self, after: i64, limit: i64) -> Result<Checked> {
        let read = documents_with_digests();
        let rows = sqlx::query(sql!(
            "{read}
             WHERE d.id > ? AND +d.state = 'published' ORDER BY d.id LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        let mut checked = Checked { mismatches: Vec::new(), unrecorded: 0, next: None };
        judge(&rows, &mut checked)?;
        if rows.len() as i64 == limit {
            checked.next = rows.last().map(|r| r.get("id"));
        }
        Ok(checked)
    }

    /// Every document with an id above `after`, up to `limit`, in id order,
    /// with its recorded digest: a pass over a million documents reads no
    /// text.
    pub async fn recorded_digests_after(&self, after: i64, limit: i64) -> Result<Vec<RecordedDigest>> {
        let rows: Vec<(i64, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT d.tenant_id, d.id, d.channel_id, g.digest FROM documents d LEFT JOIN document_digests g ON g.id = d.id
             WHERE d.id > ? ORDER BY d.id LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows.into_iter().map(|(tenant_id, id, channel_id, digest)| RecordedDigest { tenant_id, id, channel_id, digest }).collect())
    }

    /// The documents named by `keys` (site, id) that exist, with their
    /// recorded digests, in one query: what the search indexer re-reads
    /// when told they changed. A key whose document belongs to another site
    /// finds nothing, as with [`Store::document`].
    pub async fn recorded_documents_by_keys(&self, keys: &[(i64, i64)]) -> Result<Vec<RecordedDocument>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (read, list) = (documents_with_digests(), vec!["?"; keys.len()].join(","));
        let mut query = sqlx::query(sql!("{read} WHERE d.id IN ({list})"));
        for (_, id) in keys {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.reader()).await?;
        let wanted: std::collections::HashSet<&(i64, i64)> = keys.iter().collect();
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let found_here = recorded_document(row)?;
            if wanted.contains(&(found_here.document.tenant_id, found_here.document.id)) {
                found.push(found_here);
            }
        }
        Ok(found)
    }

    /// Documents of every site with their recorded digests, in id order,
    /// `limit` at a time after `after_id`: what a search index rebuild
    /// reads. The one cross-tenant document read; the index it feeds scopes
    /// every query by tenant.
    pub async fn recorded_documents_after(&self, after_id: i64, limit: i64) -> Result<Vec<RecordedDocument>> {
        let read = documents_with_digests();
        let rows = sqlx::query(sql!("{read} WHERE d.id > ? ORDER BY d.id LIMIT ?")).bind(after_id).bind(limit).fetch_all(&self.reader()).await?;
        rows.iter().map(recorded_document).collect()
    }

    /// The newest write noted in `document_writes` (0 when none).
    pub async fn last_document_write(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM document_writes").fetch_one(&self.reader()).await?)
    }

    /// The writes noted after `seq` as (seq, document id), oldest first, up
    /// to `limit` (one row a document: its latest write).
    pub async fn documents_written_since(&self, seq: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT seq, id FROM document_writes WHERE seq > ? ORDER BY seq LIMIT ?").bind(seq).bind(limit).fetch_all(&self.reader()).await?)
    }

    /// The documents written after `seq` (up to `limit` writes, oldest
    /// first), checked: the published ones that no longer match. Answers
    /// the writes read as (seq, document id); fewer than `limit` means there
    /// are no more.
    pub async fn check_written_since(&self, seq: i64, limit: i64) -> Result<(Checked, Vec<(i64, i64)>)> {
        let written = self.documents_written_since(seq, limit).await?;
        let mut checked = Checked { mismatches: Vec::new(), unrecorded: 0, next: None };
        if written.is_empty() {
            return Ok((checked, written));
        }
        let read = documents_with_digests();
        let list = vec!["?"; written.len()].join(",");
        let mut q = sqlx::query(sql!(
            "{read}
             WHERE d.id IN ({list}) AND +d.state = 'published'"
        ));
        for (_, id) in &written {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.reader()).await?;
        judge(&rows, &mut checked)?;
        Ok((checked, written))
    }

    /// Which of the triggers that note document writes are missing (someone
    /// dropped them to edit unseen).
    pub async fn missing_write_triggers(&self) -> Result<Vec<&'static str>> {
        let present: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetch_all(&self.reader()).await?;
        Ok(WRITE_TRIGGERS.into_iter().filter(|t| !present.iter().any(|p| p == t)).collect())
    }
}
