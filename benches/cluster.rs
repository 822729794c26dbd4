//! Cluster benchmark with real processes (build with `--release`):
//!
//! 1. write latency, propose → applied on every node, for a one-node and a
//!    three-node cluster in the same run (the one-node figure is the
//!    baseline the three-node one is compared with);
//! 2. catch-up time of a node joining a cluster that holds 50,000
//!    documents (loaded by 32 concurrent writers), by snapshot (the log
//!    behind it is purged).
//!
//! ```text
//! cargo bench -p zhanqun --bench cluster            # 50,000 documents
//! ZHANQUN_BENCH_DOCS=5000 cargo bench -p zhanqun --bench cluster
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::client;
use common::cluster::Cluster;
use common::writes::{Attempt, write_document_on};
use serde_json::json;

const SAMPLES: usize = 400;

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let docs: usize = std::env::var("ZHANQUN_BENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async move {
        let one = write_latency(1).await;
        let three = write_latency(3).await;
        println!("\nwrite latency, propose → applied on every node ({SAMPLES} sequential writes each):");
        println!("| cluster | p50 | p99 | p50 vs one node |");
        println!("|---|---|---|---|");
        println!("| 1 node | {:.2} ms | {:.2} ms | 1.00× |", one.0, one.1);
        println!("| 3 nodes | {:.2} ms | {:.2} ms | {:.2}× |", three.0, three.1, three.0 / one.0);
        let (load, catch_up, size) = snapshot_catch_up(docs).await;
        println!(
            "\nsnapshot catch-up: {docs} documents loaded in {load:.1} s ({:.0} docs/s); a new node caught up by snapshot ({size:.1} MB) in {catch_up:.2} s",
            docs as f64 / load
        );
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Milliseconds from sending a write until every node has applied it.
async fn write_latency(nodes: u64) -> (f64, f64) {
    let cluster = Cluster::start(nodes, false, &[]).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, "bench").await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let bases: Vec<String> = (1..=nodes).map(|id| cluster.base(id)).collect();
    let http = client();
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES + 20 {
        let started = Instant::now();
        let r = http
            .post(format!("{}/api/v1/tenants/bench/documents", cluster.base(leader)))
            .bearer_auth(&token)
            .json(&json!({ "channel": "news", "title": format!("延迟测试 {i}"), "body_html": "<p>正文</p>" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let index = r.headers()["x-zhanqun-index"].to_str().unwrap().to_string();
        // Each follower answers once it has applied the index.
        let waits = bases.iter().map(|b| http.get(format!("{b}/healthz")).header("x-zhanqun-min-index", &index).send());
        for w in futures::future::join_all(waits).await {
            assert_eq!(w.unwrap().status(), 200);
        }
        if i >= 20 {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// (seconds to load `docs` documents, seconds for a joining node to catch
/// up, snapshot size in MB).
async fn snapshot_catch_up(docs: usize) -> (f64, f64, f64) {
    // Snapshots count log entries, and group commit puts some thirty
    // concurrent writes in one: every 500 entries leaves several snapshots
    // behind even a small load, and the log before the last purged.
    let extra = ["--snapshot-every", "500"];
    let mut cluster = Cluster::start(1, false, &extra).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, "big").await;
    let base = cluster.base(1);
    let next = Arc::new(AtomicUsize::new(0));
    // One client, so that the 32 writers keep their connections open as
    // browsers do: a new client per write (`write_document`, as the chaos
    // tests need) spent most of this load on connecting.
    let http = client();
    let started = Instant::now();
    let loaders: Vec<_> = (0..32)
        .map(|_| {
            let (base, token, next, http) = (base.clone(), token.clone(), next.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= docs {
                        break;
                    }
                    assert_eq!(write_document_on(&http, &base, &token, "big", &format!("存量文档 {i}")).await, Attempt::Acknowledged);
                }
            })
        })
        .collect();
    for l in loaders {
        l.await.unwrap();
    }
    let load = started.elapsed().as_secs_f64();
    let snapshot = cluster.nodes[0].data.join("snapshots/current.db");
    assert!(snapshot.exists(), "the loaded node took no snapshot (looked for {}): the joining node would catch up from the log", snapshot.display());
    let joined = Instant::now();
    cluster.add_node(2, false, &extra).await;
    cluster.wait_members(2, Duration::from_secs(600)).await;
    cluster.wait_converged(Duration::from_secs(600)).await;
    let catch_up = joined.elapsed().as_secs_f64();
    let size = std::fs::metadata(&snapshot).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    (load, catch_up, size)
}
