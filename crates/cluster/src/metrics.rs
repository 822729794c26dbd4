//! What a node counts about itself, in Prometheus form.
//!
//! Counters and histograms are updated where things happen (snapshots,
//! forwarded writes, refused peer calls, leader changes); the gauges that
//! mirror openraft's own view (term, leader, indexes, lag) are refreshed from
//! `RaftMetrics` when `/metrics` is scraped, so they are never stale.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

pub struct ClusterMetrics {
    /// The node's registry, which these metrics are registered in.
    pub registry: Registry,
    pub term: IntGauge,
    pub is_leader: IntGauge,
    pub leader_changes: IntCounter,
    pub last_log_index: IntGauge,
    pub applied_index: IntGauge,
    pub purged_index: IntGauge,
    pub replication_lag: IntGaugeVec,
    pub snapshot_builds: Histogram,
    pub snapshot_installs: Histogram,
    /// One write applied to the content store: its share of the transaction
    /// it was applied in (audit line included).
    pub apply: Histogram,
    /// Log entries written per fsync of the Raft log (group commit).
    pub log_flush_entries: Histogram,
    /// Log entries applied per content-store transaction.
    pub apply_batch_entries: Histogram,
    /// Content-store transactions applied a second time, with a savepoint
    /// per command, because a command in them was refused.
    pub apply_reapplied: IntCounter,
    /// Proposals per log entry this node proposed as the leader (group commit).
    pub entry_proposals: Histogram,
    pub forwarded_writes: IntCounter,
    /// The log format level every member reads (see `upgrade`).
    pub cluster_log_level: IntGauge,
    pub refused_peer_calls: IntCounterVec,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn seconds(registry: &Registry, name: &str, help: &str) -> Histogram {
    let buckets = vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn entries(registry: &Registry, name: &str, help: &str) -> Histogram {
    let buckets = vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("unique metric");
    h
}

impl ClusterMetrics {
    /// The cluster's metrics, registered in the node's one registry
    /// (created at start and handed to every part; `/metrics` gathers it).
    pub fn new(registry: &Registry) -> Self {
        let r = registry.clone();
        let replication_lag =
            IntGaugeVec::new(Opts::new("zhanqun_raft_replication_lag_entries", "Leader only: log entries each follower is behind the leader"), &["peer"])
                .expect("valid metric");
        r.register(Box::new(replication_lag.clone())).expect("unique metric");
        let refused_peer_calls = IntCounterVec::new(
            Opts::new("zhanqun_raft_refused_peer_calls_total", "Calls to /_raft/ refused for a missing or wrong cluster secret"),
            &["reason"],
        )
        .expect("valid metric");
        r.register(Box::new(refused_peer_calls.clone())).expect("unique metric");
        ClusterMetrics {
            term: gauge(&r, "zhanqun_raft_term", "Current Raft term"),
            is_leader: gauge(&r, "zhanqun_raft_is_leader", "1 on the leader, 0 elsewhere"),
            leader_changes: counter(&r, "zhanqun_raft_leader_changes_total", "Times this node saw the leader change"),
            last_log_index: gauge(&r, "zhanqun_raft_last_log_index", "Last index in this node's Raft log"),
            applied_index: gauge(&r, "zhanqun_raft_applied_index", "Last index applied to this node's content store"),
            purged_index: gauge(&r, "zhanqun_raft_purged_index", "Last log index purged behind a snapshot (0: none yet)"),
            snapshot_builds: seconds(&r, "zhanqun_raft_snapshot_build_seconds", "Time to build a snapshot of the content store"),
            snapshot_installs: seconds(&r, "zhanqun_raft_snapshot_install_seconds", "Time to install a snapshot received from the leader"),
            apply: {
                let buckets = vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "zhanqun_apply_duration_seconds",
                        "Time to apply one write to this node's content store (its share of the transaction it was applied in)",
                    )
                    .buckets(buckets),
                )
                .expect("valid metric");
                r.register(Box::new(h.clone())).expect("unique metric");
                h
            },
            log_flush_entries: entries(
                &r,
                "zhanqun_raft_log_flush_entries",
                "Log entries written to the Raft log per fsync (several when writes arrive together)",
            ),
            apply_batch_entries: entries(&r, "zhanqun_apply_batch_entries", "Log entries applied to the content store per transaction"),
            apply_reapplied: counter(
                &r,
                "zhanqun_apply_reapplied_total",
                "Content-store transactions applied a second time, with a savepoint per command, because a command in them was refused",
            ),
            entry_proposals: entries(
                &r,
                "zhanqun_raft_entry_proposals",
                "Leader only: proposals per log entry it proposed (several when writes arrive together)",
            ),
            forwarded_writes: counter(&r, "zhanqun_raft_forwarded_writes_total", "Writes this node forwarded to the leader"),
            cluster_log_level: gauge(
                &r,
                "zhanqun_cluster_log_level",
                "Log format level every member reads; below the binary's own while a rolling upgrade is under way",
            ),
            replication_lag,
            refused_peer_calls,
            registry: r,
        }
    }
}
