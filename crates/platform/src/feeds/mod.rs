//! The feed poller: on the leader, each feed is fetched when its interval
//! has passed (`fetch`: SSRF rules, size cap, deadline, conditional GET),
//! read (`parse`), its items sanitized and given ids, and the poll proposed
//! as one `RecordFeedPoll` — the state machine ingests the items and fans
//! them out. A failure is proposed too, with its reason, so every node's
//! workbench shows it.
//!
//! Each poll runs in its own task: one feed that hangs or fails never
//! delays another, and a panic in one poll ends that poll only.

pub mod fetch;
pub mod parse;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts, Registry};
use zhanqun_cluster::Node;
use zhanqun_model::Command;
use zhanqun_model::repost::{FeedFailure, FeedItem, PollResult};
use zhanqun_store::FeedStatus;

use crate::worker::Worker;
use crate::{new_id, now_ms};

/// Cleans untrusted HTML the way every body is cleaned (the web crate's
/// sanitizer, handed in so the core does not depend on it).
pub type Sanitize = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The poller's counters (node-local, like every counter: the leader's
/// counts the polls it made).
#[derive(Clone)]
pub struct FeedMetrics {
    pub failures: IntCounterVec,
}

impl FeedMetrics {
    pub fn new(registry: &Registry) -> FeedMetrics {
        let failures = IntCounterVec::new(
            Opts::new("zhanqun_feed_failures_total", "Feed polls that failed, by feed id and reason (a fixed list: blocked_address, dns, connect, timeout, http_status, too_large, too_many_redirects, not_a_feed)"),
            &["feed", "reason"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(failures.clone()));
        FeedMetrics { failures }
    }
}

pub struct FeedPoller {
    node: Arc<Node>,
    sanitize: Sanitize,
    metrics: FeedMetrics,
    limits: fetch::Limits,
    /// Feeds whose poll is under way.
    running: Arc<Mutex<HashSet<i64>>>,
    /// When this node last started each feed's poll (ms).
    started: HashMap<i64, i64>,
}

impl FeedPoller {
    pub fn new(node: Arc<Node>, sanitize: Sanitize, metrics: FeedMetrics) -> FeedPoller {
        FeedPoller { node, sanitize, metrics, limits: fetch::Limits::default(), running: Arc::default(), started: HashMap::new() }
    }

    /// Its interval has passed since the last poll (this leader's, or the
    /// one recorded), or a poll was asked for since.
    fn due(&self, f: &FeedStatus, now: i64) -> bool {
        let last = self.started.get(&f.feed.id).copied().max(f.last_poll_at).unwrap_or(0);
        now - last >= f.feed.poll_seconds * 1000 || f.poll_requested_at.is_some_and(|asked| asked >= last)
    }
}

impl Worker for FeedPoller {
    const NAME: &'static str = "feed poller";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(Duration::from_secs(1)).await;
        true
    }

    async fn tick(&mut self) {
        if self.node.leader().map(|(id, _)| id) != Some(self.node.id) {
            self.started.clear();
            return;
        }
        let feeds = match self.node.store.feeds().await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("feed poller: cannot read the feeds: {e}");
                return;
            }
        };
        let now = now_ms();
        for f in feeds {
            if !self.due(&f, now) || !self.running.lock().expect("poller lock").insert(f.feed.id) {
                continue;
            }
            self.started.insert(f.feed.id, now);
            let (node, sanitize, metrics, limits, running) =
                (self.node.clone(), self.sanitize.clone(), self.metrics.clone(), self.limits, self.running.clone());
            tokio::spawn(async move {
                let id = f.feed.id;
                let result = poll(&f, &sanitize, limits).await;
                if let PollResult::Failed { reason, detail } = &result {
                    metrics.failures.with_label_values(&[&id.to_string(), reason.as_str()]).inc();
                    tracing::warn!(feed = id, reason = %reason, "feed poll failed: {detail}");
                }
                match node.write_here(crate::proposal(None, None, Command::RecordFeedPoll { feed_id: id, result })).await {
                    Ok(w) => {
                        if let Err(r) = w.outcome {
                            tracing::warn!(feed = id, "feed poll refused: {}", r.message);
                        }
                    }
                    Err(e) => tracing::warn!(feed = id, "feed poll not recorded: {e}"),
                }
                running.lock().expect("poller lock").remove(&id);
            });
        }
    }
}

