//! Read queries. Every query for tenant data takes the tenant id and filters
//! by it (invariant 5): there is no way to read a document by id alone.

use std::collections::HashMap;

use sqlx::Row;
use zhanqun_model::{Attachment, Channel, Document, Tenant, User};

use crate::rows::{self, ATTACHMENT_COLUMNS, CHANNEL_COLUMNS, DOCUMENT_COLUMNS, TENANT_COLUMNS};
use crate::{Result, Store, parse};

/// A page of results and the total count.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// A session that still works, and its idle clock.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: User,
    /// The idle limit of a browser session; `None` for an API token.
    pub idle_ms: Option<i64>,
    /// When a request last marked it ([`zhanqun_model::Command::TouchSession`]).
    pub last_seen_at: i64,
}

/// Which documents an admin listing wants.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub channel_id: Option<i64>,
    pub state: Option<zhanqun_model::DocState>,
    /// 公开属性.
    pub disclosure: Option<zhanqun_model::Disclosure>,
    /// The year of the 索引号 (the year the document was created).
    pub year: Option<i64>,
    /// Written by this account.
    pub created_by: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Where a page of an admin list starts: after this (updated_at, id), in
/// the list's order (newest change first). Paging by key costs the same
/// on page 5,000 as on page 1; OFFSET reads and drops every row before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub updated_at: i64,
    pub id: i64,
}

impl DocumentFilter {
    /// The WHERE clause of the filters that are set, and their values in
    /// order. Only the conditions in use are written, so SQLite picks the
    /// index that serves them (a `? IS NULL OR …` clause would hide it).
    fn clause(&self, tenant_id: i64) -> (String, Vec<FilterValue>) {
        let mut sql = String::from("tenant_id = ?");
        let mut values = vec![FilterValue::Int(tenant_id)];
        let mut add = |cond: &str, v: FilterValue| {
            sql.push_str(" AND ");
            sql.push_str(cond);
            values.push(v);
        };
        if let Some(c) = self.channel_id {
            add("channel_id = ?", FilterValue::Int(c));
        }
        if let Some(s) = self.state {
            add("state = ?", FilterValue::Text(s.as_str()));
        }
        if let Some(d) = self.disclosure {
            add("disclosure = ?", FilterValue::Text(d.as_str()));
        }
        if let Some(y) = self.year {
            add("index_year = ?", FilterValue::Int(y));
        }
        if let Some(u) = self.created_by {
            add("created_by = ?", FilterValue::Int(u));
        }
        (sql, values)
    }
}

enum FilterValue {
    Int(i64),
    Text(&'static str),
}

/// Binds a filter's values to a query or a scalar query.
macro_rules! bind_all {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for v in $values {
            q = match v {
                FilterValue::Int(i) => q.bind(i),
                FilterValue::Text(t) => q.bind(t),
            };
        }
        q
    }};
}

/// The public condition (invariant 6), spelled once.
const PUBLIC: &str = "state = 'published' AND disclosure = '主动公开'";

impl Store {
    /// The last applied log position (opaque JSON), if any entry was applied.
    pub async fn last_applied(&self) -> Result<Option<String>> {
        self.meta("last_applied").await
    }

