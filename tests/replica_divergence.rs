//! Replicas compared, with three real `zhanqun serve` processes: every node
//! compares its content digest with every other member's at one applied
//! index (each second here); a row changed by hand in one node's database
//! file is found by every node — `zhanqun_replica_divergence` counts the
//! members that differ, an ERROR line names the peer and the index — and
//! the two untouched nodes still agree with each other.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::writes::{Attempt, write_document};
use common::{client, wait_for};
use sqlx::Connection;

/// `zhanqun_replica_divergence` on the node at `base`, once it has
/// compared at least once.
async fn divergence(base: &str) -> Option<i64> {
    let m = client().get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()?;
    let compared = m.lines().find_map(|l| l.strip_prefix("zhanqun_replica_compare_timestamp_seconds ")).and_then(|v| v.trim().parse::<f64>().ok());
    compared.filter(|t| *t > 0.0)?;
    m.lines().find_map(|l| l.strip_prefix("zhanqun_replica_divergence ")).and_then(|v| v.trim().parse().ok())
}

async fn wait_divergence(cluster: &Cluster, on: u64, want: i64) {
    let base = cluster.base(on);
    wait_for(&format!("node {on} to count {want} members differing from it"), 60, || async {
        match divergence(&base).await {
            Some(v) if v == want => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_changed_outside_the_log_on_one_node_is_named_by_the_others() {
    let mut cluster = Cluster::start(3, false, &["--replica-check-secs", "1"]).await;
    let leader = cluster.wait_leader(Duration::from_secs(60)).await;
    let admin = cluster.admin_token(leader).await;
    let staff = cluster.create_site(leader, &admin, "fenhe").await;
    assert_eq!(write_document(&cluster.base(leader), &staff, "fenhe", "副本核验测试").await, Attempt::Acknowledged);
    cluster.wait_converged(Duration::from_secs(60)).await;
    for node in 1..=3 {
        wait_divergence(&cluster, node, 0).await;
    }

    // Node 3's database changed behind the log's back.
    let db_path = cluster.node(3).data.join("content.db");
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db_path.display())).await.unwrap();
    sqlx::query("UPDATE tenants SET name = '被改动的站点名称' WHERE code = 'fenhe'").execute(&mut db).await.unwrap();
    db.close().await.unwrap();

    // Nodes 1 and 2 each differ from node 3 only (they still agree with
    // each other); node 3 differs from both.
    wait_divergence(&cluster, 1, 1).await;
    wait_divergence(&cluster, 2, 1).await;
    wait_divergence(&cluster, 3, 2).await;
    let log = std::fs::read_to_string(&cluster.node(1).log).unwrap();
    let line = log.lines().find(|l| l.contains("replica check") && l.contains("differs")).unwrap_or_default().to_string();
    assert!(line.contains("peer=3") && line.contains("index="), "the log names the peer and the index: {line}");
}
