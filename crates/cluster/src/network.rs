//! Raft RPC between nodes: JSON over HTTP, under `/_raft/` on each node's
//! own port.
//!
//! One [`Peers`] client (connection pool, cluster secret) serves both the
//! Raft replication traffic ([`HttpNetwork`]) and the node-to-node calls of
//! the cluster layer: forwarding a write or a read barrier to the leader,
//! joining, changing membership. Snapshot chunks travel as raw bytes behind a
//! small JSON head rather than as a JSON array of numbers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest, VoteResponse};
use openraft::{SnapshotMeta, Vote};

use crate::Member;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::TypeConfig;
use crate::secret::{ClusterSecret, FROM_HEADER, SECRET_HEADER};

/// Paths of the peer endpoints, relative to a node's advertised URL.
pub mod paths {
    pub const APPEND: &str = "/_raft/append";
    pub const VOTE: &str = "/_raft/vote";
    pub const SNAPSHOT: &str = "/_raft/snapshot";
    pub const WRITE: &str = "/_raft/write";
    pub const READ_INDEX: &str = "/_raft/read-index";
    pub const MEMBERS: &str = "/_raft/members";
    pub const STATUS: &str = "/_raft/status";
    pub const CLUSTER: &str = "/_raft/cluster";
    pub const CHECKSUM: &str = "/_raft/checksum";
    /// The operator's account changes (`zhanqun account`).
    pub const ACCOUNT: &str = "/_raft/account";
}

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The request never reached the peer (connection refused, no route):
    /// it certainly had no effect, so it is safe to try again.
    #[error("cannot connect to {0}")]
    NotSent(String),
    /// The request may have reached the peer (timeout, connection reset):
    /// whether it had an effect is unknown.
    #[error("no answer from {0}")]
    Lost(String),
    /// The peer answered with an HTTP error (wrong secret, bad request).
    #[error("{addr} answered {status}: {body}")]
    Refused { addr: String, status: u16, body: String },
}

/// Makes ring rustls' crypto provider, for https peers and S3. reqwest is
/// built without a provider of its own (its default, aws-lc-rs, needs cmake
/// and doubles the build); call before building any HTTP client. Repeated
/// calls are harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client every node uses to call its peers.
#[derive(Clone)]
pub struct Peers {
    client: reqwest::Client,
    secret: Option<ClusterSecret>,
    from: u64,
}

impl Peers {
    pub fn new(from: u64, secret: Option<ClusterSecret>) -> Peers {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            // Below the nodes' idle-connection deadline (20 s by default), so
            // a pooled connection is never one the peer has just closed.
            .pool_idle_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .build()
            .expect("the HTTP client builds with static settings");
        Peers { client, secret, from }
    }

    pub fn secret(&self) -> Option<&ClusterSecret> {
        self.secret.as_ref()
    }

    fn request(&self, addr: &str, path: &str, timeout: Duration) -> Result<reqwest::RequestBuilder, PeerError> {
        let Some(secret) = &self.secret else {
            return Err(PeerError::NotSent(format!("{addr} (this node has no cluster secret: set ZHANQUN_CLUSTER_SECRET on every node)")));
        };
        let url = format!("{}{path}", addr.trim_end_matches('/'));
        Ok(self.client.post(url).timeout(timeout).header(SECRET_HEADER, secret.header_value()).header(FROM_HEADER, self.from.to_string()))
    }

    /// Posts `body` as JSON to `path` on the node at `addr` and decodes the
    /// JSON answer.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(&self, addr: &str, path: &str, body: &Req, timeout: Duration) -> Result<Resp, PeerError> {
        let req = self.request(addr, path, timeout)?.json(body);
        Self::finish(addr, req).await
    }

    async fn finish<Resp: DeserializeOwned>(addr: &str, req: reqwest::RequestBuilder) -> Result<Resp, PeerError> {
        let resp = req.send().await.map_err(|e| classify(addr, e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(PeerError::Refused { addr: addr.to_string(), status: status.as_u16(), body: body.chars().take(500).collect() });
        }
        resp.json::<Resp>().await.map_err(|e| PeerError::Lost(format!("{addr} ({e})")))
    }
}

fn classify(addr: &str, e: reqwest::Error) -> PeerError {
    if e.is_connect() { PeerError::NotSent(format!("{addr} ({e})")) } else { PeerError::Lost(format!("{addr} ({e})")) }
}

/// The JSON head of a snapshot chunk; the chunk's bytes follow it.
#[derive(Serialize, Deserialize)]
pub struct SnapshotChunkHead {
    pub vote: Vote<u64>,
    pub meta: SnapshotMeta<u64, Member>,
    pub offset: u64,
    pub done: bool,
}

/// Frames a snapshot chunk: 4-byte big-endian head length, head, data.
pub fn encode_snapshot_chunk(rpc: &InstallSnapshotRequest<TypeConfig>) -> Vec<u8> {
    let head = SnapshotChunkHead { vote: rpc.vote, meta: rpc.meta.clone(), offset: rpc.offset, done: rpc.done };
    let head = serde_json::to_vec(&head).expect("snapshot heads serialize");
    let mut body = Vec::with_capacity(4 + head.len() + rpc.data.len());
    body.extend_from_slice(&(head.len() as u32).to_be_bytes());
    body.extend_from_slice(&head);
    body.extend_from_slice(&rpc.data);
    body
}

