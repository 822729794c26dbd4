//! A site's HTTPS certificate (系统管理员): given as PEM, checked, stored in
//! the platform and replicated, served by every node's TLS listener by SNI
//! without a restart. The key goes in and never comes back out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::policy::Need;
use zhanqun_model::{Command, SiteCertificate};

use super::{ApiJson, Path, WriteResponse, WriteResult, propose, tenant_by_code};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{App, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCertificate {
    /// The certificate, then its intermediates, in PEM.
    chain_pem: String,
    private_key_pem: String,
}

/// What may be shown of a certificate: never the key.
fn shown(c: &SiteCertificate) -> serde_json::Value {
    serde_json::json!({
        "sha256": c.sha256,
        "not_after": c.not_after,
        "hosts": c.hosts,
    })
}

async fn stored(app: &App, tenant_id: i64) -> ApiResult<Option<SiteCertificate>> {
    Ok(app.store.site_certificate(tenant_id).await?)
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    caller.may(Need::PlatformAdmin)?;
    let t = tenant_by_code(&app, &code).await?;
    let c = stored(&app, t.id).await?.ok_or_else(|| ApiError::NotFound("no_certificate".into(), format!("site {code} has no certificate")))?;
    Ok(Json(shown(&c)))
}

pub async fn set(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, ApiJson(body): ApiJson<NewCertificate>) -> WriteResult {
    // The duty first: a site account learns nothing about what it sent.
    caller.may(Need::PlatformAdmin)?;
    let t = tenant_by_code(&app, &code).await?;
    let certificate = zhanqun_platform::tls::read_certificate(&body.chain_pem, &body.private_key_pem, &t.hosts, now_ms())
        .map_err(|why| ApiError::Unprocessable("invalid_certificate".into(), why))?;
    let answer = shown(&certificate);
    let (headers, _) = propose(&app, caller.propose(Command::SetCertificate { tenant_id: t.id, certificate: Some(certificate) })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, answer))
}

pub async fn remove(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>) -> WriteResult {
    caller.may(Need::PlatformAdmin)?;
    let t = tenant_by_code(&app, &code).await?;
    if stored(&app, t.id).await?.is_none() {
        return Err(ApiError::NotFound("no_certificate".into(), format!("site {code} has no certificate")).into());
    }
    let (headers, _) = propose(&app, caller.propose(Command::SetCertificate { tenant_id: t.id, certificate: None })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "done": true })))
}
