//! The public search page of one site, through the real router in-process
//! (no TCP), beside the engine answering the same queries (the baseline,
//! measured in the same run): what the page adds to the engine.
//!
//! One township site holds 2,000 published documents: the search
//! benchmark's generated titles and sentences, each body lengthened to
//! about 3,000 characters (9 KB of UTF-8; a long notice). The queries are the search benchmark's common keywords, ten
//! hits a page. Rows: the engine alone (`SearchIndex::search`, scoped to the
//! site, ten hits with snippets); the page (`GET /search?q=…` by the site's
//! host), one request at a time; the page with 32 requests in flight.
//!
//! `cargo bench -p zhanqun-web --bench search_page`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use zhanqun_model::*;
use zhanqun_platform::{new_id, now_ms};
use zhanqun_search::{Query, Scope, SearchIndex, build_jieba};
use zhanqun_web::{App, Blobs, WebConfig};

#[path = "one_node.rs"]
#[allow(dead_code)]
mod one_node;
use one_node::percentile;

#[path = "search_corpus.rs"]
#[allow(dead_code)]
mod corpus;

const DOCUMENTS: u64 = 2_000;
const SEQUENTIAL: usize = 300;
const CONCURRENT: usize = 2_000;
const IN_FLIGHT: usize = 32;

fn main() {
    one_node::run_on_two_workers(run);
}

/// `%XX` for every byte but ASCII letters and digits.
fn encoded(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let (node, derived) = one_node::start(dir.path(), zhanqun_cluster::DEFAULT_SNAPSHOT_EVERY).await;
    let now = now_ms();
    let mut tenant = Tenant::new(new_id(), "bench", "基准测试镇人民政府", TenantKind::Township, "BENCH", now);
    tenant.hosts = vec!["bench.example.gov.cn".into()];
    let channel = one_node::notices(tenant.id, now);
    let setup = vec![Command::CreateTenant { tenant: tenant.clone() }, Command::CreateChannel { channel: channel.clone() }];
    node.write(Proposal::new(now, None, None, Command::Batch { commands: setup })).await.unwrap().outcome.unwrap();
    for chunk in (0..DOCUMENTS).collect::<Vec<_>>().chunks(200) {
        let commands = chunk
            .iter()
            .map(|&i| {
                let g = corpus::generate(i);
                let mut d = Document::draft(new_id(), tenant.id, channel.id, g.title, g.issuing_organ, now);
                let mut body = String::new();
                while body.len() < 9_000 {
                    body.push_str(&format!("<p>{}</p>", g.body));
                }
                d.body_html = body;
                d.state = DocState::Published;
                d.published_at = Some(now - i as i64 * 60_000);
                d.meta.disclosure = Some(Disclosure::Proactive);
                Command::CreateDocument { document: d, attachment_ids: vec![] }
            })
            .collect();
        node.write(Proposal::new(now, None, None, Command::Batch { commands })).await.unwrap().outcome.unwrap();
    }
    let index = Arc::new(SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap());
    let indexed = zhanqun_platform::indexer::rebuild(&index, &node.store, node.applied_index(), |_, _| {}).await.unwrap();
    assert_eq!(indexed, DOCUMENTS);
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let mut app = App::new(node.clone(), blobs, derived, WebConfig::default());
    app.search = Some(index.clone());
    let router = zhanqun_web::router(Arc::new(app));

    let queries: Vec<String> = corpus::queries(DOCUMENTS).into_iter().filter(|q| matches!(q.class, "keyword" | "short word")).map(|q| q.text).collect();
    let page = {
        let router = router.clone();
        move |text: &str| {
            let request = Request::get(format!("/search?q={}", encoded(text))).header("host", "bench.example.gov.cn").body(Body::empty()).unwrap();
            let router = router.clone();
            async move {
                let started = Instant::now();
                let response = router.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200, "the search page did not answer");
                let html = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                let took = started.elapsed();
                (took, html.len())
            }
        }
    };
    let (_, size) = page(&queries[0]).await;

    let engine = |text: &str| {
        let started = Instant::now();
        let found =
            index.search(&Query { text: text.into(), scope: Scope::Sites(vec![tenant.id]), public_only: true, limit: 10, ..Default::default() }).unwrap();
        assert!(!found.hits.is_empty(), "nothing found for {text}");
        started.elapsed()
    };
    let mut engine_times: Vec<Duration> = (0..SEQUENTIAL).map(|i| engine(&queries[i % queries.len()])).collect();
    let mut page_times = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        page_times.push(page(&queries[i % queries.len()]).await.0);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (next, page, queries) = (next.clone(), page.clone(), queries.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= CONCURRENT {
                        return times;
                    }
                    times.push(page(&queries[i % queries.len()]).await.0);
                }
            })
        })
        .collect();
    let mut concurrent_times = Vec::with_capacity(CONCURRENT);
    for t in tasks {
        concurrent_times.extend(t.await.unwrap());
    }
    let rate = CONCURRENT as f64 / started.elapsed().as_secs_f64();

    for times in [&mut engine_times, &mut page_times, &mut concurrent_times] {
        times.sort();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let engine_p50 = ms(percentile(&engine_times, 0.5));
    println!("\nthe search page of one site, {DOCUMENTS} documents of ~3,000 characters, {} keyword queries, 10 hits ({size} bytes a page)", queries.len());
    println!("| what | requests in flight | req/s | p50 | p99 | p50 vs the engine |");
    println!("|---|---|---|---|---|---|");
    let row = |what: &str, in_flight: usize, rate: f64, times: &[Duration]| {
        let p50 = ms(percentile(times, 0.5));
        println!("| {what} | {in_flight} | {rate:.0} | {p50:.2} ms | {:.2} ms | {:.2}× |", ms(percentile(times, 0.99)), p50 / engine_p50);
    };
    let sequential_rate = |times: &[Duration]| times.len() as f64 / times.iter().sum::<Duration>().as_secs_f64();
    row("engine alone, 10 hits with snippets (baseline)", 1, sequential_rate(&engine_times), &engine_times);
    row("search page through the router", 1, sequential_rate(&page_times), &page_times);
    row("search page through the router", IN_FLIGHT, rate, &concurrent_times);
}
