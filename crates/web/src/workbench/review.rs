//! The reviewers' screens: the queue of what waits for their step, a
//! document with its diff against what was last published, and the steps
//! themselves (approve, 退文 with a reason, 保密审查 sign-off, schedule,
//! publish, withdraw, 有效性, restore a revision).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use zhanqun_model::workflow::{self, ReviewStage, Step};
use zhanqun_model::{DocState, Document, Tenant, TenantRole, User};
use zhanqun_store::DocumentFilter;

use super::home::item;
use super::{Browser, Page, layout, my_site, render, render_status, words};
use crate::App;
use crate::api::{self, WriteRefused};

/// Documents of `t` whose next step is `user`'s, oldest change first
/// within each state.
pub async fn waiting_for(app: &App, user: &User, t: &Tenant, limit: i64) -> Result<Vec<Document>, Page> {
    let mut out = Vec::new();
    if !user.may(t.id, &[TenantRole::Admin, TenantRole::Reviewer, TenantRole::DisclosureReviewer, TenantRole::SecrecyReviewer]) {
        return Ok(out); // an editor reviews nothing
    }
    for state in [DocState::Submitted, DocState::InReview, DocState::SecrecyReview, DocState::Approved] {
        let step = match state {
            DocState::SecrecyReview => Step::SignOff,
            DocState::Approved => Step::Publish,
            _ => Step::Approve,
        };
        let docs = app.store.documents_page(t.id, &DocumentFilter { state: Some(state), limit, ..Default::default() }, None).await?;
        out.extend(docs.into_iter().filter(|d| workflow::check_may(user, d, step).is_ok()));
    }
    out.truncate(limit as usize);
    Ok(out)
}

/// `GET /admin/sites/{code}/review`: what waits for my step.
pub async fn queue(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let docs = waiting_for(&app, &b.user, &t, 100).await?;
    render(&app, "admin/review.html", context! { layout => layout(&b, Some(&t)), docs => docs.iter().map(|d| item(&t, d)).collect::<Vec<_>>() })
}

fn stage_name(s: Option<ReviewStage>) -> Option<&'static str> {
    s.map(|s| match s {
        ReviewStage::Disclosure => "政务公开审核",
        ReviewStage::Content => "内容审核",
        ReviewStage::Secrecy => "保密审查",
    })
}

/// The steps the person may take on `d` now, by the workflow's own rules.
fn my_steps(user: &User, d: &Document) -> Value {
    let may = |step| workflow::check_may(user, d, step).is_ok();
    let reviewing = workflow::under_review(d.state);
    context! {
        approve => reviewing && d.state != DocState::SecrecyReview && may(Step::Approve),
        send_back => reviewing && may(Step::Return),
        sign_off => d.state == DocState::SecrecyReview && may(Step::SignOff),
        publish => matches!(d.state, DocState::Approved | DocState::Scheduled) && may(Step::Publish),
        schedule => d.state == DocState::Approved && may(Step::Schedule),
        withdraw => d.state == DocState::Published && may(Step::Withdraw),
        validity => d.state == DocState::Published && may(Step::SetValidity),
        submit => matches!(d.state, DocState::Draft | DocState::Withdrawn) && may(Step::Submit),
    }
}

/// The revision that was current when `d` was last published, if it was.
async fn last_published_revision(app: &App, t: &Tenant, d: &Document) -> Result<Option<i64>, Page> {
    let Some(at) = d.published_at else { return Ok(None) };
    Ok(app.store.latest_revision(t.id, d.id, at).await?)
}

/// The diff of the current text against `from` (JSON of the API's diff).
async fn diff_json(app: &Arc<App>, b: &Browser, t: &Tenant, d: &Document, from: i64, to: i64) -> Result<serde_json::Value, Page> {
    let q = api::Query(api::revisions::DiffQuery { against: Some(from) });
    let axum::Json(v) = api::revisions::diff(State(app.clone()), b.caller(), api::Path((t.code.clone(), d.id, to)), q).await?;
    Ok(v)
}

