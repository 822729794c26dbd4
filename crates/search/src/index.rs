//! The search index: one tantivy index per node holding every site's
//! documents, with the Raft index it reflects in its commit payload.
//!
//! The engine knows nothing of HTTP or of the content store: the caller
//! hands it [`SearchDoc`]s and deletions as it applies commands, commits in
//! batches, and asks [`crate::Query`]s (see `query.rs`). Tenant scope is part
//! of every query, not a filter the caller may forget.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jieba_rs::Jieba;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term, doc};

use crate::tokenizer::{ANALYSIS_VERSION, ChineseTokenizer, Mode};

const INDEX_TOKENIZER: &str = "zh_index";

/// What the index holds of one document.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub id: i64,
    pub tenant_id: i64,
    pub title: String,
    /// Plain text (HTML already stripped).
    pub body: String,
    pub doc_no: Option<String>,
    pub issuing_organ: String,
    /// 主题分类.
    pub topic: Option<String>,
    /// The kind of the column the document is in (`list`, `disclosure` …).
    pub channel_kind: String,
    pub published_at: i64,
    /// Published and 主动公开: visible to the public search.
    pub public: bool,
    /// Copies of one source share this key and are shown once.
    pub dedup_key: u64,
    /// 有效性: 有效, 失效, 废止, 修订.
    pub validity: String,
    /// What the document was when it was indexed, in 64 bits (the caller's
    /// digest of it): after the content store is replaced wholesale, only
    /// documents whose stamp differs are indexed again ([`SearchIndex::stamps`]).
    pub stamp: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("the search index at {0} is in use by another process (is a node running on this data directory?)")]
    Locked(String),
    #[error("{0}")]
    BadQuery(String),
}

pub(crate) struct Fields {
    pub id: Field,
    pub tenant: Field,
    pub public: Field,
    pub published_at: Field,
    pub year: Field,
    pub title: Field,
    pub body: Field,
    pub doc_no: Field,
    pub organ: Field,
    /// The 发布机构 untokenized: filter and facet.
    pub organ_exact: Field,
    pub topic: Field,
    pub kind: Field,
    pub dedup: Field,
    pub validity: Field,
    pub stamp: Field,
}

pub struct SearchIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    writer: Mutex<IndexWriter>,
    pub(crate) fields: Fields,
    pub(crate) query_analyzer: TextAnalyzer,
    pub(crate) jieba: Arc<Jieba>,
    /// Names the analysis the documents were tokenized with (this binary's
    /// [`ANALYSIS_VERSION`] and a digest of the operator's dictionary); an
    /// index built with another is rebuilt.
    analysis_id: String,
    /// The stored fields of recently shown documents.
    pub(crate) stored: crate::stored::StoredCache,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default().set_tokenizer(INDEX_TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(indexing.clone()).set_stored();
    // A title is scored without its length. With it, BM25 put a short title
    // holding the rare words of a query (职业农民培训政策解读) above a long
    // one holding every word (…关于印发职业农民培训实施方案的通知) when the
    // word left out was a common one (通知): the wrong answer to 职业农民培训 通知.
    let title = TextOptions::default().set_indexing_options(indexing.set_fieldnorms(false)).set_stored();
    let fields = Fields {
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        tenant: b.add_i64_field("tenant", INDEXED | STORED | FAST),
        public: b.add_u64_field("public", INDEXED),
        published_at: b.add_i64_field("published_at", INDEXED | STORED | FAST),
        year: b.add_i64_field("year", INDEXED | FAST),
        title: b.add_text_field("title", title),
        body: b.add_text_field("body", text.clone()),
        doc_no: b.add_text_field("doc_no", text.clone()),
        organ: b.add_text_field("organ", text),
        organ_exact: b.add_text_field("organ_exact", STRING | FAST | STORED),
        topic: b.add_text_field("topic", STRING | FAST | STORED),
        kind: b.add_text_field("kind", STRING | FAST | STORED),
        dedup: b.add_u64_field("dedup", FAST),
        validity: b.add_text_field("validity", STRING | STORED),
        stamp: b.add_u64_field("stamp", FAST),
    };
    (b.build(), fields)
}

