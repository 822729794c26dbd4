//! Editing a document: a patch, or a restore of an earlier revision. Both
//! end in the same write, and every write keeps a revision.

use crate::db::{self, Conn};
use zhanqun_model::revision::RevisionContent;
use zhanqun_model::{Applied, DocState, Document, DocumentPatch, Proposal, Rejection};

use super::documents::{check_doc_no_unique, check_document, check_interpretation_link, link_attachments, load_document};
use super::sites::channel_in_tenant;
use super::{Step, Touched, permission};

/// Only a draft or a withdrawn document is edited, by its editors.
fn editable(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64) -> Step<Document> {
    let d = load_document(conn, tenant_id, id)?;
    permission::step(conn, p, &d, zhanqun_model::workflow::Step::Edit)?;
    super::reposts::not_a_copy(&d)?;
    if !matches!(d.state, DocState::Draft | DocState::Withdrawn) {
        return Err(Rejection::conflict(
            "not_editable",
            format!("the document is {}; only a draft or a withdrawn document can be edited (a reviewer can return it to its editor)", d.state),
        )
        .into());
    }
    Ok(d)
}

pub(crate) fn update_document(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, patch: &DocumentPatch, touched: &mut Touched) -> Step<Applied> {
    let mut d = editable(conn, p, tenant_id, id)?;
    if let Some(c) = patch.channel_id {
        channel_in_tenant(conn, tenant_id, c)?;
    }
    d.content.apply(patch);
    write(conn, p, &d)?;
    if let Some(ids) = &patch.attachment_ids {
        link_attachments(conn, tenant_id, id, ids)?;
    }
    touched.tenants.insert(tenant_id);
    touched.documents.insert((tenant_id, id));
    super::reposts::sync_copies(conn, p, id, touched)?;
    Ok(Applied { id: Some(id), index_no: Some(d.content.meta.index_no) })
}

/// Checks an edited document and writes its editable fields, keeping a revision.
fn write(conn: &Conn, p: &Proposal, d: &Document) -> Step {
    check_document(p.version, d)?;
    check_doc_no_unique(conn, p, d)?;
    check_interpretation_link(conn, d)?;
    write_content(conn, d, p.at)?;
    record_revision(conn, p, d)
}

/// The columns an editor changes (everything a revision holds) and the
/// time of the change, in the order [`bind_content`] binds them. Creating a
/// document inserts them with the row, an edit sets them, so a new field is
/// written in one place. A macro so that the statements stay `&'static str`.
macro_rules! content_columns {
    () => {
        "channel_id, title, body_html, summary, source, author, doc_no, issuing_organ, written_date, topic, disclosure,
         disclosure_reason, validity, updated_at, disclosure_basis, needs_secrecy_review, needs_interpretation, interprets, interpretation_kind"
    };
}
pub(crate) use content_columns;

/// A placeholder for each of [`content_columns`].
macro_rules! content_placeholders {
    () => {
        "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"
    };
}
pub(crate) use content_placeholders;

pub(crate) type Statement<'q> = db::Query<'q>;

/// Binds a document's [`content_columns`], in their order.
pub(crate) fn bind_content<'q>(q: Statement<'q>, d: &'q Document, updated_at: i64) -> Statement<'q> {
    q.bind(d.channel_id)
        .bind(&d.title)
        .bind(&d.body_html)
        .bind(&d.summary)
        .bind(&d.source)
        .bind(&d.author)
        .bind(&d.meta.doc_no)
        .bind(&d.meta.issuing_organ)
        .bind(&d.meta.written_date)
        .bind(&d.meta.topic)
        .bind(crate::rows::disclosure_text(d.meta.disclosure))
        .bind(&d.meta.disclosure_reason)
        .bind(d.meta.validity.as_str())
        .bind(updated_at)
        .bind(&d.meta.disclosure_basis)
        .bind(d.needs_secrecy_review)
        .bind(d.needs_interpretation)
        .bind(d.interprets)
        .bind(d.interpretation_kind.map(|k| k.as_str()))
}

/// Writes an edited document's [`content_columns`] into its row.
pub(crate) fn write_content(conn: &Conn, d: &Document, updated_at: i64) -> Step {
    let set = db::query(concat!("UPDATE documents SET (", content_columns!(), ") = (", content_placeholders!(), ") WHERE id = ?"));
    bind_content(set, d, updated_at).bind(d.id).execute(conn)?;
    Ok(())
}

/// Brings a document back to an earlier revision's content; the restore is
/// itself a new revision.
pub(crate) fn restore(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, revision: i64, touched: &mut Touched) -> Step<Applied> {
    let mut d = editable(conn, p, tenant_id, id)?;
    let content: Option<String> = db::query_scalar("SELECT content FROM document_revisions WHERE document_id = ? AND tenant_id = ? AND revision = ?")
        .bind(id)
        .bind(tenant_id)
        .bind(revision)
        .fetch_optional(conn)?;
    let Some(content) = content else {
        return Err(Rejection::not_found("unknown_revision", format!("document {id} has no revision {revision}")).into());
    };
    let c: RevisionContent = serde_json::from_str(&content).map_err(|e| crate::StoreError::Corrupt(format!("revision {revision} of {id}: {e}")))?;
    channel_in_tenant(conn, tenant_id, c.channel_id)?;
    // The 索引号 is the document's, whatever the revision says.
    let index_no = std::mem::take(&mut d.meta.index_no);
    d.content = RevisionContent { meta: zhanqun_model::GovMeta { index_no, ..c.meta }, ..c };
    write(conn, p, &d)?;
    touched.tenants.insert(tenant_id);
    touched.documents.insert((tenant_id, id));
    super::reposts::sync_copies(conn, p, id, touched)?;
    Ok(Applied { id: Some(id), index_no: Some(d.content.meta.index_no) })
}

/// Keeps what a create or an edit made of the document as its next revision.
pub(crate) fn record_revision(conn: &Conn, p: &Proposal, d: &Document) -> Step {
    let content = serde_json::to_string(&d.content).expect("revision content serializes");
    db::query(
        "INSERT INTO document_revisions (document_id, revision, tenant_id, at, actor, content)
         SELECT ?, COALESCE(MAX(revision), 0) + 1, ?, ?, ?, ? FROM document_revisions WHERE document_id = ?",
    )
    .bind(d.id)
    .bind(d.tenant_id)
    .bind(p.at)
    .bind(p.actor)
    .bind(content)
    .bind(d.id)
    .execute(conn)?;
    Ok(())
}
