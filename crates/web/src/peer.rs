//! The node-to-node endpoints under `/_raft/`: Raft RPC, forwarded writes
//! and read barriers, membership changes, status.
//!
//! Every call must carry the cluster secret ([`Peer`] checks it); a refusal
//! is logged with the caller's address and counted in
//! `zhanqun_raft_refused_peer_calls_total`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use zhanqun_cluster::network::{decode_snapshot_chunk, paths};
use zhanqun_cluster::{ClusterOp, FROM_HEADER, SECRET_HEADER, TypeConfig};
use zhanqun_model::Proposal;

use crate::auth::client_ip;
use crate::error::ApiError;
use crate::{App, AppState};

/// Raft batches and snapshot chunks are larger than API bodies.
const PEER_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(paths::APPEND, post(append))
        .route(paths::VOTE, post(vote))
        .route(paths::SNAPSHOT, post(snapshot))
        .route(paths::WRITE, post(write))
        .route(paths::READ_INDEX, post(read_index))
        .route(paths::MEMBERS, post(members))
        .route(paths::STATUS, post(status))
        .route(paths::CLUSTER, post(cluster))
        .route(paths::CHECKSUM, post(checksum))
        .route(paths::ACCOUNT, post(crate::operator::account))
        .layer(DefaultBodyLimit::max(PEER_BODY_LIMIT))
}

/// A caller that presented the cluster secret.
pub struct Peer;

impl FromRequestParts<Arc<App>> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let refuse = |reason: &'static str, answer: ApiError| {
            let from = parts.headers.get(FROM_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("?");
            let ip = client_ip(parts).unwrap_or_default();
            tracing::warn!(path = parts.uri.path(), %ip, from, reason, "refused a peer call");
            app.node.metrics.refused_peer_calls.with_label_values(&[reason]).inc();
            answer
        };
        let Some(secret) = app.node.peers_secret() else {
            return Err(refuse("no_secret_here", ApiError::Forbidden("this node has no cluster secret: set ZHANQUN_CLUSTER_SECRET on every node".into())));
        };
        let Some(presented) = parts.headers.get(SECRET_HEADER) else {
            return Err(refuse("missing", ApiError::Unauthenticated("peer calls must carry the cluster secret")));
        };
        if !secret.verify(presented.to_str().unwrap_or("")) {
            return Err(refuse("wrong", ApiError::Forbidden("wrong cluster secret".into())));
        }
        Ok(Peer)
    }
}

/// A Raft call meant for this very node: the incarnation the caller's
/// membership records for it is this node's own (see the cluster crate's
/// `identity`). Another life of the node — one that lost its data — refuses
/// every call, so the leader neither counts it nor sends it anything, and
/// no candidate gets its vote, until the cluster has re-added it.
pub struct ForThisNode;

impl FromRequestParts<Arc<App>> for ForThisNode {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let expected = parts.headers.get(zhanqun_cluster::TARGET_HEADER).and_then(|v| v.to_str().ok());
        if app.node.accepts_call_for(expected).await {
            return Ok(ForThisNode);
        }
        app.node.metrics.refused_peer_calls.with_label_values(&["identity"]).inc();
        Err(ApiError::Conflict(
            "identity_mismatch".into(),
            format!(
                "node {} is not the incarnation {} the caller's membership records (it lost its data and must be removed and re-added; it asks for that when it joins)",
                app.node.id,
                expected.unwrap_or("(none, from before incarnations)")
            ),
        ))
    }
}

async fn append(_: Peer, _: ForThisNode, State(app): AppState, Json(rpc): Json<AppendEntriesRequest<TypeConfig>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(app.node.raft.append_entries(rpc).await).expect("raft answers serialize"))
}

async fn vote(_: Peer, _: ForThisNode, State(app): AppState, Json(rpc): Json<VoteRequest<u64>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(app.node.raft.vote(rpc).await).expect("raft answers serialize"))
}

async fn snapshot(_: Peer, _: ForThisNode, State(app): AppState, body: Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let rpc = decode_snapshot_chunk(&body).map_err(|e| ApiError::bad_request("bad_snapshot_chunk", e))?;
    Ok(Json(serde_json::to_value(app.node.raft.install_snapshot(rpc).await).expect("raft answers serialize")))
}

async fn write(_: Peer, State(app): AppState, Json(proposal): Json<Proposal>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(app.node.write_here(proposal).await).expect("write answers serialize"))
}

async fn read_index(_: Peer, State(app): AppState) -> Json<serde_json::Value> {
    Json(serde_json::to_value(app.node.read_index_here().await).expect("read-index answers serialize"))
}

async fn members(_: Peer, State(app): AppState, Json(op): Json<ClusterOp>) -> Json<Result<(), String>> {
    tracing::info!(?op, "membership change requested");
    Json(app.node.change_members(op).await)
}

async fn status(_: Peer, State(app): AppState) -> Json<zhanqun_cluster::LocalStatus> {
    Json(app.node.local_status())
}

async fn cluster(_: Peer, State(app): AppState) -> Json<zhanqun_cluster::ClusterStatus> {
    Json(app.node.cluster_status().await)
}

/// The content digest at this node's applied position (see
/// `Store::content_checksum`): replicas at the same index must agree.
async fn checksum(_: Peer, State(app): AppState) -> Result<Json<zhanqun_cluster::Checksum>, ApiError> {
    Ok(Json(app.node.checksum().await?))
}
