//! 信息报送 upward: a site's editor offers a published document to a
//! portal column; a portal editor adopts it (a copy on the portal that
//! credits and links its origin, and follows it like any copy) or returns
//! it with a reason.

use crate::db::{self, Conn};
use zhanqun_model::repost::{self, Submission, SubmissionState};
use zhanqun_model::{Applied, Command, DocState, Proposal, Rejection, TenantKind, rules};

use super::documents::load_document;
use super::reposts::{place_copy, tenant_kind};
use super::sites::channel_in_tenant;
use super::{Step, Touched, misrouted};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::SubmitUpward { submission } => submit(conn, p, submission),
        Command::AdoptSubmission { portal_id, submission_id } => adopt(conn, p, *portal_id, *submission_id, touched),
        Command::ReturnSubmission { portal_id, submission_id, reason } => {
            pending(conn, *portal_id, *submission_id)?;
            rules::limits::RETURN_REASON.required(reason)?;
            db::query("UPDATE submissions SET state = 'returned', reason = ?, decided_at = ?, decided_by = ? WHERE id = ?")
                .bind(reason)
                .bind(p.at)
                .bind(p.actor)
                .bind(submission_id)
                .execute(conn)?;
            Ok(Applied { id: Some(*submission_id), index_no: None })
        }
        other => Err(misrouted(other)),
    }
}

fn submit(conn: &Conn, p: &Proposal, s: &Submission) -> Step<Applied> {
    let d = load_document(conn, s.tenant_id, s.document_id)?;
    if d.state != DocState::Published || !d.is_public() {
        return Err(Rejection::conflict("not_published", "only a published, 主动公开 document is submitted (信息报送)").into());
    }
    if d.copy_of.is_some() {
        return Err(Rejection::invalid("is_a_copy", "this document is a copy of another site's; submit your own documents").into());
    }
    if tenant_kind(conn, s.portal_id)? != TenantKind::Portal {
        return Err(Rejection::invalid("not_a_portal", "信息报送 goes to a portal's column").into());
    }
    if s.portal_id == s.tenant_id {
        return Err(Rejection::invalid("own_site", "a portal's own documents are published on it directly").into());
    }
    channel_in_tenant(conn, s.portal_id, s.channel_id)?;
    let open: Option<i64> = db::query_scalar("SELECT id FROM submissions WHERE document_id = ? AND portal_id = ? AND state != 'returned'")
        .bind(s.document_id)
        .bind(s.portal_id)
        .fetch_optional(conn)?;
    if let Some(id) = open {
        return Err(Rejection::conflict("already_submitted", format!("this document is already submitted to the portal (submission {id})")).into());
    }
    db::query("INSERT INTO submissions (id, tenant_id, document_id, portal_id, channel_id, state, created_at, created_by) VALUES (?,?,?,?,?,'submitted',?,?)")
        .bind(s.id)
        .bind(s.tenant_id)
        .bind(s.document_id)
        .bind(s.portal_id)
        .bind(s.channel_id)
        .bind(p.at)
        .bind(p.actor)
        .execute(conn)?;
    Ok(Applied { id: Some(s.id), index_no: None })
}

/// (site, document, portal column) of a submission still waiting.
fn pending(conn: &Conn, portal_id: i64, id: i64) -> Step<(i64, i64, i64)> {
    let row: Option<(String, i64, i64, i64)> = db::query_as("SELECT state, tenant_id, document_id, channel_id FROM submissions WHERE id = ? AND portal_id = ?")
        .bind(id)
        .bind(portal_id)
        .fetch_optional(conn)?;
    let Some((state, tenant_id, document_id, channel_id)) = row else {
        return Err(Rejection::not_found("unknown_submission", format!("this portal has no submission with id {id}")).into());
    };
    let state: SubmissionState = crate::parse(&state)?;
    if state != SubmissionState::Submitted {
        return Err(Rejection::conflict("wrong_state", format!("this submission is {}", state.title())).into());
    }
    Ok((tenant_id, document_id, channel_id))
}

fn adopt(conn: &Conn, p: &Proposal, portal_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let (tenant_id, document_id, channel_id) = pending(conn, portal_id, id)?;
    let source = load_document(conn, tenant_id, document_id)?;
    if source.state != DocState::Published {
        return Err(Rejection::conflict("not_published", "the submitted document is no longer published on its site").into());
    }
    let copy = repost::copy_id(document_id, portal_id);
    place_copy(conn, p, &source, portal_id, channel_id, copy, touched)?;
    db::query("UPDATE submissions SET state = 'adopted', decided_at = ?, decided_by = ?, copy_id = ? WHERE id = ?")
        .bind(p.at)
        .bind(p.actor)
        .bind(copy)
        .bind(id)
        .execute(conn)?;
    Ok(Applied { id: Some(copy), index_no: None })
}