    /// The last applied membership (opaque JSON).
    pub async fn membership(&self) -> Result<Option<String>> {
        self.meta("membership").await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM raft_meta WHERE key = ?").bind(key).fetch_optional(&self.reader()).await?)
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let pool = self.reader();
        let mut hosts: HashMap<i64, Vec<String>> = HashMap::new();
        for row in sqlx::query("SELECT host, tenant_id FROM tenant_hosts ORDER BY tenant_id, position").fetch_all(&pool).await? {
            hosts.entry(row.try_get(1)?).or_default().push(row.try_get(0)?);
        }
        let rows = sqlx::query(sql!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY id")).fetch_all(&pool).await?;
        rows.iter().map(|r| rows::tenant(r, hosts.remove(&r.get::<i64, _>("id")).unwrap_or_default())).collect()
    }

    /// A site's columns, read in place (see [`Store::read_in_place`]):
    /// every document write asks for them.
    pub async fn channels(&self, tenant_id: i64) -> Result<Vec<Channel>> {
        let rows = self.read_in_place(|conn| {
            Ok(crate::db::query(format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE tenant_id = ? ORDER BY position, id")).bind(tenant_id).fetch_all(conn)?)
        })?;
        rows.iter().map(rows::channel).collect()
    }

    pub async fn document(&self, tenant_id: i64, id: i64) -> Result<Option<Document>> {
        let row = sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ? AND id = ?"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.reader())
            .await?;
        row.as_ref().map(rows::document).transpose()
    }

    pub async fn document_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents").fetch_one(&self.reader()).await?)
    }

    /// The kind of every channel of every site, by channel id.
    pub async fn channel_kinds(&self) -> Result<HashMap<i64, zhanqun_model::ChannelKind>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, kind FROM channels").fetch_all(&self.reader()).await?;
        rows.into_iter().map(|(id, kind)| Ok((id, parse(&kind)?))).collect()
    }

    /// A published, proactively disclosed document, or nothing.
    pub async fn public_document(&self, tenant_id: i64, id: i64) -> Result<Option<Document>> {
        Ok(self.document(tenant_id, id).await?.filter(Document::is_public))
    }

    /// Public documents of a channel (or of the whole site), newest first.
    pub async fn public_documents(&self, tenant_id: i64, channel_id: Option<i64>, limit: i64, offset: i64) -> Result<Page<Document>> {
        let pool = self.reader();
        let channel_clause = "AND (? IS NULL OR channel_id = ?)";
        let rows = sqlx::query(sql!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ? {channel_clause} AND {PUBLIC} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?"
        ))
        .bind(tenant_id)
        .bind(channel_id)
        .bind(channel_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&pool)
        .await?;
        let total: i64 = sqlx::query_scalar(sql!("SELECT COUNT(*) FROM documents WHERE tenant_id = ? {channel_clause} AND {PUBLIC}"))
            .bind(tenant_id)
            .bind(channel_id)
            .bind(channel_id)
            .fetch_one(&pool)
            .await?;
        Ok(Page { items: rows.iter().map(rows::document).collect::<Result<_>>()?, total })
    }

    /// How many documents of a tenant the filter matches.
    pub async fn documents_matching(&self, tenant_id: i64, filter: &DocumentFilter) -> Result<i64> {
        let (clause, values) = filter.clause(tenant_id);
        Ok(bind_all!(sqlx::query_scalar(sql!("SELECT COUNT(*) FROM documents WHERE {clause}")), values).fetch_one(&self.reader()).await?)
    }

    /// One page of an admin list, newest change first: after `after` when
    /// given (by key), else at `filter.offset`.
    pub async fn documents_page(&self, tenant_id: i64, filter: &DocumentFilter, after: Option<After>) -> Result<Vec<Document>> {
        let (mut clause, mut values) = filter.clause(tenant_id);
        if let Some(a) = after {
            // A row value, so SQLite starts the index range at the key
            // (an OR of the two cases makes it scan from the top).
            clause.push_str(" AND (updated_at, id) < (?, ?)");
            values.extend([FilterValue::Int(a.updated_at), FilterValue::Int(a.id)]);
        }
        let offset = if after.is_some() { 0 } else { filter.offset };
        let rows =
            bind_all!(sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {clause} ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?")), values)
                .bind(filter.limit)
                .bind(offset)
                .fetch_all(&self.reader())
                .await?;
        rows.iter().map(rows::document).collect()
    }

    /// The channels of a tenant that hold at least one public document: the
    /// public navigation shows a list column only when it has something to
    /// show (an empty column is what inspectors mark down).
    pub async fn channels_with_public_documents(&self, tenant_id: i64) -> Result<std::collections::HashSet<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar(sql!(
            "SELECT c.id FROM channels c WHERE c.tenant_id = ?
             AND EXISTS (SELECT 1 FROM documents WHERE tenant_id = c.tenant_id AND channel_id = c.id AND {PUBLIC})"
        ))
        .bind(tenant_id)
        .fetch_all(&self.reader())
        .await?;
        Ok(ids.into_iter().collect())
    }

