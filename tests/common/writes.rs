//! The clients' side of the cluster tests: documents written through
//! the nodes as a load balancer spreads them, each attempt's outcome kept
//! in a [`Ledger`], and the check that every acknowledged write is there
//! exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client;

/// What happened to one write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// 201: the cluster acknowledged it.
    Acknowledged,
    /// Refused before being proposed (503 unavailable, connection refused).
    NotApplied,
    /// Timeout, 503 outcome_unknown, connection lost: may or may not exist.
    Unknown,
}

/// Creates a document titled `title` in `code` through the node at `base`,
/// on a new client (a new connection: the chaos tests kill nodes under it).
pub async fn write_document(base: &str, token: &str, code: &str, title: &str) -> Attempt {
    write_document_on(&client(), base, token, code, title).await
}

/// [`write_document`] on the caller's client, whose connections are kept
/// open between writes as a browser's are.
pub async fn write_document_on(http: &reqwest::Client, base: &str, token: &str, code: &str, title: &str) -> Attempt {
    let r = http
        .post(format!("{base}/api/v1/tenants/{code}/documents"))
        .bearer_auth(token)
        .json(&json!({ "channel": "news", "title": title, "body_html": "<p>混沌测试正文</p>" }))
        .timeout(Duration::from_secs(20))
        .send()
        .await;
    match r {
        Ok(r) if r.status() == 201 => Attempt::Acknowledged,
        Ok(r) if r.status() == 503 => {
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if body["error"]["code"] == "unavailable" { Attempt::NotApplied } else { Attempt::Unknown }
        }
        Ok(r) => panic!("unexpected answer {} to a valid write: {}", r.status(), r.text().await.unwrap_or_default()),
        Err(e) if e.is_connect() => Attempt::NotApplied,
        Err(_) => Attempt::Unknown,
    }
}

/// Every document title in site `code`, as the node at `base` has it once
/// it has applied all the leader had committed when asked. (A member
/// counted as caught up may still be a few entries behind; without the
/// barrier its newest acknowledged writes would look lost.)
pub async fn all_titles(base: &str, token: &str, code: &str) -> Vec<String> {
    let mut titles = Vec::new();
    // Paged by key (`next` → `after`): flat however many there are.
    let mut after = String::new();
    loop {
        let r = client()
            .get(format!("{base}/api/v1/tenants/{code}/documents?per_page=200{after}"))
            .bearer_auth(token)
            .header("x-zhanqun-consistency", "linearizable")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        titles.extend(body["items"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_string()));
        match body["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return titles,
        }
    }
}

/// What writers attempted and what the cluster acknowledged.
#[derive(Default)]
pub struct Ledger {
    pub acked: BTreeSet<String>,
    pub attempted: BTreeSet<String>,
    /// When each acknowledgement came, in order.
    pub acked_at: Vec<Instant>,
}

impl Ledger {
    /// The longest time between two acknowledgements (or from the first
    /// to `until`, or from the last to `until`) within `[from, until]`:
    /// how long the cluster took no write.
    pub fn longest_pause(&self, from: Instant, until: Instant) -> Duration {
        self.longest_pause_at(from, until).1
    }

    /// [`Ledger::longest_pause`], with when it began (after `from`).
    pub fn longest_pause_at(&self, from: Instant, until: Instant) -> (Duration, Duration) {
        self.longest_pause_besides(from, until, &[])
    }

    /// [`Ledger::longest_pause_at`], not counting the time inside any of
    /// `excused` (each a start and an end).
    pub fn longest_pause_besides(&self, from: Instant, until: Instant, excused: &[(Instant, Instant)]) -> (Duration, Duration) {
        let mut marks: Vec<Instant> = self.acked_at.iter().copied().filter(|t| *t >= from && *t <= until).collect();
        marks.sort();
        marks.insert(0, from);
        marks.push(until);
        let overlap = |a: Instant, b: Instant| -> Duration { excused.iter().map(|&(s, e)| b.min(e).saturating_duration_since(a.max(s))).sum() };
        marks.windows(2).map(|w| (w[0] - from, (w[1] - w[0]).saturating_sub(overlap(w[0], w[1])))).max_by_key(|(_, pause)| *pause).unwrap_or_default()
    }
}

/// The nodes clients are sent to, as a load balancer keeps them: a test
/// takes a node out before stopping it and puts it back once it is ready,
/// as Kubernetes does with a pod's endpoint.
#[derive(Clone)]
pub struct Rotation(Arc<std::sync::RwLock<Vec<String>>>);

impl Rotation {
    pub fn new(bases: Vec<String>) -> Rotation {
        Rotation(Arc::new(std::sync::RwLock::new(bases)))
    }

    pub fn take_out(&self, base: &str) {
        self.0.write().unwrap().retain(|b| b != base);
    }

    pub fn put_back(&self, base: &str) {
        self.0.write().unwrap().push(base.to_string());
    }

    fn pick(&self, n: usize) -> Option<String> {
        let bases = self.0.read().unwrap();
        (!bases.is_empty()).then(|| bases[n % bases.len()].clone())
    }
}

/// A fixed rotation: the tests that do not take nodes out.
impl From<Vec<String>> for Rotation {
    fn from(bases: Vec<String>) -> Rotation {
        Rotation::new(bases)
    }
}

/// Writers creating documents in `site` through the nodes of `rotation`
/// (in turn; whichever it holds at each write) until `stop`, titled
/// `<prefix>-w<writer>-<n>`.
pub fn start_writers(
    rotation: impl Into<Rotation>,
    token: String,
    site: &'static str,
    prefix: &str,
    writers: usize,
    ledger: Arc<tokio::sync::Mutex<Ledger>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    use std::sync::atomic::Ordering;
    let rotation = rotation.into();
    (0..writers)
        .map(|w| {
            let (rotation, token, ledger, stop, prefix) = (rotation.clone(), token.clone(), ledger.clone(), stop.clone(), prefix.to_string());
            tokio::spawn(async move {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    let title = format!("{prefix}-w{w}-{seq}");
                    let Some(base) = rotation.pick(seq as usize + w) else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    ledger.lock().await.attempted.insert(title.clone());
                    match write_document(&base, &token, site, &title).await {
                        Attempt::Acknowledged => {
                            let mut ledger = ledger.lock().await;
                            ledger.acked.insert(title);
                            ledger.acked_at.push(Instant::now());
                        }
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        })
        .collect()
}

/// Stops the writers and waits for them (a write in flight ends by its own
/// timeout, 20 s at most).
pub async fn stop_writers(stop: &std::sync::atomic::AtomicBool, writers: Vec<tokio::task::JoinHandle<()>>) {
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        tokio::time::timeout(Duration::from_secs(60), w).await.expect("a writer did not stop within 60 s").unwrap();
    }
}

/// Every acknowledged title exactly once on the node at `base`, and nothing
/// nobody attempted.
pub async fn assert_ledger_holds(base: &str, token: &str, site: &str, ledger: &Ledger) {
    let titles = all_titles(base, token, site).await;
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for t in &titles {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let lost: Vec<&String> = ledger.acked.iter().filter(|t| counts.get(t.as_str()).copied().unwrap_or(0) != 1).collect();
    assert!(lost.is_empty(), "{} acknowledged writes missing or doubled on {base}, e.g. {:?}", lost.len(), lost.iter().take(5).collect::<Vec<_>>());
    for t in counts.keys() {
        assert!(ledger.attempted.contains(*t), "{base} holds {t}, which nobody wrote");
    }
}
