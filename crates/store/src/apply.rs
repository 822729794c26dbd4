//! Applying commands: the only code in zhanqun that writes content.
//!
//! Each proposal runs inside a savepoint of the entry's transaction. A
//! [`Rejection`] rolls the savepoint back, so a refused command changes
//! nothing, yet the log position still advances in the same transaction:
//! every node refuses the same command in the same way, exactly once.

use std::collections::BTreeSet;

use sqlx::{Acquire, Row, SqliteConnection};
use zhanqun_model::rules::{self, check_text};
use zhanqun_model::time::{parse_date, to_civil};
use zhanqun_model::{Applied, Command, DocState, Document, Outcome, Proposal, Rejection, Tenant, TenantPatch};

use crate::{Result, Store, StoreError, accounts, audit, edit, permission, workflow};

/// What an applied entry touched, so that derived state (render caches,
/// the tenant directory) can be refreshed on every node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Touched {
    /// Tenants whose public pages may have changed.
    pub tenants: BTreeSet<i64>,
    /// Tenants were created or changed (hosts, names, lifecycle).
    pub directory: bool,
    /// Documents created or changed, as (tenant, document): the search
    /// index re-reads them.
    pub documents: BTreeSet<(i64, i64)>,
    /// Accounts (lowercased names) whose failed-login lock is lifted: each
    /// node clears its own count.
    pub unlocked: Vec<String>,
}

/// A refusal or a storage failure while applying one command.
pub(crate) enum Failure {
    Rejected(Rejection),
    Store(StoreError),
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        Failure::Rejected(r)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        // Constraints are checked before writing; one that still fires is a
        // conflict the checks missed, and must refuse, not crash the node.
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                return Failure::Rejected(Rejection::conflict("conflict", format!("already exists: {}", db.message())));
            }
            if db.is_foreign_key_violation() {
                return Failure::Rejected(Rejection::not_found("not_found", format!("refers to something that does not exist: {}", db.message())));
            }
        }
        Failure::Store(StoreError::Db(e))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

pub(crate) type Step<T = ()> = std::result::Result<T, Failure>;

impl Store {
    /// Applies one Raft entry. `log_id` is recorded as the new last-applied
    /// position in the same transaction; `membership`, when the entry
    /// carries one, is recorded too. `proposal` is `None` for entries that
    /// carry no command (blank and membership entries).
    pub async fn apply_entry(&self, log_id: &str, membership: Option<&str>, proposal: Option<&Proposal>) -> Result<(Outcome, Touched)> {
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await?;
        let mut touched = Touched::default();
        let outcome = match proposal {
            None => Ok(Applied::default()),
            Some(p) => {
                let mut savepoint = tx.begin().await?;
                let result = match permission::check(&mut savepoint, p).await {
                    Ok(()) => run(&mut savepoint, p, &p.command, &mut touched).await,
                    Err(refused) => Err(refused),
                };
                match result {
                    Ok(applied) => {
                        savepoint.commit().await?;
                        Ok(applied)
                    }
                    Err(Failure::Rejected(r)) => {
                        savepoint.rollback().await?;
                        touched = Touched::default();
                        Err(r)
                    }
                    Err(Failure::Store(e)) => return Err(e),
                }
            }
        };
        if let Some(p) = proposal {
            audit::record(&mut tx, p, &outcome).await?;
        }
        set_meta(&mut tx, "last_applied", log_id).await?;
        if let Some(m) = membership {
            set_meta(&mut tx, "membership", m).await?;
        }
        tx.commit().await?;
        Ok((outcome, touched))
    }
}

async fn set_meta(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO raft_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}

