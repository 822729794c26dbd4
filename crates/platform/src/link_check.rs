//! The links from every online site's home page to other websites, checked
//! by the leader (首页错链 counts them too; a dead or re-registered outside
//! domain is also how 暗链 get onto government pages). Bounded and polite:
//! at most [`PER_SITE`] links a site and [`PER_RUN`] a run, one request a
//! second to any one host, `robots.txt` obeyed, and every request through
//! the feed poller's fetcher — each hop's address checked, private and
//! loopback addresses refused unless the operator allowed them. What it
//! finds is recorded in the log (`RecordLinkChecks`), so every node's
//! `dead_links` monitor judges from the same facts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zhanqun_cluster::Node;
use zhanqun_model::compliance::LinkCheck;
use zhanqun_model::repost::FeedFailure;
use zhanqun_model::{Command, Lifecycle};

use crate::compliance::SiteFetch;
use crate::feeds::fetch::{self, Fetched, Limits};
use crate::now_ms;
use crate::worker::Worker;

/// Outside links checked per site and per run, at most.
pub const PER_SITE: usize = 100;
pub const PER_RUN: usize = 1_000;
/// Between two requests to one host.
const HOST_PAUSE: Duration = Duration::from_secs(1);
/// The agent name `robots.txt` groups are matched against.
const AGENT: &str = "zhanqun";

/// The `Disallow` prefixes of a `robots.txt` that apply to us: the group
/// naming `zhanqun` if there is one, else the `*` group.
pub fn disallowed(robots: &str) -> Vec<String> {
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut in_agents = false;
    for line in robots.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once(':') else { continue };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_string());
        match key.as_str() {
            "user-agent" => {
                if !in_agents {
                    groups.push((Vec::new(), Vec::new()));
                }
                in_agents = true;
                if let Some(g) = groups.last_mut() {
                    g.0.push(value.to_ascii_lowercase());
                }
            }
            "disallow" => {
                in_agents = false;
                if let Some(g) = groups.last_mut()
                    && !value.is_empty()
                {
                    g.1.push(value);
                }
            }
            _ => in_agents = false,
        }
    }
    let ours = groups.iter().find(|(agents, _)| agents.iter().any(|a| a == AGENT));
    let any = groups.iter().find(|(agents, _)| agents.iter().any(|a| a == "*"));
    ours.or(any).map(|(_, d)| d.clone()).unwrap_or_default()
}