/// The inverse of [`encode_snapshot_chunk`].
pub fn decode_snapshot_chunk(body: &[u8]) -> Result<InstallSnapshotRequest<TypeConfig>, String> {
    let len = body.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or("snapshot chunk shorter than its length prefix")?;
    let head = body.get(4..4 + len).ok_or("snapshot chunk shorter than its head")?;
    let head: SnapshotChunkHead = serde_json::from_slice(head).map_err(|e| format!("unreadable snapshot chunk head: {e}"))?;
    Ok(InstallSnapshotRequest { vote: head.vote, meta: head.meta, offset: head.offset, data: body[4 + len..].to_vec(), done: head.done })
}

/// openraft's network factory over [`Peers`].
#[derive(Clone)]
pub struct HttpNetwork {
    pub peers: Peers,
    /// Whether this node may ask for votes (see `identity`).
    pub admitted: Arc<AtomicBool>,
    /// The cluster's log format level: below this binary's, a member may be
    /// older and is asked before a snapshot is sent to it (see `upgrade`).
    pub level: crate::ClusterLevel,
}

pub struct PeerConnection {
    peers: Peers,
    target: u64,
    addr: String,
    /// The incarnation of the target this node's membership records: every
    /// call says so, and another life of the target refuses it.
    incarnation: Option<String>,
    admitted: Arc<AtomicBool>,
    level: crate::ClusterLevel,
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: u64, node: &Member) -> Self::Network {
        PeerConnection {
            peers: self.peers.clone(),
            target,
            addr: node.addr.clone(),
            incarnation: node.incarnation.clone(),
            admitted: self.admitted.clone(),
            level: self.level.clone(),
        }
    }
}

impl PeerConnection {
    async fn rpc<Req, Resp, E>(&self, path: &str, body: &Req, option: &RPCOption) -> Result<Resp, RPCError<u64, Member, RaftError<u64, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let req = self.request(path, option)?.json(body);
        let answer: Result<Resp, RaftError<u64, E>> = Peers::finish(&self.addr, req).await.map_err(|e| self.rpc_error(e))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// A Raft call to the target, naming the incarnation it is meant for.
    fn request<E: std::error::Error>(&self, path: &str, option: &RPCOption) -> Result<reqwest::RequestBuilder, RPCError<u64, Member, E>> {
        let req = self.peers.request(&self.addr, path, option.hard_ttl()).map_err(|e| self.rpc_error(e))?;
        Ok(match &self.incarnation {
            Some(inc) => req.header(crate::TARGET_HEADER, inc.as_str()),
            None => req,
        })
    }

    /// A snapshot is this binary's database, migrations and all: a member
    /// running an older version could not open it. While the cluster's
    /// level says a member may be older, the target is asked first, and an
    /// older one gets no snapshot (it catches up once it is upgraded).
    async fn reads_our_snapshots<E: std::error::Error>(&self) -> Result<(), RPCError<u64, Member, E>> {
        use zhanqun_model::command::level::LOG_LEVEL;
        if self.level.get() >= LOG_LEVEL {
            return Ok(());
        }
        let status: Result<crate::LocalStatus, PeerError> = self.peers.call(&self.addr, paths::STATUS, &(), Duration::from_secs(2)).await;
        match status {
            Ok(s) if s.level >= LOG_LEVEL => Ok(()),
            Ok(s) => {
                let why = format!("node {} reads log format level {}, older than this version's snapshots ({LOG_LEVEL}): upgrade it", self.target, s.level);
                tracing::warn!("{why}");
                Err(RPCError::Unreachable(Unreachable::new(&PeerError::NotSent(why))))
            }
            Err(e) => Err(self.rpc_error(e)),
        }
    }

    fn rpc_error<E: std::error::Error>(&self, e: PeerError) -> RPCError<u64, Member, E> {
        match e {
            PeerError::NotSent(_) => RPCError::Unreachable(Unreachable::new(&e)),
            _ => RPCError::Network(NetworkError::new(&e)),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, Member, RaftError<u64>>> {
        self.rpc(paths::APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RPCError<u64, Member, RaftError<u64, InstallSnapshotError>>> {
        self.reads_our_snapshots().await?;
        let req = self.request(paths::SNAPSHOT, &option)?;
        let req = req.header("content-type", "application/octet-stream").body(encode_snapshot_chunk(&rpc));
        let answer: Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>> =
            Peers::finish(&self.addr, req).await.map_err(|e| self.rpc_error(e))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> Result<VoteResponse<u64>, RPCError<u64, Member, RaftError<u64>>> {
        // A node the membership does not name as itself asks nobody for a
        // vote (it should not be a candidate at all: see `Admission`).
        if !self.admitted.load(Ordering::Acquire) {
            return Err(RPCError::Unreachable(Unreachable::new(&PeerError::NotSent("this node is not admitted to vote".into()))));
        }
        self.rpc(paths::VOTE, &rpc, &option).await
    }
}
