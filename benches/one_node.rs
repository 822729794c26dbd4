//! What the in-process benchmarks share: how they run, a one-member cluster
//! in a temporary directory, a site with a list column and an editor, and
//! percentiles.

use std::sync::Arc;
use std::time::Duration;

use zhanqun_cluster::{Node, NodeConfig};
use zhanqun_model::{Channel, ChannelKind, Command, Grant, Millis, Proposal, Tenant, TenantKind, TenantRole, UpdateClass, User};
use zhanqun_platform::{Derived, new_id};

/// Runs a benchmark on two async workers (this machine kind's cores); does
/// nothing when cargo only lists or tests the benchmarks.
pub fn run_on_two_workers<F: std::future::Future<Output = ()>>(run: impl FnOnce() -> F) {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(run());
}

/// The session token of the editor [`site_with_editor`] makes.
pub const EDITOR_TOKEN: &str = "bench-session-token-0123456789abcdef";

/// Writes the township site `bench` with its 通知公告 column and one editor
/// of it, logged in with [`EDITOR_TOKEN`]: (site, column).
pub async fn site_with_editor(node: &Node, now: Millis) -> (Tenant, Channel) {
    let tenant = Tenant::new(new_id(), "bench", "基准测试镇人民政府", TenantKind::Township, "BENCH", now);
    let channel = notices(tenant.id, now);
    let mut editor = User::new(new_id(), "bench-editor", "编辑", String::new(), now);
    editor.grants = vec![Grant { tenant_id: tenant.id, role: TenantRole::Editor }];
    let setup = vec![
        Command::CreateTenant { tenant: tenant.clone() },
        Command::CreateChannel { channel: channel.clone() },
        Command::CreateUser { user: editor.clone() },
        Command::CreateSession {
            token_sha256: zhanqun_platform::passwords::token_digest(EDITOR_TOKEN),
            user_id: editor.id,
            expires_at: now + 86_400_000,
            idle_ms: None,
            totp_step: None,
        },
    ];
    node.write(Proposal::new(now, None, None, Command::Batch { commands: setup })).await.unwrap().outcome.unwrap();
    (tenant, channel)
}

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
