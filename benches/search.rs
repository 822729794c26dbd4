//! Search benchmark: zhanqun's engine (tantivy + jieba) beside SQLite FTS5
//! with the trigram tokenizer, on the same generated corpus, in the same run.
//!
//! ```text
//! cargo bench -p zhanqun-search --bench search                 # 100,000 documents, 30 sites
//! ZHANQUN_BENCH_SEARCH_DOCS=20000 cargo bench -p zhanqun-search --bench search
//! ZHANQUN_BENCH_SEARCH_DOCS=1000000 ZHANQUN_BENCH_SEARCH_SITES=300 cargo bench -p zhanqun-search --bench search
//! ```
//!
//! Each engine runs in a child process of its own (this binary with
//! `--engine …`), so its peak RSS is its own. A child streams the corpus
//! from the generator into its index (documents are never all in memory at
//! once), commits, then answers the same mixed query set twice (the first
//! pass warms the caches; the second is timed) and reports what it found.
//!
//! The corpus is generated, not real: government-style titles and sentences
//! recombined by a seeded generator, with 文号 on a quarter of the documents
//! and 200 "needle" documents naming a unique project. Quality is scored on
//! what has a right answer: the 文号 named (in one of three spellings) must
//! come first; the needle must be in the top 3; for a common keyword, a
//! top-3 hit counts as relevant when the keyword is in its title.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[path = "search_corpus.rs"]
mod corpus;

use corpus::{BenchQuery, Expect, generate, queries, sites};
use zhanqun_search::{Query, Scope, SearchDoc, SearchIndex, build_jieba};

/// What an engine answers for a query: ids, best first, and each hit's title.
type Answer = Vec<(i64, String)>;

trait Engine {
    fn add(&mut self, docs: &[SearchDoc]);
    fn finish(&mut self);
    fn search(&mut self, q: &BenchQuery) -> Answer;
    fn size_bytes(&self) -> u64;
}

struct Tantivy {
    index: SearchIndex,
    dir: std::path::PathBuf,
}

impl Engine for Tantivy {
    fn add(&mut self, docs: &[SearchDoc]) {
        // A fresh index, as a rebuild fills it.
        self.index.add_new(docs).unwrap();
    }
    fn finish(&mut self) {
        self.index.commit(1).unwrap();
    }
    fn search(&mut self, q: &BenchQuery) -> Answer {
        let r = self
            .index
            .search(&Query {
                text: q.text.clone(),
                scope: q.tenant.map_or(Scope::Everywhere, |t| Scope::Sites(vec![t])),
                public_only: true,
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        r.hits.into_iter().map(|h| (h.id, h.title_html.replace("<em>", "").replace("</em>", ""))).collect()
    }
    fn size_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }
}

struct Fts5 {
    rt: tokio::runtime::Runtime,
    conn: sqlx::SqliteConnection,
    path: std::path::PathBuf,
}

impl Fts5 {
    fn open(path: &Path) -> Fts5 {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let conn = rt.block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
                 CREATE VIRTUAL TABLE docs USING fts5(title, body, doc_no, organ, tenant UNINDEXED, published_at UNINDEXED, tokenize = 'trigram');",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            conn
        });
        Fts5 { rt, conn, path: path.to_owned() }
    }
}

/// The FTS5 query a competent implementer would write for trigram: split
/// on punctuation and spaces; pieces of 3+ characters go to MATCH (ranked by
/// bm25 with the same field weights as ours); shorter pieces cannot use the
/// trigram index and become LIKE conditions.
fn fts5_plan(text: &str) -> (Vec<String>, Vec<String>) {
    let pieces: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(String::from).collect();
    pieces.into_iter().partition(|p| p.chars().count() >= 3)
}

