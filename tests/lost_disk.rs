//! A node that lost its disk, with real processes: it must not vote or count
//! toward a quorum under its old identity until the cluster has removed it
//! and re-added it as a learner that caught up; and node 1 restarted empty
//! must never found a second cluster. (Raft's lost-disk hazard: a wiped
//! voter that votes again can help elect a leader missing an entry it had
//! acknowledged.) The tests run one at a time: they time elections.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::cluster::{Cluster, peer_call};
use common::writes::{Attempt, Ledger, all_titles, assert_ledger_holds, start_writers, stop_writers, write_document};
use serde_json::Value;
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Waits until `check` holds of the cluster status as `base` reports it.
async fn wait_status(base: &str, what: &str, timeout: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some(s) = peer_call(base, "/_raft/cluster", Duration::from_secs(3)).await {
            if check(&s) {
                return s;
            }
            last = s;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("waited {timeout:?} for {what}; last status from {base}: {last}");
}

fn voters_in_sync(s: &Value, n: usize) -> bool {
    let members = s["members"].as_array().cloned().unwrap_or_default();
    s["membership_changing"] == false
        && s["leader"].is_u64()
        && members.iter().filter(|m| m["voter"] == true && m["reachable"] == true && m["lag"].as_u64().is_some_and(|l| l < 100)).count() == n
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_follower_votes_for_nobody_until_re_added_and_no_acknowledged_write_is_lost() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::start(3, true, &[]).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, "disk").await;
    let leader = cluster.wait_leader(Duration::from_secs(30)).await;
    // The follower to wipe must be one started with --join (not node 1,
    // which the harness starts with --bootstrap); the other one lags.
    let wiped = (1..=3).find(|id| *id != leader && *id != 1).unwrap();
    let laggard = (1..=3).find(|id| *id != leader && *id != wiped).unwrap();
    let index = |id: u64| id as usize - 1;

    // The laggard is cut off from the leader: from now on, writes are
    // acknowledged by the leader and the follower that will be wiped alone.
    cluster.proxies[index(laggard)].block(&[leader]);
    cluster.proxies[index(leader)].block(&[laggard]);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers = start_writers(vec![cluster.base(leader)], token.clone(), "disk", "before", 4, ledger.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_writers(&stop, writers).await;
    let acked_before = ledger.lock().await.acked.len();
    assert!(acked_before >= 10, "the leader and one follower acknowledged {acked_before} writes");

    // The follower loses its disk and is restarted as the chart restarts
    // it (same arguments); then the leader dies.
    cluster.node(wiped).kill();
    std::fs::remove_dir_all(&cluster.node(wiped).data).unwrap();
    cluster.node(wiped).spawn();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.node(leader).kill();
    cluster.proxies[index(laggard)].heal();
    cluster.proxies[index(leader)].heal();

    // The laggard and the wiped node alone: the wiped node must not vote for
    // the laggard (whose log lacks the acknowledged writes), so for several
    // election timeouts there is no leader and no write is taken.
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        let views = cluster.views().await;
        assert!(
            views.iter().all(|(_, l, _)| *l != Some(laggard) && *l != Some(wiped)),
            "the laggard and the wiped node elected a leader between them: {views:?}"
        );
        let attempt = write_document(&cluster.base(laggard), &token, "disk", "no-leader-write").await;
        assert_ne!(attempt, Attempt::Acknowledged, "a write was acknowledged without the old leader");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let metrics = common::client().get(format!("{}/metrics", cluster.base(wiped))).send().await.unwrap().text().await.unwrap();
    assert!(metric(&metrics, "zhanqun_raft_refused_peer_calls_total{reason=\"identity\"}") > 0.0, "the wiped node refused the calls meant for its old self");

    // The old leader comes back: it and the laggard elect a leader, which
    // removes the wiped node's old membership and re-adds it as a learner
    // that catches up, then as a voter.
    cluster.node(leader).spawn();
    let status = wait_status(&cluster.base(leader), "three caught-up voters again", Duration::from_secs(120), |s| voters_in_sync(s, 3)).await;
    assert!(status["members"].as_array().unwrap().iter().any(|m| m["id"] == wiped && m["voter"] == true), "{status}");
    let logs: String = [leader, laggard].iter().map(|id| std::fs::read_to_string(&cluster.node(*id).log).unwrap_or_default()).collect();
    assert!(logs.contains("came back as another incarnation"), "the leader re-added the wiped node as a new member");
    {
        let held = ledger.lock().await;
        for id in 1..=3 {
            assert_ledger_holds(&cluster.base(id), &token, "disk", &held).await;
        }
    }

    // Then the faults go on, with the re-added node among the voters.
    let stop = Arc::new(AtomicBool::new(false));
    let bases: Vec<String> = (1..=3).map(|id| cluster.base(id)).collect();
    let writers = start_writers(bases, token.clone(), "disk", "after", 4, ledger.clone(), stop.clone());
    for round in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let leader = cluster.wait_leader(Duration::from_secs(30)).await;
        if round == 1 {
            // Now the re-added node is among those that make a quorum.
            let other = (1..=3).find(|id| *id != leader && *id != wiped).unwrap();
            cluster.node(other).kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            cluster.node(other).spawn();
        } else {
            cluster.node(leader).kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            cluster.node(leader).spawn();
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_writers(&stop, writers).await;
    wait_status(&cluster.base(wiped), "three caught-up voters at the end", Duration::from_secs(120), |s| voters_in_sync(s, 3)).await;
    cluster.wait_converged(Duration::from_secs(60)).await;
    let ledger = ledger.lock().await;
    assert!(ledger.acked.len() > acked_before, "writes were acknowledged during the faults");
    for id in 1..=3 {
        assert_ledger_holds(&cluster.base(id), &token, "disk", &ledger).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_1_restarted_empty_founds_no_second_cluster() {
    let _serial = SERIAL.lock().await;
    let mut cluster = Cluster::start(3, false, &[]).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, "disk").await;
    assert_eq!(write_document(&cluster.base(2), &token, "disk", "before-the-wipe").await, Attempt::Acknowledged);
    // Node 1 will come back as a StatefulSet's pod 0 does: --join and the
    // addresses of its peers, instead of the harness's --bootstrap.
    let peers = format!("{},{}", cluster.base(2), cluster.base(3));
    let join = cluster.base(2);
    cluster.node(1).join = Some(join);
    cluster.node(1).extra = vec!["--peers".into(), peers];

    // Wiped, and restarted while the others cannot elect: one of them is
    // frozen (SIGSTOP), so node 1 finds one peer with state and one silent.
    cluster.node(1).kill();
    std::fs::remove_dir_all(&cluster.node(1).data).unwrap();
    cluster.node(3).pause();
    let from = log_len(&cluster, 1);
    cluster.node(1).spawn();
    tokio::time::sleep(Duration::from_secs(4)).await;
    cluster.node(3).resume();
    let status = wait_status(&cluster.base(2), "node 1 back as a caught-up voter", Duration::from_secs(120), |s| voters_in_sync(s, 3)).await;
    assert!(status["members"].as_array().unwrap().iter().any(|m| m["id"] == 1 && m["voter"] == true), "{status}");
    let after_wipe = log_since(&cluster, 1, from);
    assert!(!after_wipe.contains("bootstrapped"), "node 1 founded a cluster after its wipe:\n{after_wipe}");
    assert!(after_wipe.contains("a peer holds cluster state"), "{after_wipe}");
    cluster.wait_converged(Duration::from_secs(60)).await;
    let titles = all_titles(&cluster.base(1), &token, "disk").await;
    assert!(titles.contains(&"before-the-wipe".to_string()), "node 1 holds the cluster's content, not a new cluster's: {titles:?}");

    // With its peers down, an empty node 1 waits instead of founding.
    for id in 1..=3 {
        cluster.node(id).kill();
    }
    std::fs::remove_dir_all(&cluster.node(1).data).unwrap();
    let from = log_len(&cluster, 1);
    cluster.node(1).spawn();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let last_start = log_since(&cluster, 1, from);
    assert!(!last_start.contains("bootstrapped"), "node 1 founded a cluster with its peers down:\n{last_start}");
    assert!(last_start.contains("waiting for every peer to answer"), "{last_start}");
    let ready = common::client().get(format!("{}/readyz", cluster.base(1))).send().await.unwrap().status();
    assert_eq!(ready, 503, "an empty node 1 that founded nothing is not ready");
}

fn log_len(cluster: &Cluster, id: u64) -> usize {
    std::fs::metadata(&cluster.nodes.iter().find(|n| n.id == id).unwrap().log).map_or(0, |m| m.len() as usize)
}

/// What node `id` logged after byte `from` of its log.
fn log_since(cluster: &Cluster, id: u64, from: usize) -> String {
    let log = std::fs::read(&cluster.nodes.iter().find(|n| n.id == id).unwrap().log).unwrap_or_default();
    String::from_utf8_lossy(&log[from.min(log.len())..]).into_owned()
}
