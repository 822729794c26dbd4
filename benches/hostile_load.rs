//! One site's editors at their worst, another site's readers unaffected
//! (build with `--release`):
//!
//! A reader fetches another township's cached home page over and over, on
//! its own connection and thread, first alone, then while four editor
//! clients send, as fast as the node answers, the worst bodies an editor
//! may send: 2 MiB bodies that pass the checks but cost the sanitizer most,
//! bodies shaped to stall it (refused), and diffs of two large revisions.
//! Reported: the reader's p50 and p99 in both phases, and their ratio.
//!
//! ```text
//! cargo bench -p zhanqun --bench hostile_load                 # 4 phases of 10 s
//! ZHANQUN_BENCH_SECS=30 cargo bench -p zhanqun --bench hostile_load
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, api, review_and_publish, site_account};
use reqwest::Method;
use serde_json::json;

const EDITORS: usize = 4;

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let secs: u64 = std::env::var("ZHANQUN_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, editors, page) = rt.block_on(setup(dir.path()));
    // Warm up, then alternate: alone, beside the editors, alone, beside
    // them — pooling each kind's latencies, so that a drift of the shared
    // machine during the run does not land on one side only.
    read_for(&page, Duration::from_secs(3));
    let (mut alone, mut busy, mut heavy) = (Vec::new(), Vec::new(), 0);
    for _ in 0..2 {
        alone.extend(read_for(&page, Duration::from_secs(secs)));
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let hammer = {
            let (stop, sent, base, editors) = (stop.clone(), sent.clone(), server.base.clone(), editors.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(editors_at_their_worst(base, editors, stop, sent));
            })
        };
        // Let the editors get going before measuring.
        std::thread::sleep(Duration::from_secs(2));
        busy.extend(read_for(&page, Duration::from_secs(secs)));
        stop.store(true, Ordering::Relaxed);
        hammer.join().unwrap();
        heavy += sent.load(Ordering::Relaxed);
    }
    let (p50a, p99a) = (percentile(&mut alone, 0.50), percentile(&mut alone, 0.99));
    let (p50b, p99b) = (percentile(&mut busy, 0.50), percentile(&mut busy, 0.99));
    println!("\nanother site's cached page, one reader, 2 × {secs} s alone and 2 × {secs} s beside {EDITORS} editors (who sent {heavy} heavy requests):");
    println!("| phase | requests | p50 | p99 | p99 vs alone |");
    println!("|---|---|---|---|---|");
    println!("| reader alone (baseline) | {} | {p50a:.3} ms | {p99a:.3} ms | 1.00× |", alone.len());
    println!("| reader beside {EDITORS} hostile editors | {} | {p50b:.3} ms | {p99b:.3} ms | {:.2}× (target ≤ 2) |", busy.len(), p99b / p99a);
    drop(server);
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)]
}

/// Two townships; the reader's page is warmed into the cache. Returns the
/// server, the four editors' tokens and the page's URL.
async fn setup(dir: &std::path::Path) -> (Server, Vec<String>, String) {
    let server = Server::start(&dir.join("node"), &[]).await;
    let admin = server.admin_token().await;
    for (code, name) in [("gongji", "攻击镇人民政府"), ("pangguan", "旁观镇人民政府")] {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" });
        assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
        assert_eq!(
            api(&server, &admin, Method::POST, &format!("/api/v1/tenants/{code}/channels"), Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await.0,
            201
        );
    }
    let bystander = site_account(&server.base, "pangguan-web", &[("pangguan", "admin")]).await;
    for i in 0..20 {
        let body =
            json!({ "channel": "tzgg", "title": format!("旁观镇通知第{i}号"), "body_html": "<p>各村注意防火。</p>".repeat(20), "disclosure": "主动公开" });
        let (_, _, doc) = api(&server, &bystander, Method::POST, "/api/v1/tenants/pangguan/documents", Some(body)).await;
        review_and_publish(&server.base, &bystander, "pangguan", doc["id"].as_i64().unwrap()).await;
    }
    let mut editors = Vec::new();
    for n in 0..EDITORS {
        editors.push(site_account(&server.base, &format!("gongji-{n}"), &[("gongji", "editor")]).await);
    }
    let page = server.url("/sites/pangguan/");
    assert_eq!(common::client().get(&page).send().await.unwrap().status(), 200);
    (server, editors, page)
}

/// Fetches `page` back to back for `time`; returns each fetch's time (ms).
fn read_for(page: &str, time: Duration) -> Vec<f64> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut times = Vec::new();
        let end = Instant::now() + time;
        while Instant::now() < end {
            let t = Instant::now();
            let r = c.get(page).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times
    })
}

/// Each editor, in a loop: a 2 MiB body that passes but costs the
/// sanitizer most, an edit with another, the diff of the two, and a body
/// shaped to stall the parser (refused).
async fn editors_at_their_worst(base: String, editors: Vec<String>, stop: Arc<AtomicBool>, sent: Arc<AtomicUsize>) {
    // Unclosed links: the costliest body found that passes the shape checks.
    let fill = |unit: &dyn Fn(usize) -> String| {
        let mut s = String::new();
        let mut i = 0;
        while s.len() < 1_900_000 {
            s.push_str(&unit(i));
            i += 1;
        }
        s
    };
    let heavy_a = Arc::new(fill(&|i| format!("<a href=#{i}>x")));
    let heavy_b = Arc::new(fill(&|i| if i % 3 == 0 { format!("<p>改{i}</p>") } else { format!("<a href=#{i}>x") }));
    let stalling = Arc::new("<p><b>".repeat(300_000));
    let tasks: Vec<_> = editors
        .into_iter()
        .enumerate()
        .map(|(n, token)| {
            let (base, stop, sent, a, b, bad) = (base.clone(), stop.clone(), sent.clone(), heavy_a.clone(), heavy_b.clone(), stalling.clone());
            tokio::spawn(async move {
                let c = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build().unwrap();
                let docs = format!("{base}/api/v1/tenants/gongji/documents");
                let mut round = 0;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let created = c
                        .post(&docs)
                        .bearer_auth(&token)
                        .json(&json!({ "channel": "tzgg", "title": format!("编辑{n}的第{round}篇"), "body_html": *a }))
                        .send()
                        .await;
                    sent.fetch_add(1, Ordering::Relaxed);
                    let id = match created {
                        Ok(r) if r.status() == 201 => r.json::<serde_json::Value>().await.ok().and_then(|d| d["id"].as_i64()),
                        _ => None,
                    };
                    if let Some(id) = id {
                        let _ = c.patch(format!("{docs}/{id}")).bearer_auth(&token).json(&json!({ "body_html": *b })).send().await;
                        let _ = c.get(format!("{docs}/{id}/revisions/2/diff")).bearer_auth(&token).send().await;
                        sent.fetch_add(2, Ordering::Relaxed);
                    }
                    let _ = c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "阻塞", "body_html": *bad })).send().await;
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}
