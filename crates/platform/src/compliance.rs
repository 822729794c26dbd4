//! The compliance monitors at work (the rules are `model::compliance`):
//!
//! - [`HomeProber`] (the leader): fetches every online site's home page
//!   through the public router on the site's own host, ≥ 20 times a day,
//!   and records what it got in the log, so every node judges from the
//!   same probes;
//! - [`Monitors`] (every node): one round gathers every online site's facts
//!   (two queries for all sites, plus the site's home page as this node
//!   renders it, for dead links and the 政府网站 meta tags), evaluates
//!   them, sets the gauges and hands the round to the [`Board`] the
//!   workbench, the ranking page and the CSV report read.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use prometheus::{Gauge, GaugeVec, IntGaugeVec, Opts, Registry};
use serde::Serialize;
use zhanqun_cluster::Node;
use zhanqun_model::compliance::{self, ColumnFacts, Fault, Finding, HomeProbe, Level, PROBE_WINDOW_MS, SiteFacts, Thresholds};
use zhanqun_model::{Command, Lifecycle, Millis, Tenant};

use crate::now_ms;
use crate::worker::Worker;

/// A page of a site fetched the way the public reaches it (the web layer
/// implements it over its router).
pub trait SiteFetch: Send + Sync + 'static {
    /// GETs `path` on the site's own host (under `/sites/<code>` when it
    /// has none): the status, and the body when asked for and HTML.
    fn get(&self, site: &Tenant, path: &str, body: bool) -> Pin<Box<dyn Future<Output = (u16, Option<String>)> + Send + '_>>;
}

/// How often, and against what, the monitors judge.
#[derive(Debug, Clone)]
pub struct Settings {
    pub thresholds: Thresholds,
    /// Between two probes of every home page (the inspection asks ≥ 20 a day).
    pub probe_every: Duration,
    /// Between two rounds of the monitors on a node.
    pub round_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { thresholds: Thresholds::default(), probe_every: Duration::from_secs(3600), round_every: Duration::from_secs(300) }
    }
}

/// A probe that gets no answer in this long failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Links of a home page checked per round, at most.
const LINKS_CHECKED: usize = 200;

/// One site's findings in a round.
#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub tenant_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: Level,
    pub red: usize,
    pub warn: usize,
    pub findings: Vec<Finding>,
}

/// The latest round of a node's monitors.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Round {
    /// When it was judged (ms); 0 before the first round.
    pub at: Millis,
    pub took_ms: u64,
    /// Worst first: most red, then most warn, then by name.
    pub sites: Vec<SiteReport>,
}

/// Where a node keeps its latest round for its readers.
#[derive(Default)]
pub struct Board {
    latest: RwLock<Arc<Round>>,
}

impl Board {
    pub fn latest(&self) -> Arc<Round> {
        self.latest.read().expect("board lock").clone()
    }

    pub fn site(&self, tenant_id: i64) -> Option<SiteReport> {
        self.latest().sites.iter().find(|s| s.tenant_id == tenant_id).cloned()
    }

    fn publish(&self, round: Round) {
        *self.latest.write().expect("board lock") = Arc::new(round);
    }
}

/// The monitored sites: online ones (a site being built or closed is not
/// inspected).
fn monitored(sites: Vec<Tenant>) -> Vec<Tenant> {
    sites.into_iter().filter(|s| s.lifecycle == Lifecycle::Online).collect()
}

pub struct HomeProber {
    node: Arc<Node>,
    fetch: Arc<dyn SiteFetch>,
    schedule: crate::worker::LeaderEvery,
}

impl HomeProber {
    pub fn new(node: Arc<Node>, fetch: Arc<dyn SiteFetch>, settings: &Settings) -> HomeProber {
        HomeProber { node, fetch, schedule: crate::worker::LeaderEvery::new(settings.probe_every, Duration::from_secs(10)) }
    }
}

impl Worker for HomeProber {
    const NAME: &'static str = "home page prober";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(Duration::from_secs(1)).await;
        true
    }

    async fn tick(&mut self) {
        let node = &self.node;
        if !self.schedule.due(node) {
            return;
        }
        let Ok(sites) = node.store.tenants().await else {
            tracing::warn!("home page prober: cannot read the sites");
            return;
        };
        let mut probes = Vec::new();
        for site in monitored(sites) {
            let started = Instant::now();
            let status = match tokio::time::timeout(PROBE_TIMEOUT, self.fetch.get(&site, "/", false)).await {
                Ok((status, _)) => status,
                Err(_) => 0,
            };
            probes.push(HomeProbe { tenant_id: site.id, status, ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32 });
        }
        if probes.is_empty() {
            // No site online yet (a cluster just formed): look again soon.
            self.schedule.soon();
            return;
        }
        if let Err(e) = node.write_here(crate::proposal(None, None, Command::RecordHomeProbes { at: now_ms(), probes })).await {
            tracing::warn!("home page prober: cannot record the probes: {e}");
        }
    }
}

