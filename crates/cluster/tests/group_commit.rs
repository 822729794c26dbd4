//! Group commit on a real one-member cluster (real SQLite files, the Raft
//! log fsynced): writes that arrive together share log entries, and each
//! still gets its own outcome and audit line, once — also after a restart.

use std::sync::Arc;
use std::time::Duration;

use zhanqun_cluster::{ApplyObserver, Node, NodeConfig};
use zhanqun_model::command::level::LOG_LEVEL;
use zhanqun_model::{Command, Proposal, Tenant, TenantKind};
use zhanqun_store::Touched;

struct Nobody;

impl ApplyObserver for Nobody {
    fn applied(&self, _: &Touched) {}
    fn reset(&self) {}
}

async fn start(dir: &std::path::Path) -> Arc<Node> {
    let config = NodeConfig {
        data_dir: dir.into(),
        node_id: 1,
        advertise: "http://127.0.0.1:0".into(),
        secret: None,
        snapshot_every: zhanqun_cluster::DEFAULT_SNAPSHOT_EVERY,
        adopt_identity: false,
        metrics: prometheus::Registry::new(),
    };
    let node = Arc::new(Node::start(config, Arc::new(Nobody)).await.unwrap());
    node.bootstrap().await.unwrap();
    assert!(node.wait_leader(Duration::from_secs(30)).await, "the one member did not become leader within 30 s");
    node
}

fn create_tenant(code: &str, n: i64) -> Proposal {
    let tenant = Tenant::new(1000 + n, code, "合写测试镇人民政府", TenantKind::Township, "GROUP", 0);
    Proposal::new(1_700_000_000_000 + n, None, None, Command::CreateTenant { tenant })
}

const WRITERS: i64 = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_arrive_together_share_log_entries_and_each_keeps_its_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path()).await;
    assert_eq!(node.cluster_level(), LOG_LEVEL, "a cluster founded by this binary logs its format, groups included");
    let entries_before = node.metrics.entry_proposals.get_sample_count();

    // Each writer creates its own site, and all of them ask for the one
    // code `shared`: exactly one of those may win.
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let node = node.clone();
            tokio::spawn(async move {
                let own = node.write(create_tenant(&format!("own{i}"), i)).await.unwrap();
                let shared = node.write(create_tenant("shared", WRITERS + i)).await.unwrap();
                (own, shared)
            })
        })
        .collect();
    let mut won_shared = 0;
    for w in writers {
        let (own, shared) = w.await.unwrap();
        assert!(own.outcome.is_ok(), "a site of its own is created: {:?}", own.outcome);
        match shared.outcome {
            Ok(_) => won_shared += 1,
            Err(r) => assert_eq!(r.code, "duplicate_code", "the others are refused as duplicates: {r:?}"),
        }
    }
    assert_eq!(won_shared, 1, "one write of `shared` wins, whichever entry it was in");
    let reapplied = node.metrics.apply_reapplied.get();
    assert!(
        (1..WRITERS as u64).contains(&reapplied),
        "each transaction with a refused write in it is applied again, with savepoints, once: {reapplied} for {} refusals",
        WRITERS - 1
    );

    let proposals = 2 * WRITERS as u64;
    let entries = node.metrics.entry_proposals.get_sample_count() - entries_before;
    let grouped = node.metrics.entry_proposals.get_sample_sum() as u64;
    assert!(grouped >= proposals, "every write went through the gatherer ({grouped} of {proposals})");
    assert!(entries < proposals, "{proposals} writes from {WRITERS} writers at once took {entries} log entries: none were shared");

    let check = |node: Arc<Node>| async move {
        let codes: Vec<String> = node.store.tenants().await.unwrap().into_iter().map(|t| t.code).collect();
        assert_eq!(codes.len(), WRITERS as usize + 1, "each site once, and `shared` once: {codes:?}");
        let chain = node.store.verify_audit_chain().await.unwrap();
        assert!(chain.intact, "the audit chain verifies: {chain:?}");
        // One line per write, refused ones included, besides the level raise.
        assert_eq!(chain.entries, proposals + 1, "an audit line for each write");
    };
    check(node.clone()).await;

    // Started again, the node replays nothing twice.
    node.shutdown().await;
    drop(node);
    let again = start(dir.path()).await;
    assert!(again.wait_applied(again.raft.metrics().borrow().last_log_index.unwrap_or(0), Duration::from_secs(30)).await, "the restarted node caught up");
    check(again.clone()).await;
    again.shutdown().await;
}
