//! `zhanqun backup` and `zhanqun restore`: the operator's hands on
//! `zhanqun_platform::backup`. A backup runs beside a serving node (on its
//! machine or in its pod, reading its data directory); a restore writes an
//! empty data directory from which a new cluster is founded.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use zhanqun_platform::backup::{self, Target};
use zhanqun_web::Blobs;

use crate::DEFAULT_DATA;

/// Where a node keeps attachments: `serve`, `backup` and `restore` take
/// the same flags and variables.
#[derive(Args, Debug)]
pub struct BlobArgs {
    /// Keep attachments in this S3-compatible bucket, shared by every node
    /// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region
    /// from AWS_REGION). [default: the directory <data>/blobs]
    #[arg(long, env = "ZHANQUN_S3_BUCKET")]
    pub(crate) s3_bucket: Option<String>,
    /// The S3 endpoint, e.g. http://minio.storage:9000 (path-style requests).
    #[arg(long, env = "ZHANQUN_S3_ENDPOINT", requires = "s3_bucket")]
    pub(crate) s3_endpoint: Option<String>,
    /// Keep attachments in this directory instead of <data>/blobs (a volume
    /// every node mounts).
    #[arg(long, env = "ZHANQUN_BLOBS_DIR", conflicts_with = "s3_bucket")]
    pub(crate) blobs_dir: Option<PathBuf>,
}

impl BlobArgs {
    fn open(&self, data: &std::path::Path) -> anyhow::Result<Blobs> {
        match (&self.s3_bucket, &self.blobs_dir) {
            (Some(bucket), _) => Blobs::s3(bucket, self.s3_endpoint.as_deref()).with_context(|| format!("cannot configure the S3 bucket {bucket}")),
            (None, dir) => {
                let dir = dir.clone().unwrap_or_else(|| data.join("blobs"));
                Blobs::local(&dir).with_context(|| format!("cannot open the attachment directory {}", dir.display()))
            }
        }
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The node's data directory; its content database is copied while the
    /// node serves.
    #[arg(long, env = "ZHANQUN_DATA", default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// Where backups go: file:///dir or s3://bucket/prefix.
    #[arg(long, env = "ZHANQUN_BACKUP_TO")]
    to: String,
    /// Then keep only this many newest backups (and the attachments they name).
    #[arg(long)]
    keep: Option<usize>,
    /// List the finished backups at --to instead of taking one.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    blobs: BlobArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Where the backups are: file:///dir or s3://bucket/prefix.
    #[arg(long)]
    from: String,
    /// Which backup (an id from `backup --list`) [default: the newest].
    #[arg(long)]
    id: Option<String>,
    /// An empty directory for the new cluster's first node.
    #[arg(long)]
    data: PathBuf,
    /// When --data already holds a node's data, say so and succeed without
    /// restoring (a Kubernetes init container, run at every pod start).
    #[arg(long)]
    if_empty: bool,
    /// Restore only in a StatefulSet's pod 0 (POD_NAME or HOSTNAME ending in
    /// `-0`); in the other pods do nothing: they join the cluster pod 0 founds.
    #[arg(long)]
    only_pod_zero: bool,
    #[command(flatten)]
    blobs: BlobArgs,
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let target = Target::parse(&args.to).map_err(anyhow::Error::msg)?;
    if args.list {
        for m in target.backups().await.map_err(anyhow::Error::msg)? {
            println!("{}  {} bytes  {} sites  {} documents  {} attachments", m.id, m.database_bytes, m.sites, m.documents, m.attachments.len());
        }
        return Ok(());
    }
    let database = args.data.join("content.db");
    if !database.exists() {
        bail!("{} holds no node's data (no content.db): name the node's --data directory", args.data.display());
    }
    let blobs = args.blobs.open(&args.data)?;
    let m = backup::backup(&database, &blobs, &target, zhanqun_platform::now_ms()).await.map_err(anyhow::Error::msg)?;
    println!(
        "backup {} written to {}: {} bytes of database (sha256 {}), {} sites, {} documents, {} attachments",
        m.id,
        target.url,
        m.database_bytes,
        m.database_sha256,
        m.sites,
        m.documents,
        m.attachments.len()
    );
    if let Some(keep) = args.keep {
        let pruned = backup::prune(&target, keep.max(1)).await.map_err(anyhow::Error::msg)?;
        println!("kept the newest {} backups; deleted {pruned}", keep.max(1));
    }
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    if args.only_pod_zero {
        let pod = std::env::var("POD_NAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_default();
        if !pod.ends_with("-0") {
            println!("{pod} is not pod 0: nothing to restore here (it joins the cluster pod 0 founds)");
            return Ok(());
        }
    }
    if args.if_empty && (args.data.join("content.db").exists() || args.data.join("raft-log.db").exists()) {
        println!("{} already holds a node's data: nothing restored", args.data.display());
        return Ok(());
    }
    let target = Target::parse(&args.from).map_err(anyhow::Error::msg)?;
    let blobs = args.blobs.open(&args.data)?;
    let r = backup::restore(&target, args.id.as_deref(), &args.data, &blobs).await.map_err(anyhow::Error::msg)?;
    println!(
        "restored backup {} into {}: {} sites, {} documents; {} attachments checked whole, {} put back from the backup",
        r.manifest.id,
        args.data.display(),
        r.manifest.sites,
        r.manifest.documents,
        r.attachments_present,
        r.attachments_put_back
    );
    println!("start the new cluster's first node on it: zhanqun serve --data {} --bootstrap …; the others join it", args.data.display());
    Ok(())
}
