//! Tenants (sites): their settings. Their columns are in `channels`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::policy::Need;
use zhanqun_model::{Command, Lifecycle, Tenant, TenantKind, TenantPatch, rules};

use super::{ApiJson, Path, Strict, WriteResponse, WriteResult, propose, tenant_by_code, to_json};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{App, new_id, now_ms};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    code: String,
    name: String,
    kind: TenantKind,
    /// Code of the parent site (a township's county portal).
    parent: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    mount_under_parent: bool,
    site_id_code: Option<String>,
    icp: Option<String>,
    police_record: Option<String>,
    /// 党政机关网站标识 number.
    conac_id: Option<String>,
    organ_code: String,
    mailbox: Option<String>,
    lifecycle: Option<Lifecycle>,
}

/// The platform administrator, who runs the sites, and the 安全管理员, who
/// grants roles in them, see every site's settings (never its documents);
/// anyone else the sites they hold a role in.
pub(super) fn sees_site(caller: &Caller, t: &Tenant) -> bool {
    caller.user.is_platform_admin() || caller.user.is_security_admin() || caller.user.belongs_to(t.id)
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    let dir = app.derived.directory.current(&app.store).await?;
    let visible: Vec<&Tenant> = dir.tenants().filter(|t| sees_site(&caller, t)).collect();
    Ok(Json(serde_json::json!({ "items": visible })))
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>) -> ApiResult<Json<Tenant>> {
    let t = tenant_by_code(&app, &code).await?;
    if !sees_site(&caller, &t) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(t))
}

pub async fn create(State(app): State<Arc<App>>, caller: Caller, ApiJson(body): ApiJson<NewTenant>) -> WriteResult {
    caller.may(Need::PlatformAdmin)?;
    rules::check_code("tenant code", &body.code).map_err(ApiError::from)?;
    let parent_id = match &body.parent {
        Some(code) => Some(tenant_by_code(&app, code).await?.id),
        None => None,
    };
    let hosts: Vec<String> = body.hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let now = now_ms();
    let tenant = Tenant {
        id: new_id(),
        code: body.code,
        name: body.name,
        kind: body.kind,
        parent_id,
        hosts,
        mount_under_parent: body.mount_under_parent,
        site_id_code: body.site_id_code,
        icp: body.icp,
        police_record: body.police_record,
        conac_id: body.conac_id,
        organ_code: body.organ_code,
        mailbox: body.mailbox,
        lifecycle: body.lifecycle.unwrap_or(Lifecycle::Building),
        created_at: now,
        updated_at: now,
    };
    // The state machine stores the site as proposed: answer with it, no re-read.
    let (headers, _) = propose(&app, caller.propose(Command::CreateTenant { tenant: tenant.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&tenant)))
}

pub async fn update(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Strict(mut patch): Strict<TenantPatch>) -> WriteResult {
    caller.may(Need::PlatformAdmin)?;
    let t = tenant_by_code(&app, &code).await?;
    if let Some(hosts) = &mut patch.hosts {
        for h in hosts.iter_mut() {
            *h = h.trim().to_ascii_lowercase();
        }
    }
    let (headers, _) = propose(&app, caller.propose(Command::UpdateTenant { tenant_id: t.id, patch })).await?;
    let updated = tenant_by_code(&app, &code).await?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(&updated)))
}