    /// Up to `limit` documents of the platform with ids above `after`, by
    /// id: a pass over every document in batches (the re-scan of published
    /// pages starts with one).
    pub async fn documents_after(&self, after: i64, limit: i64) -> Result<Vec<Document>> {
        let rows = sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id > ? ORDER BY id LIMIT ?"))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader())
            .await?;
        rows.iter().map(rows::document).collect()
    }

    /// The documents with these ids that exist, in no particular order.
    pub async fn documents_with_ids(&self, ids: &[i64]) -> Result<Vec<Document>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = vec!["?"; ids.len()].join(",");
        let mut q = sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id IN ({list})"));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.reader()).await?.iter().map(rows::document).collect()
    }

    /// A reviewer's leave for the personal data in `d`, if one was given for
    /// its body as it is now: (reason, who, when).
    pub async fn personal_data_allowance(&self, d: &Document) -> Result<Option<(String, Option<i64>, i64)>> {
        let row: Option<(String, String, Option<i64>, i64)> =
            sqlx::query_as("SELECT body_sha256, reason, allowed_by, allowed_at FROM personal_data_allowances WHERE document_id = ?")
                .bind(d.id)
                .fetch_optional(&self.reader())
                .await?;
        Ok(row.filter(|(sha, ..)| *sha == crate::apply::body_digest(&d.body_html)).map(|(_, reason, by, at)| (reason, by, at)))
    }

    /// (id, last change) of every public document of a tenant, for sitemaps.
    pub async fn public_document_stamps(&self, tenant_id: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(sql!("SELECT id, updated_at FROM documents WHERE tenant_id = ? AND {PUBLIC} ORDER BY published_at DESC, id DESC"))
            .bind(tenant_id)
            .fetch_all(&self.reader())
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn attachments_of(&self, tenant_id: i64, document_id: i64) -> Result<Vec<Attachment>> {
        let rows = sqlx::query(sql!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE tenant_id = ? AND document_id = ? ORDER BY id"))
            .bind(tenant_id)
            .bind(document_id)
            .fetch_all(&self.reader())
            .await?;
        rows.iter().map(rows::attachment).collect()
    }

    pub async fn attachment(&self, tenant_id: i64, id: i64) -> Result<Option<Attachment>> {
        let row = sqlx::query(sql!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE tenant_id = ? AND id = ?"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.reader())
            .await?;
        row.as_ref().map(rows::attachment).transpose()
    }

    /// The account of `username`, whatever the case it is typed in (names
    /// are unique without case; an older exact match wins).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = lower(?) ORDER BY username = ? DESC, id LIMIT 1")
            .bind(username)
            .bind(username)
            .fetch_optional(&self.reader())
            .await?;
        match id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        self.read_in_place(|conn| rows::user_in(conn, id))
    }

    /// One page of the accounts by username, after `after` (by key: page
    /// 500 costs what page 1 does).
    pub async fn users_page(&self, after: Option<&str>, limit: i64) -> Result<Vec<User>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username > ? ORDER BY username LIMIT ?")
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.reader())
            .await?;
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.extend(self.user(id).await?);
        }
        Ok(users)
    }

    /// The usernames of these accounts (for naming actors in a list).
    pub async fn usernames(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
        let list = serde_json::to_string(ids).expect("ids serialize");
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?))").bind(list).fetch_all(&self.reader()).await?;
        Ok(rows.into_iter().collect())
    }

    /// The user a live session token (by its SHA-256) belongs to, unless
    /// the account is disabled.
    pub async fn session_user(&self, token_sha256: &str, now: i64) -> Result<Option<User>> {
        Ok(self.session(token_sha256, now).await?.map(|s| s.user))
    }

    /// A live session by its token's SHA-256: not expired, not idle past
    /// its limit, of an account that is not disabled.
    pub async fn session(&self, token_sha256: &str, now: i64) -> Result<Option<LiveSession>> {
        // The session and its user with their grants, in one statement, in
        // place: it is read for every request that carries a token.
        let rows = crate::db::query(concat!(
            "SELECT s.idle_ms, s.last_seen_at, ",
            rows::user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN grants g ON g.user_id = u.id \
             WHERE s.token_sha256 = ? AND s.expires_at > ? AND u.disabled_at IS NULL \
             AND (s.idle_ms IS NULL OR coalesce(s.last_seen_at, s.created_at) + s.idle_ms > ?) ORDER BY g.tenant_id, g.role"
        ))
        .bind(token_sha256)
        .bind(now)
        .bind(now);
        let rows = self.read_in_place(|conn| Ok(rows.fetch_all(conn)?))?;
        let (Some(first), Some(user)) = (rows.first(), rows::user_from(&rows)?) else { return Ok(None) };
        let (idle_ms, last_seen_at): (Option<i64>, Option<i64>) = (first.named("idle_ms")?, first.named("last_seen_at")?);
        Ok(Some(LiveSession { user, idle_ms, last_seen_at: last_seen_at.unwrap_or(now) }))
    }

    /// Whether any user exists (the platform needs bootstrapping if not).
    pub async fn has_users(&self) -> Result<bool> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(&self.reader()).await? > 0)
    }
}

