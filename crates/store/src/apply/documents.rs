//! Documents' content and their attachments: creating a document, the
//! checks its fields pass, and (in `edit`) changing it.

use crate::db::{self, Conn};
use zhanqun_model::rules::{self, check_text};
use zhanqun_model::time::{parse_date, to_civil};
use zhanqun_model::{Applied, Attachment, Command, DocState, Document, Proposal, Rejection};

use super::sites::{tenant_exists, tenant_with_channel};
use super::{Failure, Step, Touched, edit, misrouted};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::CreateDocument { document, attachment_ids } => create_document(conn, p, document, attachment_ids, touched),
        Command::UpdateDocument { tenant_id, document_id, patch } => edit::update_document(conn, p, *tenant_id, *document_id, patch, touched),
        Command::RestoreRevision { tenant_id, document_id, revision } => edit::restore(conn, p, *tenant_id, *document_id, *revision, touched),
        Command::AddAttachment { attachment } => add_attachment(conn, p, attachment, touched),
        other => Err(misrouted(other)),
    }
}

fn add_attachment(conn: &Conn, p: &Proposal, a: &Attachment, touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, a.tenant_id)?;
    if p.made_under(1) {
        rules::limits::FILE_NAME.required(&a.file_name)?;
    }
    if let Some(doc) = a.document_id {
        load_document(conn, a.tenant_id, doc)?;
        touched.tenants.insert(a.tenant_id);
    }
    if !(a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(Rejection::invalid("invalid_hash", "sha256 must be 64 hex digits").into());
    }
    db::query("INSERT INTO attachments (id, tenant_id, document_id, sha256, size, content_type, file_name, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?)")
        .bind(a.id)
        .bind(a.tenant_id)
        .bind(a.document_id)
        .bind(&a.sha256)
        .bind(a.size)
        .bind(&a.content_type)
        .bind(&a.file_name)
        .bind(a.created_at)
        .bind(a.created_by)
        .execute(conn)?;
    Ok(Applied { id: Some(a.id), index_no: None })
}

/// Checks the fields of a document that the state machine owns the truth of,
/// by the rules of `version` (see `Proposal::VERSION`): what an edit is
/// proposed under, or 0 where a step only needs the document to be sound
/// (publishing a text written under older limits must not fail for them).
pub(crate) fn check_document(version: u32, d: &Document) -> Step {
    if version >= 1 {
        d.check_texts()?;
    }
    check_text("title", &d.title, 200)?;
    check_text("issuing_organ (发布机构)", &d.meta.issuing_organ, 100)?;
    if let Some(no) = &d.meta.doc_no {
        let normalized = rules::normalize_doc_no(no)?;
        if &normalized != no {
            return Err(Rejection::invalid("invalid_doc_no", "文号 must be stored in its standard form").into());
        }
    }
    if let Some(date) = &d.meta.written_date
        && parse_date(date).is_none()
    {
        return Err(Rejection::invalid("invalid_date", format!("成文日期 `{date}` is not a date in the form YYYY-MM-DD")).into());
    }
    if let Some(disclosure) = d.meta.disclosure {
        rules::check_disclosure(disclosure, d.meta.disclosure_reason.as_deref())?;
    }
    Ok(())
}

pub(crate) fn link_attachments(conn: &Conn, tenant_id: i64, document_id: i64, ids: &[i64]) -> Step {
    for id in ids {
        let owner: Option<(i64, Option<i64>)> = db::query_as("SELECT tenant_id, document_id FROM attachments WHERE id = ?").bind(id).fetch_optional(conn)?;
        match owner {
            Some((t, doc)) if t == tenant_id && doc.is_none_or(|d| d == document_id) => {
                db::query("UPDATE attachments SET document_id = ? WHERE id = ?").bind(document_id).bind(id).execute(conn)?;
            }
            Some((t, _)) if t == tenant_id => {
                return Err(Rejection::conflict("attachment_in_use", format!("attachment {id} belongs to another document")).into());
            }
            _ => return Err(Rejection::not_found("unknown_attachment", format!("this site has no attachment with id {id}")).into()),
        }
    }
    Ok(())
}

