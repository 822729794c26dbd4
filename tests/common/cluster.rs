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
