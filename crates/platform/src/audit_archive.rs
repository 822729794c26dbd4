//! Audit lines past their keeping time, moved to the object store (等级保护:
//! kept ≥ 180 days, then exported before they are dropped). On the leader,
//! once a day: the oldest lines older than `keep` are written as one JSON
//! Lines file (each line with its hash, so the file verifies on its own from
//! the previous file's last hash), read back and compared, and only then
//! does the leader propose `ArchiveAudit`, which drops them on every node
//! and keeps the hand-over hash the chain goes on from.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use zhanqun_cluster::Node;
use zhanqun_model::Command;
use zhanqun_store::AuditEntry;

use crate::now_ms;
use crate::worker::Worker;

/// Where archived audit lines go: the object store attachments live in
/// (the web layer implements it over its blobs).
pub trait ArchiveStore: Send + Sync + 'static {
    fn put(&self, key: &str, bytes: Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    fn get(&self, key: &str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + '_>>;
}

/// Lines per archive file at most.
const PER_FILE: i64 = 10_000;
/// Files per daily run at most (a first run on an old trail catches up
/// over a few days instead of at once).
const FILES_PER_RUN: usize = 20;

/// One file ready to propose: what [`Command::ArchiveAudit`] carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub through_id: i64,
    pub object_key: String,
    pub sha256: String,
    pub handover_hash: String,
    pub lines: usize,
}

/// The file of `lines`: one JSON object per line, as the API shows them.
pub fn file_of(lines: &[AuditEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut out, l).expect("audit lines serialize");
        out.push(b'\n');
    }
    out
}

/// Writes the next file of lines older than `before` to `archive`, reads it
/// back and checks it: what to propose, or `None` when nothing is old enough
/// (the newest line always stays, since the chain goes on from it).
pub async fn export_next(store: &zhanqun_store::Store, archive: &dyn ArchiveStore, before: i64) -> Result<Option<Exported>, String> {
    let mut lines = store.audit_lines_older_than(before, PER_FILE).await.map_err(|e| e.to_string())?;
    let newest = store.audit(None, None, None, 1).await.map_err(|e| e.to_string())?.first().map(|l| l.id);
    lines.retain(|l| Some(l.id) != newest);
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else { return Ok(None) };
    let bytes = file_of(&lines);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let object_key = format!("audit/{:012}-{:012}.jsonl", first.id, last.id);
    archive.put(&object_key, bytes).await?;
    let back = archive.get(&object_key).await?;
    if hex::encode(Sha256::digest(&back)) != sha256 {
        return Err(format!("{object_key} reads back different from what was written; not archived"));
    }
    Ok(Some(Exported { through_id: last.id, object_key, sha256, handover_hash: last.hash.clone(), lines: lines.len() }))
}

pub struct AuditArchiver {
    node: Arc<Node>,
    archive: Arc<dyn ArchiveStore>,
    keep: Duration,
    first: bool,
}

impl AuditArchiver {
    /// `keep` is how long lines stay in the database (at least 180 days;
    /// the state machine refuses to drop younger ones whatever is asked).
    pub fn new(node: Arc<Node>, archive: Arc<dyn ArchiveStore>, keep: Duration) -> AuditArchiver {
        AuditArchiver { node, archive, keep, first: true }
    }

    /// One run on the leader: files written and archived, each proposed.
    pub async fn run(&self) -> usize {
        let mut archived = 0;
        for _ in 0..FILES_PER_RUN {
            let before = now_ms() - self.keep.as_millis() as i64;
            let exported = match export_next(&self.node.store, self.archive.as_ref(), before).await {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("audit archive: {e}");
                    break;
                }
            };
            let command = Command::ArchiveAudit {
                through_id: exported.through_id,
                object_key: exported.object_key.clone(),
                sha256: exported.sha256.clone(),
                handover_hash: exported.handover_hash.clone(),
            };
            match self.node.write_here(crate::proposal(None, None, command)).await {
                Ok(w) if w.outcome.is_ok() => {
                    tracing::info!(key = %exported.object_key, lines = exported.lines, through = exported.through_id, "audit archive: lines exported and dropped");
                    archived += 1;
                }
                Ok(w) => {
                    tracing::warn!(key = %exported.object_key, "audit archive: refused: {:?}", w.outcome.err());
                    break;
                }
                Err(e) => {
                    tracing::warn!("audit archive: cannot propose: {e}");
                    break;
                }
            }
        }
        archived
    }
}