/// The year of a time in China Standard Time.
pub(crate) fn year_of(ms: i64) -> i64 {
    i64::from(zhanqun_model::time::to_civil(ms).year)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed. An index from an
    /// older schema is not opened: the caller rebuilds it (`zhanqun reindex`
    /// or the node at start).
    pub fn open(dir: &Path, jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| SearchError::Index(e.into()))?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            Err(tantivy::TantivyError::SchemaError(_)) => {
                // An index written by an older version: start afresh.
                for entry in std::fs::read_dir(dir)? {
                    let path = entry?.path();
                    if path.is_file() {
                        std::fs::remove_file(path)?;
                    }
                }
                Index::create_in_dir(dir, schema)?
            }
            Err(e) => return Err(e.into()),
        };
        Self::with_index(index, fields, jieba).map_err(|e| match e {
            SearchError::Index(tantivy::TantivyError::LockFailure(..)) => SearchError::Locked(dir.display().to_string()),
            other => other,
        })
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory(jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, jieba)
    }

    fn with_index(index: Index, fields: Fields, jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(INDEX_TOKENIZER, TextAnalyzer::from(ChineseTokenizer::new(jieba.clone(), Mode::Index)));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(64_000_000)?;
        let query_analyzer = TextAnalyzer::from(ChineseTokenizer::new(jieba.clone(), Mode::Query));
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            query_analyzer,
            jieba,
            analysis_id: ANALYSIS_VERSION.to_string(),
            stored: crate::stored::StoredCache::new(),
        })
    }

    /// Records which analysis this index is used with (e.g. a digest of the
    /// operator's dictionary). An index committed under another id reports
    /// position 0, so the node rebuilds it.
    pub fn with_analysis_id(mut self, id: &str) -> SearchIndex {
        self.analysis_id = format!("{ANALYSIS_VERSION}{id}").chars().filter(char::is_ascii_alphanumeric).collect();
        self
    }

    /// Adds or replaces documents (not visible until [`SearchIndex::commit`]).
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        self.write(docs, true)
    }

    /// Adds documents the index does not hold: after [`SearchIndex::clear`],
    /// as a rebuild does. [`SearchIndex::upsert`] queues a delete for each
    /// document, which tantivy keeps as a query of about 1 KB until the
    /// commit: a gigabyte for a rebuild of a million documents.
    pub fn add_new(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        self.write(docs, false)
    }

    fn write(&self, docs: &[SearchDoc], replace: bool) -> Result<(), SearchError> {
        let f = &self.fields;
        let writer = self.writer.lock().expect("index writer lock");
        for d in docs {
            if replace {
                writer.delete_term(Term::from_field_i64(f.id, d.id));
            }
            let mut doc = doc!(
                f.id => d.id,
                f.tenant => d.tenant_id,
                f.public => u64::from(d.public),
                f.published_at => d.published_at,
                f.year => year_of(d.published_at),
                f.title => d.title.clone(),
                f.body => d.body.clone(),
                f.organ => d.issuing_organ.clone(),
                f.organ_exact => d.issuing_organ.clone(),
                f.kind => d.channel_kind.clone(),
                f.dedup => d.dedup_key,
                f.validity => d.validity.clone(),
                f.stamp => d.stamp,
            );
            if let Some(no) = &d.doc_no {
                doc.add_text(f.doc_no, no);
            }
            if let Some(topic) = &d.topic {
                doc.add_text(f.topic, topic);
            }
            writer.add_document(doc)?;
        }
        Ok(())
    }

    pub fn delete(&self, ids: &[i64]) {
        let writer = self.writer.lock().expect("index writer lock");
        for id in ids {
            writer.delete_term(Term::from_field_i64(self.fields.id, *id));
        }
    }

    /// Makes everything added so far searchable and records that the index
    /// reflects the Raft log up to `applied_index`.
    pub fn commit(&self, applied_index: u64) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().expect("index writer lock");
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{applied_index} {}", self.analysis_id));
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Merges every committed segment into one and waits for it. A rebuild
    /// leaves a dozen segments at a million documents, and a query pays for
    /// each one it visits (a dictionary lookup per word and field, a scorer
    /// per segment). Documents written later form small segments of their
    /// own, which the merge policy folds as usual. Keeps the commit's
    /// position: a merge changes no document.
    pub fn merge_segments(&self) -> Result<(), SearchError> {
        // The merge policy may be merging some of these segments already, and
        // tantivy refuses a merge that names one of them: wait for it, then
        // ask again with the segments there are then.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
        loop {
            let ids = self.index.searchable_segment_ids()?;
            if ids.len() < 2 {
                break;
            }
            let merging = self.writer.lock().expect("index writer lock").merge(&ids);
            match merging.wait() {
                Ok(_) => break,
                Err(tantivy::TantivyError::InvalidArgument(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.reader.reload()?;
        Ok(())
    }

    /// How many segments the last commit is made of.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// The Raft index the last commit reflects (0 for a new index, or one
    /// built with another analysis).
    pub fn indexed_position(&self) -> Result<u64, SearchError> {
        let payload = self.index.load_metas()?.payload.unwrap_or_default();
        let (position, analysis) = payload.split_once(' ').unwrap_or((&payload, ""));
        if analysis != self.analysis_id {
            return Ok(0);
        }
        Ok(position.parse().unwrap_or(0))
    }

    /// The stamp of every document the last commit holds, by document id:
    /// what a caller compares with its store to find the documents that
    /// changed while the index was not following it.
    pub fn stamps(&self) -> Result<HashMap<i64, u64>, SearchError> {
        let searcher = self.reader.searcher();
        let mut stamps = HashMap::with_capacity(searcher.num_docs() as usize);
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            let (ids, stamp) = (ff.i64("id")?, ff.u64("stamp")?);
            for doc in segment.doc_ids_alive() {
                if let (Some(id), Some(s)) = (ids.first(doc), stamp.first(doc)) {
                    stamps.insert(id, s);
                }
            }
        }
        Ok(stamps)
    }

    /// How many documents the index holds (as of the last commit).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer.lock().expect("index writer lock").delete_all_documents()?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// Noon of 1 March of a year, China Standard Time.
    pub fn ms_of_year(year: i64) -> i64 {
        zhanqun_model::time::date_to_millis(&format!("{year}-03-01")).expect("valid date") + 12 * 3_600_000
    }
}
