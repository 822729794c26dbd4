//! What the compliance monitors read: every site's columns with their last
//! publication and public documents, and the home page probes. One query
//! each for the whole platform, so a round over 300 sites costs two scans,
//! not 300 × columns.

use sqlx::Row;
use zhanqun_model::Millis;
use zhanqun_model::compliance::ColumnFacts;
use zhanqun_model::urls::Page;

use crate::{Result, Store, parse};

/// Home page probes of one site since a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCount {
    pub tenant_id: i64,
    pub total: i64,
    pub failed: i64,
}

impl Store {
    /// Every column of every site, by site, with the path of its first
    /// page inside the site.
    pub async fn column_facts(&self) -> Result<Vec<(i64, ColumnFacts)>> {
        let rows = sqlx::query(
            // Per column, one seek in `documents_by_channel` for its newest
            // public document (a GROUP BY over every document read a
            // million rows a round at county scale).
            "SELECT c.tenant_id, c.id, c.slug, c.name, c.kind, c.update_class, c.created_at,
                    (SELECT d.published_at FROM documents d
                     WHERE d.tenant_id = c.tenant_id AND d.channel_id = c.id AND d.state = 'published' AND d.disclosure = '主动公开'
                     ORDER BY d.published_at DESC LIMIT 1),
                    EXISTS (SELECT 1 FROM documents d
                     WHERE d.tenant_id = c.tenant_id AND d.channel_id = c.id AND d.state = 'published' AND d.disclosure = '主动公开'),
                    COALESCE(k.n, 0)
             FROM channels c LEFT JOIN (
                 SELECT parent_id, COUNT(*) AS n FROM channels WHERE parent_id IS NOT NULL GROUP BY parent_id
             ) k ON k.parent_id = c.id
             ORDER BY c.tenant_id, c.position, c.id",
        )
        .fetch_all(&self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let slug: String = r.get(2);
                Ok((
                    r.get(0),
                    ColumnFacts {
                        id: r.get(1),
                        path: Page::Channel { slug, page: 1 }.path(),
                        name: r.get(3),
                        kind: parse(r.get(4))?,
                        update_class: parse(r.get(5))?,
                        created_at: r.get(6),
                        last_published: r.get(7),
                        has_public_documents: r.get(8),
                        children: r.get(9),
                    },
                ))
            })
            .collect()
    }

    /// The links from home pages to other websites that did not work when
    /// the leader last checked them.
    pub async fn dead_outbound_links(&self) -> Result<Vec<zhanqun_model::compliance::LinkCheck>> {
        let rows: Vec<(i64, String, i64, String)> =
            sqlx::query_as("SELECT tenant_id, url, status, note FROM outbound_links WHERE status < 200 OR status >= 400 ORDER BY tenant_id, url")
                .fetch_all(&self.reader())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant_id, url, status, note)| zhanqun_model::compliance::LinkCheck { tenant_id, url, status: status as u16, note })
            .collect())
    }

    /// Home page probes per site since `since`; a status other than 200 failed.
    pub async fn home_probe_counts(&self, since: Millis) -> Result<Vec<ProbeCount>> {
        let rows = sqlx::query("SELECT tenant_id, COUNT(*), SUM(status != 200) FROM home_probes WHERE at >= ? GROUP BY tenant_id")
            .bind(since)
            .fetch_all(&self.reader())
            .await?;
        Ok(rows.iter().map(|r| ProbeCount { tenant_id: r.get(0), total: r.get(1), failed: r.get(2) }).collect())
    }
}
