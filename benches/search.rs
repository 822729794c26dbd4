//! Search benchmark: zhanqun's engine (tantivy + jieba) beside SQLite FTS5
//! on the same generated corpus, in the same run, twice over: with FTS5's
//! trigram tokenizer, and over the same jieba-segmented words zhanqun
//! indexes (so a two-character word needs no `LIKE` scan).
//!
//! ```text
//! cargo bench -p zhanqun-search --bench search                 # 100,000 documents, 30 sites
//! ZHANQUN_BENCH_SEARCH_DOCS=20000 cargo bench -p zhanqun-search --bench search
//! ZHANQUN_BENCH_SEARCH_DOCS=1000000 ZHANQUN_BENCH_SEARCH_SITES=300 cargo bench -p zhanqun-search --bench search
//! ZHANQUN_BENCH_SEARCH_ENGINES=fts5,tantivy cargo bench -p zhanqun-search --bench search
//! ZHANQUN_BENCH_SEARCH_MERGE=0 …   # tantivy's segments left as its writer left them
//! ```
//!
//! Each engine runs in a child process of its own (this binary with
//! `--engine …`), so its peak RSS is its own. A child streams the corpus
//! from the generator into its index (documents are never all in memory at
//! once), commits and merges its index into one (FTS5's `optimize`,
//! tantivy's merge of every segment: both engines merged, so neither is
//! timed against the other's leftovers), then answers the same mixed query
//! set twice (the first pass warms the caches; the second is timed) and
//! reports what it found.
//!
//! The corpus is generated, not real: government-style titles and sentences
//! recombined by a seeded generator, with 文号 on a quarter of the documents,
//! 200 "needle" documents naming a unique project, and one title in eight
//! that does not name its subject. Answers are judged against the
//! generator's labels (what each document is about and what kind it is),
//! not against the words of the hits: the 文号 named (in one of three
//! spellings) must come first; the needle must be in the top 3; for a
//! keyword, a two-character word or a two-word question, the share of the
//! top 10 about what was asked.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[path = "search_corpus.rs"]
mod corpus;

use corpus::{BenchQuery, CLASSES, Expect, generate, generate_judged, queries, sites};
use tantivy::tokenizer::{TokenStream, Tokenizer};
use zhanqun_search::tokenizer::{ChineseTokenizer, Mode};
use zhanqun_search::{Query, Scope, SearchDoc, SearchIndex, build_jieba};

/// The engines, in the order of the table's columns; the first is the
/// baseline.
const ENGINES: &[(&str, &str)] =
    &[("fts5", "SQLite FTS5 trigram (baseline)"), ("fts5-jieba", "SQLite FTS5 over jieba words"), ("tantivy", "zhanqun (tantivy + jieba)")];

/// What an engine answers for a query: document ids, best first.
type Answer = Vec<i64>;

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
        if std::env::var("ZHANQUN_BENCH_SEARCH_MERGE").as_deref() != Ok("0") {
            self.index.merge_segments().unwrap();
        }
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
        r.hits.into_iter().map(|h| h.id).collect()
    }
    fn size_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }
}

/// How an FTS5 table finds words in text.
enum Fts5Words {
    /// SQLite's trigram tokenizer over the text as written.
    Trigram,
    /// zhanqun's own analysis, done before the text reaches SQLite: documents
    /// segmented by jieba in index mode (nested words too, as zhanqun indexes
    /// them), queries in query mode, words joined by spaces for FTS5's
    /// `unicode61` tokenizer. What an implementer who wanted FTS5 with
    /// Chinese words would build without writing a tokenizer in C.
    Jieba { document: ChineseTokenizer, query: ChineseTokenizer },
}

impl Fts5Words {
    /// The text as the table stores it.
    fn document<'a>(&mut self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            Fts5Words::Trigram => text.into(),
            Fts5Words::Jieba { document, .. } => spaced_words(document, text).into(),
        }
    }
}

/// The words a tokenizer finds in `text`, joined by spaces.
fn spaced_words(tokenizer: &mut ChineseTokenizer, text: &str) -> String {
    let mut stream = tokenizer.token_stream(text);
    let mut out = String::with_capacity(text.len() * 5 / 4);
    while stream.advance() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&stream.token().text);
    }
    out
}

