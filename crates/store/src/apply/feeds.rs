//! Feeds from above: their configuration, and what a poll brought. An item
//! becomes a published document of the feed's source site (the same GUID
//! again updates that document, and every copy follows); the rules fed by
//! the feed fan new items out in the same entry.
//!
//! An item the state machine cannot take (a title too long, a 文号 that is
//! not one) is skipped and counted, never the whole poll refused: one bad
//! item must not keep the good ones out.

use crate::db::{self, Conn};
use zhanqun_model::repost::{Feed, FeedItem, MIN_POLL_SECONDS, PollResult};
use zhanqun_model::rules;
use zhanqun_model::{Applied, Command, DocState, Document, Proposal, Rejection};

use super::documents::{check_document, create_document, load_document};
use super::sites::channel_in_tenant;
use super::{Failure, Step, Touched, misrouted, reposts};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::CreateFeed { feed } => create(conn, feed),
        Command::DeleteFeed { feed_id } => {
            db::query("DELETE FROM feed_items WHERE feed_id = ?").bind(feed_id).execute(conn)?;
            let gone = db::query("DELETE FROM feeds WHERE id = ?").bind(feed_id).execute(conn)?;
            if gone == 0 {
                return Err(Rejection::not_found("unknown_feed", format!("no feed with id {feed_id}")).into());
            }
            Ok(Applied { id: Some(*feed_id), index_no: None })
        }
        Command::RequestFeedPoll { feed_id } => {
            let asked = db::query("UPDATE feeds SET poll_requested_at = ? WHERE id = ?").bind(p.at).bind(feed_id).execute(conn)?;
            if asked == 0 {
                return Err(Rejection::not_found("unknown_feed", format!("no feed with id {feed_id}")).into());
            }
            Ok(Applied { id: Some(*feed_id), index_no: None })
        }
        Command::RecordFeedPoll { feed_id, result } => record_poll(conn, p, *feed_id, result, touched),
        other => Err(misrouted(other)),
    }
}

fn create(conn: &Conn, feed: &Feed) -> Step<Applied> {
    rules::limits::FEED_NAME.required(&feed.name)?;
    rules::limits::LINK_URL.required(&feed.url)?;
    if !(feed.url.starts_with("http://") || feed.url.starts_with("https://")) {
        return Err(Rejection::invalid("invalid_url", "a feed URL starts with http:// or https://").into());
    }
    if feed.poll_seconds < MIN_POLL_SECONDS {
        return Err(Rejection::invalid("invalid_interval", format!("a feed is polled at most every {MIN_POLL_SECONDS} seconds")).into());
    }
    channel_in_tenant(conn, feed.tenant_id, feed.channel_id)?;
    db::query("INSERT INTO feeds (id, name, url, tenant_id, channel_id, poll_seconds, allow_private, created_at) VALUES (?,?,?,?,?,?,?,?)")
        .bind(feed.id)
        .bind(&feed.name)
        .bind(&feed.url)
        .bind(feed.tenant_id)
        .bind(feed.channel_id)
        .bind(feed.poll_seconds)
        .bind(feed.allow_private)
        .bind(feed.created_at)
        .execute(conn)?;
    Ok(Applied { id: Some(feed.id), index_no: None })
}

fn record_poll(conn: &Conn, p: &Proposal, feed_id: i64, result: &PollResult, touched: &mut Touched) -> Step<Applied> {
    let feed: Option<(i64, i64, String)> =
        db::query_as("SELECT f.tenant_id, f.channel_id, t.name FROM feeds f JOIN tenants t ON t.id = f.tenant_id WHERE f.id = ?")
            .bind(feed_id)
            .fetch_optional(conn)?;
    let Some((tenant_id, channel_id, organ)) = feed else {
        return Err(Rejection::not_found("unknown_feed", format!("no feed with id {feed_id}")).into());
    };
    match result {
        PollResult::Failed { reason, detail } => {
            db::query("UPDATE feeds SET last_poll_at = ?, failing_reason = ?, failing_detail = ?, failures = failures + 1 WHERE id = ?")
                .bind(p.at)
                .bind(reason.as_str())
                .bind(detail.chars().take(500).collect::<String>())
                .bind(feed_id)
                .execute(conn)?;
            Ok(Applied { id: Some(feed_id), index_no: None })
        }
        PollResult::Fetched { etag, last_modified, items, skipped, skipped_reason } => {
            let mut skipped = *skipped;
            let mut skipped_reason = skipped_reason.clone();
            let mut taken = 0i64;
            for item in items {
                let to = Destination { feed_id, tenant_id, channel_id, site_name: &organ };
                match ingest(conn, p, &to, item, touched) {
                    Ok(true) => taken += 1,
                    Ok(false) => {}
                    Err(Failure::Rejected(r)) => {
                        skipped += 1;
                        skipped_reason.get_or_insert_with(|| format!("《{}》: {}", item.title.chars().take(40).collect::<String>(), r.message));
                    }
                    Err(other) => return Err(other),
                }
            }
            let note = (skipped > 0).then(|| format!("{skipped} items skipped: {}", skipped_reason.unwrap_or_default()));
            db::query(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_poll_at = ?, last_success_at = ?, failing_reason = NULL, failing_detail = ?,
                    items = items + ? WHERE id = ?",
            )
            .bind(etag)
            .bind(last_modified)
            .bind(p.at)
            .bind(p.at)
            .bind(note)
            .bind(taken)
            .bind(feed_id)
            .execute(conn)?;
            Ok(Applied { id: Some(feed_id), index_no: None })
        }
    }
}