impl Store {
    /// Published, public 政策解读 of a policy, newest first.
    pub async fn public_interpretations_of(&self, tenant_id: i64, policy_id: i64) -> Result<Vec<Document>> {
        let rows = sqlx::query(sql!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ? AND interprets = ? AND {PUBLIC} ORDER BY published_at DESC, id DESC"
        ))
        .bind(tenant_id)
        .bind(policy_id)
        .fetch_all(&self.reader())
        .await?;
        rows.iter().map(rows::document).collect()
    }

    /// Published, public 政策解读 of the given sites, newest first: the
    /// portal's 政策解读 column.
    pub async fn public_interpretations(&self, tenant_ids: &[i64], limit: i64, offset: i64) -> Result<Page<Document>> {
        if tenant_ids.is_empty() {
            return Ok(Page { items: vec![], total: 0 });
        }
        let list = tenant_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let pool = self.reader();
        let rows = sqlx::query(sql!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id IN ({list}) AND interprets IS NOT NULL AND {PUBLIC} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&pool)
        .await?;
        let total: i64 = sqlx::query_scalar(sql!("SELECT COUNT(*) FROM documents WHERE tenant_id IN ({list}) AND interprets IS NOT NULL AND {PUBLIC}"))
            .fetch_one(&pool)
            .await?;
        Ok(Page { items: rows.iter().map(rows::document).collect::<Result<_>>()?, total })
    }
}

/// A scheduled transition whose time has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub tenant_id: i64,
    pub document_id: i64,
    /// Publish (else withdraw).
    pub publish: bool,
}

impl Store {
    /// Scheduled publications and withdrawals due at `now`, oldest first.
    pub async fn due(&self, now: i64, limit: i64) -> Result<Vec<Due>> {
        let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
            "SELECT tenant_id, id, 1 FROM documents WHERE state = 'scheduled' AND publish_at <= ?
             UNION ALL
             SELECT tenant_id, id, 0 FROM documents WHERE state = 'published' AND unpublish_at <= ?
             LIMIT ?",
        )
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows.into_iter().map(|(tenant_id, document_id, publish)| Due { tenant_id, document_id, publish }).collect())
    }
}