pub struct Monitors {
    node: Arc<Node>,
    fetch: Arc<dyn SiteFetch>,
    content: crate::content_scan::ContentScan,
    board: Arc<Board>,
    settings: Settings,
    gauges: Gauges,
}

struct Gauges {
    level: IntGaugeVec,
    value: GaugeVec,
    round_seconds: Gauge,
    round_at: Gauge,
    labelled: HashSet<String>,
}

impl Monitors {
    pub fn new(
        node: Arc<Node>,
        fetch: Arc<dyn SiteFetch>,
        board: Arc<Board>,
        settings: Settings,
        content_rules: Arc<zhanqun_model::content_check::ContentRules>,
        registry: &Registry,
    ) -> Monitors {
        let level = IntGaugeVec::new(
            Opts::new("zhanqun_compliance_level", "Each compliance monitor's verdict on each online site: 0 ok, 1 warn, 2 red (a veto rule at risk)"),
            &["tenant", "monitor"],
        )
        .expect("valid metric");
        let value = GaugeVec::new(
            Opts::new("zhanqun_compliance_value", "What each compliance monitor measured on each site (per cent, days or a count; see the README)"),
            &["tenant", "monitor"],
        )
        .expect("valid metric");
        let round_seconds =
            Gauge::new("zhanqun_compliance_round_seconds", "How long the last round of the compliance monitors took on this node").expect("valid metric");
        let round_at = Gauge::new("zhanqun_compliance_round_timestamp_seconds", "When the last round of the compliance monitors ended on this node")
            .expect("valid metric");
        for m in [
            Box::new(level.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(value.clone()),
            Box::new(round_seconds.clone()),
            Box::new(round_at.clone()),
        ] {
            let _ = registry.register(m);
        }
        let content = crate::content_scan::ContentScan::new(content_rules);
        Monitors { node, fetch, content, board, settings, gauges: Gauges { level, value, round_seconds, round_at, labelled: HashSet::new() } }
    }

    /// One round at `now`: every online site judged and published.
    pub async fn round(&mut self, now: Millis) -> Result<Round, zhanqun_store::StoreError> {
        let started = Instant::now();
        let store = &self.node.store;
        let all_sites = store.tenants().await?;
        self.content.refresh(store, &all_sites).await?;
        let mut content = self.content.by_site();
        let sites = monitored(all_sites);
        let mut columns: HashMap<i64, Vec<ColumnFacts>> = HashMap::new();
        for (tenant_id, c) in store.column_facts().await? {
            columns.entry(tenant_id).or_default().push(c);
        }
        let probes: HashMap<i64, _> = store.home_probe_counts(now - PROBE_WINDOW_MS).await?.into_iter().map(|p| (p.tenant_id, p)).collect();
        let overdue: HashMap<i64, i64> = store.overdue_reposts(now).await?.into_iter().collect();
        let mut outside: HashMap<i64, Vec<zhanqun_model::compliance::LinkCheck>> = HashMap::new();
        for dead in store.dead_outbound_links().await? {
            outside.entry(dead.tenant_id).or_default().push(dead);
        }
        let mut reports = Vec::with_capacity(sites.len());
        let mut pace = crate::pace::Pace::default();
        for site in &sites {
            pace.breathe().await;
            let mut cols = columns.remove(&site.id).unwrap_or_default();
            for c in &mut cols {
                c.path = format!("/sites/{}{}", site.code, c.path);
            }
            let (dead_links, page_marks) = self.look_at_home(site, outside.remove(&site.id).unwrap_or_default(), &mut pace).await;
            let mut missing_marks = filing_marks_missing(site);
            missing_marks.extend(page_marks);
            let (content_serious, content_minor) = content.remove(&site.id).unwrap_or_default();
            let facts = SiteFacts {
                probes: probes.get(&site.id).map_or(0, |p| p.total),
                probes_failed: probes.get(&site.id).map_or(0, |p| p.failed),
                newest_item: cols.iter().filter_map(|c| c.last_published).max(),
                created_at: site.created_at,
                columns: cols,
                dead_links,
                reposts_overdue: overdue.get(&site.id).copied().unwrap_or(0),
                missing_marks,
                content_serious,
                content_minor,
            };
            let findings = compliance::evaluate(&facts, &self.settings.thresholds, now);
            let (level, red, warn) = compliance::tally(&findings);
            reports.push(SiteReport {
                tenant_id: site.id,
                code: site.code.clone(),
                name: site.name.clone(),
                kind: site.kind.to_string(),
                level,
                red,
                warn,
                findings,
            });
        }
        reports.sort_by(|a, b| (b.red, b.warn).cmp(&(a.red, a.warn)).then_with(|| a.code.cmp(&b.code)));
        let took = started.elapsed();
        let round = Round { at: now, took_ms: took.as_millis() as u64, sites: reports };
        self.set_gauges(&round, took);
        self.board.publish(round.clone());
        Ok(round)
    }

    /// The home page as this node serves it: internal links that do not
    /// answer, links to other websites the leader's link checker found dead
    /// and still on the page, and the 政府网站 meta tags it lacks.
    async fn look_at_home(
        &self,
        site: &Tenant,
        dead_outside: Vec<zhanqun_model::compliance::LinkCheck>,
        pace: &mut crate::pace::Pace,
    ) -> (Vec<Fault>, Vec<String>) {
        let (status, body) = self.fetch.get(site, "/", true).await;
        let Some(html) = body.filter(|_| status == 200) else { return (vec![], vec![]) };
        let mut missing = Vec::new();
        for tag in ["SiteName", "SiteDomain", "SiteIDCode"] {
            if meta_content(&html, tag).is_none_or(|v| v.trim().is_empty()) {
                missing.push(format!("{tag} 元标签"));
            }
        }
        let mut dead = Vec::new();
        for (_, path) in zhanqun_model::html::internal_links(&html, &site.hosts).into_iter().take(LINKS_CHECKED) {
            pace.breathe().await;
            let (status, _) = self.fetch.get(site, &path, false).await;
            if !(200..400).contains(&status) {
                let answer = if status == 0 { "无应答".to_string() } else { status.to_string() };
                // The link in the finding opens on any node, whatever the site's host.
                let url = if path.starts_with("/sites/") { path.clone() } else { format!("/sites/{}{path}", site.code) };
                dead.push(Fault { what: format!("{path} → {answer}"), url: Some(url) });
            }
        }
        for link in dead_outside {
            if html.contains(&zhanqun_model::escape_html(&link.url)) || html.contains(&link.url) {
                let answer = if link.status == 0 { format!("无应答（{}）", link.note) } else { link.status.to_string() };
                dead.push(Fault { what: format!("{} → {answer}（站外链接）", link.url), url: Some(link.url.clone()) });
            }
        }
        (dead, missing)
    }

    fn set_gauges(&mut self, round: &Round, took: Duration) {
        let g = &mut self.gauges;
        let now: HashSet<String> = round.sites.iter().map(|s| s.code.clone()).collect();
        // A site no longer monitored loses its series; the others are
        // overwritten in place, so a scrape never sees them missing.
        for gone in g.labelled.difference(&now) {
            for m in compliance::Monitor::ALL {
                let _ = g.level.remove_label_values(&[gone, m.as_str()]);
                let _ = g.value.remove_label_values(&[gone, m.as_str()]);
            }
        }
        for s in &round.sites {
            for f in &s.findings {
                g.level.with_label_values(&[&s.code, f.monitor.as_str()]).set(f.level.gauge());
                g.value.with_label_values(&[&s.code, f.monitor.as_str()]).set(f.value);
            }
        }
        g.labelled = now;
        g.round_seconds.set(took.as_secs_f64());
        g.round_at.set(round.at as f64 / 1000.0);
    }
}

impl Worker for Monitors {
    const NAME: &'static str = "compliance monitors";

