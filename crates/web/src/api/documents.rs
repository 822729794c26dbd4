//! Documents: drafts and edits. The review steps are in `workflow.rs`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zhanqun_model::policy::{Need, WRITERS};
use zhanqun_model::urls::{Page, preview_url};
use zhanqun_model::{Attachment, Command, DocState, Document, DocumentPatch, Tenant, rules};
use zhanqun_store::{After, DocumentFilter};

use super::{Paging, Path, Query, Strict, WriteResponse, WriteResult, next_key, propose, tenant_by_code, to_json};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{App, new_id, now_ms};

/// A document as the API shows it: with its public URL and attachments.
#[derive(Serialize)]
struct DocumentView {
    #[serde(flatten)]
    document: Document,
    /// Where the public sees it (a path on any node), once published.
    url: String,
    attachments: Vec<Attachment>,
}

pub(super) async fn view(app: &App, tenant: &Tenant, document: Document) -> ApiResult<serde_json::Value> {
    let attachments = app.store.attachments_of(tenant.id, document.id).await?;
    Ok(view_with(tenant, document, attachments))
}

fn view_with(tenant: &Tenant, document: Document, attachments: Vec<Attachment>) -> serde_json::Value {
    let url = preview_url(tenant, &Page::Document { id: document.id });
    to_json(&DocumentView { document, url, attachments })
}

/// A new document: the column (by `channel_id` or by slug) and its content
/// as a patch of an empty draft — the same fields an edit sends, `title`
/// required. Unknown fields are refused (`Strict`).
#[derive(Deserialize, Serialize)]
pub struct NewDocument {
    /// The channel by its slug, when `channel_id` is not given.
    pub channel: Option<String>,
    #[serde(flatten)]
    pub content: DocumentPatch,
}

#[derive(Deserialize)]
pub struct ListQuery {
    channel_id: Option<i64>,
    state: Option<DocState>,
    page: Option<i64>,
    per_page: Option<i64>,
    /// Where the page starts: the `next` of the page before
    /// (`updated_at.id` of its last document).
    after: Option<String>,
}

/// Strips scripts, event handlers and anything else unsafe, keeps the rest;
/// refuses HTML too deep or tangled to parse in bounded time. Runs in the
/// node's pool for heavy edits, never on the async workers.
async fn sanitize(app: &App, html: String) -> ApiResult<String> {
    if html.is_empty() {
        return Ok(html);
    }
    if html.len() <= crate::heavy::IN_PLACE_BYTES {
        return Ok(crate::sanitize::body_html(&html)?);
    }
    Ok(app.content_work.run(move || crate::sanitize::body_html(&html)).await??)
}

fn check_written_date(date: Option<&str>) -> ApiResult<()> {
    match date {
        Some(d) if zhanqun_model::time::parse_date(d).is_none() => {
            Err(ApiError::Unprocessable("invalid_date".into(), "written_date (成文日期) must be a real date in the form YYYY-MM-DD".into()))
        }
        _ => Ok(()),
    }
}

fn normalize_doc_no(doc_no: Option<String>) -> ApiResult<Option<String>> {
    match doc_no.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => Ok(Some(rules::normalize_doc_no(d)?)),
    }
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<ListQuery>) -> ApiResult<Json<serde_json::Value>> {
    let t = tenant_by_code(&app, &code).await?;
    if !caller.user.belongs_to(t.id) {
        return Err(ApiError::forbidden());
    }
    let (per_page, offset) = Paging { page: q.page, per_page: q.per_page }.limit_offset();
    // By key when `after` is given (`page` is then ignored), else by OFFSET.
    let after = match q.after.as_deref() {
        None => None,
        Some(key) => Some(parse_after(key).ok_or_else(|| ApiError::bad_request("invalid_cursor", "`after` is the `next` of the previous page"))?),
    };
    let filter = DocumentFilter { channel_id: q.channel_id, state: q.state, limit: per_page + 1, offset, ..Default::default() };
    let mut documents = app.store.documents_page(t.id, &filter, after).await?;
    let next = next_key(&mut documents, per_page, |d| format!("{}.{}", d.updated_at, d.id));
    let total = app.store.documents_matching(t.id, &filter).await?;
    let mut items = Vec::with_capacity(documents.len());
    for d in documents {
        items.push(view(&app, &t, d).await?);
    }
    Ok(Json(serde_json::json!({ "items": items, "total": total, "next": next })))
}