/// One poll of one feed, start to end; never fails, says why instead.
pub async fn poll(f: &FeedStatus, sanitize: &Sanitize, limits: fetch::Limits) -> PollResult {
    let fetched = fetch::fetch(&f.feed.url, f.feed.allow_private, f.etag.as_deref(), f.last_modified.as_deref(), limits).await;
    match fetched {
        Err((reason, detail)) => PollResult::Failed { reason, detail },
        Ok(fetch::Fetched::NotModified) => {
            PollResult::Fetched { etag: f.etag.clone(), last_modified: f.last_modified.clone(), items: vec![], skipped: 0, skipped_reason: None }
        }
        Ok(fetch::Fetched::Body { bytes, etag, last_modified }) => {
            let sanitize = sanitize.clone();
            // Parsing and cleaning a few MB is CPU work: off the async workers.
            let read = tokio::task::spawn_blocking(move || parse::parse(&bytes).map(|raw| items_of(raw, &sanitize))).await;
            match read {
                Ok(Ok((items, skipped, skipped_reason))) => PollResult::Fetched { etag, last_modified, items, skipped, skipped_reason },
                Ok(Err(why)) => PollResult::Failed { reason: FeedFailure::NotAFeed, detail: why },
                Err(e) => PollResult::Failed { reason: FeedFailure::NotAFeed, detail: format!("reading the feed failed: {e}") },
            }
        }
    }
}

/// The items the state machine can take, with the count of those it
/// cannot (no GUID and no link, no title) and the first reason.
pub fn items_of(raw: Vec<parse::RawItem>, sanitize: &Sanitize) -> (Vec<FeedItem>, u32, Option<String>) {
    let mut items = Vec::with_capacity(raw.len());
    let (mut skipped, mut why) = (0u32, None);
    let mut seen = HashSet::new();
    for r in raw {
        let Some(guid) = r.guid.clone().or_else(|| r.link.clone()) else {
            skipped += 1;
            why.get_or_insert_with(|| "an item with neither a GUID nor a link".to_string());
            continue;
        };
        let Some(title) = r.title.as_deref().map(|t| strip_markup(t).chars().take(200).collect::<String>()).filter(|t| !t.trim().is_empty()) else {
            skipped += 1;
            why.get_or_insert_with(|| format!("item {guid}: no title"));
            continue;
        };
        // The same GUID twice in one answer is one item (the first).
        if !seen.insert(guid.clone()) {
            continue;
        }
        let body = r.content.clone().or_else(|| r.summary.clone()).unwrap_or_default();
        let body_html = drop_tracking_pixels(&sanitize(&body));
        let summary = r.summary.as_deref().map(|s| strip_markup(s).trim().chars().take(1000).collect::<String>()).filter(|s| !s.is_empty());
        let doc_no = r.doc_no.as_deref().and_then(|n| zhanqun_model::rules::normalize_doc_no(n).ok());
        let link = r.link.filter(|l| (l.starts_with("https://") || l.starts_with("http://")) && l.len() <= 2000);
        let one_line =
            |s: Option<String>, max: usize| s.map(|s| strip_markup(&s).split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max).collect::<String>());
        items.push(FeedItem {
            guid: guid.chars().take(500).collect(),
            id: new_id(),
            title,
            link,
            body_html,
            summary,
            published_at: r.published_at,
            issuing_organ: one_line(r.issuing_organ, 100),
            doc_no,
            written_date: r.written_date,
            topic: one_line(r.topic, 50),
        });
    }
    (items, skipped, why)
}

/// Text with any tags taken out (titles and summaries are plain text).
fn strip_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag && !c.is_control() => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Removes pictures of at most 1×1 pixel: tracking beacons, which report
/// every reader of a government page to a third party.
pub fn drop_tracking_pixels(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<img") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[at..at + end + 1];
        let tiny = |attr: &str| ["0", "1", "1px", "0px"].iter().any(|v| tag.contains(&format!("{attr}=\"{v}\"")));
        if !(tiny("width") || tiny("height")) {
            out.push_str(tag);
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_without_guid_and_link_or_title_are_skipped_and_counted() {
        let sanitize: Sanitize = Arc::new(|s: &str| s.replace("<script>x()</script>", ""));
        let raw = vec![
            parse::RawItem {
                guid: Some("a".into()),
                title: Some("甲".into()),
                content: Some("<p>正文</p><script>x()</script><img src=\"https://t.example/p.gif\" width=\"1\" height=\"1\">".into()),
                ..Default::default()
            },
            parse::RawItem { title: Some("无标识".into()), ..Default::default() },
            parse::RawItem { guid: Some("c".into()), ..Default::default() },
            parse::RawItem {
                link: Some("https://x.gov.cn/d".into()), title: Some("乙".into()), doc_no: Some("国发[2024]5号".into()), ..Default::default()
            },
        ];
        let (items, skipped, why) = items_of(raw, &sanitize);
        assert_eq!(items.len(), 2);
        assert_eq!(skipped, 2);
        assert!(why.unwrap().contains("neither a GUID nor a link"));
        assert_eq!(items[0].body_html, "<p>正文</p>", "script and tracking pixel gone");
        assert_eq!(items[1].guid, "https://x.gov.cn/d", "the link stands in for a missing GUID");
        assert_eq!(items[1].doc_no.as_deref(), Some("国发〔2024〕5号"));
    }
}
