//! Backups (备份) and restore (恢复): a consistent copy of a node's content
//! database, taken while the cluster serves, with every attachment it
//! names, in an object store; and a new cluster's first node made from one.
//!
//! Layout under the target (`file:///path` or `s3://bucket/prefix`):
//!
//! ```text
//! backups/<id>/content.db      VACUUM INTO copy (one read transaction)
//! backups/<id>/manifest.json   written last: a backup without it is unfinished
//! blobs/<sha256>               attachments, shared by every backup (each
//!                              stored once, copied only when missing)
//! ```
//!
//! The search index is not backed up: a node rebuilds it from the database.
//! Restoring writes the database into an empty data directory without the
//! old cluster's Raft position and membership, so the node founds a new
//! cluster on it (`--bootstrap`) and the others join; every attachment is
//! read back and hashed, and one missing or altered in the attachment store
//! is put back from the backup.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use zhanqun_model::Millis;

/// What a backup holds; `manifest.json` beside its database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: Millis,
    /// The zhanqun version that wrote it.
    pub version: String,
    pub database_bytes: u64,
    pub database_sha256: String,
    /// The log position the copy holds (opaque JSON), for the record.
    pub applied: Option<String>,
    pub sites: i64,
    pub documents: i64,
    pub attachments: Vec<AttachmentEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachmentEntry {
    pub sha256: String,
    pub bytes: i64,
}

