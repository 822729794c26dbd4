//! Applying workflow steps: submit, approve, return (退文), the 保密审查
//! sign-off, publish and withdraw. Which step is allowed when, and for whom,
//! is decided by `zhanqun_model::workflow`; this module loads the document
//! and the actor, asks, and writes the new state.

use crate::db::{self, Conn};
use zhanqun_model::workflow::{self, Step as WorkStep};
use zhanqun_model::{Applied, Command, DocState, Document, Proposal, Rejection, ReviewStage, rules};

use super::documents::{check_document, load_document};
use super::{Step, Touched, misrouted, permission};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::SubmitDocument { tenant_id, document_id } => submit(conn, p, *tenant_id, *document_id, touched),
        Command::ApproveDocument { tenant_id, document_id } => approve(conn, p, *tenant_id, *document_id, touched),
        Command::ReturnDocument { tenant_id, document_id, reason } => send_back(conn, p, *tenant_id, *document_id, reason, touched),
        Command::AllowPersonalData { tenant_id, document_id, reason } => allow_personal_data(conn, p, *tenant_id, *document_id, reason),
        Command::SignOffSecrecy { tenant_id, document_id, passed, conclusion } => sign_off(conn, p, *tenant_id, *document_id, *passed, conclusion, touched),
        Command::SetValidity { tenant_id, document_id, validity, replaced_by } => {
            set_validity(conn, p, *tenant_id, *document_id, *validity, *replaced_by, touched)
        }
        Command::ScheduleDocument { tenant_id, document_id, publish_at, unpublish_at } => {
            schedule(conn, p, *tenant_id, *document_id, *publish_at, *unpublish_at, touched)
        }
        Command::PublishDocument { tenant_id, document_id } => publish(conn, p, *tenant_id, *document_id, touched),
        Command::WithdrawDocument { tenant_id, document_id } => withdraw(conn, p, *tenant_id, *document_id, touched),
        other => Err(misrouted(other)),
    }
}

fn wrong_state(d: &Document, wanted: &str) -> Rejection {
    Rejection::conflict("wrong_state", format!("the document is {}; {wanted}", d.state))
}

fn set(conn: &Conn, p: &Proposal, d: &Document, state: DocState, stage: Option<ReviewStage>) -> Step {
    db::query("UPDATE documents SET state = ?, review_stage = ?, updated_at = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(stage.map(|s| s.as_str()))
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    Ok(())
}

fn done(d: &Document, touched: &mut Touched) -> Step<Applied> {
    touched.tenants.insert(d.tenant_id);
    touched.documents.insert((d.tenant_id, d.id));
    Ok(Applied { id: Some(d.id), index_no: Some(d.meta.index_no.clone()) })
}

pub(crate) fn submit(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, WorkStep::Submit)?;
    super::reposts::not_a_copy(&d)?;
    if !matches!(d.state, DocState::Draft | DocState::Withdrawn) {
        return Err(wrong_state(&d, "only a draft (or a withdrawn document) can be submitted").into());
    }
    check_document(p.version, &d)?;
    workflow::check_submission(&d)?;
    db::query("UPDATE documents SET return_reason = NULL, return_stage = NULL, returned_by = NULL, returned_at = NULL WHERE id = ?")
        .bind(d.id)
        .execute(conn)?;
    set(conn, p, &d, DocState::Submitted, Some(workflow::first_stage(&d)))?;
    done(&d, touched)
}

pub(crate) fn approve(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    if !workflow::under_review(d.state) {
        return Err(wrong_state(&d, "only a document under review can be approved").into());
    }
    if d.review_stage == Some(ReviewStage::Secrecy) {
        return Err(
            Rejection::conflict("secrecy_sign_off_required", "the document needs secrecy review: a 保密审查员 must sign it off before it is approved").into()
        );
    }
    permission::step(conn, p, &d, WorkStep::Approve)?;
    let (state, stage) = workflow::after_approval(&d);
    set(conn, p, &d, state, stage)?;
    done(&d, touched)
}