/// A page key as `next` gives it: `updated_at.id`.
fn parse_after(key: &str) -> Option<After> {
    let (updated_at, id) = key.split_once('.')?;
    Some(After { updated_at: updated_at.parse().ok()?, id: id.parse().ok()? })
}

pub(super) async fn load(app: &App, caller: &Caller, code: &str, id: i64) -> ApiResult<(Tenant, Document)> {
    let t = tenant_by_code(app, code).await?;
    if !caller.user.belongs_to(t.id) {
        return Err(ApiError::forbidden());
    }
    let d =
        app.store.document(t.id, id).await?.ok_or_else(|| ApiError::NotFound("unknown_document".into(), format!("this site has no document with id {id}")))?;
    Ok((t, d))
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> ApiResult<Json<serde_json::Value>> {
    let (t, d) = load(&app, &caller, &code, id).await?;
    Ok(Json(view(&app, &t, d).await?))
}

/// What the API does to content before proposing it, for a new document
/// and an edit alike: the limits of the texts, the body sanitized, the 文号
/// in its standard form, the 成文日期 a real date.
async fn prepare(app: &App, patch: &mut DocumentPatch) -> ApiResult<()> {
    patch.check_texts().map_err(ApiError::from)?;
    if let Some(body) = patch.body_html.take() {
        patch.body_html = Some(sanitize(app, body).await?);
    }
    if patch.doc_no.is_some() {
        patch.doc_no = normalize_doc_no(patch.doc_no.take())?;
    }
    check_written_date(patch.written_date.as_deref())
}

pub async fn create(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Strict(body): Strict<NewDocument>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    caller.may(Need::SiteRole(t.id, WRITERS))?;
    let NewDocument { channel, content: mut patch } = body;
    let Some(title) = patch.title.as_deref().map(str::trim).map(String::from) else {
        return Err(ApiError::Unprocessable("invalid_field".into(), "missing field `title`".into()).into());
    };
    patch.title = Some(title.clone());
    let channels = app.store.channels(t.id).await?;
    let channel = match (patch.channel_id, channel.as_deref()) {
        (Some(id), _) => channels.iter().find(|c| c.id == id),
        (None, Some(slug)) => channels.iter().find(|c| c.slug == slug),
        (None, None) => return Err(ApiError::Unprocessable("missing_field".into(), "say which channel: `channel_id` or `channel` (its slug)".into()).into()),
    }
    .ok_or_else(|| ApiError::NotFound("unknown_channel".into(), "this site has no such channel".into()))?;
    patch.channel_id = Some(channel.id);
    prepare(&app, &mut patch).await?;
    if let Some(disclosure) = patch.disclosure {
        rules::check_disclosure(disclosure, patch.disclosure_reason.as_deref()).map_err(ApiError::from)?;
    }
    let organ = patch.issuing_organ.take().unwrap_or_else(|| t.name.clone());
    let mut document = Document::draft(new_id(), t.id, channel.id, title, organ, now_ms());
    document.content.apply(&patch);
    document.created_by = Some(caller.user.id);
    document.check_texts().map_err(ApiError::from)?;
    let attachment_ids = patch.attachment_ids.take().unwrap_or_default();
    let has_attachments = !attachment_ids.is_empty();
    let (headers, applied) = propose(&app, caller.propose(Command::CreateDocument { document: document.clone(), attachment_ids })).await?;
    // A new draft is stored as proposed but for the 索引号 the state machine
    // assigns, which it answers with: no re-read of the row, nor of its
    // attachments when it was created with none.
    document.content.meta.index_no = applied.index_no.unwrap_or_default();
    let view = if has_attachments { view(&app, &t, document).await? } else { view_with(&t, document, Vec::new()) };
    Ok(WriteResponse(StatusCode::CREATED, headers, view))
}

pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    Strict(mut patch): Strict<DocumentPatch>,
) -> WriteResult {
    let (t, _) = load(&app, &caller, &code, id).await?;
    caller.may(Need::SiteRole(t.id, WRITERS))?;
    prepare(&app, &mut patch).await?;
    let (headers, _) = propose(&app, caller.propose(Command::UpdateDocument { tenant_id: t.id, document_id: id, patch })).await?;
    let d = app.store.document(t.id, id).await?.ok_or_else(|| ApiError::internal("document vanished after update"))?;
    Ok(WriteResponse(StatusCode::OK, headers, view(&app, &t, d).await?))
}