/// Where a feed's items go: its source site (by id and name) and column.
struct Destination<'a> {
    feed_id: i64,
    tenant_id: i64,
    channel_id: i64,
    site_name: &'a str,
}

/// One item in: a new document (and its fan-out), an update of the one it
/// was (and its copies), or nothing when it has not changed. `true` when a
/// document was created. A refusal leaves nothing behind (savepoint).
fn ingest(conn: &Conn, p: &Proposal, to: &Destination<'_>, item: &FeedItem, touched: &mut Touched) -> Step<bool> {
    db::savepoint(conn, || ingest_in(conn, p, to, item, touched))
}

fn ingest_in(conn: &Conn, p: &Proposal, to: &Destination<'_>, item: &FeedItem, touched: &mut Touched) -> Step<bool> {
    let Destination { feed_id, tenant_id, channel_id, site_name } = *to;
    let fingerprint = item.fingerprint();
    let known: Option<(i64, String)> =
        db::query_as("SELECT document_id, fingerprint FROM feed_items WHERE feed_id = ? AND guid = ?").bind(feed_id).bind(&item.guid).fetch_optional(conn)?;
    match known {
        Some((_, same)) if same == fingerprint => Ok(false),
        Some((id, _)) => {
            let mut d = load_document(conn, tenant_id, id)?;
            fill(&mut d, item, site_name);
            check_document(p.version, &d)?;
            super::edit::write_content(conn, &d, p.at)?;
            db::query("UPDATE documents SET origin_url = ? WHERE id = ?").bind(&item.link).bind(id).execute(conn)?;
            super::edit::record_revision(conn, p, &d)?;
            db::query("UPDATE feed_items SET fingerprint = ? WHERE feed_id = ? AND guid = ?")
                .bind(&fingerprint)
                .bind(feed_id)
                .bind(&item.guid)
                .execute(conn)?;
            touched.tenants.insert(tenant_id);
            touched.documents.insert((tenant_id, id));
            reposts::sync_copies(conn, p, id, touched)?;
            Ok(false)
        }
        None => {
            let mut d = Document::draft(item.id, tenant_id, channel_id, "", site_name, p.at);
            fill(&mut d, item, site_name);
            d.state = DocState::Published;
            d.published_at = Some(item.published_at.unwrap_or(p.at));
            d.meta.disclosure = Some(zhanqun_model::Disclosure::Proactive);
            d.origin_url = item.link.clone();
            create_document(conn, p, &d, &[], touched)?;
            db::query("UPDATE documents SET origin_url = ? WHERE id = ?").bind(&item.link).bind(d.id).execute(conn)?;
            db::query("INSERT INTO feed_items (feed_id, guid, document_id, fingerprint) VALUES (?,?,?,?)")
                .bind(feed_id)
                .bind(&item.guid)
                .bind(d.id)
                .bind(&fingerprint)
                .execute(conn)?;
            reposts::by_rules(conn, p, &d, Some(feed_id), touched)?;
            Ok(true)
        }
    }
}

/// The item's fields onto its document; the source site's name is the
/// 发布机构 when the item names none.
fn fill(d: &mut Document, item: &FeedItem, site_name: &str) {
    d.content.title = item.title.clone();
    d.content.body_html = item.body_html.clone();
    d.content.summary = item.summary.clone();
    d.content.meta.issuing_organ = item.issuing_organ.clone().unwrap_or_else(|| site_name.to_string());
    d.content.source = item.issuing_organ.clone();
    d.content.meta.doc_no = item.doc_no.clone();
    d.content.meta.written_date = item.written_date.clone();
    d.content.meta.topic = item.topic.clone();
}