pub(crate) fn create_document(conn: &Conn, p: &Proposal, d: &Document, attachment_ids: &[i64], touched: &mut Touched) -> Step<Applied> {
    let organ_code = tenant_with_channel(conn, d.tenant_id, d.channel_id)?;
    check_document(p.version, d)?;
    // People start drafts; only the system (demo, imports) loads documents
    // in a later state.
    if p.actor.is_some() && d.state != DocState::Draft {
        return Err(Rejection::invalid("not_a_draft", "a new document starts as a draft; publish it through review").into());
    }
    // (tenant, created_at, created_by, title, 索引号) of the holder of the id.
    type Holder = (i64, i64, Option<i64>, String, Option<String>);
    let taken: Option<Holder> =
        db::query_as("SELECT tenant_id, created_at, created_by, title, index_no FROM documents WHERE id = ?").bind(d.id).fetch_optional(conn)?;
    if let Some((tenant_id, created_at, created_by, title, index_no)) = taken {
        // The same proposal a second time (a retry that crossed a leader
        // change): answer what the first one did, change nothing.
        if (tenant_id, created_at, created_by, title.as_str()) == (d.tenant_id, d.created_at, d.created_by, d.title.as_str()) {
            return Ok(Applied { id: Some(d.id), index_no });
        }
        return Err(Rejection::conflict("duplicate_id", format!("document id {} is taken; retry", d.id)).into());
    }
    check_doc_no_unique(conn, p, d)?;
    check_interpretation_link(conn, d)?;
    let (year, serial, index_no) = next_index_no(conn, p, d.tenant_id, &organ_code, d.meta.written_date.as_deref())?;
    let published_at = (d.state == DocState::Published).then_some(d.published_at.unwrap_or(p.at));
    // The row's identity and lifecycle, then its content as edits write it.
    let insert = db::query(concat!(
        "INSERT INTO documents (id, tenant_id, state, created_at, published_at, index_no, index_year, index_serial, created_by, ",
        edit::content_columns!(),
        ") VALUES (?,?,?,?,?,?,?,?,?,",
        edit::content_placeholders!(),
        ")"
    ))
    .bind(d.id)
    .bind(d.tenant_id)
    .bind(d.state.as_str())
    .bind(d.created_at)
    .bind(published_at)
    .bind(&index_no)
    .bind(year)
    .bind(serial)
    .bind(d.created_by);
    edit::bind_content(insert, d, d.updated_at).execute(conn)?;
    link_attachments(conn, d.tenant_id, d.id, attachment_ids)?;
    edit::record_revision(conn, p, d)?;
    touched.tenants.insert(d.tenant_id);
    touched.documents.insert((d.tenant_id, d.id));
    Ok(Applied { id: Some(d.id), index_no: Some(index_no) })
}

/// The next 索引号 of a site: (year, serial, 索引号). The year is the year
/// the document was written, else of its creation; serials count per site
/// and year.
pub(crate) fn next_index_no(conn: &Conn, p: &Proposal, tenant_id: i64, organ_code: &str, written_date: Option<&str>) -> Step<(i32, i64, String)> {
    let year = written_date.and_then(parse_date).map(|(y, _, _)| y).unwrap_or_else(|| to_civil(p.at).year);
    let serial: i64 = db::query_scalar("SELECT COALESCE(MAX(index_serial), 0) + 1 FROM documents WHERE tenant_id = ? AND index_year = ?")
        .bind(tenant_id)
        .bind(year)
        .fetch_one(conn)?;
    Ok((year, serial, rules::index_no(organ_code, year, serial)))
}

/// A 政策解读 names a policy of its own site that is not itself an
/// interpretation, and says what kind of interpretation it is.
pub(crate) fn check_interpretation_link(conn: &Conn, d: &Document) -> Step {
    let Some(policy_id) = d.interprets else {
        if d.interpretation_kind.is_some() {
            return Err(Rejection::invalid("missing_policy", "an interpretation_kind needs `interprets`: the id of the policy it explains").into());
        }
        return Ok(());
    };
    if policy_id == d.id {
        return Err(Rejection::invalid("invalid_link", "a document cannot interpret itself").into());
    }
    if d.interpretation_kind.is_none() {
        return Err(Rejection::invalid("missing_field", "a 政策解读 needs its interpretation_kind: 文字解读, 图解, 视频解读 or 新闻发布会").into());
    }
    let policy = load_document(conn, d.tenant_id, policy_id)
        .map_err(|_| Failure::Rejected(Rejection::not_found("unknown_policy", format!("`interprets`: this site has no document with id {policy_id}"))))?;
    if policy.interprets.is_some() {
        return Err(Rejection::invalid("invalid_link", "`interprets` must name a policy, not another interpretation").into());
    }
    Ok(())
}

/// 文号 is unique per 发布机构 within a site. Only within (from version 1):
/// the 发布机构 is free text, so a check across sites let one site's editor
/// block another's numbers by claiming its organ's name, and answered with
/// the other site's unpublished draft (invariant 5). Entries of version 0
/// replay with the old, platform-wide check.
pub(crate) fn check_doc_no_unique(conn: &Conn, p: &Proposal, d: &Document) -> Step {
    let Some(no) = &d.meta.doc_no else { return Ok(()) };
    let other: Option<i64> = if p.made_under(1) {
        // A copy's 文号 is its source organ's, not a clash on the site.
        db::query_scalar("SELECT id FROM documents WHERE tenant_id = ? AND doc_no = ? AND issuing_organ = ? AND id != ? AND copy_of IS NULL")
            .bind(d.tenant_id)
            .bind(no)
            .bind(&d.meta.issuing_organ)
            .bind(d.id)
            .fetch_optional(conn)?
    } else {
        db::query_scalar("SELECT id FROM documents WHERE doc_no = ? AND issuing_organ = ? AND id != ?")
            .bind(no)
            .bind(&d.meta.issuing_organ)
            .bind(d.id)
            .fetch_optional(conn)?
    };
    match other {
        Some(id) => {
            Err(Rejection::conflict("duplicate_doc_no", format!("{} already has a document numbered {no} (document {id})", d.meta.issuing_organ)).into())
        }
        None => Ok(()),
    }
}

pub(crate) fn load_document(conn: &Conn, tenant_id: i64, id: i64) -> Step<Document> {
    let row = db::query(format!("SELECT {} FROM documents WHERE id = ? AND tenant_id = ?", crate::rows::DOCUMENT_COLUMNS))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(conn)?;
    match row {
        Some(row) => Ok(crate::rows::document(&row)?),
        None => Err(Rejection::not_found("unknown_document", format!("this site has no document with id {id}")).into()),
    }
}
