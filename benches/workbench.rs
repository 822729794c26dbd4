//! Workbench pages of a site with 100,000 documents: server time, p50 and
//! p99, beside the JSON API's listing of the same page (the baseline,
//! measured in the same run).
//!
//! Builds a one-node store in a temporary directory: one township site,
//! ZHANQUN_BENCH_WORKBENCH_DOCS documents (default 100,000; nine in ten
//! published, the rest drafts), one editor with a session. Requests go
//! through the real router in-process (no network), so the time is the
//! server's. Run with `cargo bench -p zhanqun-web --bench workbench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use zhanqun_model::*;
use zhanqun_platform::{new_id, now_ms};
use zhanqun_web::{App, Blobs, WebConfig};

const ROUNDS: usize = 400;
// No snapshot while loading: the benchmark measures reads.
const SNAPSHOT_EVERY: u64 = 1_000_000;

#[path = "one_node.rs"]
mod one_node;
use one_node::percentile;

fn main() {
    one_node::run_on_two_workers(run);
}

async fn run() {
    let docs: i64 = std::env::var("ZHANQUN_BENCH_WORKBENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let (node, derived) = one_node::start(dir.path(), SNAPSHOT_EVERY).await;
    let now = now_ms();
    let (tenant, channel) = one_node::site_with_editor(&node, now).await;
    let token = one_node::EDITOR_TOKEN;
    let started = Instant::now();
    let paragraph = "<p>为进一步做好政务公开工作，根据上级有关文件精神，结合本镇实际，现将有关事项通知如下。</p>";
    let mut draft_id = 0;
    for chunk in (0..docs).collect::<Vec<_>>().chunks(5_000) {
        let mut commands = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let id = new_id();
            let mut d =
                Document::draft(id, tenant.id, channel.id, format!("基准测试镇关于做好第{i}项重点工作的通知"), "基准测试镇人民政府", now - (docs - i) * 60_000);
            d.body_html = paragraph.repeat(8);
            d.updated_at = d.created_at;
            if i % 10 != 0 {
                d.state = DocState::Published;
                d.published_at = Some(d.created_at);
                d.meta.disclosure = Some(Disclosure::Proactive);
            } else {
                draft_id = id;
            }
            commands.push(Command::CreateDocument { document: d, attachment_ids: vec![] });
        }
        node.write(Proposal::new(now, None, None, Command::Batch { commands })).await.unwrap().outcome.unwrap();
    }
    eprintln!("loaded {docs} documents in {:.1} s", started.elapsed().as_secs_f64());
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let app = Arc::new(App::new(node.clone(), blobs, derived.clone(), WebConfig::default()));
    let router = zhanqun_web::router(app);

    let get = |path: String, api: bool| {
        let router = router.clone();
        async move {
            let mut req = Request::get(&path).header("host", "127.0.0.1");
            req = if api { req.header("authorization", format!("Bearer {token}")) } else { req.header("cookie", format!("zq_session={token}")) };
            let resp = router.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
            body
        }
    };
    // The key of the 2,000th page of 30, for the deep page by key.
    let deep = node.store.documents_page(tenant.id, &zhanqun_store::DocumentFilter { limit: 1, offset: 30 * 2_000, ..Default::default() }, None).await.unwrap();
    let deep_key = deep.first().map(|d| format!("{}.{}", d.updated_at, d.id)).unwrap_or_default();
    let cases: Vec<(&str, String, bool)> = vec![
        ("API listing, page 1 (baseline)", "/api/v1/tenants/bench/documents?page=1&per_page=30".into(), true),
        ("API listing, page 2,000 (OFFSET)", "/api/v1/tenants/bench/documents?page=2000&per_page=30".into(), true),
        ("API listing, page 2,000 (by key)", format!("/api/v1/tenants/bench/documents?per_page=30&after={deep_key}"), true),
        ("workbench list, page 1", "/admin/sites/bench/documents".into(), false),
        ("workbench list, page 2,000 (by key)", format!("/admin/sites/bench/documents?after={deep_key}"), false),
        ("workbench list, drafts only", "/admin/sites/bench/documents?state=draft".into(), false),
        ("workbench list, 依申请公开 (none match)", "/admin/sites/bench/documents?disclosure=%E4%BE%9D%E7%94%B3%E8%AF%B7%E5%85%AC%E5%BC%80".into(), false),
        ("workbench editor of a draft", format!("/admin/sites/bench/documents/{draft_id}"), false),
        ("workbench home (what waits for me)", "/admin/".into(), false),
    ];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut results = Vec::new();
    for (name, path, api) in &cases {
        for _ in 0..20 {
            get(path.clone(), *api).await; // warm
        }
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            get(path.clone(), *api).await;
            times.push(t.elapsed());
        }
        times.sort();
        results.push((*name, times));
    }
    let base = ms(percentile(&results[0].1, 0.99));
    println!("{docs} documents in one site, {ROUNDS} requests each, in-process router");
    println!("| page | p50 ms | p99 ms | p99 vs API page 1 |");
    println!("|---|---|---|---|");
    for (name, t) in &results {
        println!("| {name} | {:.2} | {:.2} | {:.2}x |", ms(percentile(t, 0.5)), ms(percentile(t, 0.99)), ms(percentile(t, 0.99)) / base);
    }
    let worst = results.iter().filter(|(n, _)| n.starts_with("workbench")).map(|(_, t)| ms(percentile(t, 0.99))).fold(0.0, f64::max);
    println!("slowest workbench p99 {worst:.2} ms against the 50 ms budget: {}", if worst <= 50.0 { "within" } else { "OVER" });
    node.shutdown().await;
}