pub(crate) fn send_back(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, reason: &str, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    if !workflow::under_review(d.state) {
        return Err(wrong_state(&d, "only a document under review can be returned").into());
    }
    permission::step(conn, p, &d, WorkStep::Return)?;
    if p.made_under(1) {
        rules::limits::RETURN_REASON.required(reason)?;
    } else {
        rules::check_text("reason (退文理由)", reason, 1000)?;
    }
    record_return(conn, p, &d, reason, d.review_stage.unwrap_or(ReviewStage::Content))?;
    done(&d, touched)
}

/// What an allowance of personal data is bound to: the body's SHA-256.
pub(crate) fn body_digest(body_html: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body_html.as_bytes()))
}

/// Records a reviewer's leave for the personal data in a draft, bound to
/// the body as it is now (a changed body needs a new one).
fn allow_personal_data(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, reason: &str) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    if !matches!(d.state, DocState::Draft | DocState::Withdrawn) {
        return Err(wrong_state(&d, "personal data is allowed on a draft, before it is submitted").into());
    }
    rules::limits::ALLOWANCE_REASON.required(reason)?;
    db::query(
        "INSERT INTO personal_data_allowances (document_id, body_sha256, reason, allowed_by, allowed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (document_id) DO UPDATE SET body_sha256 = excluded.body_sha256, reason = excluded.reason,
             allowed_by = excluded.allowed_by, allowed_at = excluded.allowed_at",
    )
    .bind(d.id)
    .bind(body_digest(&d.body_html))
    .bind(reason.trim())
    .bind(p.actor)
    .bind(p.at)
    .execute(conn)?;
    Ok(Applied { id: Some(d.id), index_no: Some(d.meta.index_no.clone()) })
}

fn record_return(conn: &Conn, p: &Proposal, d: &Document, reason: &str, stage: ReviewStage) -> Step {
    db::query("UPDATE documents SET return_reason = ?, return_stage = ?, returned_by = ?, returned_at = ? WHERE id = ?")
        .bind(reason.trim())
        .bind(stage.as_str())
        .bind(p.actor)
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    set(conn, p, d, DocState::Draft, None)
}

pub(crate) fn sign_off(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, passed: bool, conclusion: &str, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    if d.state != DocState::SecrecyReview {
        return Err(wrong_state(&d, "only a document waiting for secrecy review can be signed off").into());
    }
    permission::step(conn, p, &d, WorkStep::SignOff)?;
    if p.made_under(1) {
        rules::limits::CONCLUSION.required(conclusion)?;
    } else {
        rules::check_text("conclusion (审查结论)", conclusion, 1000)?;
    }
    db::query("UPDATE documents SET secrecy_passed = ?, secrecy_conclusion = ?, secrecy_by = ?, secrecy_at = ? WHERE id = ?")
        .bind(passed)
        .bind(conclusion.trim())
        .bind(p.actor)
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    if passed {
        set(conn, p, &d, DocState::Approved, None)?;
    } else {
        record_return(conn, p, &d, conclusion, ReviewStage::Secrecy)?;
    }
    done(&d, touched)
}

/// The interpretations linked to a policy.
fn interpretations_of(conn: &Conn, policy: &Document) -> Step<Vec<Document>> {
    let ids: Vec<i64> = db::query_scalar("SELECT id FROM documents WHERE tenant_id = ? AND interprets = ? ORDER BY id")
        .bind(policy.tenant_id)
        .bind(policy.id)
        .fetch_all(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(load_document(conn, policy.tenant_id, id)?);
    }
    Ok(out)
}

fn ready(d: &Document) -> bool {
    matches!(d.state, DocState::Approved | DocState::Scheduled)
}

