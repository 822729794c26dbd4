//! Document writes on one node, through the real router in-process (API
//! handler, Raft log, state machine; no TCP), beside the bare fsync loop the
//! Raft log's durability rests on, measured in the same run:
//!
//! 1. the baseline: `write` + `fdatasync` of 200 bytes to a file in the same
//!    directory, back to back (what one durable append costs at least);
//! 2. the Raft round alone: empty entries through `Node::write`, one after
//!    another;
//! 3. sequential writes: one `POST /api/v1/tenants/bench/documents` after
//!    another, each answered 201 (p50, p99) — rows 1–3 measured in five
//!    turns, a fifth of each at a time, so that their ratios hold on a
//!    shared machine;
//! 4. concurrent writes: 16 and 64 writers sending the same requests as fast
//!    as they are answered (writes/s, p99 of each), with how many writes
//!    each log entry carried, and how many entries each fsync of the Raft
//!    log and each state-machine transaction carried (group commit) — first
//!    empty entries (the Raft round alone), then documents.
//!
//! `cargo bench -p zhanqun-web --bench writes` (`ZHANQUN_BENCH_WRITES=300`
//! for 300 writes per row instead of 1,000 and 4,000: the performance
//! guard's short run)

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use zhanqun_model::*;
use zhanqun_platform::now_ms;
use zhanqun_web::{App, Blobs, WebConfig};

/// Writes in the sequential row and in each concurrent row.
fn counts() -> (usize, usize) {
    match std::env::var("ZHANQUN_BENCH_WRITES").ok().and_then(|v| v.parse().ok()) {
        Some(n) => (n, n),
        None => (1_000, 4_000),
    }
}

#[path = "one_node.rs"]
mod one_node;
use one_node::percentile;

fn main() {
    one_node::run_on_two_workers(run);
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let (node, derived) = one_node::start(dir.path(), zhanqun_cluster::DEFAULT_SNAPSHOT_EVERY).await;
    one_node::site_with_editor(&node, now_ms()).await;
    let token = one_node::EDITOR_TOKEN;
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let app = Arc::new(App::new(node.clone(), blobs, derived, WebConfig::default()));
    let router = zhanqun_web::router(app);
    let counter = Arc::new(AtomicUsize::new(0));
    let write = {
        let (counter, router) = (counter.clone(), router.clone());
        move || {
            let i = counter.fetch_add(1, Ordering::Relaxed);
            let body = serde_json::json!({ "channel": "tzgg", "title": format!("写入测试 {i}"), "body_html": "<p>基准测试正文。</p>" });
            let request = Request::post("/api/v1/tenants/bench/documents")
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let router = router.clone();
            async move {
                let started = Instant::now();
                let response = router.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 201, "a write was refused");
                started.elapsed()
            }
        }
    };
    let (sequential, concurrent) = counts();
    for _ in 0..50 {
        write().await;
    }
    // The Raft round alone: an empty entry proposed, logged, applied.
    let raft = {
        let node = node.clone();
        move || {
            let node = node.clone();
            async move {
                let started = Instant::now();
                node.write(Proposal::new(now_ms(), None, None, Command::Batch { commands: vec![] })).await.unwrap().outcome.unwrap();
                started.elapsed()
            }
        }
    };
    // The baseline and the two sequential rows are measured in turns, a
    // fifth of each at a time: a slow spell of this shared machine then
    // falls on all three alike, and their ratios hold (the guard compares
    // them).
    let mut fsync_turns = (0u64, Duration::ZERO);
    let (mut empty, mut documents) = (Turns::default(), Turns::default());
    for _ in 0..TURNS {
        let (n, took) = fsync_loop(dir.path(), Duration::from_millis(400));
        fsync_turns = (fsync_turns.0 + n, fsync_turns.1 + took);
        empty.take(&node, run_writers(1, sequential / TURNS, raft.clone())).await;
        documents.take(&node, run_writers(1, sequential / TURNS, write.clone())).await;
    }
    let fsyncs = fsync_turns.0 as f64 / fsync_turns.1.as_secs_f64();
    println!("\ndocument writes on one node, in-process (no TCP); baseline: the fdatasync loop, {fsyncs:.0}/s");
    println!(
        "| what | writers | writes/s | p50 | p99 | writes/s vs fsyncs/s | writes per log entry | entries per log fsync | entries per apply transaction | apply per write |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let row = |what: &str, writers: usize, rate: f64, times: &mut Vec<Duration>, batching: [f64; 4]| {
        times.sort();
        println!(
            "| {what} | {writers} | {rate:.0} | {:.2} ms | {:.2} ms | {:.3}× | {:.1} | {:.1} | {:.1} | {:.3} ms |",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99)),
            rate / fsyncs,
            batching[0],
            batching[1],
            batching[2],
            batching[3] * 1000.0
        );
    };
    let (rate, batching_of) = (empty.rate(), empty.batching);
    row("empty entry through Raft (`Node::write`)", 1, rate, &mut empty.times, batching_of);
    let (rate, batching_of) = (documents.rate(), documents.batching);
    row("document created through the API", 1, rate, &mut documents.times, batching_of);
    // The Raft round under concurrent writers, to tell group commit in the
    // log apart from the cost of applying a document.
    for writers in [16, 64] {
        let since = batching(&node);
        let (rate, mut times) = run_writers(writers, concurrent, raft.clone()).await;
        row("empty entry through Raft (`Node::write`)", writers, rate, &mut times, batching(&node).since(since));
    }
    for writers in [16, 64] {
        let since = batching(&node);
        let (rate, mut times) = run_writers(writers, concurrent, write.clone()).await;
        row("document created through the API", writers, rate, &mut times, batching(&node).since(since));
    }
    let listing = Request::get("/api/v1/tenants/bench/documents?per_page=1")
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let listing = axum::body::to_bytes(router.oneshot(listing).await.unwrap().into_body(), usize::MAX).await.unwrap();
    let total = serde_json::from_slice::<serde_json::Value>(&listing).unwrap()["total"].as_u64();
    assert_eq!(total, Some((50 + sequential / TURNS * TURNS + 2 * concurrent) as u64), "every acknowledged write is a document, once");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Turns of one sequential row: its writes, their time, and how they were
