//! `zhanqun serve`: runs a node — the cluster, the platform's workers and
//! the web adapters — forms or joins the cluster as its flags say, and
//! makes the first accounts (and the demo) on a new cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use zhanqun_cluster::{Node, NodeConfig};
use zhanqun_model::{Command, PlatformRole, Proposal, User};
use zhanqun_platform::compliance::{HomeProber, Monitors};
use zhanqun_platform::feeds::{FeedMetrics, FeedPoller};
use zhanqun_platform::indexer::Indexer;
use zhanqun_platform::reposts::{Gauges, Proofs};
use zhanqun_platform::schedule::Scheduler;
use zhanqun_platform::worker::Workers;
use zhanqun_platform::{Derived, new_id, now_ms};
use zhanqun_web::{App, Blobs, WebConfig};

use crate::config::{BlobSetting, DEFAULT_DATA, DEFAULT_LISTEN, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PAGE_CACHE_MB, FileConfig, LandingSetting, Settings};
use crate::{cluster_secret, demo, generate_password, search_cmd};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Directory for the content database, Raft log, snapshots and attachments.
    /// [default: ./zhanqun-data]
    #[arg(long, env = "ZHANQUN_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on. Use 0.0.0.0:8080 to serve other machines.
    /// [default: 127.0.0.1:8080]
    #[arg(long, env = "ZHANQUN_LISTEN")]
    listen: Option<SocketAddr>,
    /// TOML file with any of: data, listen, node_id, advertise, max_upload_mb,
    /// s3_bucket, s3_endpoint, blobs_dir, search_dictionary.
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
    /// Start a new cluster with this node as its only member (the default
    /// when neither --bootstrap nor --join is given and the data directory
    /// is empty).
    #[arg(long, conflicts_with = "join")]
    bootstrap: bool,
    /// Start empty and wait to be added with `zhanqun cluster add` (neither
    /// found a cluster nor join one).
    #[arg(long, conflicts_with_all = ["join", "bootstrap"])]
    await_membership: bool,
    /// Join the cluster of the node at this URL (any member; a Kubernetes
    /// headless service name works). The node enters as a learner, catches
    /// up, then becomes a voter. Ignored on restart: the node is a member.
    /// A node that lost its data and joins again is re-added as a new member.
    #[arg(long, env = "ZHANQUN_JOIN")]
    join: Option<String>,
    /// The other nodes of a cluster that forms itself (a StatefulSet's pods),
    /// comma separated. Node 1 started empty with --join founds the cluster
    /// only when every one of them answers and none holds any Raft state —
    /// never when one is down or busy electing, so a node 1 that lost its
    /// data rejoins instead of founding a second cluster.
    #[arg(long, env = "ZHANQUN_PEERS", value_delimiter = ',')]
    peers: Vec<String>,
    /// The operator's word that this node, whose data is lost, may take on
    /// the identity the cluster remembers for it and vote again at once —
    /// for when the cluster cannot elect a leader without it. Entries it
    /// had acknowledged before may be lost. Otherwise a node that lost its
    /// data votes only once re-added (see README, Durability).
    #[arg(long)]
    adopt_identity: bool,
    /// Take the node id from the host name's ordinal suffix plus one
    /// (`zhanqun-0` → 1, `zhanqun-2` → 3), as a StatefulSet names its pods.
    #[arg(long, conflicts_with = "node_id")]
    node_id_from_hostname: bool,
    #[command(flatten)]
    blobs: crate::backup_cmd::BlobArgs,
    /// Snapshot the store and purge the Raft log every this many entries.
    #[arg(long, env = "ZHANQUN_SNAPSHOT_EVERY", default_value_t = zhanqun_cluster::DEFAULT_SNAPSHOT_EVERY)]
    snapshot_every: u64,
    /// Memory for rendered public pages, MiB; past it the site holding the
    /// most gives up its oldest pages first. [default: 256]
    #[arg(long, env = "ZHANQUN_PAGE_CACHE_MB")]
    page_cache_mb: Option<usize>,
    /// What `/` shows on a host no site owns: `sites` (the online sites) or
    /// `none` (a plain 404). [default: sites]
    #[arg(long, env = "ZHANQUN_LANDING")]
    landing: Option<LandingSetting>,
    /// Serve /metrics on this address only (e.g. 0.0.0.0:9090 on a network
    /// the public cannot reach), not on the public listener. A token in
    /// ZHANQUN_METRICS_TOKEN is asked for in either case.
    #[arg(long, env = "ZHANQUN_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Serve HTTPS on this address too (e.g. 0.0.0.0:8443), each site with
    /// the certificate the 系统管理员 gave it, chosen by SNI (TLS 1.2+).
    #[arg(long, env = "ZHANQUN_TLS_LISTEN")]
    tls_listen: Option<SocketAddr>,
    /// With --tls-listen: plain HTTP on a host that has a certificate
    /// answers with a redirect to HTTPS.
    #[arg(long, env = "ZHANQUN_TLS_REDIRECT_HTTP", requires = "tls_listen")]
    tls_redirect_http: bool,
    /// How long a login lasts, in seconds. [default: 43200, twelve hours]
    #[arg(long, env = "ZHANQUN_SESSION_TTL_SECS")]
    session_ttl_secs: Option<u64>,
    /// Seconds a client has to send a request's head; also how long an
    /// idle keep-alive connection stays open. [default: 20]
    #[arg(long, env = "ZHANQUN_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>,
    /// Seconds a request body (or a client reading an answer) may stall
    /// before the connection is closed. [default: 30]
    #[arg(long, env = "ZHANQUN_BODY_TIMEOUT_SECS")]
    body_timeout_secs: Option<u64>,
    /// Reverse proxies (addresses or networks like 10.0.0.0/8, comma
    /// separated) whose X-Forwarded-For names the client: login locks and
    /// the audit trail then see the client's address, not the proxy's.
    #[arg(long, env = "ZHANQUN_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxy: Vec<zhanqun_web::client::Cidr>,
    /// Extra words for Chinese search, one per line (`word [frequency] [tag]`),
    /// added to jieba's dictionary and zhanqun's government terms. Changing
    /// the file rebuilds the index at the next start.
    #[arg(long, env = "ZHANQUN_SEARCH_DICTIONARY")]
    search_dictionary: Option<PathBuf>,
    /// Seconds between two probes of every site's home page by the leader
    /// (the inspection counts ≥ 20 a day). [default: 3600]
    #[arg(long, env = "ZHANQUN_HOME_PROBE_SECS")]
    home_probe_secs: Option<u64>,
    /// Seconds between two rounds of the compliance monitors on a node.
    /// [default: 300]
    #[arg(long, env = "ZHANQUN_COMPLIANCE_ROUND_SECS")]
    compliance_round_secs: Option<u64>,
    /// The 错敏词 list checked before submission: one entry per line,
    /// `block` or `warn`, a tab, the word, optionally a tab and what to
    /// write instead (see deploy/word-list.example.tsv).
    #[arg(long, env = "ZHANQUN_WORD_LIST")]
    word_list: Option<PathBuf>,
    /// The domains a document body may link to without a warning in the
    /// content check: one per line, each allowing the names under it
    /// (`gov.cn` allows `www.gov.cn`); the sites hosted here are always
    /// allowed. [default: gov.cn]
    #[arg(long, env = "ZHANQUN_LINK_ALLOW_LIST")]
    link_allow_list: Option<PathBuf>,
    /// Public searches one client address may run per second on this node
    /// (a burst of four times that is allowed; past it, 429 with
    /// Retry-After). 0: no limit. [default: 10]
    #[arg(long, env = "ZHANQUN_SEARCH_RATE_PER_CLIENT")]
    search_rate_per_client: Option<u32>,
    /// The watchers' schedules: tamper checks, replica comparison, link
    /// checks, audit archive, theme, backups.
    #[command(flatten)]
    watch: crate::watch_args::WatchArgs,
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
        let node_id = if self.node_id_from_hostname { node_id_from_hostname()? } else { self.node_id.or(file.node_id).unwrap_or(1) };
        if node_id == 0 {
            bail!("node ids start at 1");
        }
        let data: PathBuf = self.data.clone().or(file.data).unwrap_or_else(|| DEFAULT_DATA.into());
        let blobs = match (self.blobs.s3_bucket.clone().or(file.s3_bucket), self.blobs.blobs_dir.clone().or(file.blobs_dir)) {
            (Some(_), Some(_)) => bail!("choose either an S3 bucket or a blobs directory for attachments, not both"),
            (Some(bucket), None) => BlobSetting::S3 { bucket, endpoint: self.blobs.s3_endpoint.clone().or(file.s3_endpoint) },
            (None, Some(dir)) => BlobSetting::Local(dir),
            (None, None) => BlobSetting::Local(data.join("blobs")),
        };
        let page_cache_mb = self.page_cache_mb.or(file.page_cache_mb).unwrap_or(DEFAULT_PAGE_CACHE_MB);
        if page_cache_mb > 65_536 {
            bail!("page_cache_mb must be at most 65536 (got {page_cache_mb}); 0 turns the page cache off");
        }
        let seconds = |name: &str, v: Option<u64>, default: u64| -> anyhow::Result<Duration> {
            match v.unwrap_or(default) {
                0 => bail!("{name} must be at least 1 second"),
                s if s > 3600 => bail!("{name} must be at most 3600 seconds (got {s})"),
                s => Ok(Duration::from_secs(s)),
            }
        };
        let session_ttl = match self.session_ttl_secs.or(file.session_ttl_secs).unwrap_or(12 * 3600) {
            0 => bail!("session_ttl_secs must be at least 1"),
            s if s > 30 * 24 * 3600 => bail!("session_ttl_secs must be at most 2592000 (30 days); got {s}"),
            s => Duration::from_secs(s),
        };
        let timeouts = zhanqun_web::ClientTimeouts {
            header: seconds("header_timeout_secs", self.header_timeout_secs.or(file.header_timeout_secs), 20)?,
            body: seconds("body_timeout_secs", self.body_timeout_secs.or(file.body_timeout_secs), 30)?,
        };
        let compliance = {
            let every = |name: &str, v: Option<u64>, default: u64| -> anyhow::Result<Duration> {
                match v.unwrap_or(default) {
                    s if !(1..=86_400).contains(&s) => bail!("{name} must be between 1 and 86400 seconds (got {s})"),
                    s => Ok(Duration::from_secs(s)),
                }
            };
            let thresholds = file.compliance.thresholds.clone().unwrap_or_default();
            thresholds.check().map_err(|e| anyhow::anyhow!("[compliance.thresholds]: {e}"))?;
            zhanqun_platform::compliance::Settings {
                thresholds,
                probe_every: every("home_probe_secs", self.home_probe_secs.or(file.compliance.probe_every_secs), 3600)?,
                round_every: every("compliance_round_secs", self.compliance_round_secs.or(file.compliance.round_every_secs), 300)?,
            }
        };
        Ok(Settings {
            compliance,
            session_ttl,
            page_cache_bytes: page_cache_mb * 1024 * 1024,
            landing: self.landing.or(file.landing).unwrap_or(LandingSetting::Sites),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            trusted_proxies: if self.trusted_proxy.is_empty() {
                file.trusted_proxies.iter().map(|c| c.parse().map_err(|e: String| anyhow::anyhow!("trusted_proxies: {e}"))).collect::<anyhow::Result<_>>()?
            } else {
                self.trusted_proxy.clone()
            },
            timeouts,
            search_dictionary: self.search_dictionary.clone().or(file.search_dictionary),
            blobs,
            data,
            listen,
            node_id,
            advertise: self.advertise.clone().or(file.advertise).unwrap_or_else(|| format!("http://{listen}")),
            max_upload_bytes: max_upload_mb * 1024 * 1024,
        })
    }
}