impl Worker for AuditArchiver {
    const NAME: &'static str = "audit archive";

    async fn wait(&mut self) -> bool {
        // A minute after start, then daily.
        let pause = if std::mem::take(&mut self.first) { Duration::from_secs(60) } else { Duration::from_secs(86_400) };
        tokio::time::sleep(pause).await;
        true
    }

    async fn tick(&mut self) {
        if self.node.leader().map(|(id, _)| id) == Some(self.node.id) {
            self.run().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use zhanqun_model::{Proposal, Tenant, TenantKind};
    use zhanqun_store::{AuditLine, Store};

    use super::*;

    /// An object store in memory; `garble` makes it read back other bytes
    /// than it was given (a faulty store).
    #[derive(Default)]
    struct Memory {
        objects: Mutex<HashMap<String, Vec<u8>>>,
        garble: bool,
    }

    impl ArchiveStore for Memory {
        fn put(&self, key: &str, bytes: Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
            self.objects.lock().unwrap().insert(key.to_string(), bytes);
            Box::pin(async { Ok(()) })
        }
        fn get(&self, key: &str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + '_>> {
            let mut bytes = self.objects.lock().unwrap().get(key).cloned().ok_or_else(|| format!("no {key}"));
            if self.garble {
                bytes = bytes.map(|mut b| {
                    b.push(b' ');
                    b
                });
            }
            Box::pin(async move { bytes })
        }
    }

    const DAY: i64 = 86_400_000;

    async fn trail() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("content.db")).await.unwrap();
        for (n, at) in [(1, 0), (2, DAY), (3, 2 * DAY), (4, 300 * DAY)] {
            let t = Tenant::new(n, format!("s{n}"), format!("镇{n}"), TenantKind::Township, format!("ORG{n}"), at);
            let p = Proposal::new(1_800_000_000_000 + at, None, None, Command::CreateTenant { tenant: t });
            store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&p)).await.unwrap().0.unwrap();
        }
        (dir, store)
    }

    #[tokio::test]
    async fn the_old_lines_are_written_as_a_file_that_verifies_on_its_own() {
        let (_dir, store) = trail().await;
        let archive = Memory::default();
        let before = 1_800_000_000_000 + 200 * DAY;
        let e = export_next(&store, &archive, before).await.unwrap().expect("three old lines");
        assert_eq!((e.lines, e.object_key.as_str()), (3, "audit/000000000001-000000000003.jsonl"));
        let file = archive.objects.lock().unwrap()[&e.object_key].clone();
        assert_eq!(hex::encode(Sha256::digest(&file)), e.sha256);
        // Each line of the file chains from the one before, from the start.
        let mut previous = String::new();
        for text in String::from_utf8(file).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let line = AuditLine {
                at: v["at"].as_i64().unwrap(),
                actor: v["actor"].as_i64(),
                client_ip: v["client_ip"].as_str().map(String::from),
                tenant_id: v["tenant_id"].as_i64(),
                target_id: v["target_id"].as_i64(),
                action: v["action"].as_str().unwrap().to_string(),
                result: v["result"].as_str().unwrap().to_string(),
                detail: v["detail"].as_str().map(String::from),
            };
            assert_eq!(line.chain(&previous), v["hash"].as_str().unwrap(), "{text}");
            previous = v["hash"].as_str().unwrap().to_string();
        }
        assert_eq!(previous, e.handover_hash);
        // Nothing old enough: nothing to write; and the newest line is never exported.
        assert_eq!(export_next(&store, &archive, 1_800_000_000_000).await.unwrap(), None);
        let all = export_next(&store, &archive, i64::MAX).await.unwrap().unwrap();
        assert_eq!(all.through_id, 3, "line 4, the newest, stays");
    }

    #[tokio::test]
    async fn a_store_that_reads_back_other_bytes_gets_nothing_archived() {
        let (_dir, store) = trail().await;
        let archive = Memory { garble: true, ..Memory::default() };
        let refused = export_next(&store, &archive, i64::MAX).await.unwrap_err();
        assert!(refused.contains("reads back different"), "{refused}");
    }
}
