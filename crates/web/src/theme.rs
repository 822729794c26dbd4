//! A site theme on disk (`--theme-dir`): public templates that replace the
//! built-in ones of the same name, read once at start. The node serves what
//! it read then; [`ThemeWatch`] re-reads the files' digests on a schedule,
//! and a file changed since — a swapped template, the way an intruder with
//! the disk would plant a dark link in every page — is named in an ERROR
//! line and counted in `zhanqun_theme_files_changed` (alert
//! `ZhanqunThemeFileChanged`), while the pages go on being rendered from the
//! version that was read and checked at start. A changed theme is put into
//! service by restarting the node, deliberately.

use std::path::{Path, PathBuf};
use std::time::Duration;

use prometheus::{IntGauge, Registry};
use sha2::{Digest, Sha256};

/// The public templates a theme may replace.
pub const THEMABLE: &[&str] = &["base.html", "home.html", "channel.html", "document.html", "notice.html", "landing.html", "search.html"];

/// A theme's templates as read: (name, text).
pub type ThemeTemplates = Vec<(&'static str, String)>;

/// The theme files a node read at start, with their digests.
#[derive(Debug, Clone, Default)]
pub struct Theme {
    pub files: Vec<(PathBuf, String)>,
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Theme {
    /// Reads the themable templates present in `dir`: (name, text) to
    /// install, and the theme as read.
    pub fn read(dir: &Path) -> Result<(ThemeTemplates, Theme), String> {
        if !dir.is_dir() {
            return Err(format!("the theme directory {} does not exist", dir.display()));
        }
        let mut templates = Vec::new();
        let mut theme = Theme::default();
        for name in THEMABLE {
            let path = dir.join(name);
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let text = String::from_utf8(bytes.clone()).map_err(|_| format!("{} is not UTF-8", path.display()))?;
            theme.files.push((path, digest(&bytes)));
            templates.push((*name, text));
        }
        if templates.is_empty() {
            return Err(format!("the theme directory {} holds none of the public templates ({})", dir.display(), THEMABLE.join(", ")));
        }
        Ok((templates, theme))
    }

    /// The files whose content on disk is no longer what was read (a file
    /// gone counts as changed).
    pub fn changed(&self) -> Vec<PathBuf> {
        self.files.iter().filter(|(path, sha)| std::fs::read(path).ok().map(|b| digest(&b)).as_ref() != Some(sha)).map(|(p, _)| p.clone()).collect()
    }
}

pub struct ThemeWatch {
    theme: Theme,
    every: Duration,
    gauge: IntGauge,
    reported: Vec<PathBuf>,
}

impl ThemeWatch {
    pub fn new(theme: Theme, every: Duration, registry: &Registry) -> ThemeWatch {
        let gauge = IntGauge::new(
            "zhanqun_theme_files_changed",
            "Theme files (--theme-dir) whose content on disk differs from what this node read at start (pages are still rendered from what was read)",
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(gauge.clone()));
        ThemeWatch { theme, every, gauge, reported: Vec::new() }
    }

    /// One look at the files: those changed since start.
    pub fn look(&mut self) -> Vec<PathBuf> {
        let changed = self.theme.changed();
        for path in changed.iter().filter(|p| !self.reported.contains(p)) {
            tracing::error!(file = %path.display(),
                "theme check: a template file changed on disk since this node read it; pages are still rendered from the version read at start (restart the node to put a deliberate change into service)");
        }
        self.gauge.set(changed.len() as i64);
        self.reported = changed.clone();
        changed
    }
}

impl zhanqun_platform::worker::Worker for ThemeWatch {
    const NAME: &'static str = "theme check";

    async fn wait(&mut self) -> bool {
        tokio::time::sleep(self.every).await;
        true
    }

    async fn tick(&mut self) {
        self.look();
    }
}
