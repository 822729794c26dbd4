//! Read queries of documents crossing sites: feeds and their health, repost
//! rules, the tracking board and the inbox, 信息报送. A target site reads
//! only its own rows; the board is read by the site that reposted.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use zhanqun_model::repost::{Feed, RepostMode, RepostRule, RepostState, SubmissionState};
use zhanqun_model::{Command, Millis};

use crate::{Result, Store, parse, rows};

/// A feed and how its polls have gone.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedStatus {
    #[serde(flatten)]
    pub feed: Feed,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    /// Set while the feed fails: a `FeedFailure` name.
    pub failing_reason: Option<String>,
    /// What the last failure (or the last skipped items) said.
    pub failing_detail: Option<String>,
    pub failures: i64,
    pub items: i64,
    /// When a 系统管理员 asked for a poll now (立即抓取).
    pub poll_requested_at: Option<Millis>,
}

/// One source document in one target site, with the names a board shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepostRow {
    pub id: i64,
    pub source_id: i64,
    pub source_title: String,
    pub source_tenant_id: i64,
    pub source_site: String,
    pub tenant_id: i64,
    pub site_code: String,
    pub site_name: String,
    pub channel_id: Option<i64>,
    pub copy_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub mode: RepostMode,
    pub state: RepostState,
    pub reason: Option<String>,
    pub created_at: Millis,
    pub deadline_at: Millis,
    pub decided_at: Option<Millis>,
    /// What the platform's own fetch of the copy's public URL answered.
    pub proof_status: Option<i64>,
    pub proof_at: Option<Millis>,
    /// Whether the source is still published (a withdrawn source takes its
    /// copies down with it).
    pub source_published: bool,
}

impl RepostRow {
    pub fn overdue(&self, now: Millis) -> bool {
        self.source_published && zhanqun_model::repost::overdue(self.state, self.deadline_at, self.proof_status, now)
    }
}

/// Which reposts a board or an inbox lists.
#[derive(Debug, Clone, Default)]
pub struct RepostQuery {
    /// Reposted by this site (the board): its own documents, by hand or by
    /// rule, and whatever its rules took from feeds or other sites.
    pub reposted_by: Option<i64>,
    /// Of one source document.
    pub source_id: Option<i64>,
    /// Into this site (the inbox).
    pub tenant_id: Option<i64>,
    pub limit: i64,
}

/// A 信息报送 with the names its lists show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubmissionRow {
    pub id: i64,
    pub tenant_id: i64,
    pub site_name: String,
    pub document_id: i64,
    pub title: String,
    pub portal_id: i64,
    pub channel_id: i64,
    pub channel_name: String,
    pub state: SubmissionState,
    pub reason: Option<String>,
    pub created_at: Millis,
    pub decided_at: Option<Millis>,
    pub copy_id: Option<i64>,
}

/// A site's 信息报送 in one year.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct SubmissionCount {
    pub tenant_id: i64,
    pub site_name: String,
    pub submitted: i64,
    pub adopted: i64,
    pub returned: i64,
}

/// A copy whose public page the leader should fetch.
#[derive(Debug, Clone)]
pub struct ProofDue {
    pub repost_id: i64,
    pub tenant_id: i64,
    pub copy_id: i64,
}

const FEED_COLUMNS: &str = "id, name, url, tenant_id, channel_id, poll_seconds, allow_private, created_at, etag, last_modified, last_poll_at, last_success_at, failing_reason, failing_detail, failures, items, poll_requested_at";

fn feed_status(r: &SqliteRow) -> Result<FeedStatus> {
    Ok(FeedStatus {
        feed: Feed {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            url: r.try_get("url")?,
            tenant_id: r.try_get("tenant_id")?,
            channel_id: r.try_get("channel_id")?,
            poll_seconds: r.try_get("poll_seconds")?,
            allow_private: r.try_get("allow_private")?,
            created_at: r.try_get("created_at")?,
        },
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        last_poll_at: r.try_get("last_poll_at")?,
        last_success_at: r.try_get("last_success_at")?,
        failing_reason: r.try_get("failing_reason")?,
        failing_detail: r.try_get("failing_detail")?,
        failures: r.try_get("failures")?,
        items: r.try_get("items")?,
        poll_requested_at: r.try_get("poll_requested_at")?,
    })
}

const REPOST_SELECT: &str = "SELECT r.id, r.source_id, s.title AS source_title, r.source_tenant_id, st.name AS source_site, r.tenant_id, t.code AS site_code,
        t.name AS site_name, r.channel_id, r.copy_id, r.rule_id, r.mode, r.state, r.reason, r.created_at, r.deadline_at, r.decided_at,
        r.proof_status, r.proof_at, s.state = 'published' AS source_published
    FROM reposts r JOIN documents s ON s.id = r.source_id JOIN tenants st ON st.id = r.source_tenant_id JOIN tenants t ON t.id = r.tenant_id";