fn node_id_from_hostname() -> anyhow::Result<u64> {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).or_else(|| std::fs::read_to_string("/etc/hostname").ok()).unwrap_or_default();
    let host = host.trim();
    let ordinal = host.rsplit('-').next().and_then(|o| o.parse::<u64>().ok());
    ordinal.map(|o| o + 1).with_context(|| format!("--node-id-from-hostname: the host name `{host}` does not end in -<ordinal> (like zhanqun-0)"))
}

/// The `/metrics` token, from the environment only (never a flag: `ps`).
fn metrics_token() -> anyhow::Result<Option<zhanqun_web::MetricsToken>> {
    match std::env::var("ZHANQUN_METRICS_TOKEN") {
        Ok(v) if !v.is_empty() => {
            if v.len() < 16 {
                bail!("ZHANQUN_METRICS_TOKEN must be at least 16 characters");
            }
            Ok(Some(zhanqun_web::MetricsToken::new(&v)))
        }
        _ => Ok(None),
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let mut watch = args.watch.settings()?;
    let word_list = match &args.word_list {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the word list {}", path.display()))?;
            zhanqun_model::content_check::parse_word_list(&text).map_err(|e| anyhow::anyhow!("the word list {}: {e}", path.display()))?
        }
    };
    let link_allow_list = match &args.link_allow_list {
        None => zhanqun_model::content_check::LinkAllowList::default_domains(),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the link allow-list {}", path.display()))?;
            zhanqun_model::content_check::LinkAllowList::parse(&text).map_err(|e| anyhow::anyhow!("the link allow-list {}: {e}", path.display()))?
        }
    };
    let content_rules = Arc::new(zhanqun_model::content_check::ContentRules { words: word_list, links: link_allow_list });
    check_bootstrap_passwords()?;
    let secret = cluster_secret()?;
    if args.join.is_some() && secret.is_none() {
        bail!("--join needs the cluster secret: set ZHANQUN_CLUSTER_SECRET to the same value on every node");
    }
    let blobs = open_blobs(&settings).await?;
    let derived = Arc::new(Derived::with_page_cache(settings.page_cache_bytes));
    // Connected before Raft starts, so that entries replayed at start reach the index.
    let search_changes = derived.search.connect();
    let search_index = Arc::new(search_cmd::open_index(&settings.data, settings.search_dictionary.as_deref())?);
    let node_config = NodeConfig {
        data_dir: settings.data.clone(),
        node_id: settings.node_id,
        advertise: settings.advertise.clone(),
        secret,
        snapshot_every: args.snapshot_every,
        adopt_identity: args.adopt_identity,
        // The node's one registry: the cluster, the web layer and the
        // workers all register here; /metrics gathers it.
        metrics: prometheus::Registry::new(),
    };
    let node =
        Node::start(node_config, derived.clone()).await.with_context(|| format!("cannot start the node with data directory {}", settings.data.display()))?;
    let node = Arc::new(node);
    // After a rolling upgrade, the leader records that every member reads
    // this version's log (see `zhanqun_cluster::upgrade`).
    zhanqun_cluster::spawn_level_watch(node.clone(), std::time::Duration::from_secs(5));
    let web_config = WebConfig {
        max_upload_bytes: settings.max_upload_bytes,
        timeouts: settings.timeouts,
        session_ttl: settings.session_ttl,
        landing: match settings.landing {
            LandingSetting::Sites => zhanqun_web::Landing::OnlineSites,
            LandingSetting::None => zhanqun_web::Landing::Nothing,
        },
        metrics_token: metrics_token()?,
        metrics_elsewhere: settings.metrics_listen.is_some(),
        trusted_proxies: settings.trusted_proxies.clone(),
        content_rules: content_rules.clone(),
        search_per_second: args.search_rate_per_client.unwrap_or(10),
        tls_redirect: args.tls_redirect_http,
    };
    let mut app = App::new(node.clone(), blobs, derived, web_config);
    app.search = Some(search_index.clone());
    let theme = watch.use_theme(&mut app)?;
    let app = Arc::new(app);
    let mut workers = Workers::default();
    workers.spawn(Indexer::new(search_index, node.clone(), search_changes));
    workers.spawn(Scheduler::new(node.clone()));
    let feed_metrics = FeedMetrics::new(&node.metrics.registry);
    workers.spawn(FeedPoller::new(node.clone(), Arc::new(zhanqun_web::probe::sanitize_feed_body), feed_metrics));
    workers.spawn(Proofs::new(node.clone(), Arc::new(zhanqun_web::probe::RouterProbe::new(app.clone()))));
    workers.spawn(Gauges::new(node.clone(), &node.metrics.registry));
    let site_fetch = Arc::new(zhanqun_web::probe::RouterProbe::new(app.clone()));
    workers.spawn(HomeProber::new(node.clone(), site_fetch.clone(), &settings.compliance));
    let board = app.derived.compliance.clone();
    watch.spawn(&mut workers, &node, &app, site_fetch.clone(), theme);
    workers.spawn(Monitors::new(node.clone(), site_fetch, board, settings.compliance.clone(), content_rules.clone(), &node.metrics.registry));

    // Serve first: a joining node must answer the leader before it is a member.
    let listener = tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("cannot listen on {}", settings.listen))?;
    // The address really bound (port 0 picks one).
    let listening = listener.local_addr().unwrap_or(settings.listen);
    app.starting.store(true, Ordering::Release);
    // Told to stop, the node first stops standing for election, then drains.
    let stop = {
        let node = node.clone();
        async move {
            shutdown_signal().await;
            node.stop_standing();
        }
    };
    let server = tokio::spawn(zhanqun_web::serve(app.clone(), listener, stop));
    if let Some(addr) = settings.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen for /metrics on {addr}"))?;
        tokio::spawn(zhanqun_web::serve_metrics(app.clone(), metrics_listener, shutdown_signal()));
    }
    if let Some(addr) = args.tls_listen {
        let tls_listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen for HTTPS on {addr}"))?;
        tracing::info!(listen = %addr, "serving HTTPS to the sites that have a certificate");
        tokio::spawn(zhanqun_web::serve_tls(app.clone(), tls_listener, shutdown_signal()));
    }
    tracing::info!(listen = %listening, advertise = %settings.advertise, data = %settings.data.display(), node = settings.node_id, "serving");

    let founded = form_cluster(&node, &args).await?;
    if founded || node.is_initialized().await {
        let demo = args.demo;
        let app = app.clone();
        tokio::spawn(async move {
            while !app.node.wait_leader(Duration::from_secs(10)).await {
                tracing::warn!("no Raft leader yet: waiting for a quorum of the cluster's voters to come up");
            }
            loop {
                match first_start(&app.node, founded, demo).await {
                    Ok(()) => break,
                    Err(e) => tracing::error!("first start: {e:#}; retrying"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            app.starting.store(false, Ordering::Release);
        });
    } else {
        app.starting.store(false, Ordering::Release);
    }
    eprintln!("zhanqun node {} is serving on http://{listening}/  (sites listed at /, admin API at /api/v1/)", settings.node_id);
    server.await.context("the HTTP server stopped")??;
    tracing::info!("shutting down");
    workers.shutdown(Duration::from_secs(10)).await;
    node.shutdown().await;
    Ok(())
}

/// Bootstraps or joins as the flags say. Returns whether this start founded
/// a new cluster.
async fn form_cluster(node: &Arc<Node>, args: &ServeArgs) -> anyhow::Result<bool> {
    if node.is_initialized().await {
        return Ok(false);
    }
    if args.await_membership {
        tracing::info!("waiting to be added to a cluster (zhanqun cluster add --id {} --addr {})", node.id, node.advertise);
        return Ok(false);
    }
    let bootstrap = match &args.join {
        None => true,
        // StatefulSet mode: pod 0 founds the cluster only when it can show
        // that none exists.
        Some(_) if node.id == 1 && !args.bootstrap => no_cluster_among(node, &args.peers).await,
        Some(_) => false,
    };
    if bootstrap {
        node.bootstrap().await?;
        return Ok(true);
    }
    let url = args.join.clone().expect("join is set when not bootstrapping");
    let joiner = node.clone();
    tokio::spawn(async move { joiner.join(&url).await });
    Ok(false)
}

/// Whether node 1, empty and told to join, should found the cluster: only
/// when `peers` are named and every one of them answers without any Raft
/// state (a fresh install). Waits while any peer does not answer: it may be
/// starting, or be the cluster, busy electing. Without peers, node 1 never
/// founds on its own (pass --bootstrap for that).
async fn no_cluster_among(node: &Node, peers: &[String]) -> bool {
    if peers.is_empty() {
        tracing::info!("node 1 joins like the others: it founds a cluster only with --bootstrap, or with --peers that all answer empty");
        return false;
    }
    let mut waited = 0u32;
    loop {
        let answers = futures::future::join_all(peers.iter().map(|p| node.probe(p))).await;
        if answers.iter().flatten().any(|s| s.has_state) {
            tracing::info!("a peer holds cluster state: joining the cluster instead of founding one");
            return false;
        }
        let silent: Vec<&String> = peers.iter().zip(&answers).filter(|(_, a)| a.is_none()).map(|(p, _)| p).collect();
        if silent.is_empty() {
            tracing::info!(peers = peers.len(), "every peer answers and none holds cluster state: founding the cluster");
            return true;
        }
        if waited.is_multiple_of(15) {
            tracing::info!(?silent, "waiting for every peer to answer before deciding whether a cluster exists");
        }
        waited += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What the first node of a new cluster does once it leads: create the
/// administrator, load the demo if asked.
async fn first_start(node: &Node, founded: bool, demo: bool) -> anyhow::Result<()> {
    node.read_barrier(Duration::from_secs(30)).await.context("cannot catch up with the cluster")?;
    if founded || !node.store.has_users().await? {
        bootstrap_admin(node).await?;
    }
    if demo {
        demo::load(node).await?;
    }
    Ok(())
}

async fn open_blobs(settings: &Settings) -> anyhow::Result<Blobs> {
    match &settings.blobs {
        BlobSetting::Local(dir) => Blobs::local(dir).with_context(|| format!("cannot create the attachment directory {}", dir.display())),
        BlobSetting::S3 { bucket, endpoint } => {
            let blobs = Blobs::s3(bucket, endpoint.as_deref()).with_context(|| format!("cannot configure the S3 bucket {bucket}"))?;
            blobs.check().await.with_context(|| format!("the S3 bucket {bucket} does not answer; check AWS_* variables and ZHANQUN_S3_ENDPOINT"))?;
            Ok(blobs)
        }
    }
}

/// The three platform accounts of 三权分立, created once on an empty
/// cluster: `admin` (系统管理员), `security` (安全管理员), `auditor`
/// (审计管理员). Each password comes from its ZHANQUN_BOOTSTRAP_*_PASSWORD
/// variable or is generated and printed once, to the console only.
async fn bootstrap_admin(node: &Node) -> anyhow::Result<()> {
    if node.store.has_users().await? {
        return Ok(());
    }
    let at = now_ms();
    let mut commands = Vec::new();
    let mut told = Vec::new();
    for (username, title, role, variable) in BOOTSTRAP_ACCOUNTS {
        let (password, generated) = match std::env::var(variable) {
            Ok(p) if !p.is_empty() => (p, false),
            _ => (generate_password(), true),
        };
        let (password_hash, password) = tokio::task::spawn_blocking(move || (zhanqun_platform::passwords::hash_password(&password), password)).await?;
        let mut user = User::new(new_id(), username, title, password_hash, at);
        user.platform_role = Some(role);
        commands.push(Command::CreateUser { user });
        told.push(if generated {
            format!("    {title}  username: {username}  password: {password}")
        } else {
            format!("    {title}  username: {username}  password from {variable}")
        });
    }
    let written = node.write(Proposal::new(at, None, None, Command::Batch { commands })).await?;
    if let Err(r) = written.outcome {
        bail!("could not create the platform accounts: {}", r.message);
    }
    // Printed once, to the console only: logs never carry secrets.
    eprintln!(
        "\n  Created the platform accounts (三权分立):\n{}\n  Generated passwords are shown only now; set the ZHANQUN_BOOTSTRAP_*_PASSWORD variables to choose them.\n",
        told.join("\n")
    );
    Ok(())
}

/// The three platform accounts made at the first start, and the variables
/// their passwords may come from.
const BOOTSTRAP_ACCOUNTS: [(&str, &str, PlatformRole, &str); 3] = [
    ("admin", "系统管理员", PlatformRole::Admin, "ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD"),
    ("security", "安全管理员", PlatformRole::Security, "ZHANQUN_BOOTSTRAP_SECURITY_PASSWORD"),
    ("auditor", "审计管理员", PlatformRole::Auditor, "ZHANQUN_BOOTSTRAP_AUDITOR_PASSWORD"),
];

/// Refuses to start with a bootstrap password the default policy would
/// refuse (too short, too few kinds of characters, a common word dressed
/// up): checked before anything starts, so the error is the first line.
fn check_bootstrap_passwords() -> anyhow::Result<()> {
    for (username, _, _, variable) in BOOTSTRAP_ACCOUNTS {
        if let Ok(p) = std::env::var(variable)
            && !p.is_empty()
            && let Err(weak) = zhanqun_model::PasswordPolicy::default().check_for(&p, username)
        {
            bail!("{variable}: {}", weak.message);
        }
    }
    Ok(())
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