fn publish_one(conn: &Conn, p: &Proposal, d: &Document, touched: &mut Touched) -> Step {
    check_document(0, d)?;
    // 成文日期 ≤ 发布日期 (dates in Beijing time; YYYY-MM-DD compares as text).
    let publication_date = zhanqun_model::time::format_date(d.published_at.unwrap_or(p.at));
    if let Some(written) = d.meta.written_date.as_deref()
        && written > publication_date.as_str()
    {
        return Err(Rejection::conflict(
            "written_after_publication",
            format!("《{}》: 成文日期 {written} is after its 发布日期 {publication_date}; correct the 成文日期 or publish it later", d.title),
        )
        .into());
    }
    // 发布日期 is the first publication; republishing keeps it.
    db::query("UPDATE documents SET state = 'published', review_stage = NULL, published_at = COALESCE(published_at, ?), updated_at = ? WHERE id = ?")
        .bind(p.at)
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    done(d, touched)?;
    super::reposts::sync_copies(conn, p, d.id, touched)?;
    let published = load_document(conn, d.tenant_id, d.id)?;
    super::reposts::by_rules(conn, p, &published, None, touched)
}

/// Publishes an approved document. A policy and its approved 政策解读 are
/// published together, whichever of them is published: one command, one
/// transaction, so either both are public or neither is.
pub(crate) fn publish(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, WorkStep::Publish)?;
    // The scheduler (no actor) never publishes before the time; a person
    // may publish a scheduled document early on purpose.
    if p.actor.is_none()
        && d.state == DocState::Scheduled
        && let Some(at) = d.publish_at
        && p.at < at
    {
        return Err(Rejection::conflict("too_early", format!("the document is scheduled for {}", zhanqun_model::time::format_minute(at))).into());
    }
    match d.state {
        DocState::Approved | DocState::Scheduled => {}
        DocState::Published => return Err(Rejection::conflict("already_published", "the document is already published").into()),
        _ => {
            return Err(Rejection::conflict(
                "not_approved",
                format!("the document is {}; only an approved document can be published — submit it for review first", d.state),
            )
            .into());
        }
    }
    let policy = match d.interprets {
        Some(policy_id) => load_document(conn, tenant_id, policy_id)?,
        None => d.clone(),
    };
    if policy.id != d.id && policy.state != DocState::Published && !ready(&policy) {
        return Err(Rejection::conflict(
            "policy_not_approved",
            format!("this 政策解读 is published together with its policy 《{}》, which is {}; approve the policy first", policy.title, policy.state),
        )
        .into());
    }
    let interpretations = interpretations_of(conn, &policy)?;
    let (going, already): (Vec<&Document>, Vec<&Document>) =
        (interpretations.iter().filter(|i| ready(i)).collect(), interpretations.iter().filter(|i| i.state == DocState::Published).collect());
    if policy.needs_interpretation && going.is_empty() && already.is_empty() {
        return Err(Rejection::conflict(
            "interpretation_required",
            format!("the policy 《{}》 needs an approved 政策解读 (文字解读, 图解, 视频解读 or 新闻发布会) linked to it before it is published", policy.title),
        )
        .into());
    }
    if ready(&policy) {
        publish_one(conn, p, &policy, touched)?;
    }
    for i in going {
        publish_one(conn, p, i, touched)?;
    }
    Ok(Applied { id: Some(d.id), index_no: Some(d.meta.index_no.clone()) })
}

pub(crate) fn withdraw(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, WorkStep::Withdraw)?;
    if d.state != DocState::Published {
        return Err(Rejection::conflict("not_published", "only a published document can be withdrawn").into());
    }
    if p.actor.is_none()
        && let Some(at) = d.unpublish_at
        && p.at < at
    {
        return Err(Rejection::conflict("too_early", format!("the withdrawal is scheduled for {}", zhanqun_model::time::format_minute(at))).into());
    }
    if d.copy_of.is_some() {
        super::reposts::before_copy_withdrawn(conn, p, &d)?;
    }
    set(conn, p, &d, DocState::Withdrawn, None)?;
    super::reposts::sync_copies(conn, p, d.id, touched)?;
    // A withdrawn policy takes its 政策解读 with it: they explain a text
    // that is no longer public.
    for i in interpretations_of(conn, &d)?.iter().filter(|i| i.state == DocState::Published) {
        set(conn, p, i, DocState::Withdrawn, None)?;
        done(i, touched)?;
    }
    done(&d, touched)
}

