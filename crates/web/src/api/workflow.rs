//! The review steps of a document, one endpoint each:
//! `POST /tenants/{code}/documents/{id}/{submit|approve|return|secrecy-review|publish|withdraw}`,
//! and its audit trail at `GET …/{id}/audit`.
//!
//! A step by someone of the site is always proposed, even one the rules
//! will refuse: the state machine decides (`zhanqun_model::workflow`) and
//! writes every attempt to the audit trail, so a refused approval by the
//! wrong person is on record with who, when and from where (MLPS asks for
//! failed attempts too). People of other sites get a 403 before that.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zhanqun_model::Command;

use super::documents::{load, view};
use super::{ApiJson, Path, WriteResponse, WriteResult, propose};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

async fn step(app: Arc<App>, caller: Caller, code: String, id: i64, command: impl FnOnce(i64) -> Command) -> WriteResult {
    let (t, _) = load(&app, &caller, &code, id).await?;
    let (headers, _) = propose(&app, caller.propose(command(t.id))).await?;
    let d = app.store.document(t.id, id).await?.ok_or_else(|| ApiError::internal("document vanished after a workflow step"))?;
    Ok(WriteResponse(StatusCode::OK, headers, view(&app, &t, d).await?))
}

pub async fn submit(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    let (_, d) = super::documents::load(&app, &caller, &code, id).await?;
    // Personal data a reviewer let stay (for this very body) does not block.
    let allowed = app.store.personal_data_allowance(&d).await?.is_some();
    let blocking: Vec<String> = content_hits(&app, &d).await?.iter().filter(|h| h.block && !(allowed && h.is_personal_data())).map(|h| h.describe()).collect();
    if !blocking.is_empty() {
        let more = if blocking.len() > 10 { format!("，另有 {} 处", blocking.len() - 10) } else { String::new() };
        return Err(ApiError::Conflict(
            "content_check".into(),
            format!("发布前内容检查未通过，请修改后再提交：{}{more}", blocking.iter().take(10).cloned().collect::<Vec<_>>().join("；")),
        )
        .into());
    }
    step(app, caller, code, id, |tenant_id| Command::SubmitDocument { tenant_id, document_id: id }).await
}

/// Links of a body to its own site checked, at most.
const LINKS_CHECKED: usize = 30;

/// What the content check finds in a document's title, summary and body:
/// the operator's words, personal data, images without alternative text,
/// links outside the allow-list (the sites hosted here are inside it).
pub(crate) async fn content_hits(app: &Arc<App>, d: &zhanqun_model::Document) -> Result<Vec<zhanqun_model::content_check::Hit>, ApiError> {
    use zhanqun_model::content_check::{dead_link, internal_links};
    let sites = app.derived.directory.current(&app.store).await?;
    let hosts = sites.tenants().flat_map(|t| t.hosts.iter().cloned());
    let mut hits = app.config.content_rules.check_document(&d.title, d.summary.as_deref().unwrap_or(""), &d.body_html, hosts);
    // The text of its Word attachments (PDF is not read).
    for a in app.store.attachments_of(d.tenant_id, d.id).await? {
        if !zhanqun_platform::attachment_text::readable(&a.file_name, &a.content_type) {
            continue;
        }
        let Ok(bytes) = app.blobs.get(&a.sha256).await else {
            tracing::warn!(attachment = a.id, "content check: cannot read the attachment's bytes");
            continue;
        };
        match app.content_work.run(move || zhanqun_platform::attachment_text::docx_text(&bytes)).await? {
            Ok(text) => hits.extend(zhanqun_model::content_check::check_attachment(&a.file_name, &text, &app.config.content_rules.words)),
            Err(why) => tracing::info!(attachment = a.id, "content check: attachment not read: {why}"),
        }
    }
    // The body's links to its own site's pages, each asked of the public
    // side as a reader would (错链 are what inspectors click first).
    if let Some(site) = sites.by_id(d.tenant_id) {
        for (at, path) in internal_links(&d.body_html, &site.hosts).into_iter().take(LINKS_CHECKED) {
            let status = crate::public::status_of(app, site, &path).await;
            if !(200..400).contains(&status) {
                hits.push(dead_link(at, &path, status));
            }
        }
    }
    Ok(hits)
}