/// The links of a page to other websites (absolute http(s) URLs whose
/// host is not one of `own`), each once, in page order — before the
/// footer, whose links are the theme's own (the filing registries, the
/// national error-report desk), the same on every site.
pub fn outside_links(html: &str, own: &HashSet<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    let content = html.split("<footer").next().unwrap_or(html);
    zhanqun_model::html::start_tags(content)
        .filter(|t| t.name == "a")
        .filter_map(|t| t.attr("href"))
        .filter_map(|href| {
            let url = reqwest::Url::parse(href.trim()).ok()?;
            let host = url.host_str()?.to_ascii_lowercase();
            (matches!(url.scheme(), "http" | "https") && !own.contains(&host)).then(|| url.to_string())
        })
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

pub struct LinkChecker {
    node: Arc<Node>,
    fetch: Arc<dyn SiteFetch>,
    limits: Limits,
    allow_private: bool,
    schedule: crate::worker::LeaderEvery,
}

impl LinkChecker {
    /// `allow_private`: links to private addresses (an intranet) are
    /// checked too; off, they are left unchecked.
    pub fn new(node: Arc<Node>, fetch: Arc<dyn SiteFetch>, every: Duration, allow_private: bool) -> LinkChecker {
        // A link works if it answers; its body is not needed (past 64 KB
        // the fetcher stops reading, which is still an answer).
        let limits = Limits { max_bytes: 64 * 1024, timeout: Duration::from_secs(15), ..Limits::default() };
        LinkChecker { node, fetch, limits, allow_private, schedule: crate::worker::LeaderEvery::new(every, Duration::from_secs(60)) }
    }

    /// One run over every online site's home page: what to record.
    pub async fn run(&self) -> Result<(Vec<i64>, Vec<LinkCheck>), zhanqun_store::StoreError> {
        let tenants = self.node.store.tenants().await?;
        let own: HashSet<String> = tenants.iter().flat_map(|t| t.hosts.iter().map(|h| h.to_ascii_lowercase())).collect();
        let mut robots: HashMap<String, Vec<String>> = HashMap::new();
        let mut last_visit: HashMap<String, Instant> = HashMap::new();
        let (mut sites, mut checks) = (Vec::new(), Vec::new());
        for site in tenants.iter().filter(|t| t.lifecycle == Lifecycle::Online) {
            let (status, body) = self.fetch.get(site, "/", true).await;
            let Some(html) = body.filter(|_| status == 200) else { continue };
            sites.push(site.id);
            for url in outside_links(&html, &own).into_iter().take(PER_SITE) {
                if checks.len() >= PER_RUN {
                    break;
                }
                let Ok(parsed) = reqwest::Url::parse(&url) else { continue };
                let host =
                    format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or_default()) + &parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
                if !robots.contains_key(&host) {
                    self.pause_for(&host, &mut last_visit).await;
                    let rules = match fetch::fetch(&format!("{host}/robots.txt"), self.allow_private, None, None, self.limits).await {
                        Ok(Fetched::Body { bytes, .. }) => disallowed(&String::from_utf8_lossy(&bytes)),
                        _ => Vec::new(),
                    };
                    robots.insert(host.clone(), rules);
                }
                if robots[&host].iter().any(|prefix| parsed.path().starts_with(prefix.as_str())) {
                    continue;
                }
                self.pause_for(&host, &mut last_visit).await;
                let (status, note) = match fetch::fetch(&url, self.allow_private, None, None, self.limits).await {
                    Ok(_) | Err((FeedFailure::TooLarge, _)) => (200, String::new()),
                    Err((FeedFailure::Blocked, _)) => continue,
                    Err((FeedFailure::Status, note)) => (status_in(&note).unwrap_or(0), note),
                    Err((_, note)) => (0, note),
                };
                checks.push(LinkCheck { tenant_id: site.id, url, status, note });
            }
        }
        Ok((sites, checks))
    }

    async fn pause_for(&self, host: &str, last: &mut HashMap<String, Instant>) {
        if let Some(at) = last.get(host) {
            let since = at.elapsed();
            if since < HOST_PAUSE {
                tokio::time::sleep(HOST_PAUSE - since).await;
            }
        }
        last.insert(host.to_string(), Instant::now());
    }
}

/// The status in the fetcher's "the feed answered 404 Not Found".
fn status_in(note: &str) -> Option<u16> {
    note.split_whitespace().find_map(|w| w.parse::<u16>().ok().filter(|s| (100..600).contains(s)))
}

impl Worker for LinkChecker {
    const NAME: &'static str = "link checker";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(Duration::from_secs(1)).await;
        true
    }

    async fn tick(&mut self) {
        // A new leader checks a minute after it took over (or sooner when
        // runs are more frequent), then every `every`.
        if !self.schedule.due(&self.node) {
            return;
        }
        let node = &self.node;
        match self.run().await {
            Ok((sites, _)) if sites.is_empty() => self.schedule.soon(),
            Ok((sites, checks)) => {
                let command = Command::RecordLinkChecks { at: now_ms(), sites, checks };
                if let Err(e) = node.write_here(crate::proposal(None, None, command)).await {
                    tracing::warn!("link checker: cannot record the checks: {e}");
                }
            }
            Err(e) => tracing::warn!("link checker: cannot read the sites: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_rules_for_us_or_for_everyone() {
        let robots = "# 说明\nUser-agent: Baiduspider\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\nDisallow:\n";
        assert_eq!(disallowed(robots), ["/private/"]);
        let ours = "User-agent: *\nDisallow: /a/\nUser-agent: zhanqun\nUser-agent: other\nDisallow: /b/\n";
        assert_eq!(disallowed(ours), ["/b/"], "a group naming us wins over *");
        assert!(disallowed("").is_empty());
    }

    #[test]
    fn outside_links_are_absolute_links_to_other_hosts_each_once() {
        let own: HashSet<String> = ["www.haicheng.gov.cn".to_string()].into();
        let html = r#"<a href="/col/x/">a</a><a href="https://www.gov.cn/">b</a><a href="http://www.haicheng.gov.cn/y">c</a>
            <a href="https://www.gov.cn/">d</a><a href="mailto:x@y">e</a><a href="ftp://old.example/">f</a><link href="https://cdn.example/x.css">
            <footer><a href="https://beian.miit.gov.cn/">备案</a></footer>"#;
        assert_eq!(outside_links(html, &own), ["https://www.gov.cn/"]);
        assert_eq!(status_in("the feed answered 404 Not Found"), Some(404));
    }
}