/// batched (the last turn's, as every turn's is alike).
#[derive(Default)]
struct Turns {
    writes: usize,
    took: Duration,
    times: Vec<Duration>,
    batching: [f64; 4],
}

impl Turns {
    async fn take(&mut self, node: &zhanqun_cluster::Node, turn: impl std::future::Future<Output = (f64, Vec<Duration>)>) {
        let (since, started) = (batching(node), Instant::now());
        let (_, times) = turn.await;
        self.took += started.elapsed();
        self.writes += times.len();
        self.times.extend(times);
        self.batching = batching(node).since(since);
    }

    fn rate(&self) -> f64 {
        self.writes as f64 / self.took.as_secs_f64()
    }
}

/// Turns the sequential rows and their baseline are measured in.
const TURNS: usize = 5;

/// `writers` tasks sending `total` writes between them, each as soon as
/// its last is answered: (writes per second, each write's time).
async fn run_writers<F, Fut>(writers: usize, total: usize, write: F) -> (f64, Vec<Duration>)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Duration> + Send,
{
    let left = Arc::new(AtomicUsize::new(total));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (left, write) = (left.clone(), write.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                    times.push(write().await);
                }
                times
            })
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    (total as f64 / started.elapsed().as_secs_f64(), times)
}

/// The node's group-commit histograms so far, each as (sum, count): the
/// writes per entry, the entries per log fsync and per state-machine
/// transaction, and the seconds of applying each write.
#[derive(Clone, Copy)]
struct Batching([(f64, u64); 4]);

fn batching(node: &zhanqun_cluster::Node) -> Batching {
    let m = &node.metrics;
    Batching([&m.entry_proposals, &m.log_flush_entries, &m.apply_batch_entries, &m.apply].map(|h| (h.get_sample_sum(), h.get_sample_count())))
}

impl Batching {
    /// The mean of each since `before`: writes per log entry, entries per
    /// log fsync, entries per apply transaction, seconds applying a write.
    fn since(self, before: Batching) -> [f64; 4] {
        let mean = |i: usize| {
            let (counted, batches) = (self.0[i].0 - before.0[i].0, self.0[i].1 - before.0[i].1);
            if batches == 0 { 0.0 } else { counted / batches as f64 }
        };
        [mean(0), mean(1), mean(2), mean(3)]
    }
}

/// Durable appends: 200 bytes written and `fdatasync`ed, back to back, for
/// `run` — the floor under any write the Raft log acknowledges: (appends,
/// time taken).
fn fsync_loop(dir: &std::path::Path, run: Duration) -> (u64, Duration) {
    let mut file = std::fs::File::create(dir.join("fsync-baseline")).unwrap();
    let record = [b'x'; 200];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < run {
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
        n += 1;
    }
    (n, started.elapsed())
}
