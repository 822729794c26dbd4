//! The facts the compliance monitors read, set in a real store under a
//! clock the test holds, and judged by the model's pure rules at chosen
//! moments: a site crosses each threshold without anyone waiting days.

use zhanqun_model::compliance::{HomeProbe, Level, Monitor, PROBE_WINDOW_MS, SiteFacts, Thresholds, evaluate};
use zhanqun_model::*;

use super::{channel, document, store, tenant};
use crate::Store;

const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

async fn at(store: &Store, n: u64, at: i64, cmd: Command) {
    store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&Proposal::new(at, None, None, cmd))).await.unwrap().0.unwrap();
}

async fn facts(store: &Store, tenant_id: i64, now: i64) -> SiteFacts {
    let columns: Vec<_> = store.column_facts().await.unwrap().into_iter().filter(|(t, _)| *t == tenant_id).map(|(_, c)| c).collect();
    let probes = store.home_probe_counts(now - PROBE_WINDOW_MS).await.unwrap().into_iter().find(|p| p.tenant_id == tenant_id);
    SiteFacts {
        probes: probes.map_or(0, |p| p.total),
        probes_failed: probes.map_or(0, |p| p.failed),
        newest_item: columns.iter().filter_map(|c| c.last_published).max(),
        created_at: T0,
        columns,
        ..SiteFacts::default()
    }
}

fn level(store_facts: &SiteFacts, m: Monitor, now: i64) -> Level {
    evaluate(store_facts, &Thresholds::default(), now).into_iter().find(|f| f.monitor == m).unwrap().level
}

#[tokio::test]
async fn a_site_goes_stale_as_the_clock_moves_and_a_publication_brings_it_back() {
    let (_dir, s) = store().await;
    at(&s, 1, T0, Command::CreateTenant { tenant: tenant(1, "aa") }).await;
    at(&s, 2, T0, Command::CreateChannel { channel: channel(10, 1) }).await;
    let mut news = document(100, 1, 10, None);
    news.state = DocState::Published;
    at(&s, 3, T0, Command::CreateDocument { document: news, attachment_ids: vec![] }).await;
    // A draft and a 依申请公开 document are not what the public sees.
    at(&s, 4, T0 + 20 * DAY, Command::CreateDocument { document: document(101, 1, 10, None), attachment_ids: vec![] }).await;

    let f = facts(&s, 1, T0).await;
    assert_eq!((f.columns[0].has_public_documents, f.columns[0].last_published), (true, Some(T0)));
    assert_eq!(level(&f, Monitor::HomeFreshness, T0 + 9 * DAY), Level::Ok);
    assert_eq!(level(&f, Monitor::HomeFreshness, T0 + 10 * DAY), Level::Warn);
    assert_eq!(level(&f, Monitor::HomeFreshness, T0 + 14 * DAY), Level::Red);
    assert_eq!(level(&f, Monitor::StaleColumns, T0 + 14 * DAY), Level::Ok);
    assert_eq!(level(&f, Monitor::StaleColumns, T0 + 15 * DAY), Level::Warn, "the 动态 column is past its two weeks");

    let mut fresh = document(102, 1, 10, None);
    fresh.state = DocState::Published;
    at(&s, 5, T0 + 15 * DAY, Command::CreateDocument { document: fresh, attachment_ids: vec![] }).await;
    let f = facts(&s, 1, T0 + 15 * DAY).await;
    assert_eq!(level(&f, Monitor::HomeFreshness, T0 + 15 * DAY), Level::Ok);
    assert_eq!(level(&f, Monitor::StaleColumns, T0 + 15 * DAY), Level::Ok);
}

#[tokio::test]
async fn empty_columns_are_counted_until_something_public_is_in_them() {
    let (_dir, s) = store().await;
    at(&s, 1, T0, Command::CreateTenant { tenant: tenant(1, "aa") }).await;
    for (n, id) in (2..).zip(10..15) {
        let c = Channel { slug: format!("c{id}"), ..channel(id, 1) };
        at(&s, n, T0, Command::CreateChannel { channel: c }).await;
    }
    let f = facts(&s, 1, T0).await;
    assert_eq!(level(&f, Monitor::EmptyColumns, T0), Level::Red, "five empty list columns");
    let mut d = document(100, 1, 10, None);
    d.state = DocState::Published;
    at(&s, 7, T0, Command::CreateDocument { document: d, attachment_ids: vec![] }).await;
    let mut d = document(101, 1, 11, None);
    d.state = DocState::Published;
    at(&s, 8, T0, Command::CreateDocument { document: d, attachment_ids: vec![] }).await;
    let f = facts(&s, 1, T0).await;
    assert_eq!(level(&f, Monitor::EmptyColumns, T0), Level::Warn, "three left");
    assert_eq!(f.columns.iter().find(|c| c.id == 12).unwrap().path, "/col/c12/");
}

#[tokio::test]
async fn home_probes_count_over_seven_days_and_older_ones_are_dropped() {
    let (_dir, s) = store().await;
    at(&s, 1, T0, Command::CreateTenant { tenant: tenant(1, "aa") }).await;
    // 100 probes an hour apart, the last four failing (one timed out).
    for i in 0..100u64 {
        let status = match i {
            96 => 0,
            97..=99 => 503,
            _ => 200,
        };
        let probe = HomeProbe { tenant_id: 1, status, ms: 12 };
        at(&s, 2 + i, T0 + i as i64 * 3_600_000, Command::RecordHomeProbes { at: T0 + i as i64 * 3_600_000, probes: vec![probe] }).await;
    }
    let now = T0 + 99 * 3_600_000;
    let f = facts(&s, 1, now).await;
    assert_eq!((f.probes, f.probes_failed), (100, 4));
    assert_eq!(level(&f, Monitor::HomeReachable, now), Level::Warn, "4 % failed");
    // Nine days later one probe is recorded: everything older than 8 days is gone.
    let later = now + 9 * DAY;
    at(&s, 200, later, Command::RecordHomeProbes { at: later, probes: vec![HomeProbe { tenant_id: 1, status: 200, ms: 3 }] }).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM home_probes").fetch_one(&s.reader()).await.unwrap();
    assert_eq!(left, 1);
}
