//! Turning rows into model types. Enums are stored by their stable names.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use zhanqun_model::{Attachment, Channel, Document, DocumentContent, GovMeta, Grant, ReturnNote, SecrecySignOff, Tenant, TenantRole, User};

use crate::{Result, parse};

pub(crate) const TENANT_COLUMNS: &str =
    "id, code, name, kind, parent_id, mount_under_parent, site_id_code, icp, police_record, conac_id, organ_code, mailbox, lifecycle, created_at, updated_at";

pub(crate) fn tenant(row: &SqliteRow, hosts: Vec<String>) -> Result<Tenant> {
    Ok(Tenant {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: parse(row.try_get("kind")?)?,
        parent_id: row.try_get("parent_id")?,
        hosts,
        mount_under_parent: row.try_get("mount_under_parent")?,
        site_id_code: row.try_get("site_id_code")?,
        icp: row.try_get("icp")?,
        police_record: row.try_get("police_record")?,
        conac_id: row.try_get("conac_id")?,
        organ_code: row.try_get("organ_code")?,
        mailbox: row.try_get("mailbox")?,
        lifecycle: parse(row.try_get("lifecycle")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) const CHANNEL_COLUMNS: &str = "id, tenant_id, parent_id, slug, name, kind, update_class, position, link_url, created_at, role";

pub(crate) fn channel(row: &SqliteRow) -> Result<Channel> {
    Ok(Channel {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        parent_id: row.try_get("parent_id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        kind: parse(row.try_get("kind")?)?,
        update_class: parse(row.try_get("update_class")?)?,
        position: row.try_get("position")?,
        link_url: row.try_get("link_url")?,
        created_at: row.try_get("created_at")?,
        role: row.try_get("role")?,
    })
}

pub(crate) const DOCUMENT_COLUMNS: &str = "id, tenant_id, channel_id, title, body_html, summary, source, author, state, created_at, updated_at, published_at, index_no, doc_no, issuing_organ, written_date, topic, disclosure, disclosure_basis, disclosure_reason, validity, created_by, needs_secrecy_review, review_stage, return_reason, return_stage, returned_by, returned_at, secrecy_passed, secrecy_conclusion, secrecy_by, secrecy_at, needs_interpretation, interprets, interpretation_kind, replaced_by, publish_at, unpublish_at, copy_of, origin_url";

/// `disclosure` is stored as text; the empty string is "not chosen yet".
pub(crate) fn disclosure_text(d: Option<zhanqun_model::Disclosure>) -> &'static str {
    d.map_or("", |d| d.as_str())
}

pub(crate) fn document(row: &SqliteRow) -> Result<Document> {
    Ok(Document {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        content: DocumentContent {
            channel_id: row.try_get("channel_id")?,
            title: row.try_get("title")?,
            body_html: row.try_get("body_html")?,
            summary: row.try_get("summary")?,
            source: row.try_get("source")?,
            author: row.try_get("author")?,
            meta: GovMeta {
                index_no: row.try_get("index_no")?,
                doc_no: row.try_get("doc_no")?,
                issuing_organ: row.try_get("issuing_organ")?,
                written_date: row.try_get("written_date")?,
                topic: row.try_get("topic")?,
                disclosure: match row.try_get::<&str, _>("disclosure")? {
                    "" => None,
                    text => Some(parse(text)?),
                },
                disclosure_basis: row.try_get("disclosure_basis")?,
                disclosure_reason: row.try_get("disclosure_reason")?,
                validity: parse(row.try_get("validity")?)?,
            },
            needs_secrecy_review: row.try_get("needs_secrecy_review")?,
            needs_interpretation: row.try_get("needs_interpretation")?,
            interprets: row.try_get("interprets")?,
            interpretation_kind: row.try_get::<Option<&str>, _>("interpretation_kind")?.map(parse).transpose()?,
        },
        state: parse(row.try_get("state")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        published_at: row.try_get("published_at")?,
        created_by: row.try_get("created_by")?,
        review_stage: row.try_get::<Option<&str>, _>("review_stage")?.map(parse).transpose()?,
        returned: match row.try_get::<Option<String>, _>("return_reason")? {
            Some(reason) => Some(ReturnNote {
                reason,
                by: row.try_get("returned_by")?,
                at: row.try_get::<Option<i64>, _>("returned_at")?.unwrap_or(0),
                stage: parse(row.try_get::<Option<&str>, _>("return_stage")?.unwrap_or("content"))?,
            }),
            None => None,
        },
        secrecy: match row.try_get::<Option<bool>, _>("secrecy_passed")? {
            Some(passed) => Some(SecrecySignOff {
                by: row.try_get("secrecy_by")?,
                at: row.try_get::<Option<i64>, _>("secrecy_at")?.unwrap_or(0),
                passed,
                conclusion: row.try_get::<Option<String>, _>("secrecy_conclusion")?.unwrap_or_default(),
            }),
            None => None,
        },
        replaced_by: row.try_get("replaced_by")?,
        publish_at: row.try_get("publish_at")?,
        unpublish_at: row.try_get("unpublish_at")?,
        copy_of: row.try_get("copy_of")?,
        origin_url: row.try_get("origin_url")?,
    })
}

pub(crate) const ATTACHMENT_COLUMNS: &str = "id, tenant_id, document_id, sha256, size, content_type, file_name, created_at, created_by";

pub(crate) fn attachment(row: &SqliteRow) -> Result<Attachment> {
    Ok(Attachment {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        document_id: row.try_get("document_id")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        content_type: row.try_get("content_type")?,
        file_name: row.try_get("file_name")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

/// A user with their site roles. Takes a connection so that the state
/// machine reads the actor inside its own transaction and queries read
/// from the reader pool, through one loader. One query, a row per grant
/// (or one row with no grant): the state machine asks it for the actor of
/// every command, and each statement is a round trip to SQLite's thread.
pub(crate) async fn user(conn: &mut SqliteConnection, id: i64) -> Result<Option<User>> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.password_hash, u.platform_role, u.created_at, u.disabled_at, u.must_change_password,
                g.tenant_id AS grant_tenant, g.role AS grant_role
         FROM users u LEFT JOIN grants g ON g.user_id = u.id WHERE u.id = ? ORDER BY g.tenant_id, g.role",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let mut grants = Vec::new();
    for g in &rows {
        if let Some(tenant_id) = g.try_get::<Option<i64>, _>("grant_tenant")? {
            grants.push(Grant { tenant_id, role: parse::<TenantRole>(g.try_get("grant_role")?)? });
        }
    }
    let platform_role: Option<String> = row.try_get("platform_role")?;
    Ok(Some(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        platform_role: platform_role.as_deref().map(parse).transpose()?,
        grants,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        must_change_password: row.try_get("must_change_password")?,
    }))
}

pub(crate) fn repost_rule(row: &SqliteRow) -> Result<zhanqun_model::repost::RepostRule> {
    Ok(zhanqun_model::repost::RepostRule {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        source: json_column(row, "source")?,
        filter: json_column(row, "filter")?,
        targets: json_column(row, "targets")?,
        role: row.try_get("role")?,
        mode: parse(row.try_get("mode")?)?,
        deadline_ms: row.try_get("deadline_ms")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

/// A column holding JSON the state machine wrote.
fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> Result<T> {
    let text: &str = row.try_get(column)?;
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt(format!("{column}: {e}")))
}