/// 有效性 of a published (or withdrawn) document. 修订 names the document
/// that revises it; 失效 and 废止 may; 有效 clears the link.
pub(crate) fn set_validity(
    conn: &Conn,
    p: &Proposal,
    tenant_id: i64,
    id: i64,
    validity: zhanqun_model::Validity,
    replaced_by: Option<i64>,
    touched: &mut Touched,
) -> Step<Applied> {
    use zhanqun_model::Validity;
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, WorkStep::SetValidity)?;
    super::reposts::not_a_copy(&d)?;
    if !matches!(d.state, DocState::Published | DocState::Withdrawn) {
        return Err(wrong_state(&d, "有效性 is changed on a published document; a draft sets it with its other metadata").into());
    }
    let replaced_by = if validity == Validity::Valid { None } else { replaced_by };
    if validity == Validity::Revised && replaced_by.is_none() {
        return Err(Rejection::invalid("missing_field", "修订 needs `replaced_by`: the id of the document that revises this one").into());
    }
    if let Some(other) = replaced_by {
        if other == d.id {
            return Err(Rejection::invalid("invalid_link", "a document cannot replace itself").into());
        }
        load_document(conn, tenant_id, other)
            .map_err(|_| Rejection::not_found("unknown_document", format!("`replaced_by`: this site has no document with id {other}")))?;
    }
    db::query("UPDATE documents SET validity = ?, replaced_by = ?, updated_at = ? WHERE id = ?")
        .bind(validity.as_str())
        .bind(replaced_by)
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    super::reposts::sync_copies(conn, p, d.id, touched)?;
    done(&d, touched)
}

/// Schedules publication (approved → scheduled) and/or withdrawal of a
/// published document. `None` leaves a time as it is; times must lie ahead.
pub(crate) fn schedule(
    conn: &Conn,
    p: &Proposal,
    tenant_id: i64,
    id: i64,
    publish_at: Option<i64>,
    unpublish_at: Option<i64>,
    touched: &mut Touched,
) -> Step<Applied> {
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, WorkStep::Schedule)?;
    if publish_at.is_none() && unpublish_at.is_none() {
        return Err(Rejection::invalid("missing_field", "give publish_at and/or unpublish_at (milliseconds since the epoch, or RFC 3339 in the API)").into());
    }
    for t in [publish_at, unpublish_at].into_iter().flatten() {
        if t <= p.at {
            // A conflict with the clock, not a malformed request: 409.
            return Err(Rejection::conflict("in_the_past", format!("{} has passed; schedule a time ahead", zhanqun_model::time::format_minute(t))).into());
        }
    }
    let state = match (publish_at, d.state) {
        (Some(_), DocState::Approved | DocState::Scheduled) => DocState::Scheduled,
        (Some(_), _) => return Err(wrong_state(&d, "only an approved document can be scheduled for publication").into()),
        (None, DocState::Published | DocState::Scheduled | DocState::Approved) => d.state,
        (None, _) => return Err(wrong_state(&d, "a withdrawal is scheduled for an approved or published document").into()),
    };
    let (publish_at, unpublish_at) = (publish_at.or(d.publish_at), unpublish_at.or(d.unpublish_at));
    if let (Some(a), Some(b)) = (publish_at, unpublish_at)
        && b <= a
    {
        return Err(Rejection::conflict("invalid_schedule", "unpublish_at must come after publish_at").into());
    }
    db::query("UPDATE documents SET state = ?, publish_at = ?, unpublish_at = ?, updated_at = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(publish_at)
        .bind(unpublish_at)
        .bind(p.at)
        .bind(d.id)
        .execute(conn)?;
    done(&d, touched)
}