pub async fn approve(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::ApproveDocument { tenant_id, document_id: id }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// 退文理由: what the editor must change.
    pub reason: String,
}

pub async fn send_back(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<ReturnBody>) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::ReturnDocument { tenant_id, document_id: id, reason: body.reason }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceBody {
    /// Why the personal data must be published (a contact number of the office).
    pub reason: String,
}

/// `POST …/{id}/allow-personal-data`: a reviewer's leave for the personal
/// data in a draft, kept with its reason in the audit trail.
pub async fn allow_personal_data(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<AllowanceBody>,
) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::AllowPersonalData { tenant_id, document_id: id, reason: body.reason }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffBody {
    pub passed: bool,
    /// 审查结论.
    pub conclusion: String,
}

pub async fn sign_off(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<SignOffBody>) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::SignOffSecrecy { tenant_id, document_id: id, passed: body.passed, conclusion: body.conclusion }).await
}

pub async fn publish(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::PublishDocument { tenant_id, document_id: id }).await
}

pub async fn withdraw(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::WithdrawDocument { tenant_id, document_id: id }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityBody {
    pub validity: zhanqun_model::Validity,
    pub replaced_by: Option<i64>,
}

/// `POST …/{id}/validity`: 有效 / 失效 / 废止 / 修订 of a published document.
pub async fn set_validity(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<ValidityBody>,
) -> WriteResult {
    step(app, caller, code, id, |tenant_id| Command::SetValidity { tenant_id, document_id: id, validity: body.validity, replaced_by: body.replaced_by }).await
}

/// A time in a request: milliseconds since the epoch, or Beijing time as
/// `YYYY-MM-DD HH:MM[:SS]` (a `T` in place of the space works too).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum When {
    Millis(i64),
    Text(String),
}

impl When {
    fn millis(&self, field: &str) -> ApiResult<i64> {
        match self {
            When::Millis(ms) => Ok(*ms),
            When::Text(t) => zhanqun_model::time::parse_minute(t).ok_or_else(|| {
                ApiError::Unprocessable("invalid_time".into(), format!("{field} must be milliseconds or Beijing time like 2026-12-01 09:00, not {t:?}"))
            }),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    pub publish_at: Option<When>,
    pub unpublish_at: Option<When>,
}

/// `POST …/{id}/schedule`: publish an approved document at `publish_at`,
/// withdraw a published one at `unpublish_at`. The leader does it on time.
pub async fn schedule(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<ScheduleBody>) -> WriteResult {
    let publish_at = body.publish_at.as_ref().map(|w| w.millis("publish_at")).transpose()?;
    let unpublish_at = body.unpublish_at.as_ref().map(|w| w.millis("unpublish_at")).transpose()?;
    step(app, caller, code, id, |tenant_id| Command::ScheduleDocument { tenant_id, document_id: id, publish_at, unpublish_at }).await
}

/// Every step taken on a document, refused ones included, newest first:
/// for the people of the site and the auditor (the 系统管理员 reads no
/// audit records, 三权分立).
pub async fn audit(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> ApiResult<Json<serde_json::Value>> {
    let t = super::tenant_by_code(&app, &code).await?;
    if !(caller.user.is_auditor() || caller.user.belongs_to(t.id)) {
        return Err(ApiError::Forbidden("the audit trail of a document is for the people of its site and the 审计管理员".into()));
    }
    let d =
        app.store.document(t.id, id).await?.ok_or_else(|| ApiError::NotFound("unknown_document".into(), format!("this site has no document with id {id}")))?;
    let items = app.store.audit(Some(t.id), Some(d.id), None, 500).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}