impl Store {
    /// A document's revisions, oldest first, without their content: each
    /// may be megabytes, and a list needs only who, when and the title.
    /// A page of a document's revisions, oldest first, after revision
    /// `after` (0: from the first), without their content.
    pub async fn revision_list(&self, tenant_id: i64, document_id: i64, after: i64, limit: i64) -> Result<Vec<zhanqun_model::revision::RevisionSummary>> {
        let rows: Vec<(i64, i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT revision, at, actor, json_extract(content, '$.title') FROM document_revisions
             WHERE tenant_id = ? AND document_id = ? AND revision > ? ORDER BY revision LIMIT ?",
        )
        .bind(tenant_id)
        .bind(document_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(revision, at, actor, title)| zhanqun_model::revision::RevisionSummary { revision, at, actor, title: title.unwrap_or_default() })
            .collect())
    }

    /// The newest of a document's revisions made at or before `at` (any
    /// time: `i64::MAX`), without reading the others.
    pub async fn latest_revision(&self, tenant_id: i64, document_id: i64, at: i64) -> Result<Option<i64>> {
        // Backwards from the newest along the key: the first that fits.
        Ok(sqlx::query_scalar("SELECT revision FROM document_revisions WHERE tenant_id = ? AND document_id = ? AND at <= ? ORDER BY revision DESC LIMIT 1")
            .bind(tenant_id)
            .bind(document_id)
            .bind(at)
            .fetch_optional(&self.reader())
            .await?)
    }

    /// One revision of a document, with its content.
    pub async fn revision(&self, tenant_id: i64, document_id: i64, revision: i64) -> Result<Option<zhanqun_model::revision::Revision>> {
        let row: Option<(i64, Option<i64>, String)> =
            sqlx::query_as("SELECT at, actor, content FROM document_revisions WHERE tenant_id = ? AND document_id = ? AND revision = ?")
                .bind(tenant_id)
                .bind(document_id)
                .bind(revision)
                .fetch_optional(&self.reader())
                .await?;
        row.map(|(at, actor, content)| {
            let content = serde_json::from_str(&content).map_err(|e| crate::StoreError::Corrupt(format!("revision {revision} of {document_id}: {e}")))?;
            Ok(zhanqun_model::revision::Revision { revision, at, actor, content })
        })
        .transpose()
    }
}

impl Store {
    /// Every document of a site whose 索引号 year is `year` (the year it was
    /// written, else created), in 索引号 order: the annual self-inspection.
    pub async fn documents_of_year(&self, tenant_id: i64, year: i32) -> Result<Vec<Document>> {
        let rows = sqlx::query(sql!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ? AND index_year = ? ORDER BY index_serial"))
            .bind(tenant_id)
            .bind(year)
            .fetch_all(&self.reader())
            .await?;
        rows.iter().map(rows::document).collect()
    }
}

/// The log format level every member reads (`RaiseClusterLevel`); 0 until
/// one is recorded (a cluster from before levels, or just founded).
/// Read by the state machine inside its transaction, and in place by
/// [`Store::cluster_level`].
pub(crate) fn cluster_level_in(conn: &crate::db::Conn) -> Result<u32> {
    let value: Option<String> = crate::db::query_scalar("SELECT value FROM settings WHERE key = 'cluster_level'").fetch_optional(conn)?;
    value.map(|v| v.parse().map_err(|e| crate::StoreError::Corrupt(format!("cluster level {v:?}: {e}")))).transpose().map(Option::unwrap_or_default)
}

impl Store {
    /// The log format level every member of the cluster reads.
    pub async fn cluster_level(&self) -> Result<u32> {
        self.read_in_place(cluster_level_in)
    }

    /// The password policy in force (the default until one is set).
    pub async fn password_policy(&self) -> Result<zhanqun_model::PasswordPolicy> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'password_policy'").fetch_optional(&self.reader()).await?;
        match value {
            Some(v) => serde_json::from_str(&v).map_err(|e| crate::StoreError::Corrupt(format!("password policy: {e}"))),
            None => Ok(Default::default()),
        }
    }
}

impl Store {
    /// An account's second factor, if it turned one on: its base32 secret
    /// and the newest code step it used.
    pub async fn totp_of(&self, user_id: i64) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as("SELECT secret, last_step FROM totp WHERE user_id = ?").bind(user_id).fetch_optional(&self.reader()).await?)
    }
}

impl Store {
    /// The hashes of an account's last `n` passwords, the current one first.
    pub async fn recent_password_hashes(&self, user_id: i64, n: u32) -> Result<Vec<String>> {
        let mut hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?").bind(user_id).fetch_all(&self.reader()).await?;
        let older: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM password_history WHERE user_id = ? ORDER BY at DESC, rowid DESC LIMIT ?")
            .bind(user_id)
            .bind(i64::from(n.saturating_sub(1)))
            .fetch_all(&self.reader())
            .await?;
        hashes.extend(older);
        Ok(hashes)
    }

    /// When the account's password was last set (`None`: before this was kept).
    pub async fn password_changed_at(&self, user_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT password_changed_at FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&self.reader())
            .await?
            .flatten())
    }
}