fn repost_row(r: &SqliteRow) -> Result<RepostRow> {
    Ok(RepostRow {
        id: r.try_get("id")?,
        source_id: r.try_get("source_id")?,
        source_title: r.try_get("source_title")?,
        source_tenant_id: r.try_get("source_tenant_id")?,
        source_site: r.try_get("source_site")?,
        tenant_id: r.try_get("tenant_id")?,
        site_code: r.try_get("site_code")?,
        site_name: r.try_get("site_name")?,
        channel_id: r.try_get("channel_id")?,
        copy_id: r.try_get("copy_id")?,
        rule_id: r.try_get("rule_id")?,
        mode: parse(r.try_get("mode")?)?,
        state: parse(r.try_get("state")?)?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        deadline_at: r.try_get("deadline_at")?,
        decided_at: r.try_get("decided_at")?,
        proof_status: r.try_get("proof_status")?,
        proof_at: r.try_get("proof_at")?,
        source_published: r.try_get("source_published")?,
    })
}

impl Store {
    pub async fn feeds(&self) -> Result<Vec<FeedStatus>> {
        let rows = sqlx::query(sql!("SELECT {FEED_COLUMNS} FROM feeds ORDER BY id")).fetch_all(&self.reader()).await?;
        rows.iter().map(feed_status).collect()
    }

    pub async fn feed(&self, id: i64) -> Result<Option<FeedStatus>> {
        let row = sqlx::query(sql!("SELECT {FEED_COLUMNS} FROM feeds WHERE id = ?")).bind(id).fetch_optional(&self.reader()).await?;
        row.as_ref().map(feed_status).transpose()
    }