fn run<'a>(conn: &'a mut SqliteConnection, p: &'a Proposal, cmd: &'a Command, touched: &'a mut Touched) -> futures::future::BoxFuture<'a, Step<Applied>> {
    // Boxed because `Batch` recurses.
    Box::pin(async move {
        match cmd {
            Command::CreateTenant { tenant } => create_tenant(conn, p, tenant, touched).await,
            Command::UpdateTenant { tenant_id, patch } => update_tenant(conn, p, *tenant_id, patch, touched).await,
            Command::CreateChannel { channel } => create_channel(conn, p, channel, touched).await,
            Command::CreateDocument { document, attachment_ids } => create_document(conn, p, document, attachment_ids, touched).await,
            Command::UpdateDocument { tenant_id, document_id, patch } => edit::update_document(conn, p, *tenant_id, *document_id, patch, touched).await,
            Command::RestoreRevision { tenant_id, document_id, revision } => edit::restore(conn, p, *tenant_id, *document_id, *revision, touched).await,
            Command::SubmitDocument { tenant_id, document_id } => workflow::submit(conn, p, *tenant_id, *document_id, touched).await,
            Command::ApproveDocument { tenant_id, document_id } => workflow::approve(conn, p, *tenant_id, *document_id, touched).await,
            Command::ReturnDocument { tenant_id, document_id, reason } => workflow::send_back(conn, p, *tenant_id, *document_id, reason, touched).await,
            Command::SignOffSecrecy { tenant_id, document_id, passed, conclusion } => {
                workflow::sign_off(conn, p, *tenant_id, *document_id, *passed, conclusion, touched).await
            }
            Command::SetValidity { tenant_id, document_id, validity, replaced_by } => {
                workflow::set_validity(conn, p, *tenant_id, *document_id, *validity, *replaced_by, touched).await
            }
            Command::ScheduleDocument { tenant_id, document_id, publish_at, unpublish_at } => {
                workflow::schedule(conn, p, *tenant_id, *document_id, *publish_at, *unpublish_at, touched).await
            }
            Command::PublishDocument { tenant_id, document_id } => workflow::publish(conn, p, *tenant_id, *document_id, touched).await,
            Command::WithdrawDocument { tenant_id, document_id } => workflow::withdraw(conn, p, *tenant_id, *document_id, touched).await,
            Command::AddAttachment { attachment: a } => {
                tenant_exists(conn, a.tenant_id).await?;
                if p.made_under(1) {
                    rules::limits::FILE_NAME.required(&a.file_name)?;
                }
                if let Some(doc) = a.document_id {
                    load_document(conn, a.tenant_id, doc).await?;
                    touched.tenants.insert(a.tenant_id);
                }
                if !(a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
                    return Err(Rejection::invalid("invalid_hash", "sha256 must be 64 hex digits").into());
                }
                sqlx::query("INSERT INTO attachments (id, tenant_id, document_id, sha256, size, content_type, file_name, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?)")
                    .bind(a.id).bind(a.tenant_id).bind(a.document_id).bind(&a.sha256).bind(a.size).bind(&a.content_type).bind(&a.file_name).bind(a.created_at).bind(a.created_by)
                    .execute(&mut *conn).await?;
                Ok(Applied { id: Some(a.id), index_no: None })
            }
            Command::SetPasswordPolicy { policy } => {
                accounts::require_security_admin(conn, p).await?;
                policy.validate()?;
                let value = serde_json::to_string(policy).expect("policy serializes");
                sqlx::query("INSERT INTO settings (key, value) VALUES ('password_policy', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(value)
                    .execute(&mut *conn)
                    .await?;
                Ok(Applied::default())
            }
            Command::CreateUser { user } => accounts::create_user(conn, p, user).await,
            Command::SetRoles { user_id, grants } => accounts::set_roles(conn, p, *user_id, grants).await,
            Command::ChangePassword { user_id, password_hash, keep_session } => {
                accounts::change_password(conn, p, *user_id, password_hash, keep_session.as_deref()).await
            }
            Command::ResetPassword { user_id, password_hash } => accounts::reset_password(conn, p, *user_id, password_hash).await,
            Command::SetAccountDisabled { user_id, disabled } => accounts::set_disabled(conn, p, *user_id, *disabled).await,
            Command::RevokeSessions { user_id } => accounts::revoke_sessions(conn, p, *user_id).await,
            Command::UnlockAccount { username } => accounts::unlock(conn, p, username, touched).await,
            Command::CreateSession { token_sha256, user_id, expires_at } => {
                sqlx::query("INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) VALUES (?,?,?,?)")
                    .bind(token_sha256)
                    .bind(user_id)
                    .bind(p.at)
                    .bind(expires_at)
                    .execute(&mut *conn)
                    .await?;
                // Expired sessions go as new ones come: no timer needed, and
                // every node drops the same rows.
                sqlx::query("DELETE FROM sessions WHERE expires_at < ?").bind(p.at).execute(&mut *conn).await?;
                Ok(Applied { id: Some(*user_id), index_no: None })
            }
            Command::DeleteSession { token_sha256 } => {
                sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?").bind(token_sha256).execute(&mut *conn).await?;
                Ok(Applied::default())
            }
            Command::Batch { commands } => {
                let mut last = Applied::default();
                for (i, c) in commands.iter().enumerate() {
                    last = run(conn, p, c, touched).await.map_err(|f| match f {
                        Failure::Rejected(mut r) => {
                            r.message = format!("command {} of the batch ({}): {}", i + 1, c.name(), r.message);
                            Failure::Rejected(r)
                        }
                        other => other,
                    })?;
                }
                Ok(last)
            }
        }
    })
}

pub(crate) async fn tenant_exists(conn: &mut SqliteConnection, id: i64) -> Step<String> {
    let organ: Option<String> = sqlx::query_scalar("SELECT organ_code FROM tenants WHERE id = ?").bind(id).fetch_optional(&mut *conn).await?;
    organ.ok_or_else(|| Rejection::not_found("unknown_tenant", format!("no tenant with id {id}")).into())
}

async fn check_hosts(conn: &mut SqliteConnection, tenant_id: i64, hosts: &[String]) -> Step {
    for h in hosts {
        rules::check_host(h)?;
        let owner: Option<i64> = sqlx::query_scalar("SELECT tenant_id FROM tenant_hosts WHERE host = ?").bind(h).fetch_optional(&mut *conn).await?;
        if owner.is_some_and(|o| o != tenant_id) {
            return Err(Rejection::conflict("duplicate_host", format!("host `{h}` already belongs to another tenant")).into());
        }
    }
    Ok(())
}

/// A site's own texts: its name, filing numbers and mailbox (rules of version 1).
fn check_site_texts(name: Option<&str>, registrations: [&Option<String>; 3], mailbox: &Option<String>) -> Step {
    use rules::limits::*;
    SITE_NAME.check(name)?;
    for r in registrations {
        REGISTRATION.check(r.as_deref())?;
    }
    MAILBOX.check(mailbox.as_deref())?;
    Ok(())
}

async fn create_tenant(conn: &mut SqliteConnection, p: &Proposal, t: &Tenant, touched: &mut Touched) -> Step<Applied> {
    rules::check_code("tenant code", &t.code)?;
    if rules::RESERVED_CODES.contains(&t.code.as_str()) {
        return Err(Rejection::invalid("reserved_code", format!("`{}` is used by the platform's own URLs; choose another code", t.code)).into());
    }
    rules::check_organ_code(&t.organ_code)?;
    check_text("name", &t.name, 100)?;
    if p.made_under(1) {
        check_site_texts(Some(&t.name), [&t.site_id_code, &t.icp, &t.police_record], &t.mailbox)?;
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE code = ? OR id = ?").bind(&t.code).bind(t.id).fetch_optional(&mut *conn).await?;
    if taken.is_some() {
        return Err(Rejection::conflict("duplicate_code", format!("a tenant with code `{}` already exists", t.code)).into());
    }
    if let Some(parent) = t.parent_id {
        tenant_exists(conn, parent).await?;
    }
    check_hosts(conn, t.id, &t.hosts).await?;
    sqlx::query(
        "INSERT INTO tenants (id, code, name, kind, parent_id, mount_under_parent, site_id_code, icp, police_record, organ_code, mailbox, lifecycle, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(t.id).bind(&t.code).bind(&t.name).bind(t.kind.as_str()).bind(t.parent_id).bind(t.mount_under_parent)
    .bind(&t.site_id_code).bind(&t.icp).bind(&t.police_record).bind(&t.organ_code).bind(&t.mailbox)
    .bind(t.lifecycle.as_str()).bind(t.created_at).bind(t.updated_at)
    .execute(&mut *conn)
    .await?;
    for (i, h) in t.hosts.iter().enumerate() {
        sqlx::query("INSERT INTO tenant_hosts (host, tenant_id, position) VALUES (?, ?, ?)").bind(h).bind(t.id).bind(i as i64).execute(&mut *conn).await?;
    }
    touched.directory = true;
    touched.tenants.insert(t.id);
    if let Some(parent) = t.parent_id {
        touched.tenants.insert(parent);
    }
    Ok(Applied { id: Some(t.id), index_no: None })
}

async fn update_tenant(conn: &mut SqliteConnection, p: &Proposal, id: i64, patch: &TenantPatch, touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, id).await?;
    if let Some(name) = &patch.name {
        check_text("name", name, 100)?;
    }
    if p.made_under(1) {
        check_site_texts(patch.name.as_deref(), [&patch.site_id_code, &patch.icp, &patch.police_record], &patch.mailbox)?;
    }
    if let Some(hosts) = &patch.hosts {
        check_hosts(conn, id, hosts).await?;
        sqlx::query("DELETE FROM tenant_hosts WHERE tenant_id = ?").bind(id).execute(&mut *conn).await?;
        for (i, h) in hosts.iter().enumerate() {
            sqlx::query("INSERT INTO tenant_hosts (host, tenant_id, position) VALUES (?, ?, ?)").bind(h).bind(id).bind(i as i64).execute(&mut *conn).await?;
        }
    }
    sqlx::query(
        "UPDATE tenants SET name = COALESCE(?, name), mount_under_parent = COALESCE(?, mount_under_parent),
            site_id_code = COALESCE(?, site_id_code), icp = COALESCE(?, icp), police_record = COALESCE(?, police_record),
            mailbox = COALESCE(?, mailbox), lifecycle = COALESCE(?, lifecycle), updated_at = ? WHERE id = ?",
    )
    .bind(&patch.name)
    .bind(patch.mount_under_parent)
    .bind(&patch.site_id_code)
    .bind(&patch.icp)
    .bind(&patch.police_record)
    .bind(&patch.mailbox)
    .bind(patch.lifecycle.map(|l| l.as_str()))
    .bind(p.at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let parent: Option<i64> = sqlx::query_scalar("SELECT parent_id FROM tenants WHERE id = ?").bind(id).fetch_one(&mut *conn).await?;
    touched.directory = true;
    touched.tenants.insert(id);
    touched.tenants.extend(parent);
    Ok(Applied { id: Some(id), index_no: None })
}

async fn create_channel(conn: &mut SqliteConnection, p: &Proposal, c: &zhanqun_model::Channel, touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, c.tenant_id).await?;
    rules::check_code("channel slug", &c.slug)?;
    check_text("name", &c.name, 60)?;
    if p.made_under(1) {
        rules::limits::CHANNEL_NAME.required(&c.name)?;
        if let Some(url) = &c.link_url {
            rules::check_link_url(url)?;
        }
    }
    if let Some(parent) = c.parent_id {
        channel_in_tenant(conn, c.tenant_id, parent).await?;
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM channels WHERE (tenant_id = ? AND slug = ?) OR id = ?")
        .bind(c.tenant_id)
        .bind(&c.slug)
        .bind(c.id)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(Rejection::conflict("duplicate_slug", format!("this site already has a channel `{}`", c.slug)).into());
    }
    sqlx::query("INSERT INTO channels (id, tenant_id, parent_id, slug, name, kind, update_class, position, link_url, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)")
        .bind(c.id)
        .bind(c.tenant_id)
        .bind(c.parent_id)
        .bind(&c.slug)
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(c.update_class.as_str())
        .bind(c.position)
        .bind(&c.link_url)
        .bind(c.created_at)
        .execute(&mut *conn)
        .await?;
    touched.tenants.insert(c.tenant_id);
    Ok(Applied { id: Some(c.id), index_no: None })
}

pub(crate) async fn channel_in_tenant(conn: &mut SqliteConnection, tenant_id: i64, channel_id: i64) -> Step {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM channels WHERE id = ? AND tenant_id = ?").bind(channel_id).bind(tenant_id).fetch_optional(&mut *conn).await?;
    found.map(|_| ()).ok_or_else(|| Rejection::not_found("unknown_channel", format!("this site has no channel with id {channel_id}")).into())
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

pub(crate) async fn link_attachments(conn: &mut SqliteConnection, tenant_id: i64, document_id: i64, ids: &[i64]) -> Step {
    for id in ids {
        let owner: Option<(i64, Option<i64>)> =
            sqlx::query("SELECT tenant_id, document_id FROM attachments WHERE id = ?").bind(id).fetch_optional(&mut *conn).await?.map(|r| (r.get(0), r.get(1)));
        match owner {
            Some((t, doc)) if t == tenant_id && doc.is_none_or(|d| d == document_id) => {
                sqlx::query("UPDATE attachments SET document_id = ? WHERE id = ?").bind(document_id).bind(id).execute(&mut *conn).await?;
            }
            Some((t, _)) if t == tenant_id => {
                return Err(Rejection::conflict("attachment_in_use", format!("attachment {id} belongs to another document")).into());
            }
            _ => return Err(Rejection::not_found("unknown_attachment", format!("this site has no attachment with id {id}")).into()),
        }
    }
    Ok(())
}

async fn create_document(conn: &mut SqliteConnection, p: &Proposal, d: &Document, attachment_ids: &[i64], touched: &mut Touched) -> Step<Applied> {
    let organ_code = tenant_exists(conn, d.tenant_id).await?;
    channel_in_tenant(conn, d.tenant_id, d.channel_id).await?;
    check_document(p.version, d)?;
    // People start drafts; only the system (demo, imports) loads documents
    // in a later state.
    if p.actor.is_some() && d.state != DocState::Draft {
        return Err(Rejection::invalid("not_a_draft", "a new document starts as a draft; publish it through review").into());
    }
    // (tenant, created_at, created_by, title, 索引号) of the holder of the id.
    type Holder = (i64, i64, Option<i64>, String, Option<String>);
    let taken: Option<Holder> =
        sqlx::query_as("SELECT tenant_id, created_at, created_by, title, index_no FROM documents WHERE id = ?").bind(d.id).fetch_optional(&mut *conn).await?;
    if let Some((tenant_id, created_at, created_by, title, index_no)) = taken {
        // The same proposal a second time (a retry that crossed a leader
        // change): answer what the first one did, change nothing.
        if (tenant_id, created_at, created_by, title.as_str()) == (d.tenant_id, d.created_at, d.created_by, d.title.as_str()) {
            return Ok(Applied { id: Some(d.id), index_no });
        }
        return Err(Rejection::conflict("duplicate_id", format!("document id {} is taken; retry", d.id)).into());
    }
    check_doc_no_unique(conn, p, d).await?;
    check_interpretation_link(conn, d).await?;
    // The 索引号 year is the year the document was written, else of its creation.
    let year = d.meta.written_date.as_deref().and_then(parse_date).map(|(y, _, _)| y).unwrap_or_else(|| to_civil(p.at).year);
    let serial: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(index_serial), 0) + 1 FROM documents WHERE tenant_id = ? AND index_year = ?")
        .bind(d.tenant_id)
        .bind(year)
        .fetch_one(&mut *conn)
        .await?;
    let index_no = rules::index_no(&organ_code, year, serial);
    let published_at = (d.state == DocState::Published).then_some(d.published_at.unwrap_or(p.at));
    // The row's identity and lifecycle here; its content (NOT NULL columns
    // get placeholders first) through the one writer edits use too.
    sqlx::query(
        "INSERT INTO documents (id, tenant_id, channel_id, title, body_html, issuing_organ, disclosure, validity,
            state, created_at, updated_at, published_at, index_no, index_year, index_serial, created_by)
         VALUES (?,?,?,'','','','','',?,?,?,?,?,?,?,?)",
    )
    .bind(d.id)
    .bind(d.tenant_id)
    .bind(d.channel_id)
    .bind(d.state.as_str())
    .bind(d.created_at)
    .bind(d.updated_at)
    .bind(published_at)
    .bind(&index_no)
    .bind(year)
    .bind(serial)
    .bind(d.created_by)
    .execute(&mut *conn)
    .await?;
    edit::write_content(conn, d, d.updated_at).await?;
    link_attachments(conn, d.tenant_id, d.id, attachment_ids).await?;
    edit::record_revision(conn, p, d).await?;
    touched.tenants.insert(d.tenant_id);
    touched.documents.insert((d.tenant_id, d.id));
    Ok(Applied { id: Some(d.id), index_no: Some(index_no) })
}

/// A 政策解读 names a policy of its own site that is not itself an
/// interpretation, and says what kind of interpretation it is.
pub(crate) async fn check_interpretation_link(conn: &mut SqliteConnection, d: &Document) -> Step {
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
        .await
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
pub(crate) async fn check_doc_no_unique(conn: &mut SqliteConnection, p: &Proposal, d: &Document) -> Step {
    let Some(no) = &d.meta.doc_no else { return Ok(()) };
    let other: Option<i64> = if p.made_under(1) {
        sqlx::query_scalar("SELECT id FROM documents WHERE tenant_id = ? AND doc_no = ? AND issuing_organ = ? AND id != ?")
            .bind(d.tenant_id)
            .bind(no)
            .bind(&d.meta.issuing_organ)
            .bind(d.id)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        sqlx::query_scalar("SELECT id FROM documents WHERE doc_no = ? AND issuing_organ = ? AND id != ?")
            .bind(no)
            .bind(&d.meta.issuing_organ)
            .bind(d.id)
            .fetch_optional(&mut *conn)
            .await?
    };
    match other {
        Some(id) => {
            Err(Rejection::conflict("duplicate_doc_no", format!("{} already has a document numbered {no} (document {id})", d.meta.issuing_organ)).into())
        }
        None => Ok(()),
    }
}

pub(crate) async fn load_document(conn: &mut SqliteConnection, tenant_id: i64, id: i64) -> Step<Document> {
    let row = sqlx::query(sql!("SELECT {} FROM documents WHERE id = ? AND tenant_id = ?", crate::rows::DOCUMENT_COLUMNS))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(crate::rows::document(&row)?),
        None => Err(Rejection::not_found("unknown_document", format!("this site has no document with id {id}")).into()),
    }
}