struct Fts5 {
    rt: tokio::runtime::Runtime,
    conn: sqlx::SqliteConnection,
    path: std::path::PathBuf,
    words: Fts5Words,
}

impl Fts5 {
    fn open(path: &Path, words: Fts5Words) -> Fts5 {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let tokenize = match words {
            Fts5Words::Trigram => "trigram",
            Fts5Words::Jieba { .. } => "unicode61",
        };
        let conn = rt.block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
                 CREATE VIRTUAL TABLE docs USING fts5(title, body, doc_no, organ, tenant UNINDEXED, published_at UNINDEXED, tokenize = '{tokenize}');"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            conn
        });
        Fts5 { rt, conn, path: path.to_owned(), words }
    }

    /// The trigram query a competent implementer would write: split on
    /// punctuation and spaces; pieces of 3+ characters go to MATCH (ranked
    /// by bm25 with the same field weights as ours); shorter pieces cannot
    /// use the trigram index and become LIKE conditions.
    fn trigram_plan(text: &str) -> (Vec<String>, Vec<String>) {
        let pieces: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(String::from).collect();
        let (long, short): (Vec<String>, Vec<String>) = pieces.into_iter().partition(|p| p.chars().count() >= 3);
        (long.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect(), short)
    }
}

impl Engine for Fts5 {
    fn add(&mut self, docs: &[SearchDoc]) {
        // Borrowed as written for the trigram table; segmented copies for jieba.
        let w = &mut self.words;
        let rows: Vec<_> = docs
            .iter()
            .map(|d| (w.document(&d.title), w.document(&d.body), w.document(d.doc_no.as_deref().unwrap_or("")), w.document(&d.issuing_organ)))
            .collect();
        self.rt.block_on(async {
            use sqlx::Connection;
            let mut tx = self.conn.begin().await.unwrap();
            for (d, (title, body, doc_no, organ)) in docs.iter().zip(rows) {
                sqlx::query("INSERT INTO docs (rowid, title, body, doc_no, organ, tenant, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                    .bind(d.id)
                    .bind(title)
                    .bind(body)
                    .bind(doc_no)
                    .bind(organ)
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
        let (matched, like) = match &mut self.words {
            Fts5Words::Trigram => Self::trigram_plan(&q.text),
            // Every word of the query, each a quoted FTS5 string (so none
            // reads as an operator), all required.
            Fts5Words::Jieba { query, .. } => {
                (spaced_words(query, &q.text).split(' ').filter(|w| !w.is_empty()).map(|w| format!("\"{w}\"")).collect(), Vec::new())
            }
        };
        if matched.is_empty() && like.is_empty() {
            return Vec::new();
        }
        let mut sql = String::from("SELECT rowid, title, snippet(docs, 1, '<em>', '</em>', '…', 16) FROM docs WHERE 1");
        if !matched.is_empty() {
            sql.push_str(" AND docs MATCH ?");
        }
        for _ in &like {
            sql.push_str(" AND (title LIKE ? OR body LIKE ? OR doc_no LIKE ?)");
        }
        if q.tenant.is_some() {
            sql.push_str(" AND tenant = ?");
        }
        sql.push_str(if matched.is_empty() { " ORDER BY published_at DESC LIMIT 10" } else { " ORDER BY bm25(docs, 4.0, 1.0, 6.0, 1.0) LIMIT 10" });
        self.rt.block_on(async {
            let mut query = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
            if !matched.is_empty() {
                query = query.bind(matched.join(" AND "));
            }
            for p in &like {
                let like = format!("%{p}%");
                query = query.bind(like.clone()).bind(like.clone()).bind(like);
            }
            if let Some(t) = q.tenant {
                query = query.bind(t);
            }
            query.fetch_all(&mut self.conn).await.unwrap().into_iter().map(|(id, _, _)| id).collect()
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

/// How well an answer meets what its query expects, from 0 to 1; `None`
/// when the scope holds nothing relevant to judge by.
fn score(answer: &[i64], expect: &Expect) -> Option<f64> {
    match expect {
        Expect::First(id) => Some(f64::from(u8::from(answer.first() == Some(id)))),
        Expect::Top3(id) => Some(f64::from(u8::from(answer.iter().take(3).any(|a| a == id)))),
        Expect::About { possible: 0, .. } => None,
        Expect::About { possible, .. } => {
            let relevant = answer.iter().take(10).filter(|&&id| expect.relevant(&generate_judged(id as u64 - 1).1)).count();
            Some(relevant as f64 / *possible as f64)
        }
    }
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
        "fts5" => Box::new(Fts5::open(&dir.path().join("fts.db"), Fts5Words::Trigram)),
        "fts5-jieba" => {
            let jieba = build_jieba(&[]).unwrap();
            let words = Fts5Words::Jieba { document: ChineseTokenizer::new(jieba.clone(), Mode::Index), query: ChineseTokenizer::new(jieba, Mode::Query) };
            Box::new(Fts5::open(&dir.path().join("fts.db"), words))
        }
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
    eprintln!("\r{name}: {docs} documents indexed and merged in {index_secs:.1} s");
    let (rss_indexed, _) = rss_mb();

    let qs = queries(docs);
    for q in &qs {
        engine.search(q);
    }
    let mut times = Vec::with_capacity(qs.len());
    // Per class of query: the sum of scores and how many were judged.
    let mut scores = vec![(0.0, 0usize); CLASSES.len()];
    let mut worst: Vec<(f64, &BenchQuery)> = Vec::new();
    for q in &qs {
        let t = Instant::now();
        let answer = engine.search(q);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(s) = score(&answer, &q.expect) {
            let class = CLASSES.iter().position(|c| *c == q.class).expect("a known class");
            scores[class].0 += s;
            scores[class].1 += 1;
            worst.push((s, q));
        }
    }
    // The worst-judged queries, to stderr: where answers go wrong.
    worst.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (s, q) in worst.iter().take(5).filter(|(s, _)| *s < 1.0) {
        eprintln!("{name}: scored {s:.2}  {:?} in {}", q.text, q.tenant.map_or("every site".to_string(), |t| format!("site {t}")));
    }
    // The slowest queries, to stderr: where a p99 comes from.
    let mut slowest: Vec<(f64, &BenchQuery)> = times.iter().copied().zip(&qs).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, q) in slowest.iter().take(8) {
        eprintln!("{name}: {ms:7.2} ms  {:?} in {}", q.text, q.tenant.map_or("every site".to_string(), |t| format!("site {t}")));
    }
    times.sort_by(f64::total_cmp);
    let (rss_end, peak) = rss_mb();
    let scores: Vec<String> = scores.iter().map(|(sum, n)| format!("[{sum},{n}]")).collect();
    println!(
        "{{\"engine\":\"{name}\",\"docs\":{docs},\"index_secs\":{index_secs},\"size\":{},\"rss_base\":{base_rss},\"rss_open\":{rss_open},\"rss_end\":{rss_end},\"anon_end\":{},\"file_end\":{},\"rss_indexed\":{rss_indexed},\"rss_peak\":{peak},\"p50\":{},\"p99\":{},\"queries\":{},\"scores\":[{}]}}",
        engine.size_bytes(),
        status_mb("RssAnon:"),
        status_mb("RssFile:"),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len(),
        scores.join(",")
    );
    std::io::stdout().flush().unwrap();
}

/// One row of the table: a label, each engine's figure, and zhanqun's
/// figure over each FTS5's.
fn row(label: &str, rows: &[serde_json::Value], figure: impl Fn(&serde_json::Value) -> f64, show: impl Fn(f64) -> String, ratio: bool) {
    let values: Vec<f64> = rows.iter().map(&figure).collect();
    let mut cells: Vec<String> = values.iter().map(|v| show(*v)).collect();
    let ours = *values.last().expect("an engine ran");
    for v in &values[..values.len() - 1] {
        cells.push(if ratio { format!("{:.2}×", ours / v) } else { String::new() });
    }
    println!("| {label} | {} |", cells.join(" | "));
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
    let chosen = std::env::var("ZHANQUN_BENCH_SEARCH_ENGINES").unwrap_or_else(|_| "fts5,fts5-jieba,tantivy".into());
    let engines: Vec<&(&str, &str)> = ENGINES.iter().filter(|(name, _)| chosen.split(',').any(|c| c.trim() == *name)).collect();
    assert!(
        engines.len() >= 2 && engines.last().is_some_and(|(name, _)| *name == "tantivy"),
        "ZHANQUN_BENCH_SEARCH_ENGINES names the engines to compare, tantivy and at least one of fts5, fts5-jieba (comma-separated); it was {chosen:?}"
    );
    let mut rows = Vec::new();
    for (engine, _) in &engines {
        let out = Command::new(&args[0]).args(["--engine", engine]).stderr(std::process::Stdio::inherit()).output().unwrap();
        assert!(out.status.success(), "{engine} run failed");
        let line = String::from_utf8(out.stdout).unwrap();
        rows.push(serde_json::from_str::<serde_json::Value>(line.trim()).unwrap());
    }
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    let baselines = &engines[..engines.len() - 1];
    println!("\nsearch: {docs} generated documents, {} sites, {} queries (second pass timed)", sites(), rows[0]["queries"]);
    let names: Vec<&str> = engines.iter().map(|(_, title)| *title).collect();
    let versus: Vec<String> = baselines.iter().map(|(name, _)| format!("zhanqun vs {name}")).collect();
    println!("| | {} | {} |", names.join(" | "), versus.join(" | "));
    println!("|---|{}", "---|".repeat(names.len() + versus.len()));
    let mb = |v: f64| format!("{v:.1} MB");
    let whole_mb = |v: f64| format!("{v:.0} MB");
    let ms = |v: f64| format!("{v:.2} ms");
    row("indexing (and merging)", &rows, |v| f(v, "docs") / f(v, "index_secs"), |v| format!("{v:.0} docs/s"), true);
    row("index size", &rows, |v| f(v, "size") / 1e6, mb, true);
    let above = |k: &'static str| move |v: &serde_json::Value| f(v, k) - f(v, "rss_base");
    row("RSS, engine open and empty", &rows, above("rss_open"), whole_mb, false);
    row("peak RSS (indexing)", &rows, above("rss_peak"), whole_mb, true);
    row("RSS after the queries", &rows, above("rss_end"), whole_mb, true);
    let split: Vec<String> = rows.iter().map(|v| format!("{:.0} / {:.0} MB", f(v, "anon_end"), f(v, "file_end"))).collect();
    println!("| … of it heap / mapped files | {}{} |", split.join(" | "), " | ".repeat(baselines.len()));
    row("query p50", &rows, |v| f(v, "p50"), ms, true);
    row("query p99", &rows, |v| f(v, "p99"), ms, true);
    let judged = [
        ("文号 query → its document first", "文号"),
        ("project name → its document in the top 3", "project"),
        ("keyword → top 10 about it (labelled)", "keyword"),
        ("two-character word → top 10 about it (labelled)", "short word"),
        ("two-word question → top 10 about the topic, of the kind asked (labelled)", "two words"),
    ];
    let class_score = |v: &serde_json::Value, class: &str| {
        let at = CLASSES.iter().position(|c| *c == class).expect("a known class");
        let pair = &v["scores"][at];
        100.0 * pair[0].as_f64().unwrap() / pair[1].as_f64().unwrap().max(1.0)
    };
    for (label, class) in judged {
        row(label, &rows, |v| class_score(v, class), |v| format!("{v:.1}%"), false);
    }
    let all = |v: &serde_json::Value| {
        let (sum, n) = v["scores"].as_array().unwrap().iter().fold((0.0, 0.0), |(s, n), p| (s + p[0].as_f64().unwrap(), n + p[1].as_f64().unwrap()));
        100.0 * sum / n
    };
    row("every judged query, mean score", &rows, all, |v| format!("{v:.1}%"), false);
}
