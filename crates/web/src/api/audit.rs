//! `GET /api/v1/audit`: the platform's audit trail, for the 审计管理员 only.
//! Filters: `tenant` (a site code), `target` (an id), `before` (an entry id,
//! to page back), `limit` (≤ 1000, default 100); `format=csv` exports.
//! `GET /api/v1/audit/verify` recomputes the hash chain (tamper evidence).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zhanqun_model::time::format_minute;

use super::csv::Csv;
use super::{Query, tenant_by_code};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct AuditQuery {
    tenant: Option<String>,
    target: Option<i64>,
    before: Option<i64>,
    limit: Option<i64>,
    format: Option<String>,
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller, Query(q): Query<AuditQuery>) -> ApiResult<Response> {
    caller.require_auditor()?;
    let tenant = match &q.tenant {
        Some(code) => Some(tenant_by_code(&app, code).await?.id),
        None => None,
    };
    let entries = app.store.audit(tenant, q.target, q.before, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(serde_json::json!({ "items": entries })).into_response()),
        Some("csv") => {
            let mut csv = Csv::new(&["id", "time", "actor", "client_ip", "tenant_id", "target_id", "action", "result", "detail"]);
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            for e in &entries {
                let l = &e.line;
                csv.row(&[
                    e.id.to_string(),
                    format_minute(l.at),
                    opt(l.actor),
                    l.client_ip.clone().unwrap_or_default(),
                    opt(l.tenant_id),
                    opt(l.target_id),
                    l.action.clone(),
                    l.result.clone(),
                    l.detail.clone().unwrap_or_default(),
                ]);
            }
            Ok(csv.into_response("audit.csv"))
        }
        Some(other) => Err(ApiError::bad_request("bad_format", format!("`format` is json or csv, not {other:?}"))),
    }
}

/// `GET /api/v1/audit/verify`: recomputes the hash chain of the whole trail.
pub async fn verify(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<axum::Json<zhanqun_store::ChainCheck>> {
    caller.require_auditor()?;
    Ok(axum::Json(app.store.verify_audit_chain().await?))
}