    /// The repost rules a site keeps.
    pub async fn repost_rules(&self, tenant_id: i64) -> Result<Vec<RepostRule>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, source, filter, targets, role, mode, deadline_ms, created_at, created_by FROM repost_rules WHERE tenant_id = ? ORDER BY id",
        )
        .bind(tenant_id)
        .fetch_all(&self.reader())
        .await?;
        rows.iter().map(rows::repost_rule).collect()
    }

    /// Reposts, newest first, as `q` narrows them (one of its sites at least).
    pub async fn reposts(&self, q: &RepostQuery) -> Result<Vec<RepostRow>> {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        if let Some(site) = q.reposted_by {
            clauses.push("(r.source_tenant_id = ? OR r.rule_id IN (SELECT id FROM repost_rules WHERE tenant_id = ?))".to_string());
            values.extend([site, site]);
        }
        for (column, value) in [("r.source_id", q.source_id), ("r.tenant_id", q.tenant_id)] {
            if let Some(v) = value {
                clauses.push(format!("{column} = ?"));
                values.push(v);
            }
        }
        if clauses.is_empty() {
            clauses.push("1 = 1".into());
        }
        // Only the fixed column names above are formatted in; values are bound.
        let where_clause = clauses.join(" AND ");
        let mut query = sqlx::query(sql!("{REPOST_SELECT} WHERE {where_clause} ORDER BY r.created_at DESC, r.source_id DESC, t.code LIMIT ?"));
        for v in values {
            query = query.bind(v);
        }
        let rows = query.bind(q.limit.clamp(1, 10_000)).fetch_all(&self.reader()).await?;
        rows.iter().map(repost_row).collect()
    }

    /// Copies shown (or accepted) whose public page has not answered 200 yet
    /// or has not been fetched since it changed; a failed fetch is tried
    /// again after `retry_ms`.
    pub async fn proofs_due(&self, now: Millis, retry_ms: Millis, limit: i64) -> Result<Vec<ProofDue>> {
        let rows = sqlx::query(
            "SELECT r.id, r.tenant_id, r.copy_id FROM reposts r JOIN documents s ON s.id = r.source_id
             WHERE r.copy_id IS NOT NULL AND COALESCE(r.proof_status, 0) != 200 AND r.state IN ('shown', 'accepted') AND s.state = 'published'
               AND (r.proof_at IS NULL OR r.proof_at < ?)
             ORDER BY r.created_at LIMIT ?",
        )
        .bind(now - retry_ms)
        .bind(limit)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows.iter().map(|r| ProofDue { repost_id: r.get(0), tenant_id: r.get(1), copy_id: r.get(2) }).collect())
    }

    /// Overdue reposts per target site at `now` (the same rule as
    /// `model::repost::overdue`, counted in SQL).
    pub async fn overdue_reposts(&self, now: Millis) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT r.tenant_id, COUNT(*) FROM reposts r JOIN documents s ON s.id = r.source_id
             WHERE r.deadline_at < ? AND s.state = 'published' AND r.state NOT IN ('refused', 'removed')
               AND NOT (r.state IN ('shown', 'accepted') AND COALESCE(r.proof_status, 0) = 200)
             GROUP BY r.tenant_id",
        )
        .bind(now)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// 信息报送 of a site (`portal = false`) or to a portal (`true`), newest first.
    pub async fn submissions(&self, tenant_id: i64, portal: bool, limit: i64) -> Result<Vec<SubmissionRow>> {
        let side = if portal { "s.portal_id" } else { "s.tenant_id" };
        let sql = sql!(
            "SELECT s.id, s.tenant_id, t.name AS site_name, s.document_id, d.title, s.portal_id, s.channel_id, c.name AS channel_name, s.state, s.reason,
                    s.created_at, s.decided_at, s.copy_id
             FROM submissions s JOIN tenants t ON t.id = s.tenant_id JOIN documents d ON d.id = s.document_id JOIN channels c ON c.id = s.channel_id
             WHERE {side} = ? ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
        );
        let rows = sqlx::query(sql).bind(tenant_id).bind(limit.clamp(1, 10_000)).fetch_all(&self.reader()).await?;
        rows.iter()
            .map(|r| {
                Ok(SubmissionRow {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    site_name: r.try_get("site_name")?,
                    document_id: r.try_get("document_id")?,
                    title: r.try_get("title")?,
                    portal_id: r.try_get("portal_id")?,
                    channel_id: r.try_get("channel_id")?,
                    channel_name: r.try_get("channel_name")?,
                    state: parse(r.try_get("state")?)?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                    decided_at: r.try_get("decided_at")?,
                    copy_id: r.try_get("copy_id")?,
                })
            })
            .collect()
    }

    /// Per site, the 信息报送 to `portal_id` made in [`from`, `to`).
    pub async fn submission_counts(&self, portal_id: i64, from: Millis, to: Millis) -> Result<Vec<SubmissionCount>> {
        let rows = sqlx::query(
            "SELECT s.tenant_id, t.name, COUNT(*), SUM(s.state = 'adopted'), SUM(s.state = 'returned')
             FROM submissions s JOIN tenants t ON t.id = s.tenant_id
             WHERE s.portal_id = ? AND s.created_at >= ? AND s.created_at < ? GROUP BY s.tenant_id ORDER BY t.code",
        )
        .bind(portal_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(|r| SubmissionCount { tenant_id: r.get(0), site_name: r.get(1), submitted: r.get(2), adopted: r.get(3), returned: r.get(4) })
            .collect())
    }

    /// What waits for the site's editors: optional reposts to accept or
    /// refuse, and (for a portal) 信息报送 to adopt or return.
    pub async fn crossings_waiting(&self, tenant_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM reposts r JOIN documents s ON s.id = r.source_id WHERE r.tenant_id = ?1 AND r.state = 'pending' AND s.state = 'published')
                  + (SELECT COUNT(*) FROM submissions WHERE portal_id = ?1 AND state = 'submitted')",
        )
        .bind(tenant_id)
        .fetch_one(&self.reader())
        .await?)
    }

    /// The (site, id) of the source of a copy of site `tenant_id`.
    pub async fn copy_source(&self, tenant_id: i64, copy_id: i64) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT s.tenant_id, s.id FROM documents c JOIN documents s ON s.id = c.copy_of WHERE c.tenant_id = ? AND c.id = ?")
            .bind(tenant_id)
            .bind(copy_id)
            .fetch_optional(&self.reader())
            .await?)
    }

    pub async fn tenant_tags(&self, tenant_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT tag FROM tenant_tags WHERE tenant_id = ? ORDER BY tag").bind(tenant_id).fetch_all(&self.reader()).await?)
    }

    /// The documents applying `commands` may have changed, read from the
    /// commands and from what they left: a fan-out's copies, a feed
    /// item's document. The search index catches up from the log with it.
    pub async fn documents_touched_by(&self, commands: &[Command]) -> Result<Vec<(i64, i64)>> {
        let pool = self.reader();
        let mut keys = Vec::new();
        let mut leaves = Vec::new();
        fn open<'a>(c: &'a Command, out: &mut Vec<&'a Command>) {
            match c {
                Command::Batch { commands } => commands.iter().for_each(|c| open(c, out)),
                other => out.push(other),
            }
        }
        commands.iter().for_each(|c| open(c, &mut leaves));
        for c in leaves {
            c.document_keys(&mut keys);
            match c {
                Command::RecordFeedPoll { feed_id, result: zhanqun_model::repost::PollResult::Fetched { items, .. } } => {
                    for item in items {
                        let doc: Option<(i64, i64)> = sqlx::query_as(
                            "SELECT d.tenant_id, d.id FROM feed_items f JOIN documents d ON d.id = f.document_id WHERE f.feed_id = ? AND f.guid = ?",
                        )
                        .bind(feed_id)
                        .bind(&item.guid)
                        .fetch_optional(&pool)
                        .await?;
                        keys.extend(doc);
                    }
                }
                Command::AcceptRepost { tenant_id, repost_id } => keys.push((*tenant_id, *repost_id)),
                Command::AdoptSubmission { portal_id, submission_id } => {
                    let copy: Option<Option<i64>> =
                        sqlx::query_scalar("SELECT copy_id FROM submissions WHERE id = ?").bind(submission_id).fetch_optional(&pool).await?;
                    keys.extend(copy.flatten().map(|id| (*portal_id, id)));
                }
                _ => {}
            }
        }
        let sources: Vec<i64> = keys.iter().map(|k| k.1).collect();
        for source in sources {
            let copies: Vec<(i64, i64)> = sqlx::query_as("SELECT tenant_id, id FROM documents WHERE copy_of = ?").bind(source).fetch_all(&pool).await?;
            keys.extend(copies);
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }
}