    async fn wait(&mut self) -> bool {
        // Until a round has seen a site (a cluster just formed, the demo
        // loading), look again every few seconds.
        let every = if self.board.latest().sites.is_empty() { self.settings.round_every.min(Duration::from_secs(5)) } else { self.settings.round_every };
        tokio::time::sleep(every).await;
        true
    }

    /// A first round soon after start, so the gauges exist from the first scrapes.
    async fn start(&mut self) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        self.tick().await;
    }

    async fn tick(&mut self) {
        if let Err(e) = self.round(now_ms()).await {
            tracing::warn!("compliance monitors: cannot read the state: {e}");
        }
    }
}

/// The filings a government site's footer must show, missing on `site`.
fn filing_marks_missing(site: &Tenant) -> Vec<String> {
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    [(&site.site_id_code, "网站标识码"), (&site.icp, "ICP备案号"), (&site.police_record, "公安备案号")]
        .into_iter()
        .filter(|(v, _)| blank(v))
        .map(|(_, name)| name.to_string())
        .collect()
}

/// The `content` of `<meta name="{name}" content="…">`.
fn meta_content<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let opening = format!("<meta name=\"{name}\" content=\"");
    let at = html.find(&opening)?;
    let rest = &html[at + opening.len()..];
    rest.split('"').next()
}

/// The distinct paths of `href`s that stay on the site: `/…` (not `//…`)
/// or an absolute URL on one of its hosts. Fragments and queries are cut.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_tags_are_read_by_name() {
        let html = r#"<meta name="SiteName" content="海城市人民政府"><meta name="SiteIDCode" content="">"#;
        assert_eq!(meta_content(html, "SiteName"), Some("海城市人民政府"));
        assert_eq!(meta_content(html, "SiteIDCode"), Some(""));
        assert_eq!(meta_content(html, "SiteDomain"), None);
    }
}
