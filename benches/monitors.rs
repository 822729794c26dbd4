//! The background watchers at county scale: one round of the compliance
//! monitors and one pass of the tamper checker over 300 sites and
//! ZHANQUN_BENCH_MONITOR_DOCS documents (default 1,000,000), their CPU
//! time, and what they cost page serving: cached pages served in-process
//! through the real router for a few seconds alone (the baseline, in the
//! same run), then while a round runs and while a sweep runs.
//!
//! Builds a one-node store in a temporary directory (300 township sites of
//! 10 list columns, documents spread over them, every home page's links
//! checked through the router as the real monitors do). Run with
//! `cargo bench -p zhanqun-web --bench monitors` (release; loading a
//! million documents takes a few minutes).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;
use zhanqun_model::*;
use zhanqun_platform::compliance::{Monitors, Settings};
use zhanqun_platform::integrity::IntegrityChecker;
use zhanqun_platform::{new_id, now_ms};
use zhanqun_web::{App, Blobs, WebConfig};

const SITES: usize = 300;
const COLUMNS: usize = 10;
const SNAPSHOT_EVERY: u64 = 100_000_000;
const SERVE_SECS: u64 = 4;

#[path = "one_node.rs"]
#[allow(dead_code)]
mod one_node;

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Cached home pages served in-process by one client task, per second,
/// while `work` runs (and for at least [`SERVE_SECS`], for a fair rate).
async fn pages_while(router: &axum::Router, work: impl std::future::Future<Output = ()>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let task = {
        let (router, stop, served) = (router.clone(), stop.clone(), served.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let home = Request::get("/").header(header::HOST, "site007.example.gov.cn").body(Body::empty()).unwrap();
                let r = router.clone().oneshot(home).await.unwrap();
                assert_eq!(r.status(), 200);
                served.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let wall = Instant::now();
    work.await;
    let busy = wall.elapsed();
    if busy < Duration::from_secs(SERVE_SECS) {
        tokio::time::sleep(Duration::from_secs(SERVE_SECS) - busy).await;
    }
    let window = wall.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    task.await.unwrap();
    served.load(Ordering::Relaxed) as f64 / window
}

fn main() {
    one_node::run_on_two_workers(run);
}

async fn run() {
    let docs: usize = std::env::var("ZHANQUN_BENCH_MONITOR_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let (node, derived) = one_node::start(dir.path(), SNAPSHOT_EVERY).await;
    let now = now_ms();
    let started = Instant::now();
    let mut columns = Vec::new();
    let mut setup = Vec::new();
    for s in 0..SITES {
        let mut t =
            Tenant::new(new_id(), format!("site{s:03}"), format!("第{s}镇人民政府"), TenantKind::Township, format!("ORG{s:03}"), now - 400 * 86_400_000);
        t.hosts = vec![format!("site{s:03}.example.gov.cn")];
        t.site_id_code = Some(format!("21038{s:05}"));
        t.icp = Some("辽ICP备11014897号-1".into());
        t.police_record = Some("辽公网安备 21038102000126号".into());
        setup.push(Command::CreateTenant { tenant: t.clone() });
        for c in 0..COLUMNS {
            let class = if c % 2 == 0 { UpdateClass::Dynamic } else { UpdateClass::Regular };
            let channel = Channel {
                position: c as i64,
                ..Channel::new(new_id(), t.id, format!("c{c}"), format!("栏目{c}"), ChannelKind::List, class, now - 400 * 86_400_000)
            };
            columns.push((t.id, channel.id));
            setup.push(Command::CreateChannel { channel });
        }
    }
    node.write(Proposal::new(now, None, None, Command::Batch { commands: setup })).await.unwrap().outcome.unwrap();
    let paragraph = "<p>为进一步做好政务公开工作，根据上级有关文件精神，结合本镇实际，现将有关事项通知如下。</p>";
    for chunk in (0..docs).collect::<Vec<_>>().chunks(1_000) {
        let mut commands = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let (tenant_id, channel_id) = columns[i % columns.len()];
            let at = now - ((docs - i) as i64 % (300 * 86_400)) * 1_000;
            let mut d = Document::draft(new_id(), tenant_id, channel_id, format!("关于做好第{i}项重点工作的通知"), "某镇人民政府", at);
            d.body_html = paragraph.repeat(6);
            d.state = DocState::Published;
            d.published_at = Some(at);
            d.meta.disclosure = Some(Disclosure::Proactive);
            commands.push(Command::CreateDocument { document: d, attachment_ids: vec![] });
        }
        node.write(Proposal::new(now, None, None, Command::Batch { commands })).await.unwrap().outcome.unwrap();
    }
    eprintln!("loaded {SITES} sites, {} columns, {docs} documents in {:.0} s", columns.len(), started.elapsed().as_secs_f64());

    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let app = Arc::new(App::new(node.clone(), blobs, derived.clone(), WebConfig::default()));
    let router = zhanqun_web::router(app.clone());
    let fetch = Arc::new(zhanqun_web::probe::RouterProbe::new(app.clone()));
    let registry = prometheus::Registry::new();
    let mut monitors = Monitors::new(node.clone(), fetch, derived.compliance.clone(), Settings::default(), Default::default(), &registry);
    // A sweep due at every pass: each pass below checks every document.
    let mut checker = IntegrityChecker::new(node.clone(), derived.clone(), Duration::from_secs(30), Duration::ZERO, &registry);

    // A warm-up round fills the page cache with every home page, as a
    // node that has served for a while has it.
    monitors.round(now_ms()).await.unwrap();

    // Baseline: a cached home page, served alone.
    let alone = pages_while(&router, async {}).await;

    // One round of the monitors and one tamper pass, each alone, for CPU.
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let round = monitors.round(now_ms()).await.unwrap();
    let (round_cpu, round_wall) = (cpu_seconds() - cpu, wall.elapsed().as_secs_f64());
    assert_eq!(round.sites.len(), SITES);
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let found = checker.pass().await.unwrap();
    let (pass_cpu, pass_wall) = (cpu_seconds() - cpu, wall.elapsed().as_secs_f64());
    assert!(found.is_empty(), "nothing was altered: {found:?}");
    // What the checker does between sweeps: a look at the documents
    // written since its last look (after a publication: one).
    let mut looker = IntegrityChecker::new(node.clone(), derived.clone(), Duration::from_secs(30), Duration::from_secs(86_400), &registry);
    looker.pass().await.unwrap();
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let looked = looker.pass().await.unwrap();
    let (look_cpu, look_wall) = (cpu_seconds() - cpu, wall.elapsed().as_secs_f64());
    assert!(looked.is_empty());

    // The same pages served while a round runs, then while a sweep runs.
    let during_round = pages_while(&router, async {
        monitors.round(now_ms()).await.unwrap();
    })
    .await;
    let during_sweep = pages_while(&router, async {
        checker.pass().await.unwrap();
    })
    .await;

    println!("\nbackground watchers over {SITES} sites, {} columns, {docs} documents (one node, in-process):", columns.len());
    println!("| what | CPU | wall | budget |");
    println!("|---|---|---|---|");
    println!(
        "| one round of the compliance monitors (every home page and its links fetched through the router) | **{round_cpu:.2} s** | {round_wall:.2} s | ≤ 10 s CPU |"
    );
    println!("| one sweep of the tamper checker over every published document | **{pass_cpu:.2} s** | {pass_wall:.2} s | — |");
    println!("| one look of the tamper checker at the documents written since its last | **{:.1} ms** | {:.1} ms | — |", look_cpu * 1000.0, look_wall * 1000.0);
    println!("\ncached home pages served in-process, one client task:");
    println!("| while | pages/s | ratio to alone | budget |");
    println!("|---|---|---|---|");
    println!("| nothing else runs | {alone:.0} | 1 | |");
    println!("| a round of the monitors runs | {during_round:.0} | **{:.2}×** | ≥ 0.9× |", during_round / alone);
    println!("| a sweep of the tamper checker runs | {during_sweep:.0} | **{:.2}×** | — |", during_sweep / alone);
}
