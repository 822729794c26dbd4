//! The search index on disk: opening it with the operator's dictionary, and
//! `zhanqun reindex`, which rebuilds it from the content store.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use zhanqun_search::SearchIndex;

#[derive(clap::Args)]
pub struct ReindexArgs {
    /// The node's data directory. Stop the node first: the index is written
    /// by one process at a time. [default: ./zhanqun-data]
    #[arg(long, env = "ZHANQUN_DATA")]
    data: Option<PathBuf>,
    /// The dictionary the node runs with (see `serve --search-dictionary`).
    #[arg(long, env = "ZHANQUN_SEARCH_DICTIONARY")]
    search_dictionary: Option<PathBuf>,
}

/// Opens `<data>/search` with zhanqun's dictionary plus the operator's. The
/// index remembers a digest of the operator's dictionary, so changing it
/// makes the node rebuild the index at its next start.
pub fn open_index(data: &Path, dictionary: Option<&Path>) -> anyhow::Result<SearchIndex> {
    let extra = match dictionary {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read the search dictionary {}", path.display()))?),
        None => None,
    };
    let jieba = zhanqun_search::build_jieba(extra.as_deref().as_slice())
        .map_err(|e| anyhow::anyhow!("{e} in {} (one word per line: word [frequency] [tag])", dictionary.map_or(String::new(), |p| p.display().to_string())))?;
    let id = extra.map_or(String::new(), |text| hex::encode(&Sha256::digest(text.as_bytes())[..8]));
    let dir = data.join("search");
    Ok(SearchIndex::open(&dir, jieba).with_context(|| format!("cannot open the search index in {}", dir.display()))?.with_analysis_id(&id))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}

/// Progress on stderr: a bar redrawn in place on a terminal, a line per
/// tenth otherwise (logs of a Kubernetes job).
struct Progress {
    started: Instant,
    terminal: bool,
    last_tenth: u64,
}

impl Progress {
    fn show(&mut self, done: u64, total: u64) {
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        if self.terminal {
            let filled = (percent / 4) as usize;
            eprint!("\rindexing [{}{}] {done}/{total} documents {percent:>3}% {rate:>7.0}/s", "#".repeat(filled), " ".repeat(25 - filled.min(25)));
            let _ = std::io::stderr().flush();
        } else if percent / 10 > self.last_tenth || done == total {
            self.last_tenth = percent / 10;
            eprintln!("indexing: {done}/{total} documents ({percent}%, {rate:.0}/s)");
        }
    }
}

pub async fn reindex(args: ReindexArgs) -> anyhow::Result<()> {
    let data = args.data.unwrap_or_else(|| crate::DEFAULT_DATA.into());
    let db = data.join("content.db");
    if !db.exists() {
        bail!("{} holds no zhanqun content (no content.db); pass the node's --data directory", data.display());
    }
    let index = open_index(&data, args.search_dictionary.as_deref())?;
    let store = zhanqun_store::Store::open(&db).await.with_context(|| format!("cannot open {}", db.display()))?;
    let position = match store.last_applied().await? {
        Some(json) => serde_json::from_str::<zhanqun_cluster::LogId>(&json).context("unreadable applied position in the content store")?.index,
        None => 0,
    };
    let mut progress = Progress { started: Instant::now(), terminal: std::io::stderr().is_terminal(), last_tenth: 0 };
    let documents = zhanqun_platform::indexer::rebuild(&index, &store, position, |done, total| progress.show(done, total))
        .await
        .map_err(|e| anyhow::anyhow!("rebuilding the search index failed: {e}"))?;
    if progress.terminal {
        eprintln!();
    }
    let elapsed = progress.started.elapsed().as_secs_f64();
    println!(
        "search index rebuilt: {documents} documents in {elapsed:.1} s ({:.0}/s), {:.1} MB in {}, at log index {position}",
        documents as f64 / elapsed.max(0.001),
        dir_size(&data.join("search")) as f64 / 1e6,
        data.join("search").display()
    );
    Ok(())
}
