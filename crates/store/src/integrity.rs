//! Tamper evidence for documents (网页防篡改): the state machine writes a
//! digest of every document it creates or changes, in the same transaction
//! as the change; a row that no longer matches its digest was changed by
//! something other than a command — a hand edit of one node's database —
//! and its page must not be served as it now reads.
//!
//! The digest is SHA-256 of the document as the model reads it from its
//! row (every field a page shows), so it is the same on every node.

use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection};
use zhanqun_model::Document;

use crate::rows::{DOCUMENT_COLUMNS, document};
use crate::{Result, Store, Touched};

fn digest(d: &Document) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(d).expect("documents serialize")))
}

/// Records the digest of every document the entry touched (or forgets a
/// document that is gone).
pub(crate) async fn record(conn: &mut SqliteConnection, touched: &Touched) -> Result<()> {
    for (_, id) in &touched.documents {
        let row = sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?")).bind(id).fetch_optional(&mut *conn).await?;
        match row {
            Some(row) => {
                sqlx::query("INSERT INTO document_digests (id, digest) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET digest = excluded.digest")
                    .bind(id)
                    .bind(digest(&document(&row)?))
                    .execute(&mut *conn)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM document_digests WHERE id = ?").bind(id).execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
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

impl Store {
    /// Checks up to `limit` published documents with ids above `after`.
    pub async fn check_documents(&self, after: i64, limit: i64) -> Result<Checked> {
        let cols = DOCUMENT_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sql!(
            "SELECT {cols}, g.digest AS recorded FROM documents d LEFT JOIN document_digests g ON g.id = d.id
             WHERE d.id > ? AND d.state = 'published' ORDER BY d.id LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        let mut checked = Checked { mismatches: Vec::new(), unrecorded: 0, next: None };
        for row in &rows {
            let d = document(row)?;
            match row.try_get::<Option<String>, _>("recorded")? {
                None => checked.unrecorded += 1,
                Some(recorded) if recorded != digest(&d) => {
                    checked.mismatches.push(Mismatch { tenant_id: d.tenant_id, id: d.id, index_no: d.meta.index_no.clone() })
                }
                Some(_) => {}
            }
        }
        if rows.len() as i64 == limit {
            checked.next = rows.last().map(|r| r.get("id"));
        }
        Ok(checked)
    }
}