type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The attachment store a node uses (the web layer implements it over its
/// blobs): read, write and ask by content hash.
pub trait AttachmentBlobs: Send + Sync {
    fn get(&self, sha256: &str) -> BoxFuture<'_, Result<Option<Vec<u8>>, String>>;
    fn put(&self, sha256: &str, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;
}

/// Where backups go: an object store and a prefix in it.
#[derive(Clone)]
pub struct Target {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    pub url: String,
}

impl Target {
    /// `file:///absolute/dir` or `s3://bucket[/prefix]` (the S3 endpoint
    /// and credentials from `ZHANQUN_BACKUP_S3_ENDPOINT` or `AWS_ENDPOINT`
    /// and the usual `AWS_*` variables).
    pub fn parse(url: &str) -> Result<Target, String> {
        if let Some(dir) = url.strip_prefix("file://") {
            if !dir.starts_with('/') {
                return Err(format!("{url}: a file:// target needs an absolute path (file:///srv/backups)"));
            }
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the backup directory {dir}: {e}"))?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| format!("{url}: {e}"))?;
            return Ok(Target { store: Arc::new(fs), prefix: String::new(), url: url.to_string() });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{url}: name the bucket (s3://bucket/prefix)"));
            }
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_virtual_hosted_style_request(false);
            if let Ok(endpoint) = std::env::var("ZHANQUN_BACKUP_S3_ENDPOINT").or_else(|_| std::env::var("ZHANQUN_S3_ENDPOINT")) {
                builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
            }
            let store = builder.build().map_err(|e| format!("{url}: {e}"))?;
            let prefix = prefix.trim_matches('/');
            return Ok(Target { store: Arc::new(store), prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") }, url: url.to_string() });
        }
        Err(format!("{url}: a backup target is file:///dir or s3://bucket/prefix"))
    }

    fn path(&self, key: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{key}", self.prefix))
    }

    async fn has(&self, key: &str) -> Result<bool, String> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(format!("{}: cannot look up {key}: {e}", self.url)),
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        let got = async { self.store.get(&self.path(key)).await?.bytes().await };
        got.await.map(|b| b.to_vec()).map_err(|e| format!("{}: cannot read {key}: {e}", self.url))
    }

    async fn write(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.store.put(&self.path(key), PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| format!("{}: cannot write {key}: {e}", self.url))
    }

    /// Every finished backup, oldest first.
    pub async fn backups(&self) -> Result<Vec<Manifest>, String> {
        let listed = self.store.list_with_delimiter(Some(&self.path("backups"))).await.map_err(|e| format!("{}: cannot list the backups: {e}", self.url))?;
        let mut out = Vec::new();
        for dir in listed.common_prefixes {
            let Some(id) = dir.filename() else { continue };
            let key = format!("backups/{id}/manifest.json");
            if !self.has(&key).await? {
                continue; // unfinished (a backup that stopped half-way)
            }
            let manifest: Manifest =
                serde_json::from_slice(&self.read(&key).await?).map_err(|e| format!("{}: backups/{id}/manifest.json cannot be read: {e}", self.url))?;
            out.push(manifest);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn file_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// A backup's id: when it was taken, sortable (`20261202T031500Z`).
fn backup_id(at: Millis) -> String {
    let c = zhanqun_model::time::to_civil(at - 8 * 3_600_000);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// What the copy holds: (attachments, sites, documents).
async fn read_copy(path: &Path) -> Result<(Vec<AttachmentEntry>, i64, i64), String> {
    let (attachments, sites, documents) = zhanqun_store::copy_contents(path).await.map_err(|e| format!("cannot read the copy: {e}"))?;
    Ok((attachments.into_iter().map(|(sha256, bytes)| AttachmentEntry { sha256, bytes }).collect(), sites, documents))
}

/// Takes a backup of the content database at `database` (a node's,
/// serving or not: the copy is one read transaction beside its writer) into
/// `target`. The copy is made next to the database first (deleted after).
pub async fn backup(database: &Path, blobs: &dyn AttachmentBlobs, target: &Target, now: Millis) -> Result<Manifest, String> {
    let scratch = database.parent().unwrap_or(Path::new("."));
    let id = backup_id(now);
    let copy = scratch.join(format!("backup-{id}.db"));
    let _ = tokio::fs::remove_file(&copy).await;
    let taken = async {
        let applied = zhanqun_store::copy_database(database, &copy).await.map_err(|e| format!("cannot copy the database {}: {e}", database.display()))?;
        let (attachments, sites, documents) = read_copy(&copy).await?;
        let (database_bytes, database_sha256) = file_sha256(&copy).await.map_err(|e| format!("cannot read the copy: {e}"))?;
        for a in &attachments {
            let key = format!("blobs/{}", a.sha256);
            if target.has(&key).await? {
                continue;
            }
            let bytes =
                blobs.get(&a.sha256).await?.ok_or_else(|| format!("attachment {} is named by the database but not in the attachment store", a.sha256))?;
            if sha256_hex(&bytes) != a.sha256 {
                return Err(format!("attachment {} in the attachment store does not match its hash; not backed up", a.sha256));
            }
            target.write(&key, bytes).await?;
        }
        upload_file(target, &format!("backups/{id}/content.db"), &copy).await?;
        let manifest = Manifest {
            format: 1,
            id: id.clone(),
            created_at: now,
            version: env!("CARGO_PKG_VERSION").to_string(),
            database_bytes,
            database_sha256,
            applied,
            sites,
            documents,
            attachments,
        };
        target.write(&format!("backups/{id}/manifest.json"), serde_json::to_vec_pretty(&manifest).expect("manifest serializes")).await?;
        Ok(manifest)
    }
    .await;
    let _ = tokio::fs::remove_file(&copy).await;
    taken
}

/// A file of any size into the target, in 16 MiB parts.
async fn upload_file(target: &Target, key: &str, file: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: cannot write {key}: {e}", target.url);
    let upload = target.store.put_multipart(&target.path(key)).await.map_err(|e| fail(&e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 16 << 20);
    let mut f = tokio::fs::File::open(file).await.map_err(|e| fail(&e))?;
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = f.read(&mut buf).await.map_err(|e| fail(&e))?;
        if n == 0 {
            break;
        }
        writer.wait_for_capacity(4).await.map_err(|e| fail(&e))?;
        writer.write(&buf[..n]);
    }
    writer.finish().await.map_err(|e| fail(&e))?;
    Ok(())
}

/// Keeps the newest `keep` backups and the attachments they name; deletes
/// the rest. Answers how many backups were deleted.
pub async fn prune(target: &Target, keep: usize) -> Result<usize, String> {
    let all = target.backups().await?;
    let (old, kept) = all.split_at(all.len().saturating_sub(keep));
    for m in old {
        let prefix = target.path(&format!("backups/{}", m.id));
        let objects: Vec<object_store::ObjectMeta> =
            target.store.list(Some(&prefix)).try_collect().await.map_err(|e| format!("{}: cannot list {prefix}: {e}", target.url))?;
        // The manifest first: a half-deleted backup is then an unfinished one.
        let mut keys: Vec<ObjectPath> = objects.into_iter().map(|o| o.location).collect();
        keys.sort_by_key(|k| !k.as_ref().ends_with("manifest.json"));
        for key in keys {
            target.store.delete(&key).await.map_err(|e| format!("{}: cannot delete {key}: {e}", target.url))?;
        }
    }
    let named: std::collections::HashSet<&str> = kept.iter().flat_map(|m| m.attachments.iter().map(|a| a.sha256.as_str())).collect();
    let blobs: Vec<object_store::ObjectMeta> =
        target.store.list(Some(&target.path("blobs"))).try_collect().await.map_err(|e| format!("{}: cannot list the blobs: {e}", target.url))?;
    for blob in blobs {
        if blob.location.filename().is_some_and(|sha| !named.contains(sha)) {
            target.store.delete(&blob.location).await.map_err(|e| format!("{}: cannot delete {}: {e}", target.url, blob.location))?;
        }
    }
    Ok(old.len())
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Attachments found whole in the attachment store.
    pub attachments_present: usize,
    /// Attachments missing or altered there, put back from the backup.
    pub attachments_put_back: usize,
}

/// Writes backup `id` (the newest when `None`) into the empty data
/// directory `data` as a new cluster's first node, and makes sure every
/// attachment it names is whole in `blobs`.
pub async fn restore(target: &Target, id: Option<&str>, data: &Path, blobs: &dyn AttachmentBlobs) -> Result<Restored, String> {
    let db = data.join("content.db");
    if db.exists() || data.join("raft-log.db").exists() {
        return Err(format!("{} already holds a node's data; restore into an empty directory", data.display()));
    }
    let backups = target.backups().await?;
    let manifest = match id {
        Some(id) => backups.into_iter().find(|m| m.id == id).ok_or_else(|| format!("{}: no finished backup {id}", target.url))?,
        None => backups.into_iter().next_back().ok_or_else(|| format!("{}: no finished backup", target.url))?,
    };
    tokio::fs::create_dir_all(data).await.map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let staged: PathBuf = data.join("content.db.restoring");
    download(target, &format!("backups/{}/content.db", manifest.id), &staged).await?;
    let (bytes, sha) = file_sha256(&staged).await.map_err(|e| e.to_string())?;
    if (bytes, sha.as_str()) != (manifest.database_bytes, manifest.database_sha256.as_str()) {
        let _ = tokio::fs::remove_file(&staged).await;
        return Err(format!(
            "backup {}: the database read back ({bytes} bytes, sha256 {sha}) is not the one the manifest names ({} bytes, sha256 {}); nothing restored",
            manifest.id, manifest.database_bytes, manifest.database_sha256
        ));
    }
    forget_old_cluster(&staged).await?;
    let mut present = 0;
    let mut put_back = 0;
    for a in &manifest.attachments {
        match blobs.get(&a.sha256).await? {
            Some(bytes) if sha256_hex(&bytes) == a.sha256 => present += 1,
            _ => {
                let bytes = target.read(&format!("blobs/{}", a.sha256)).await?;
                if sha256_hex(&bytes) != a.sha256 {
                    return Err(format!("backup {}: attachment {} in the backup does not match its hash; nothing restored", manifest.id, a.sha256));
                }
                blobs.put(&a.sha256, bytes).await?;
                put_back += 1;
            }
        }
    }
    tokio::fs::rename(&staged, &db).await.map_err(|e| format!("cannot move the database into place: {e}"))?;
    Ok(Restored { manifest, attachments_present: present, attachments_put_back: put_back })
}

async fn download(target: &Target, key: &str, to: &Path) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let fail = |e: &dyn std::fmt::Display| format!("{}: cannot read {key}: {e}", target.url);
    let got = target.store.get(&target.path(key)).await.map_err(|e| fail(&e))?;
    let mut stream = got.into_stream();
    let mut file = tokio::fs::File::create(to).await.map_err(|e| fail(&e))?;
    while let Some(chunk) = stream.try_next().await.map_err(|e| fail(&e))? {
        file.write_all(&chunk).await.map_err(|e| fail(&e))?;
    }
    file.sync_all().await.map_err(|e| fail(&e))?;
    Ok(())
}

/// The copy leaves the old cluster's log position and membership behind:
/// the restored node founds a new cluster whose log starts afresh on top
/// of the content (the audit chain goes on from its last line).
async fn forget_old_cluster(db: &Path) -> Result<(), String> {
    zhanqun_store::forget_cluster(db).await.map_err(|e| format!("cannot prepare the restored database: {e}"))
}

/// Scheduled backups (`serve --backup-to`): the leader takes one every
/// `every` and keeps the newest `keep`. Every node knows when the newest
/// finished backup was taken (read from the target at start and at each
/// look), so the gauge an alert watches does not drop to zero when
/// leadership moves.
pub struct BackupSchedule {
    node: Arc<zhanqun_cluster::Node>,
    blobs: Arc<dyn AttachmentBlobs>,
    target: Target,
    every: std::time::Duration,
    keep: usize,
    last_success: prometheus::Gauge,
    failures: prometheus::IntCounter,
    first: bool,
}

impl BackupSchedule {
    pub fn new(
        node: Arc<zhanqun_cluster::Node>,
        blobs: Arc<dyn AttachmentBlobs>,
        target: Target,
        every: std::time::Duration,
        keep: usize,
        registry: &prometheus::Registry,
    ) -> BackupSchedule {
        let last_success = prometheus::Gauge::new(
            "zhanqun_backup_last_success_timestamp_seconds",
            "When the newest finished backup at --backup-to was taken (Unix time, seconds; 0 before any)",
        )
        .expect("valid metric");
        let failures = prometheus::IntCounter::new("zhanqun_backup_failures_total", "Scheduled backups this node tried as leader and could not finish")
            .expect("valid metric");
        let _ = registry.register(Box::new(last_success.clone()));
        let _ = registry.register(Box::new(failures.clone()));
        BackupSchedule { node, blobs, target, every, keep, last_success, failures, first: true }
    }

    async fn note_newest(&self) {
        match self.target.backups().await {
            Ok(all) => {
                if let Some(newest) = all.last() {
                    self.last_success.set((newest.created_at / 1000) as f64);
                }
            }
            Err(e) => tracing::warn!("backups: {e}"),
        }
    }

    /// Whether one is due: the newest finished backup is older than `every`.
    fn due(&self) -> bool {
        let newest_ms = self.last_success.get() * 1000.0;
        crate::now_ms() as f64 - newest_ms >= self.every.as_millis() as f64
    }
}

impl crate::worker::Worker for BackupSchedule {
    const NAME: &'static str = "backups";

    async fn start(&mut self) {
        self.note_newest().await;
    }

    async fn wait(&mut self) -> bool {
        // Soon after start, then every tenth of the interval (at most a
        // minute apart), so a new leader takes over on time.
        let pause = if std::mem::take(&mut self.first) { std::time::Duration::from_secs(5) } else { (self.every / 10).min(std::time::Duration::from_secs(60)) };
        tokio::time::sleep(pause).await;
        true
    }

    async fn tick(&mut self) {
        if self.node.leader().map(|(id, _)| id) != Some(self.node.id) {
            // Another node takes them; follow what it wrote.
            self.note_newest().await;
            return;
        }
        if !self.due() {
            return;
        }
        let database = self.node.store.path().to_path_buf();
        match backup(&database, self.blobs.as_ref(), &self.target, crate::now_ms()).await {
            Ok(m) => {
                tracing::info!(id = %m.id, target = %self.target.url, bytes = m.database_bytes, attachments = m.attachments.len(), "backup written");
                self.last_success.set((m.created_at / 1000) as f64);
                if let Err(e) = prune(&self.target, self.keep).await {
                    tracing::warn!("backups: cannot delete the old ones: {e}");
                }
            }
            Err(e) => {
                self.failures.inc();
                tracing::error!(target = %self.target.url, "backup failed: {e}");
            }
        }
    }
}
