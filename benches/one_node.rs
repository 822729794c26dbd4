//! What the in-process benchmarks share: a one-member cluster in a
//! temporary directory, a list column, and percentiles.

use std::sync::Arc;
use std::time::Duration;

use zhanqun_cluster::{Node, NodeConfig};
use zhanqun_model::{Channel, ChannelKind, Millis, UpdateClass};
use zhanqun_platform::{Derived, new_id};

/// A node leading its own one-member cluster, with its derived state.
pub async fn start(dir: &std::path::Path, snapshot_every: u64) -> (Arc<Node>, Arc<Derived>) {
    let derived = Arc::new(Derived::default());
    let config = NodeConfig {
        data_dir: dir.into(),
        node_id: 1,
        advertise: "http://127.0.0.1:0".into(),
        secret: None,
        snapshot_every,
        adopt_identity: false,
        metrics: prometheus::Registry::new(),
    };
    let node = Arc::new(Node::start(config, derived.clone()).await.unwrap());
    node.bootstrap().await.unwrap();
    assert!(node.wait_leader(Duration::from_secs(10)).await);
    (node, derived)
}

/// A 通知公告 list column of `tenant_id`.
pub fn notices(tenant_id: i64, now: Millis) -> Channel {
    Channel::new(new_id(), tenant_id, "tzgg", "通知公告", ChannelKind::List, UpdateClass::Dynamic, now)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}
