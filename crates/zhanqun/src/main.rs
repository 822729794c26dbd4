//! `zhanqun`: one binary for every node of a zhanqun cluster.

mod config;
mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use zhanqun_cluster::{Node, NodeConfig};
use zhanqun_model::{Command, PlatformRole, Proposal, User};
use zhanqun_web::{App, Blobs, Derived, WebConfig};

use crate::config::{DEFAULT_DATA, DEFAULT_LISTEN, DEFAULT_MAX_UPLOAD_MB, FileConfig, Settings};

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
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory for the content database, Raft log, snapshots and attachments.
    /// [default: ./zhanqun-data]
    #[arg(long, env = "ZHANQUN_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on. Use 0.0.0.0:8080 to serve other machines.
    /// [default: 127.0.0.1:8080]
    #[arg(long, env = "ZHANQUN_LISTEN")]
    listen: Option<SocketAddr>,
    /// TOML file with any of: data, listen, node_id, advertise, max_upload_mb.
    /// Flags and ZHANQUN_* variables override it.
    #[arg(long, env = "ZHANQUN_CONFIG")]
    config: Option<PathBuf>,
    /// This node's Raft id. [default: 1]
    #[arg(long, env = "ZHANQUN_NODE_ID")]
    node_id: Option<u64>,
    /// URL other nodes reach this node at. [default: http://<listen>]
    #[arg(long, env = "ZHANQUN_ADVERTISE")]
    advertise: Option<String>,
    /// Largest attachment accepted, in MiB. [default: 100]
    #[arg(long, env = "ZHANQUN_MAX_UPLOAD_MB")]
    max_upload_mb: Option<usize>,
    /// On an empty data directory, load the demo: the Haicheng city portal,
    /// three township and two department sites.
    #[arg(long)]
    demo: bool,
}

impl ServeArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let listen = self.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses"));
        let max_upload_mb = self.max_upload_mb.or(file.max_upload_mb).unwrap_or(DEFAULT_MAX_UPLOAD_MB);
        if max_upload_mb == 0 || max_upload_mb > 4096 {
            bail!("max_upload_mb must be between 1 and 4096 (got {max_upload_mb})");
        }
        Ok(Settings {
            data: self.data.clone().or(file.data).unwrap_or_else(|| DEFAULT_DATA.into()),
            listen,
            node_id: self.node_id.or(file.node_id).unwrap_or(1),
            advertise: self.advertise.clone().or(file.advertise).unwrap_or_else(|| format!("http://{listen}")),
            max_upload_bytes: max_upload_mb * 1024 * 1024,
        })
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ZHANQUN_LOG").unwrap_or_else(|_| "info,openraft=warn,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Cmd::Serve(args) => runtime.block_on(serve(args)),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let derived = Arc::new(Derived::default());
    let node = Node::start(NodeConfig { data_dir: settings.data.clone(), node_id: settings.node_id, advertise: settings.advertise.clone() }, derived.clone())
        .await
        .with_context(|| format!("cannot start the node with data directory {}", settings.data.display()))?;
    let node = Arc::new(node);
    if !node.wait_leader(Duration::from_secs(30)).await {
        bail!("no Raft leader after 30 s; is the data directory from another cluster?");
    }
    let blobs = Blobs::local(&settings.data.join("blobs")).context("cannot create the attachment directory")?;
    let app = Arc::new(App::new(node.clone(), blobs, derived, WebConfig { max_upload_bytes: settings.max_upload_bytes, ..Default::default() }));

    bootstrap_admin(&node).await?;
    if args.demo {
        demo::load(&node).await?;
    }

    let listener = tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(listen = %settings.listen, data = %settings.data.display(), node = settings.node_id, "serving");
    eprintln!("zhanqun is serving on http://{}/  (sites listed at /, admin API at /api/v1/)", settings.listen);
    zhanqun_web::serve(app, listener, shutdown_signal()).await?;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

/// On an empty platform, creates the platform administrator `admin`.
async fn bootstrap_admin(node: &Node) -> anyhow::Result<()> {
    if node.store.has_users().await? {
        return Ok(());
    }
    let (password, generated) = match std::env::var("ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generate_password(), true),
    };
    let hash = tokio::task::spawn_blocking(move || (zhanqun_web::hash_password(&password), password)).await?;
    let (password_hash, password) = hash;
    let at = zhanqun_web::now_ms();
    let user = User {
        id: zhanqun_web::new_id(),
        username: "admin".into(),
        display_name: "系统管理员".into(),
        password_hash,
        platform_role: Some(PlatformRole::Admin),
        grants: vec![],
        created_at: at,
    };
    let written = node.write(Proposal { at, actor: None, client_ip: None, command: Command::CreateUser { user } }).await?;
    if let Err(r) = written.outcome {
        bail!("could not create the admin user: {}", r.message);
    }
    // Printed once, to the console only: logs never carry secrets.
    if generated {
        eprintln!(
            "\n  Created the platform administrator.\n    username: admin\n    password: {password}\n  It is shown only now. Set ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD to choose it instead.\n"
        );
    } else {
        eprintln!("\n  Created the platform administrator `admin` with the password from ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD.\n");
    }
    Ok(())
}

fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut p: String = (0..16).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
    // Meets the password policy (three character classes) by construction.
    p.push_str("-7a");
    p
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
