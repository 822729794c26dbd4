//! The flags of the watchers a node runs beside serving — the tamper
//! checker's looks and sweeps, the replica comparison, the outside-link
//! check, the audit archive, the theme directory, scheduled backups — read
//! and checked at start, and the workers they configure.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use zhanqun_cluster::Node;
use zhanqun_platform::integrity::IntegrityChecker;
use zhanqun_platform::worker::Workers;
use zhanqun_web::App;

#[derive(Args, Debug, Default)]
pub struct WatchArgs {
    /// Seconds between two looks of the tamper checker at the documents
    /// written since its last look (1–86400). [default: 30]
    #[arg(long, env = "ZHANQUN_INTEGRITY_CHECK_SECS")]
    pub integrity_check_secs: Option<u64>,
    /// Seconds between two sweeps of the tamper checker over every
    /// published document, for edits made around the database's triggers
    /// (60–604800). [default: 21600]
    #[arg(long, env = "ZHANQUN_INTEGRITY_SWEEP_SECS")]
    integrity_sweep_secs: Option<u64>,
    /// Seconds between two comparisons of this node's content digest with
    /// every other member's, at the same applied index (1–86400). Each
    /// reads every row of the database. [default: 3600]
    #[arg(long, env = "ZHANQUN_REPLICA_CHECK_SECS")]
    replica_check_secs: Option<u64>,
    /// Days an audit line stays in the database before the leader exports
    /// it to the object store (under audit/) and drops it (180–3650; 等级保护
    /// asks at least 180). [default: 180]
    #[arg(long, env = "ZHANQUN_AUDIT_KEEP_DAYS")]
    audit_keep_days: Option<u64>,
    /// Seconds between two runs of the leader's check of the links from
    /// every home page to other websites (1–604800). [default: 86400]
    #[arg(long, env = "ZHANQUN_LINK_CHECK_SECS")]
    link_check_secs: Option<u64>,
    /// Check links to private and loopback addresses too (an intranet
    /// portal); without it they are left unchecked.
    #[arg(long, env = "ZHANQUN_LINK_CHECK_PRIVATE")]
    link_check_private: bool,
    /// A directory of public templates (base.html, home.html, channel.html,
    /// document.html, notice.html, landing.html, search.html) that replace
    /// the built-in ones. Read once at start; a file changed afterwards is
    /// reported by the tamper checker, not served.
    #[arg(long, env = "ZHANQUN_THEME_DIR")]
    theme_dir: Option<PathBuf>,
    /// Scheduled backups: the leader writes one to file:///dir or
    /// s3://bucket/prefix every --backup-every-secs and keeps --backup-keep.
    #[arg(long, env = "ZHANQUN_BACKUP_TO")]
    backup_to: Option<String>,
    /// Seconds between two scheduled backups. [default: 86400]
    #[arg(long, env = "ZHANQUN_BACKUP_EVERY_SECS", requires = "backup_to")]
    backup_every_secs: Option<u64>,
    /// Scheduled backups kept (older ones deleted). [default: 14]
    #[arg(long, env = "ZHANQUN_BACKUP_KEEP", requires = "backup_to")]
    backup_keep: Option<usize>,
}

/// The watchers' settings, checked.
pub struct Watch {
    integrity_every: Duration,
    integrity_sweep: Duration,
    replica_every: Duration,
    audit_keep: Duration,
    link_check_every: Duration,
    link_check_private: bool,
    theme: Option<(zhanqun_web::theme::ThemeTemplates, zhanqun_web::theme::Theme)>,
    backups: Option<(zhanqun_platform::backup::Target, Duration, usize)>,
}

/// `value` (or `default`) seconds, refused outside `range` with the flag's name.
fn seconds(name: &str, value: Option<u64>, default: u64, range: std::ops::RangeInclusive<u64>) -> anyhow::Result<Duration> {
    let s = value.unwrap_or(default);
    if !range.contains(&s) {
        bail!("{name} must be between {} and {} seconds (got {s})", range.start(), range.end());
    }
    Ok(Duration::from_secs(s))
}

impl WatchArgs {
    pub fn settings(&self) -> anyhow::Result<Watch> {
        let audit_keep_days = self.audit_keep_days.unwrap_or(180);
        if !(180..=3650).contains(&audit_keep_days) {
            bail!("audit_keep_days must be between 180 and 3650 (等级保护 asks that audit lines be kept at least 180 days; got {audit_keep_days})");
        }
        let theme = match &self.theme_dir {
            None => None,
            Some(dir) => Some(zhanqun_web::theme::Theme::read(dir).map_err(|e| anyhow::anyhow!("{e}"))?),
        };
        let backups = match &self.backup_to {
            None => None,
            Some(url) => {
                let target = zhanqun_platform::backup::Target::parse(url).map_err(|e| anyhow::anyhow!("--backup-to {e}"))?;
                let every = seconds("backup_every_secs", self.backup_every_secs, 86_400, 60..=2_592_000)?;
                Some((target, every, self.backup_keep.unwrap_or(14).max(1)))
            }
        };
        Ok(Watch {
            integrity_every: seconds("integrity_check_secs", self.integrity_check_secs, 30, 1..=86_400)?,
            integrity_sweep: seconds("integrity_sweep_secs", self.integrity_sweep_secs, 21_600, 60..=604_800)?,
            replica_every: seconds("replica_check_secs", self.replica_check_secs, 3600, 1..=86_400)?,
            audit_keep: Duration::from_secs(86_400 * audit_keep_days),
            link_check_every: seconds("link_check_secs", self.link_check_secs, 86_400, 1..=604_800)?,
            link_check_private: self.link_check_private,
            theme,
            backups,
        })
    }
}

impl Watch {
    /// Puts the theme's templates in place of the built-in ones; answers
    /// what the theme watcher compares the files on disk with.
    pub fn use_theme(&mut self, app: &mut App) -> anyhow::Result<zhanqun_web::theme::Theme> {
        match self.theme.take() {
            Some((templates, theme)) => {
                app.templates = zhanqun_web::Templates::with_theme(templates).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(theme)
            }
            // Nothing to watch, but the gauge is there (0) for the
            // dashboards and the alert.
            None => Ok(zhanqun_web::theme::Theme::default()),
        }
    }

    pub fn spawn(
        self,
        workers: &mut Workers,
        node: &Arc<Node>,
        app: &Arc<App>,
        site_fetch: Arc<zhanqun_web::probe::RouterProbe>,
        theme: zhanqun_web::theme::Theme,
    ) {
        let registry = &node.metrics.registry;
        workers.spawn(zhanqun_platform::link_check::LinkChecker::new(node.clone(), site_fetch, self.link_check_every, self.link_check_private));
        workers.spawn(zhanqun_platform::audit_archive::AuditArchiver::new(node.clone(), Arc::new(app.blobs.clone()), self.audit_keep));
        workers.spawn(zhanqun_web::theme::ThemeWatch::new(theme, self.integrity_every, registry));
        workers.spawn(zhanqun_platform::replicas::ReplicaCompare::new(node.clone(), self.replica_every, registry));
        if let Some((target, every, keep)) = self.backups {
            workers.spawn(zhanqun_platform::backup::BackupSchedule::new(node.clone(), Arc::new(app.blobs.clone()), target, every, keep, registry));
        }
        workers.spawn(IntegrityChecker::new(node.clone(), app.derived.clone(), self.integrity_every, self.integrity_sweep, registry));
    }
}
