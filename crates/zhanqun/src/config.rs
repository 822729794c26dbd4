//! Settings: flags, then `ZHANQUN_*` environment variables, then the TOML
//! file given with `--config`, then safe defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// What the TOML file may say. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub node_id: Option<u64>,
    pub advertise: Option<String>,
    pub max_upload_mb: Option<usize>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub blobs_dir: Option<PathBuf>,
    pub search_dictionary: Option<PathBuf>,
    pub page_cache_mb: Option<usize>,
    pub landing: Option<LandingSetting>,
    pub metrics_listen: Option<SocketAddr>,
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub session_ttl_secs: Option<u64>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub compliance: ComplianceFile,
}

/// The `[compliance]` table: how often the monitors look, and where
/// warn and red begin (`[compliance.thresholds]`, see README).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceFile {
    pub probe_every_secs: Option<u64>,
    pub round_every_secs: Option<u64>,
    pub thresholds: Option<zhanqun_model::compliance::Thresholds>,
}

/// What `/` shows on a host no site owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LandingSetting {
    /// The online sites.
    Sites,
    /// Nothing (404).
    None,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid zhanqun config (see README, Configuration)", path.display()))
    }
}

/// The settings a node runs with.
#[derive(Debug)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub node_id: u64,
    pub advertise: String,
    pub max_upload_bytes: usize,
    pub blobs: BlobSetting,
    pub search_dictionary: Option<PathBuf>,
    pub page_cache_bytes: usize,
    pub landing: LandingSetting,
    pub metrics_listen: Option<SocketAddr>,
    pub timeouts: zhanqun_web::ClientTimeouts,
    pub session_ttl: std::time::Duration,
    pub trusted_proxies: Vec<zhanqun_web::client::Cidr>,
    pub compliance: zhanqun_platform::compliance::Settings,
}

/// Where attachment bytes live.
#[derive(Debug)]
pub enum BlobSetting {
    /// A directory: `<data>/blobs` on one node, or a volume every node mounts.
    Local(PathBuf),
    /// An S3-compatible bucket every node reaches.
    S3 { bucket: String, endpoint: Option<String> },
}

pub(crate) use crate::DEFAULT_DATA;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_MB: usize = 100;
pub const DEFAULT_PAGE_CACHE_MB: usize = 256;