impl Engine for Fts5 {
    fn add(&mut self, docs: &[SearchDoc]) {
        self.rt.block_on(async {
            use sqlx::Connection;
            let mut tx = self.conn.begin().await.unwrap();
            for d in docs {
                sqlx::query("INSERT INTO docs (rowid, title, body, doc_no, organ, tenant, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .bind(d.id)
                    .bind(&d.title)
                    .bind(&d.body)
                    .bind(d.doc_no.as_deref().unwrap_or(""))
                    .bind(&d.issuing_organ)
                    .bind(d.tenant_id)
                    .bind(d.published_at)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        });
    }
    fn finish(&mut self) {
        self.rt.block_on(async {
            sqlx::raw_sql("INSERT INTO docs(docs) VALUES('optimize'); PRAGMA wal_checkpoint(TRUNCATE);").execute(&mut self.conn).await.unwrap();
        });
    }
    fn search(&mut self, q: &BenchQuery) -> Answer {
        let (long, short) = fts5_plan(&q.text);
        if long.is_empty() && short.is_empty() {
            return Vec::new();
        }
        let mut sql = String::from("SELECT rowid, title, snippet(docs, 1, '<em>', '</em>', '…', 16) FROM docs WHERE 1");
        if !long.is_empty() {
            sql.push_str(" AND docs MATCH ?");
        }
        for _ in &short {
            sql.push_str(" AND (title LIKE ? OR body LIKE ? OR doc_no LIKE ?)");
        }
        if q.tenant.is_some() {
            sql.push_str(" AND tenant = ?");
        }
        sql.push_str(if long.is_empty() { " ORDER BY published_at DESC LIMIT 10" } else { " ORDER BY bm25(docs, 4.0, 1.0, 6.0, 1.0) LIMIT 10" });
        let matched = long.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ");
        self.rt.block_on(async {
            let mut query = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
            if !long.is_empty() {
                query = query.bind(matched);
            }
            for p in &short {
                let like = format!("%{p}%");
                query = query.bind(like.clone()).bind(like.clone()).bind(like);
            }
            if let Some(t) = q.tenant {
                query = query.bind(t);
            }
            query.fetch_all(&mut self.conn).await.unwrap().into_iter().map(|(id, title, _)| (id, title)).collect()
        })
    }
    fn size_bytes(&self) -> u64 {
        ["", "-wal", "-shm"].iter().filter_map(|s| std::fs::metadata(format!("{}{s}", self.path.display())).ok()).map(|m| m.len()).sum()
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}

/// A field of /proc/self/status, in MB.
fn status_mb(name: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

/// VmRSS and VmHWM (peak) of this process, in MB.
fn rss_mb() -> (f64, f64) {
    (status_mb("VmRSS:"), status_mb("VmHWM:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs one engine end to end and prints its figures as one JSON line.
fn run_engine(name: &str, docs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (base_rss, _) = rss_mb();
    let mut engine: Box<dyn Engine> = match name {
        "tantivy" => {
            let path = dir.path().join("index");
            Box::new(Tantivy { index: SearchIndex::open(&path, build_jieba(&[]).unwrap()).unwrap(), dir: path })
        }
        "fts5" => Box::new(Fts5::open(&dir.path().join("fts.db"))),
        other => panic!("unknown engine {other}"),
    };
    let (rss_open, _) = rss_mb();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..docs {
        batch.push(generate(i));
        if batch.len() == 1000 {
            engine.add(&batch);
            batch.clear();
            if (i + 1) % 20_000 == 0 {
                eprint!("\r{name}: {} documents", i + 1);
            }
        }
    }
    engine.add(&batch);
    engine.finish();
    let index_secs = started.elapsed().as_secs_f64();
    eprintln!("\r{name}: {docs} documents indexed in {index_secs:.1} s");
    let (rss_indexed, _) = rss_mb();

    let qs = queries(docs);
    for q in &qs {
        engine.search(q);
    }
    let mut times = Vec::with_capacity(qs.len());
    let (mut first_ok, mut first_n, mut top3_ok, mut top3_n, mut relevant, mut judged) = (0, 0, 0, 0, 0, 0);
    for q in &qs {
        let t = Instant::now();
        let answer = engine.search(q);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        match &q.expect {
            Expect::First(id) => {
                first_n += 1;
                first_ok += usize::from(answer.first().map(|a| a.0) == Some(*id));
            }
            Expect::Top3(id) => {
                top3_n += 1;
                top3_ok += usize::from(answer.iter().take(3).any(|a| a.0 == *id));
            }
            Expect::TitleHas(word, possible) => {
                judged += possible;
                relevant += answer.iter().take(*possible).filter(|a| a.1.contains(word.as_str())).count();
            }
            Expect::Nothing => {}
        }
    }
    // The slowest queries, to stderr: where a p99 comes from.
    let mut slowest: Vec<(f64, &BenchQuery)> = times.iter().copied().zip(&qs).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, q) in slowest.iter().take(8) {
        eprintln!("{name}: {ms:7.2} ms  {:?} in {}", q.text, q.tenant.map_or("every site".to_string(), |t| format!("site {t}")));
    }
    times.sort_by(f64::total_cmp);
    let (rss_end, peak) = rss_mb();
    println!(
        "{{\"engine\":\"{name}\",\"docs\":{docs},\"index_secs\":{index_secs},\"size\":{},\"rss_base\":{base_rss},\"rss_open\":{rss_open},\"rss_end\":{rss_end},\"anon_end\":{},\"file_end\":{},\"rss_indexed\":{rss_indexed},\"rss_peak\":{peak},\"p50\":{},\"p99\":{},\"queries\":{},\"first\":[{first_ok},{first_n}],\"top3\":[{top3_ok},{top3_n}],\"precision\":[{relevant},{judged}]}}",
        engine.size_bytes(),
        status_mb("RssAnon:"),
        status_mb("RssFile:"),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len()
    );
    std::io::stdout().flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let docs: u64 = std::env::var("ZHANQUN_BENCH_SEARCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    if let Some(at) = args.iter().position(|a| a == "--engine") {
        run_engine(&args[at + 1], docs);
        return;
    }
    let mut rows = Vec::new();
    for engine in ["fts5", "tantivy"] {
        let out = Command::new(&args[0]).args(["--engine", engine]).stderr(std::process::Stdio::inherit()).output().unwrap();
        assert!(out.status.success(), "{engine} run failed");
        let line = String::from_utf8(out.stdout).unwrap();
        rows.push(serde_json::from_str::<serde_json::Value>(line.trim()).unwrap());
    }
    let (fts, tan) = (&rows[0], &rows[1]);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    let pct = |v: &serde_json::Value, k: &str| 100.0 * v[k][0].as_f64().unwrap() / v[k][1].as_f64().unwrap().max(1.0);
    println!("\nsearch: {docs} generated documents, {} sites, {} queries (second pass timed)", sites(), tan["queries"]);
    println!("| | SQLite FTS5 trigram (baseline) | zhanqun (tantivy + jieba) | zhanqun vs FTS5 |");
    println!("|---|---|---|---|");
    let (fi, ti) = (f(fts, "docs") / f(fts, "index_secs"), f(tan, "docs") / f(tan, "index_secs"));
    println!("| indexing | {fi:.0} docs/s | {ti:.0} docs/s | {:.2}× |", ti / fi);
    println!("| index size | {:.1} MB | {:.1} MB | {:.2}× |", f(fts, "size") / 1e6, f(tan, "size") / 1e6, f(tan, "size") / f(fts, "size"));
    let above = |v: &serde_json::Value, k: &str| f(v, k) - f(v, "rss_base");
    println!("| RSS, engine open and empty | {:.0} MB | {:.0} MB | |", above(fts, "rss_open"), above(tan, "rss_open"));
    println!(
        "| peak RSS (indexing) | {:.0} MB | {:.0} MB | {:.2}× |",
        above(fts, "rss_peak"),
        above(tan, "rss_peak"),
        above(tan, "rss_peak") / above(fts, "rss_peak")
    );
    println!(
        "| RSS after the queries | {:.0} MB | {:.0} MB | {:.2}× |",
        above(fts, "rss_end"),
        above(tan, "rss_end"),
        above(tan, "rss_end") / above(fts, "rss_end")
    );
    println!(
        "| … of it heap / mapped files | {:.0} / {:.0} MB | {:.0} / {:.0} MB | |",
        f(fts, "anon_end"),
        f(fts, "file_end"),
        f(tan, "anon_end"),
        f(tan, "file_end")
    );
    println!("| query p50 | {:.2} ms | {:.2} ms | {:.2}× |", f(fts, "p50"), f(tan, "p50"), f(tan, "p50") / f(fts, "p50"));
    println!("| query p99 | {:.2} ms | {:.2} ms | {:.2}× |", f(fts, "p99"), f(tan, "p99"), f(tan, "p99") / f(fts, "p99"));
    println!("| 文号 query → its document first | {:.0}% | {:.0}% | |", pct(fts, "first"), pct(tan, "first"));
    println!("| project name → document in top 3 | {:.0}% | {:.0}% | |", pct(fts, "top3"), pct(tan, "top3"));
    println!("| keyword → top-3 hits with it in the title | {:.0}% | {:.0}% | |", pct(fts, "precision"), pct(tan, "precision"));
    let all = |v: &serde_json::Value| {
        let (ok, n) = ["first", "top3", "precision"].iter().fold((0.0, 0.0), |(ok, n), k| (ok + v[k][0].as_f64().unwrap(), n + v[k][1].as_f64().unwrap()));
        100.0 * ok / n
    };
    println!("| all judged answers right | {:.1}% | {:.1}% | |", all(fts), all(tan));
}
