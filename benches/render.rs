//! Page render latency, uncached vs cached, through the real router.
//!
//! Builds a one-node store in a temporary directory with one site of 200
//! published documents, then requests the same ~6 KB document page
//! repeatedly: once with the render cache cleared before every request
//! (uncached: SQLite reads + template) and once served from the cache
//! (the baseline, measured in the same run). Run with
//! `cargo bench -p zhanqun-web --bench render`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use zhanqun_model::*;
use zhanqun_platform::{new_id, now_ms};
use zhanqun_web::{App, Blobs, WebConfig};

const ROUNDS: usize = 3000;
const SNAPSHOT_EVERY: u64 = zhanqun_cluster::DEFAULT_SNAPSHOT_EVERY;

#[path = "one_node.rs"]
#[allow(dead_code)]
mod one_node;
use one_node::percentile;

fn main() {
    one_node::run_on_two_workers(run);
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let (node, derived) = one_node::start(dir.path(), SNAPSHOT_EVERY).await;
    let now = now_ms();
    let mut tenant = Tenant::new(new_id(), "bench", "基准测试镇人民政府", TenantKind::Township, "BENCH", now);
    tenant.hosts = vec!["bench.example.gov.cn".into()];
    tenant.site_id_code = Some("2103810099".into());
    tenant.icp = Some("辽ICP备11014897号-1".into());
    tenant.police_record = Some("辽公网安备 21038102000126号".into());
    tenant.mailbox = Some("bench@example.gov.cn".into());
    let channel = one_node::notices(tenant.id, now);
    let mut commands = vec![Command::CreateTenant { tenant: tenant.clone() }, Command::CreateChannel { channel: channel.clone() }];
    let paragraph = "<p>为进一步做好政务公开工作，根据上级有关文件精神，结合本镇实际，现将有关事项通知如下。各村、各单位要高度重视，明确责任分工，细化工作措施，确保各项任务按时保质完成。</p>";
    let mut last = 0;
    for i in 0..200 {
        last = new_id();
        let mut d = Document::draft(last, tenant.id, channel.id, format!("基准测试镇关于做好第{i}项重点工作的通知"), "基准测试镇人民政府", now);
        d.body_html = paragraph.repeat(12);
        d.source = Some("基准测试镇人民政府".into());
        d.state = DocState::Published;
        d.published_at = Some(now - i * 3_600_000);
        d.meta.doc_no = Some(format!("基政发〔2026〕{}号", i + 1));
        d.meta.written_date = Some("2026-11-20".into());
        d.meta.topic = Some("综合政务".into());
        d.meta.disclosure = Some(Disclosure::Proactive);
        commands.push(Command::CreateDocument { document: d, attachment_ids: vec![] });
    }
    let written = node.write(Proposal::new(now, None, None, Command::Batch { commands })).await.unwrap();
    written.outcome.unwrap();
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let app = Arc::new(App::new(node.clone(), blobs, derived.clone(), WebConfig::default()));
    let router = zhanqun_web::router(app);
    let path = format!("/art/{last}.html");

    let request = || Request::get(&path).header("host", "bench.example.gov.cn").body(Body::empty()).unwrap();
    let first = router.clone().oneshot(request()).await.unwrap();
    assert_eq!(first.status(), 200);
    let size = axum::body::to_bytes(first.into_body(), usize::MAX).await.unwrap().len();

    let measure = |uncached: bool| {
        let router = router.clone();
        let derived = derived.clone();
        let request = &request;
        async move {
            let mut times = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                if uncached {
                    derived.cache.clear();
                }
                let started = Instant::now();
                let resp = router.clone().oneshot(request()).await.unwrap();
                let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
                times.push(started.elapsed());
            }
            times.sort();
            times
        }
    };
    // Warm both paths, then measure.
    measure(true).await;
    let uncached = measure(true).await;
    let cached = measure(false).await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("document page: {size} bytes, {ROUNDS} requests each");
    println!("| path | p50 ms | p99 ms | p99 vs cached |");
    println!("|---|---|---|---|");
    for (name, t) in [("cached (baseline)", &cached), ("uncached render", &uncached)] {
        println!(
            "| {name} | {:.3} | {:.3} | {:.1}x |",
            ms(percentile(t, 0.5)),
            ms(percentile(t, 0.99)),
            ms(percentile(t, 0.99)) / ms(percentile(&cached, 0.99))
        );
    }
    let p99 = ms(percentile(&uncached, 0.99));
    println!("uncached p99 {p99:.3} ms against the 2 ms budget: {}", if p99 <= 2.0 { "within" } else { "OVER" });
    node.shutdown().await;
}
