//! Search after a snapshot install: reconciling the index with the
//! installed store beside rebuilding it whole (what an install did before),
//! measured in the same run on real SQLite files and an on-disk index.
//!
//! A "leader" store takes the generated corpus of the search benchmark as
//! documents (one site); a "follower" installs its snapshot and builds its
//! index — the rebuild, timed: the baseline. The leader then edits 1 % of
//! the documents and adds as many; the follower installs the new snapshot
//! and reconciles (timed), then reconciles once more with nothing changed.
//!
//! `cargo bench -p zhanqun-platform --bench snapshot_search`
//! (`ZHANQUN_BENCH_SNAPSHOT_DOCS`, default 20,000)

use std::time::{Duration, Instant};

use zhanqun_model::*;
use zhanqun_platform::indexer::{rebuild, reconcile};
use zhanqun_search::{SearchIndex, build_jieba};
use zhanqun_store::{CommittedEntry, Store};

#[path = "search_corpus.rs"]
#[allow(dead_code)]
mod corpus;

/// Applies `commands` as consecutive log entries from `next`, 200 to a
/// transaction; answers the next free entry number.
async fn apply_all(store: &Store, mut next: u64, commands: Vec<Command>) -> u64 {
    for chunk in commands.chunks(200) {
        let proposals: Vec<Proposal> = chunk.iter().map(|c| Proposal::new(1_600_000_000_000, None, None, c.clone())).collect();
        let ids: Vec<String> = (next..next + chunk.len() as u64).map(|n| format!("{{\"index\":{n}}}")).collect();
        let entries: Vec<CommittedEntry> =
            proposals.iter().zip(&ids).map(|(p, id)| CommittedEntry { log_id: id, membership: None, proposal: Some(p) }).collect();
        for (outcome, _) in store.apply_entries(&entries).await.unwrap() {
            outcome.unwrap();
        }
        next += chunk.len() as u64;
    }
    next
}

fn document(i: u64) -> Document {
    let g = corpus::generate(i);
    let mut d = Document::draft(i as i64 + 1, 1, 10, g.title, g.issuing_organ, 0);
    d.body_html = format!("<p>{}</p>", g.body);
    d.meta.disclosure = Some(Disclosure::Proactive);
    d
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn run() {
    let docs: u64 = std::env::var("ZHANQUN_BENCH_SNAPSHOT_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let leader = Store::open(&dir.path().join("leader.db")).await.unwrap();
    let site = Tenant::new(1, "bench", "基准测试镇人民政府", TenantKind::Township, "BENCH", 0);
    let column = Channel::new(10, 1, "tzgg", "通知公告", ChannelKind::List, UpdateClass::Dynamic, 0);
    let mut commands = vec![Command::CreateTenant { tenant: site }, Command::CreateChannel { channel: column }];
    commands.extend((0..docs).map(|i| Command::CreateDocument { document: document(i), attachment_ids: vec![] }));
    let mut next = apply_all(&leader, 1, commands).await;

    let snapshot = dir.path().join("snapshot.db");
    leader.write_snapshot(&snapshot).await.unwrap();
    let follower = Store::open(&dir.path().join("follower.db")).await.unwrap();
    follower.install_snapshot(&snapshot).await.unwrap();
    let index = SearchIndex::open(&dir.path().join("index"), build_jieba(&[]).unwrap()).unwrap();
    let started = Instant::now();
    let built = rebuild(&index, &follower, next - 1, |_, _| {}).await.unwrap();
    let rebuilt = started.elapsed();

    // The leader moves on: 1 % edited, as many added.
    let changed = (docs / 100).max(1);
    let mut commands: Vec<Command> = (0..changed)
        .map(|k| {
            let id = (k * 97 % docs) as i64 + 1;
            let patch = DocumentPatch { title: Some(format!("第{k}号修订：{}", corpus::generate(docs + k).title)), ..Default::default() };
            Command::UpdateDocument { tenant_id: 1, document_id: id, patch }
        })
        .collect();
    commands.extend((docs..docs + changed).map(|i| Command::CreateDocument { document: document(i), attachment_ids: vec![] }));
    next = apply_all(&leader, next, commands).await;
    let snapshot = dir.path().join("snapshot-2.db");
    leader.write_snapshot(&snapshot).await.unwrap();
    follower.install_snapshot(&snapshot).await.unwrap();

    let started = Instant::now();
    let r = reconcile(&index, &follower, next - 1).await.unwrap();
    let reconciled = started.elapsed();
    let started = Instant::now();
    let again = reconcile(&index, &follower, next - 1).await.unwrap();
    let unchanged = started.elapsed();
    assert_eq!(r.documents, docs + changed);
    assert_eq!(again.reindexed, 0, "a second reconcile found changes");

    println!("\nsearch after a snapshot install, {} documents (one site, generated corpus), on-disk index", docs + changed);
    println!("| what | documents indexed | time | vs full rebuild |");
    println!("|---|---|---|---|");
    println!("| full rebuild (baseline: what an install did before) | {built} | {:.2} s | 1.00× |", secs(rebuilt));
    println!(
        "| reconcile after a snapshot changing {changed} and adding {changed} | {} | {:.2} s | {:.3}× |",
        r.reindexed,
        secs(reconciled),
        secs(reconciled) / secs(rebuilt)
    );
    println!("| reconcile, nothing changed | {} | {:.2} s | {:.3}× |", again.reindexed, secs(unchanged), secs(unchanged) / secs(rebuilt));
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(run());
}
