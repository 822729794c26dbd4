//! `zhanqun`: one binary for every node of a zhanqun cluster. Each
//! subcommand lives in its own module: `serve_cmd` runs a node (the web
//! adapters over `zhanqun_platform`), `cluster_cmd` changes membership,
//! `search_cmd` rebuilds the search index, `account_cmd` manages platform
//! accounts. Only `serve` needs the `web` crate; built without the `serve`
//! feature (`--no-default-features`) the binary is the operator's tools
//! alone.

mod account_cmd;
mod audit_cmd;
#[cfg(feature = "serve")]
mod backup_cmd;
mod cluster_cmd;
#[cfg(feature = "serve")]
mod config;
#[cfg(feature = "serve")]
mod demo;
mod health_cmd;
mod search_cmd;
#[cfg(feature = "serve")]
mod serve_cmd;
#[cfg(feature = "serve")]
mod watch_args;

use clap::{Parser, Subcommand};
use zhanqun_cluster::ClusterSecret;

/// Where a node keeps its data unless told otherwise.
pub(crate) const DEFAULT_DATA: &str = "./zhanqun-data";

/// zhanqun (站群): many government websites on one clustered platform.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a node: public sites, admin API under /api/v1/, health at /healthz and /readyz.
    #[cfg(feature = "serve")]
    Serve(Box<serve_cmd::ServeArgs>),
    /// Inspect or change the cluster's membership (needs ZHANQUN_CLUSTER_SECRET).
    Cluster(cluster_cmd::ClusterArgs),
    /// Rebuild this node's search index from its content store (node stopped).
    Reindex(search_cmd::ReindexArgs),
    /// Platform accounts (系统/安全/审计管理员): create, set a password,
    /// disable, enable, end sessions, unlock (needs ZHANQUN_CLUSTER_SECRET).
    Account(account_cmd::AccountArgs),
    /// The audit trail, offline: `audit verify --data DIR` checks its hash
    /// chain on a node's files.
    Audit(audit_cmd::AuditArgs),
    /// Back a node's data up to file:///dir or s3://bucket/prefix while it
    /// serves (database and attachments), or list the backups there.
    #[cfg(feature = "serve")]
    Backup(backup_cmd::BackupArgs),
    /// Write a backup into an empty data directory: the first node of a new cluster.
    #[cfg(feature = "serve")]
    Restore(backup_cmd::RestoreArgs),
    /// Ask a node's /healthz; exit 0 when it answers (the image's HEALTHCHECK).
    Health(health_cmd::HealthArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ZHANQUN_LOG").unwrap_or_else(|_| "info,openraft=warn,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files
        // and collectors (Kubernetes, journald).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    zhanqun_cluster::network::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        #[cfg(feature = "serve")]
        Cmd::Serve(args) => runtime.block_on(serve_cmd::serve(*args)),
        Cmd::Cluster(args) => runtime.block_on(cluster_cmd::run(args)),
        Cmd::Reindex(args) => runtime.block_on(search_cmd::reindex(args)),
        Cmd::Account(args) => runtime.block_on(account_cmd::run(args)),
        Cmd::Audit(args) => runtime.block_on(audit_cmd::run(args)),
        #[cfg(feature = "serve")]
        Cmd::Backup(args) => runtime.block_on(backup_cmd::backup(args)),
        #[cfg(feature = "serve")]
        Cmd::Restore(args) => runtime.block_on(backup_cmd::restore(args)),
        Cmd::Health(args) => runtime.block_on(health_cmd::run(args)),
    }
}

/// The cluster secret, from the environment only: a flag would show in `ps`.
pub(crate) fn cluster_secret() -> anyhow::Result<Option<ClusterSecret>> {
    match std::env::var("ZHANQUN_CLUSTER_SECRET") {
        Ok(v) if !v.is_empty() => Ok(Some(ClusterSecret::new(&v).map_err(|e| anyhow::anyhow!("ZHANQUN_CLUSTER_SECRET: {e}"))?)),
        _ => Ok(None),
    }
}

pub(crate) fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut p: String = (0..16).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
    // Meets the password policy (three character classes) by construction.
    p.push_str("-7a");
    p
}