/// A document as its reviewers (and its editor, once submitted) see it.
pub async fn show(app: &Arc<App>, b: &Browser, t: &Tenant, d: &Document, error: Option<String>, notice: Option<&str>) -> Result<Page, Page> {
    let latest = app.store.latest_revision(t.id, d.id, i64::MAX).await?;
    let base = last_published_revision(app, t, d).await?;
    let diff = match (base, latest) {
        (Some(from), Some(to)) if from != to => Some(diff_json(app, b, t, d, from, to).await?),
        _ => None,
    };
    let attachments = app.store.attachments_of(t.id, d.id).await?;
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let crossing = super::reposts::document_actions(app, b, t, d).await?;
    let body = super::documents::for_workbench(t, &d.body_html);
    let check = super::documents::content_check(app, b, t, d).await?;
    render_status(
        app,
        status,
        "admin/document.html",
        context! {
            layout => layout(b, Some(t)), doc => item(t, d), body_html => Value::from_safe_string(body),
            meta => context! {
                index_no => d.meta.index_no, doc_no => d.meta.doc_no, issuing_organ => d.meta.issuing_organ, written_date => d.meta.written_date,
                topic => d.meta.topic, disclosure => d.meta.disclosure.map(|x| x.as_str()), disclosure_basis => d.meta.disclosure_basis,
                disclosure_reason => d.meta.disclosure_reason, validity => d.meta.validity.as_str(), needs_secrecy_review => d.needs_secrecy_review,
            },
            stage => stage_name(d.review_stage), steps => my_steps(&b.user, d), error, notice,
            returned => d.returned.as_ref().map(|r| r.reason.clone()),
            secrecy => d.secrecy.as_ref().map(|s| context! { passed => s.passed, conclusion => s.conclusion }),
            diff, never_published => base.is_none(),
            attachments => attachments.iter().map(|a| context! { name => a.file_name, size => a.size, url => format!("/admin/sites/{}/attachments/{}", t.code, a.id) }).collect::<Vec<_>>(),
            public_url => (d.state == DocState::Published).then(|| zhanqun_model::urls::preview_url(t, &zhanqun_model::urls::Page::Document { id: d.id })),
            validities => zhanqun_model::Validity::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            crossing, check,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET …/documents/{id}/diff?from=&to=`: two revisions side by side.
pub async fn diff(State(app): State<Arc<App>>, b: Browser, Path((code, id)): Path<(String, i64)>, Query(q): Query<DiffQuery>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
    let latest = app.store.latest_revision(t.id, id, i64::MAX).await?.unwrap_or(1);
    let to = q.to.unwrap_or(latest);
    let from = q.from.unwrap_or(to - 1).max(1);
    let diff = diff_json(&app, &b, &t, &d, from, to).await?;
    render(
        &app,
        "admin/diff.html",
        context! { layout => layout(&b, Some(&t)), doc => item(&t, &d), diff, from, to, latest, editable => matches!(d.state, DocState::Draft | DocState::Withdrawn) },
    )
}

#[derive(Deserialize, Default)]
pub struct StepForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    passed: String,
    #[serde(default)]
    conclusion: String,
    #[serde(default)]
    publish_at: String,
    #[serde(default)]
    validity: String,
    #[serde(default)]
    revision: String,
}

/// `POST …/documents/{id}/step/{step}`: one workflow step, through the
/// API's own handler; a refusal is shown on the document in Chinese.
pub async fn step(
    State(app): State<Arc<App>>,
    b: Browser,
    Path((code, id, step)): Path<(String, i64, String)>,
    Form(f): Form<StepForm>,
) -> Result<Response, Page> {
    let t = my_site(&app, &b, &code).await?;
    let path = api::Path((code.clone(), id));
    let (a, c) = (State(app.clone()), b.caller());
    let done = match step.as_str() {
        "submit" => api::workflow::submit(a, c, path).await,
        "approve" => api::workflow::approve(a, c, path).await,
        "return" if f.reason.trim().is_empty() => return refusal(&app, &b, &t, id, "退文须写明理由，告诉编辑要改什么".into()).await,
        "return" => api::workflow::send_back(a, c, path, api::ApiJson(api::workflow::ReturnBody { reason: f.reason.trim().to_string() })).await,
        "allow-personal-data" if f.reason.trim().is_empty() => return refusal(&app, &b, &t, id, "请写明这些个人信息必须公开的理由".into()).await,
        "allow-personal-data" => {
            let body = api::workflow::AllowanceBody { reason: f.reason.trim().to_string() };
            api::workflow::allow_personal_data(a, c, path, api::ApiJson(body)).await
        }
        "sign-off" if f.conclusion.trim().is_empty() => return refusal(&app, &b, &t, id, "请填写审查结论".into()).await,
        "sign-off" => {
            let body = api::workflow::SignOffBody { passed: f.passed == "yes", conclusion: f.conclusion.trim().to_string() };
            api::workflow::sign_off(a, c, path, api::ApiJson(body)).await
        }
        "publish" => api::workflow::publish(a, c, path).await,
        "withdraw" => api::workflow::withdraw(a, c, path).await,
        "schedule" => {
            let body = api::workflow::ScheduleBody { publish_at: Some(api::workflow::When::Text(f.publish_at.trim().replace('T', " "))), unpublish_at: None };
            api::workflow::schedule(a, c, path, api::ApiJson(body)).await
        }
        "validity" => match f.validity.parse() {
            Ok(validity) => api::workflow::set_validity(a, c, path, api::ApiJson(api::workflow::ValidityBody { validity, replaced_by: None })).await,
            Err(_) => return refusal(&app, &b, &t, id, "请选择有效性".into()).await,
        },
        "restore" => match f.revision.parse::<i64>() {
            Ok(n) => api::revisions::restore(a, c, api::Path((code.clone(), id, n))).await,
            Err(_) => return refusal(&app, &b, &t, id, "请选择要恢复的版本".into()).await,
        },
        _ => return Err(Page::NotYours),
    };
    match done {
        Ok(_) => {
            let back = if matches!(step.as_str(), "submit" | "restore") {
                format!("/admin/sites/{code}/documents/{id}?saved=1")
            } else if step == "allow-personal-data" {
                format!("/admin/sites/{code}/documents/{id}#content-check")
            } else {
                format!("/admin/sites/{code}/review?done={id}")
            };
            Ok(Redirect::to(&back).into_response())
        }
        Err(WriteRefused(_, e)) => refusal(&app, &b, &t, id, words::refusal(&e).0).await,
    }
}

async fn refusal(app: &Arc<App>, b: &Browser, t: &Tenant, id: i64, text: String) -> Result<Response, Page> {
    let d = app.store.document(t.id, id).await?.ok_or(Page::NotYours)?;
    Ok(show(app, b, t, &d, Some(text), None).await?.into_response())
}
