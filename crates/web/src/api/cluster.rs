//! `GET /api/v1/cluster/status`: members, leader, term, each node's applied
//! index and lag. Open to the platform administrator and to callers holding
//! the cluster secret (the `zhanqun cluster` command, monitoring).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use zhanqun_cluster::{ClusterStatus, SECRET_HEADER};
use zhanqun_model::policy::Need;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

pub async fn status(State(app): AppState, headers: HeaderMap, caller: Result<Caller, ApiError>) -> ApiResult<Json<ClusterStatus>> {
    let by_secret = match (headers.get(SECRET_HEADER), app.node.peers_secret()) {
        (Some(presented), Some(secret)) => secret.verify(presented.to_str().unwrap_or("")),
        _ => false,
    };
    if !by_secret {
        caller?.may(Need::PlatformAdmin)?;
    }
    Ok(Json(app.node.cluster_status().await))
}
