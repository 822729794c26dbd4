//! The editor's screens: the document list, a new document, the editor
//! with its metadata form, uploads, and the preview on the site's own
//! template.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use zhanqun_model::{ChannelKind, DocState, Document, DocumentPatch, Tenant};
use zhanqun_store::{After, DocumentFilter};

use super::home::item;
use super::{Browser, Page, layout, my_site, render, render_status, review, url_encode, words};
use crate::App;
use crate::api::{self, WriteRefused};

const PER_PAGE: i64 = 30;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    channel: Option<String>,
    state: Option<String>,
    disclosure: Option<String>,
    year: Option<String>,
    q: Option<String>,
    /// The key of the last row of the previous page: `updated_at.id`.
    after: Option<String>,
}

fn parse_after(s: Option<&str>) -> Option<After> {
    let (u, i) = s?.split_once('.')?;
    Some(After { updated_at: u.parse().ok()?, id: i.parse().ok()? })
}

fn some(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /admin/sites/{code}/documents`: newest change first, filtered,
/// paged by key; with `q`, the search engine's answers for this site.
pub async fn list(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Query(q): Query<ListQuery>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let channels = app.store.channels(t.id).await?;
    let filter = DocumentFilter {
        channel_id: some(&q.channel).and_then(|c| c.parse().ok()),
        state: some(&q.state).and_then(|s| s.parse::<DocState>().ok()),
        disclosure: some(&q.disclosure).and_then(|s| s.parse().ok()),
        year: some(&q.year).and_then(|y| y.parse().ok()),
        created_by: None,
        limit: PER_PAGE + 1,
        offset: 0,
    };
    let mut docs = match some(&q.q) {
        Some(text) => search(&app, &b, &t, text).await?,
        None => app.store.documents_page(t.id, &filter, parse_after(q.after.as_deref())).await?,
    };
    let more = docs.len() as i64 > PER_PAGE;
    docs.truncate(PER_PAGE as usize);
    let next = if more && some(&q.q).is_none() {
        docs.last().map(|d| {
            let keep = [("channel", &q.channel), ("state", &q.state), ("disclosure", &q.disclosure), ("year", &q.year)]
                .iter()
                .filter_map(|(k, v)| some(v).map(|v| format!("&{k}={}", url_encode(v))))
                .collect::<String>();
            format!("?after={}.{}{keep}", d.updated_at, d.id)
        })
    } else {
        None
    };
    let states: Vec<Value> = DocState::ALL.iter().map(|s| context! { code => s.as_str(), name => words::state(*s) }).collect();
    let this_year = zhanqun_model::time::format_date(crate::now_ms())[..4].parse::<i64>().unwrap_or(2026);
    render(
        &app,
        "admin/documents.html",
        context! {
            layout => layout(&b, Some(&t)),
            docs => docs.iter().map(|d| item(&t, d)).collect::<Vec<_>>(), next, first => q.after.is_some(),
            channels => channels.iter().filter(|c| holds_documents(c.kind)).map(|c| context! { id => c.id.to_string(), name => c.name }).collect::<Vec<_>>(),
            states, years => (this_year - 9..=this_year).rev().map(|y| y.to_string()).collect::<Vec<_>>(),
            f => context! { channel => q.channel, state => q.state, disclosure => q.disclosure, year => q.year, q => q.q },
        },
    )
}

fn holds_documents(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::List | ChannelKind::Disclosure | ChannelKind::Page)
}

/// The admin search, scoped to this site (drafts included).
async fn search(app: &App, b: &Browser, t: &Tenant, text: &str) -> Result<Vec<Document>, Page> {
    let Some(index) = app.search.as_ref() else { return Ok(Vec::new()) };
    debug_assert!(b.user.belongs_to(t.id), "scoped to a site of the caller");
    let query = zhanqun_search::Query {
        text: text.to_string(),
        scope: zhanqun_search::Scope::Sites(vec![t.id]),
        public_only: false,
        limit: PER_PAGE as usize,
        ..Default::default()
    };
    let hits = crate::search::request::run(app, index, query).await?.map_err(|e| match e {
        zhanqun_search::SearchError::BadQuery(m) => Page::Failed(crate::ApiError::bad_request("bad_query", m)),
        other => Page::Failed(crate::ApiError::internal(other)),
    })?;
    let mut docs = Vec::new();
    for h in hits.hits {
        if let Some(d) = app.store.document(t.id, h.id).await? {
            docs.push(d);
        }
    }
    Ok(docs)
}

/// `GET …/documents/new`: the title and the column, then the editor.
pub async fn new_page(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let channels = app.store.channels(t.id).await?;
    render(
        &app,
        "admin/new.html",
        context! {
            layout => layout(&b, Some(&t)),
            channels => channels.iter().filter(|c| holds_documents(c.kind)).map(|c| context! { id => c.id, name => c.name }).collect::<Vec<_>>(),
            error => (), title => "",
        },
    )
}

#[derive(Deserialize)]
pub struct NewForm {
    title: String,
    channel_id: i64,
}

/// `POST …/documents`: a draft with its title, in its column.
pub async fn create(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Form(form): Form<NewForm>) -> Result<Response, Page> {
    let t = my_site(&app, &b, &code).await?;
    let patch = DocumentPatch { title: Some(form.title.clone()), channel_id: Some(form.channel_id), ..Default::default() };
    let body = api::Strict(api::documents::NewDocument { channel: None, content: patch });
    match api::documents::create(State(app.clone()), b.caller(), api::Path(code.clone()), body).await {
        Ok(api::WriteResponse(_, _, json)) => {
            let id = json["id"].as_i64().unwrap_or_default();
            Ok(Redirect::to(&format!("/admin/sites/{code}/documents/{id}")).into_response())
        }
        Err(WriteRefused(_, e)) => {
            let channels = app.store.channels(t.id).await?;
            let (text, _) = words::refusal(&e);
            Ok(render_status(
                &app,
                e.status(),
                "admin/new.html",
                context! {
                    layout => layout(&b, Some(&t)),
                    channels => channels.iter().filter(|c| holds_documents(c.kind)).map(|c| context! { id => c.id, name => c.name }).collect::<Vec<_>>(),
                    error => text, title => form.title,
                },
            )?
            .into_response())
        }
    }
}

/// Public attachment paths in a body shown in the workbench point at the
/// workbench's own copy, which shows a draft's pictures too; saving turns
/// them back, so the published page links the public path.
pub fn for_workbench(t: &Tenant, html: &str) -> String {
    html.replace(&public_files(t), &workbench_files(t))
}

fn for_public(t: &Tenant, html: &str) -> String {
    html.replace(&workbench_files(t), &public_files(t))
}

/// `/sites/{code}/att/`: where the public fetches a site's files.
fn public_files(t: &Tenant) -> String {
    let one = zhanqun_model::urls::preview_url(t, &zhanqun_model::urls::Page::Attachment { id: 0 });
    one.trim_end_matches('0').to_string()
}

fn workbench_files(t: &Tenant) -> String {
    format!("/admin/sites/{}/attachments/", t.code)
}

#[derive(Deserialize, Default)]
pub struct OpenQuery {
    saved: Option<String>,
}

/// `GET …/documents/{id}`: the editor for a draft the person may write;
/// for everyone else of the site (and for documents under review or
/// published) the document with the steps that are theirs.
pub async fn open(State(app): State<Arc<App>>, b: Browser, Path((code, id)): Path<(String, i64)>, Query(q): Query<OpenQuery>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
    let editable = matches!(d.state, DocState::Draft | DocState::Withdrawn) && b.user.may(t.id, zhanqun_model::policy::WRITERS);
    if !editable {
        let notice = q.saved.is_some().then(|| if zhanqun_model::workflow::under_review(d.state) { "已保存并提交审核。" } else { "已完成。" });
        return review::show(&app, &b, &t, &d, None, notice).await;
    }
    let form = EditorForm::from_document(&t, &d);
    editor(&app, &b, &t, &d, &form, Editing { saved: q.saved.is_some(), ..Default::default() }, StatusCode::OK).await
}

/// The content check of a document as saved, for its editor and its
/// document page: the hits, a reviewer's leave for personal data, and
/// whether this person may give one (a site admin or reviewer, while the
/// document is a draft).
pub(super) async fn content_check(app: &Arc<App>, b: &Browser, t: &Tenant, d: &Document) -> Result<Value, Page> {
    let hits = crate::api::workflow::content_hits(app, d).await?;
    let allowance = app.store.personal_data_allowance(d).await?;
    let draft = matches!(d.state, DocState::Draft | DocState::Withdrawn);
    let may_allow = draft && hits.iter().any(|h| h.is_personal_data()) && b.user.may(t.id, zhanqun_model::policy::CONTENT_REVIEWERS);
    Ok(context! {
        hits => hits.iter().map(|h| context! { text => h.describe(), block => h.block }).collect::<Vec<_>>(),
        allowance => allowance.map(|(reason, _, at)| context! { reason, at }), may_allow,
    })
}

#[derive(Default)]
struct Editing {
    saved: bool,
    error: Option<String>,
    field: Option<&'static str>,
    /// Someone else's save that came first: shown beside the text typed.
    theirs: Option<Document>,
}

async fn editor(app: &Arc<App>, b: &Browser, t: &Tenant, d: &Document, form: &EditorForm, e: Editing, status: StatusCode) -> Result<Page, Page> {
    let channels = app.store.channels(t.id).await?;
    let attachments = app.store.attachments_of(t.id, d.id).await?;
    // The newest ten, read by key (a document edited a thousand times
    // costs what one edited ten times does).
    let latest = app.store.latest_revision(t.id, d.id, i64::MAX).await?.unwrap_or(0);
    let revisions = app.store.revision_list(t.id, d.id, (latest - 10).max(0), 10).await?;
    let check = content_check(app, b, t, d).await?;
    let theirs = e
        .theirs
        .as_ref()
        .map(|o| context! { title => o.title, body_html => Value::from_safe_string(for_workbench(t, &o.body_html)), updated_at => o.updated_at });
    render_status(
        app,
        status,
        "admin/editor.html",
        context! {
            layout => layout(b, Some(t)), doc => item(t, d), form => Value::from_serialize(form),
            body_html => Value::from_safe_string(for_workbench(t, &form.body_html)),
            channels => channels.iter().filter(|c| holds_documents(c.kind)).map(|c| context! { id => c.id.to_string(), name => c.name }).collect::<Vec<_>>(),
            attachments => attachments.iter().map(|a| context! { id => a.id, name => a.file_name, size => a.size, url => format!("/admin/sites/{}/attachments/{}", t.code, a.id) }).collect::<Vec<_>>(),
            revisions => revisions.iter().rev().take(10).map(|r| context! { n => r.revision, at => r.at }).collect::<Vec<_>>(),
            returned => d.returned.as_ref().map(|r| r.reason.clone()),
            saved => e.saved, error => e.error, field => e.field, theirs,
            max_upload => app.config.max_upload_bytes, version => d.updated_at,
            check,
        },
    )
}

/// The editor's form, as typed: every field a string, so a refused save
/// shows exactly what was typed.
#[derive(Deserialize, serde::Serialize, Default, Clone)]
pub struct EditorForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    body_html: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    doc_no: String,
    #[serde(default)]
    issuing_organ: String,
    #[serde(default)]
    written_date: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    disclosure: String,
    #[serde(default)]
    disclosure_basis: String,
    #[serde(default)]
    disclosure_reason: String,
    #[serde(default)]
    validity: String,
    #[serde(default)]
    needs_secrecy_review: Option<String>,
    #[serde(default)]
    needs_interpretation: Option<String>,
    #[serde(default)]
    interprets: String,
    #[serde(default)]
    interpretation_kind: String,
    /// `updated_at` of the document the editor was opened on.
    #[serde(default)]
    version: String,
    /// Save, or save and submit for review.
    #[serde(default)]
    action: String,
}

impl EditorForm {
    fn from_document(t: &Tenant, d: &Document) -> EditorForm {
        let m = &d.meta;
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        EditorForm {
            title: d.title.clone(),
            channel_id: d.channel_id.to_string(),
            body_html: for_workbench(t, &d.body_html),
            summary: s(&d.summary),
            source: s(&d.source),
            author: s(&d.author),
            doc_no: s(&m.doc_no),
            issuing_organ: m.issuing_organ.clone(),
            written_date: s(&m.written_date),
            topic: s(&m.topic),
            disclosure: m.disclosure.map(|x| x.as_str().to_string()).unwrap_or_default(),
            disclosure_basis: s(&m.disclosure_basis),
            disclosure_reason: s(&m.disclosure_reason),
            validity: m.validity.as_str().to_string(),
            needs_secrecy_review: d.needs_secrecy_review.then(|| "on".into()),
            needs_interpretation: d.needs_interpretation.then(|| "on".into()),
            interprets: d.interprets.map(|i| i.to_string()).unwrap_or_default(),
            interpretation_kind: d.interpretation_kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
            version: d.updated_at.to_string(),
            action: String::new(),
        }
    }

    /// The patch the form asks for; a field left empty clears it. A value
    /// no choice offers is refused naming the field.
    fn patch(&self, t: &Tenant) -> Result<DocumentPatch, (String, &'static str)> {
        let text = |s: &str| Some(s.trim().to_string());
        Ok(DocumentPatch {
            title: text(&self.title),
            channel_id: Some(self.channel_id.trim().parse().map_err(|_| ("请选择栏目".to_string(), "channel_id"))?),
            body_html: Some(for_public(t, &self.body_html)),
            summary: text(&self.summary),
            source: text(&self.source),
            author: text(&self.author),
            doc_no: text(&self.doc_no),
            issuing_organ: text(&self.issuing_organ).filter(|s| !s.is_empty()),
            // An empty date is no date: left as it was (the API refuses "").
            written_date: text(&self.written_date).filter(|d| !d.is_empty()),
            topic: text(&self.topic),
            disclosure: pick(&self.disclosure, "disclosure", "公开属性")?,
            disclosure_basis: text(&self.disclosure_basis),
            disclosure_reason: text(&self.disclosure_reason),
            validity: pick(&self.validity, "validity", "有效性")?,
            needs_secrecy_review: Some(self.needs_secrecy_review.is_some()),
            needs_interpretation: Some(self.needs_interpretation.is_some()),
            interprets: pick(&self.interprets, "interprets", "所解读文件的编号")?,
            interpretation_kind: pick(&self.interpretation_kind, "interpretation_kind", "解读形式")?,
            attachment_ids: None,
        })
    }
}

/// A choice from a list, or nothing when left empty; a value the list
/// does not offer is refused naming the field.
fn pick<T: std::str::FromStr>(s: &str, field: &'static str, name: &str) -> Result<Option<T>, (String, &'static str)> {
    match s.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| (format!("请从列表中选择{name}"), field)),
    }
}

/// `POST …/documents/{id}`: saves the form (and submits it when asked).
/// A refused save shows the refusal beside its field with everything as
/// typed; a save over someone else's newer one is refused with both.
pub async fn save(State(app): State<Arc<App>>, b: Browser, Path((code, id)): Path<(String, i64)>, Form(form): Form<EditorForm>) -> Result<Response, Page> {
    let t = my_site(&app, &b, &code).await?;
    let d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
    let refused = |error: String, field: Option<&'static str>, theirs: Option<Document>, status: StatusCode| {
        let app = app.clone();
        let (b, t, d, form) = (&b, &t, &d, &form);
        async move { Ok::<_, Page>(editor(&app, b, t, d, form, Editing { error: Some(error), field, theirs, saved: false }, status).await?.into_response()) }
    };
    if form.version.trim() != d.updated_at.to_string() {
        let (text, _) = words::refusal(&crate::ApiError::Conflict("edited_meanwhile".into(), String::new()));
        return refused(text, None, Some(d.clone()), StatusCode::CONFLICT).await;
    }
    let patch = match form.patch(&t) {
        Ok(p) => p,
        Err((text, field)) => return refused(text, Some(field), None, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    if let Err(WriteRefused(_, e)) = api::documents::update(State(app.clone()), b.caller(), api::Path((code.clone(), id)), api::Strict(patch)).await {
        let (text, field) = words::refusal(&e);
        return refused(text, field, None, e.status()).await;
    }
    if form.action == "submit" {
        if let Err(WriteRefused(_, e)) = api::workflow::submit(State(app.clone()), b.caller(), api::Path((code.clone(), id))).await {
            // Saved, not submitted: the editor says why, on the saved text.
            let d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
            let (text, field) = words::refusal(&e);
            let form = EditorForm::from_document(&t, &d);
            return Ok(editor(
                &app,
                &b,
                &t,
                &d,
                &form,
                Editing { error: Some(format!("已保存，但未能提交：{text}")), field, ..Default::default() },
                e.status(),
            )
            .await?
            .into_response());
        }
        return Ok(Redirect::to(&format!("/admin/sites/{code}/documents/{id}?saved=1")).into_response());
    }
    Ok(Redirect::to(&format!("/admin/sites/{code}/documents/{id}?saved=1")).into_response())
}

/// `GET …/documents/{id}/preview`: the page exactly as the public will see
/// it, on the site's own template, whatever state the document is in.
pub async fn preview(State(app): State<Arc<App>>, b: Browser, Path((code, id)): Path<(String, i64)>) -> Result<Response, Page> {
    let t = my_site(&app, &b, &code).await?;
    let mut d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
    d.body_html = for_workbench(&t, &d.body_html);
    // Not published yet: dated as if it were published now.
    d.published_at = Some(d.published_at.unwrap_or_else(crate::now_ms));
    let html = crate::public::preview(&app, &t, &d).await.map_err(|e| Page::Failed(crate::ApiError::internal(e)))?;
    let html = html.replacen("<body>", "<body><div class=\"preview-banner\" style=\"background:#fff3c4;padding:6px 12px;text-align:center;font-size:14px\">预览：这是发布后公众看到的页面（尚未发布）</div>", 1);
    let mut r = (StatusCode::OK, axum::response::Html(html)).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `POST …/attachments` from the editor's script: the API's upload, with
/// the session of the cookie. Answers JSON for the script.
pub async fn upload(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, form: api::Multipart) -> Response {
    match api::attachments::upload(State(app.clone()), b.caller(), api::Path(code.clone()), form).await {
        Ok(r) => {
            let mut json = r.2;
            if let Some(id) = json["id"].as_i64() {
                json["admin_url"] = format!("/admin/sites/{code}/attachments/{id}").into();
            }
            (StatusCode::CREATED, axum::Json(json)).into_response()
        }
        Err(WriteRefused(_, e)) => {
            let (text, _) = words::refusal(&e);
            (e.status(), axum::Json(serde_json::json!({ "error": { "code": e.code(), "message": text } }))).into_response()
        }
    }
}

/// `GET …/attachments/{id}`: a file of the site for its people, whatever
/// the state of its document (the editor shows a draft's pictures).
pub async fn attachment(State(app): State<Arc<App>>, b: Browser, Path((code, id)): Path<(String, i64)>, headers: HeaderMap) -> Response {
    match api::attachments::download(State(app.clone()), b.caller(), api::Path((code, id)), headers).await {
        Ok(r) => r,
        Err(_) => Page::NotYours.into_response(),
    }
}
