//! A cluster of real `zhanqun serve` processes on 127.0.0.1, for the cluster
//! tests: start, kill -9, SIGSTOP/SIGCONT, restart, and (through
//! [`Proxy`]) cut network links between chosen nodes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{ADMIN_PASSWORD, client, free_port};

pub const SECRET: &str = "cluster-test-secret-2026";

/// One node: its process (when running) and where it lives.
pub struct ClusterNode {
    pub id: u64,
    pub port: u16,
    /// The port peers use: the node's own, or its proxy's.
    pub advertise_port: u16,
    pub data: PathBuf,
    pub log: PathBuf,
    pub join: Option<String>,
    pub extra: Vec<String>,
    pub child: Option<Child>,
    pub stopped: bool,
    /// The `zhanqun` binary the node runs (the one under test, unless a
    /// test runs another release).
    pub binary: PathBuf,
}

impl ClusterNode {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "node {} is already running", self.id);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut cmd = Command::new(&self.binary);
        cmd.arg("serve")
            .arg("--data")
            .arg(&self.data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--node-id")
            .arg(self.id.to_string())
            .arg("--advertise")
            .arg(format!("http://127.0.0.1:{}", self.advertise_port))
            .args(&self.extra)
            .env("ZHANQUN_CLUSTER_SECRET", SECRET)
            .env("ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("ZHANQUN_BOOTSTRAP_SECURITY_PASSWORD", super::SECURITY_PASSWORD)
            .env("ZHANQUN_BOOTSTRAP_AUDITOR_PASSWORD", super::AUDITOR_PASSWORD)
            .env("ZHANQUN_LOG", "info,openraft=warn,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(log);
        match &self.join {
            Some(url) => cmd.arg("--join").arg(url),
            None => cmd.arg("--bootstrap"),
        };
        self.child = Some(cmd.spawn().expect("zhanqun binary runs"));
        self.stopped = false;
    }

    pub fn running(&self) -> bool {
        self.child.is_some() && !self.stopped
    }

    /// SIGTERM, as Kubernetes stops a pod, then waits for the process to
    /// end (`kill -9` after `grace`).
    pub async fn terminate(&mut self, grace: Duration) {
        self.resume();
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while let Some(c) = &mut self.child {
            if c.try_wait().ok().flatten().is_some() {
                self.child = None;
                return;
            }
            if Instant::now() > deadline {
                eprintln!("node {} did not stop within {grace:?} of SIGTERM: killed", self.id);
                self.kill();
                return;
            }
            // Asynchronously: the writers share this runtime.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.stopped = false;
    }

    fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// SIGSTOP: the process freezes with its sockets open, like a long GC
    /// pause or a hung VM.
    pub fn pause(&mut self) {
        self.signal(libc::SIGSTOP);
        self.stopped = true;
    }

    pub fn resume(&mut self) {
        self.signal(libc::SIGCONT);
        self.stopped = false;
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<ClusterNode>,
    pub proxies: Vec<Proxy>,
    /// The binary new nodes run.
    pub binary: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failed run keeps its data directories and node logs.
        if std::thread::panicking() {
            eprintln!("cluster data and node logs kept in {}", self.dir.path().display());
            self.dir.disable_cleanup(true);
        }
    }
}

/// Calls a peer endpoint with the cluster secret.
pub async fn peer_call(base: &str, path: &str, timeout: Duration) -> Option<Value> {
    let r = client().post(format!("{base}{path}")).header("x-zhanqun-cluster-secret", SECRET).json(&json!(null)).timeout(timeout).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

impl Cluster {
    /// Starts `n` nodes: node 1 bootstraps, the others join it. With
    /// `proxied`, peers reach each node through a [`Proxy`] that can cut links.
    pub async fn start(n: u64, proxied: bool, extra: &[&str]) -> Cluster {
        Cluster::start_on(PathBuf::from(env!("CARGO_BIN_EXE_zhanqun")), n, proxied, extra).await
    }

    /// [`Cluster::start`] with nodes running `binary`.
    pub async fn start_on(binary: PathBuf, n: u64, proxied: bool, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Cluster { dir, nodes: Vec::new(), proxies: Vec::new(), binary };
        for id in 1..=n {
            cluster.add_node(id, proxied, extra).await;
            if id == 1 {
                cluster.wait_ready(1, Duration::from_secs(60)).await;
            }
        }
        cluster.wait_members(n as usize, Duration::from_secs(60)).await;
        cluster
    }

    /// Creates and starts node `id`, joining node 1 unless it is node 1.
    pub async fn add_node(&mut self, id: u64, proxied: bool, extra: &[&str]) {
        let port = free_port();
        let advertise_port = if proxied {
            let proxy = Proxy::start(port).await;
            let p = proxy.port;
            self.proxies.push(proxy);
            p
        } else {
            port
        };
        let join = (id != 1).then(|| format!("http://127.0.0.1:{}", self.nodes[0].port));
        let mut node = ClusterNode {
            id,
            port,
            advertise_port,
            data: self.dir.path().join(format!("node{id}")),
            log: self.dir.path().join(format!("node{id}.log")),
            join,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            stopped: false,
            binary: self.binary.clone(),
        };
        node.spawn();
        self.nodes.push(node);
    }

    pub fn node(&mut self, id: u64) -> &mut ClusterNode {
        self.nodes.iter_mut().find(|n| n.id == id).expect("known node")
    }

    pub fn base(&self, id: u64) -> String {
        self.nodes.iter().find(|n| n.id == id).expect("known node").base()
    }

    pub async fn wait_ready(&self, id: u64, timeout: Duration) {
        let base = self.base(id);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(r) = client().get(format!("{base}/readyz")).timeout(Duration::from_secs(1)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {id} not ready in {timeout:?}:\n{}", self.nodes.iter().find(|n| n.id == id).unwrap().log_tail());
    }

    /// Waits until the cluster reports `n` voters, all reachable.
    pub async fn wait_members(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Some(s) = peer_call(&self.nodes[0].base(), "/_raft/cluster", Duration::from_secs(3)).await {
                let members = s["members"].as_array().cloned().unwrap_or_default();
                let settled = s["membership_changing"] == false;
                if members.iter().filter(|m| m["voter"] == true && m["reachable"] == true).count() == n && s["leader"].is_u64() && settled {
                    return;
                }
                last = s;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the cluster did not reach {n} voters in {timeout:?}; last status {last}");
    }

    /// Each running node's own view: (id, leader, term).
    pub async fn views(&self) -> Vec<(u64, Option<u64>, u64)> {
        let mut out = Vec::new();
        for n in self.nodes.iter().filter(|n| n.running()) {
            if let Some(s) = peer_call(&n.base(), "/_raft/status", Duration::from_millis(800)).await {
                out.push((n.id, s["leader"].as_u64(), s["term"].as_u64().unwrap_or(0)));
            }
        }
        out
    }

    /// The leader as seen by the running node with the highest term.
    pub async fn leader(&self) -> Option<u64> {
        self.views().await.into_iter().max_by_key(|(_, _, term)| *term).and_then(|(_, leader, _)| leader)
    }

    pub async fn wait_leader(&self, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(l) = self.leader().await
                && self.nodes.iter().any(|n| n.id == l && n.running())
            {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no leader among running nodes within {timeout:?}");
    }

    /// Waits until every running node reports the same applied index and the
    /// same content digest; returns them.
    pub async fn wait_converged(&self, timeout: Duration) -> (u64, String) {
        let deadline = Instant::now() + timeout;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            let mut seen = Vec::new();
            for n in self.nodes.iter().filter(|n| n.running()) {
                let c = peer_call(&n.base(), "/_raft/checksum", Duration::from_secs(5)).await;
                seen.push((n.id, c.as_ref().and_then(|c| c["applied_index"].as_u64()), c.and_then(|c| c["sha256"].as_str().map(String::from))));
            }
            let first = seen.first().cloned();
            if let Some((_, Some(index), Some(sha))) = first
                && seen.iter().all(|(_, i, s)| *i == Some(index) && s.as_deref() == Some(sha.as_str()))
            {
                return (index, sha);
            }
            last = seen;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("replicas did not converge within {timeout:?}: {last:?}");
    }

    pub async fn admin_token(&self, id: u64) -> String {
        super::login_at(&self.base(id), "admin", ADMIN_PASSWORD).await
    }

    /// Creates the test site `code` with channel `news` as the 系统管理员
    /// (`token`), and returns a token of its site admin `<code>-staff`, who
    /// does the content work.
    pub async fn create_site(&self, id: u64, token: &str, code: &str) -> String {
        let c = client();
        let r = c
            .post(format!("{}/api/v1/tenants", self.base(id)))
            .bearer_auth(token)
            .json(&json!({ "code": code, "name": "混沌测试镇", "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = c
            .post(format!("{}/api/v1/tenants/{code}/channels", self.base(id)))
            .bearer_auth(token)
            .json(&json!({ "slug": "news", "name": "工作动态" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        super::site_account(&self.base(id), &format!("{code}-staff"), &[(code, "admin")]).await
    }
}

/// What happened to one write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// 201: the cluster acknowledged it.
    Acknowledged,
    /// Refused before being proposed (503 unavailable, connection refused).
    NotApplied,
    /// Timeout, 503 outcome_unknown, connection lost: may or may not exist.
    Unknown,
}

/// Creates a document titled `title` in `code` through the node at `base`,
/// on a new client (a new connection: the chaos tests kill nodes under it).
pub async fn write_document(base: &str, token: &str, code: &str, title: &str) -> Attempt {
    write_document_on(&client(), base, token, code, title).await
}

/// [`write_document`] on the caller's client, whose connections are kept
/// open between writes as a browser's are.
pub async fn write_document_on(http: &reqwest::Client, base: &str, token: &str, code: &str, title: &str) -> Attempt {
    let r = http
        .post(format!("{base}/api/v1/tenants/{code}/documents"))
        .bearer_auth(token)
        .json(&json!({ "channel": "news", "title": title, "body_html": "<p>混沌测试正文</p>" }))
        .timeout(Duration::from_secs(20))
        .send()
        .await;
    match r {
        Ok(r) if r.status() == 201 => Attempt::Acknowledged,
        Ok(r) if r.status() == 503 => {
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if body["error"]["code"] == "unavailable" { Attempt::NotApplied } else { Attempt::Unknown }
        }
        Ok(r) => panic!("unexpected answer {} to a valid write: {}", r.status(), r.text().await.unwrap_or_default()),
        Err(e) if e.is_connect() => Attempt::NotApplied,
        Err(_) => Attempt::Unknown,
    }
}

/// Every document title in site `code`, as the node at `base` has it once
/// it has applied all the leader had committed when asked. (A member
/// counted as caught up may still be a few entries behind; without the
/// barrier its newest acknowledged writes would look lost.)
pub async fn all_titles(base: &str, token: &str, code: &str) -> Vec<String> {
    let mut titles = Vec::new();
    // Paged by key (`next` → `after`): flat however many there are.
    let mut after = String::new();
    loop {
        let r = client()
            .get(format!("{base}/api/v1/tenants/{code}/documents?per_page=200{after}"))
            .bearer_auth(token)
            .header("x-zhanqun-consistency", "linearizable")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        titles.extend(body["items"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_string()));
        match body["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return titles,
        }
    }
}

/// A TCP proxy in front of one node that can refuse traffic from chosen
/// nodes — the fault injection of the partition test (simulated network:
/// `tc netem` is not available in CI's kernel). It tells callers apart by
/// the `X-Zhanqun-Node` header every node sends to its peers.
pub struct Proxy {
    pub port: u16,
    blocked: Arc<watch::Sender<BTreeSet<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(target_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let blocked = Arc::new(watch::channel(BTreeSet::new()).0);
        let b = blocked.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, target_port, b.subscribe()));
            }
        });
        Proxy { port, blocked, task }
    }

    /// Refuses (and cuts) all traffic from these nodes.
    pub fn block(&self, from: &[u64]) {
        self.blocked.send_replace(from.iter().copied().collect());
    }

    pub fn heal(&self) {
        self.blocked.send_replace(BTreeSet::new());
    }
}

async fn relay(mut inbound: TcpStream, target_port: u16, mut blocked: watch::Receiver<BTreeSet<u64>>) {
    // Read the first request's head to learn who is calling.
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        match inbound.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let from = text.lines().find_map(|l| l.strip_prefix("x-zhanqun-node:")).and_then(|v| v.trim().parse::<u64>().ok());
    let is_blocked = |set: &BTreeSet<u64>| from.is_some_and(|f| set.contains(&f));
    if is_blocked(&blocked.borrow()) {
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await else { return };
    if outbound.write_all(&head).await.is_err() {
        return;
    }
    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
    let cut = async {
        loop {
            if blocked.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            if is_blocked(&blocked.borrow()) {
                return;
            }
        }
    };
    tokio::select! { _ = copy => {}, _ = cut => {} }
}

/// What writers attempted and what the cluster acknowledged.
#[derive(Default)]
pub struct Ledger {
    pub acked: BTreeSet<String>,
    pub attempted: BTreeSet<String>,
    /// When each acknowledgement came, in order.
    pub acked_at: Vec<Instant>,
}

impl Ledger {
    /// The longest time between two acknowledgements (or from the first
    /// to `until`, or from the last to `until`) within `[from, until]`:
    /// how long the cluster took no write.
    pub fn longest_pause(&self, from: Instant, until: Instant) -> Duration {
        self.longest_pause_at(from, until).1
    }

    /// [`Ledger::longest_pause`], with when it began (after `from`).
    pub fn longest_pause_at(&self, from: Instant, until: Instant) -> (Duration, Duration) {
        self.longest_pause_besides(from, until, &[])
    }

    /// [`Ledger::longest_pause_at`], not counting the time inside any of
    /// `excused` (each a start and an end).
    pub fn longest_pause_besides(&self, from: Instant, until: Instant, excused: &[(Instant, Instant)]) -> (Duration, Duration) {
        let mut marks: Vec<Instant> = self.acked_at.iter().copied().filter(|t| *t >= from && *t <= until).collect();
        marks.sort();
        marks.insert(0, from);
        marks.push(until);
        let overlap = |a: Instant, b: Instant| -> Duration { excused.iter().map(|&(s, e)| b.min(e).saturating_duration_since(a.max(s))).sum() };
        marks.windows(2).map(|w| (w[0] - from, (w[1] - w[0]).saturating_sub(overlap(w[0], w[1])))).max_by_key(|(_, pause)| *pause).unwrap_or_default()
    }
}

/// The nodes clients are sent to, as a load balancer keeps them: a test
/// takes a node out before stopping it and puts it back once it is ready,
/// as Kubernetes does with a pod's endpoint.
#[derive(Clone)]
pub struct Rotation(Arc<std::sync::RwLock<Vec<String>>>);

impl Rotation {
    pub fn new(bases: Vec<String>) -> Rotation {
        Rotation(Arc::new(std::sync::RwLock::new(bases)))
    }

    pub fn take_out(&self, base: &str) {
        self.0.write().unwrap().retain(|b| b != base);
    }

    pub fn put_back(&self, base: &str) {
        self.0.write().unwrap().push(base.to_string());
    }

    fn pick(&self, n: usize) -> Option<String> {
        let bases = self.0.read().unwrap();
        (!bases.is_empty()).then(|| bases[n % bases.len()].clone())
    }
}

/// A fixed rotation: the tests that do not take nodes out.
impl From<Vec<String>> for Rotation {
    fn from(bases: Vec<String>) -> Rotation {
        Rotation::new(bases)
    }
}

/// Writers creating documents in `site` through the nodes of `rotation`
/// (in turn; whichever it holds at each write) until `stop`, titled
/// `<prefix>-w<writer>-<n>`.
pub fn start_writers(
    rotation: impl Into<Rotation>,
    token: String,
    site: &'static str,
    prefix: &str,
    writers: usize,
    ledger: Arc<tokio::sync::Mutex<Ledger>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    use std::sync::atomic::Ordering;
    let rotation = rotation.into();
    (0..writers)
        .map(|w| {
            let (rotation, token, ledger, stop, prefix) = (rotation.clone(), token.clone(), ledger.clone(), stop.clone(), prefix.to_string());
            tokio::spawn(async move {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    let title = format!("{prefix}-w{w}-{seq}");
                    let Some(base) = rotation.pick(seq as usize + w) else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    ledger.lock().await.attempted.insert(title.clone());
                    match write_document(&base, &token, site, &title).await {
                        Attempt::Acknowledged => {
                            let mut ledger = ledger.lock().await;
                            ledger.acked.insert(title);
                            ledger.acked_at.push(Instant::now());
                        }
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        })
        .collect()
}

/// Stops the writers and waits for them (a write in flight ends by its own
/// timeout, 20 s at most).
pub async fn stop_writers(stop: &std::sync::atomic::AtomicBool, writers: Vec<tokio::task::JoinHandle<()>>) {
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(60), w).await.expect("a writer did not stop within 60 s").unwrap();
    }
}

/// Every acknowledged title exactly once on the node at `base`, and nothing
/// nobody attempted.
pub async fn assert_ledger_holds(base: &str, token: &str, site: &str, ledger: &Ledger) {
    let titles = all_titles(base, token, site).await;
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for t in &titles {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let lost: Vec<&String> = ledger.acked.iter().filter(|t| counts.get(t.as_str()).copied().unwrap_or(0) != 1).collect();
    assert!(lost.is_empty(), "{} acknowledged writes missing or doubled on {base}, e.g. {:?}", lost.len(), lost.iter().take(5).collect::<Vec<_>>());
    for t in counts.keys() {
        assert!(ledger.attempted.contains(*t), "{base} holds {t}, which nobody wrote");
    }
}
