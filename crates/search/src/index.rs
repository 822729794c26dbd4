//! The search index: one tantivy index per node holding every site's
//! documents, with the Raft index it reflects in its commit payload.
//!
//! The engine knows nothing of HTTP or of the content store: the caller
//! hands it [`SearchDoc`]s and deletions as it applies commands, commits in
//! batches, and asks [`Query`]s. Tenant scope is part of every query, not a
//! filter the caller may forget.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jieba_rs::Jieba;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query as TantivyQuery, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

use zhanqun_model::escape_html;

use crate::tokenizer::{ChineseTokenizer, Mode};

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
    pub published_at: i64,
    /// Published and 主动公开: visible to the public search.
    pub public: bool,
}

/// A search request. `tenants` empty means every site (the portal's 统一检索).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    pub tenants: Vec<i64>,
    pub public_only: bool,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: i64,
    pub tenant_id: i64,
    pub score: f32,
    /// Escaped HTML with matches in `<em>`.
    pub title_html: String,
    pub snippet_html: String,
}

#[derive(Debug, Clone, Default)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    BadQuery(String),
}

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

struct Fields {
    id: Field,
    tenant: Field,
    public: Field,
    published_at: Field,
    title: Field,
    body: Field,
    doc_no: Field,
    organ: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    query_analyzer: TextAnalyzer,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer(INDEX_TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions))
        .set_stored();
    let fields = Fields {
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        tenant: b.add_i64_field("tenant", INDEXED | STORED | FAST),
        public: b.add_u64_field("public", INDEXED),
        published_at: b.add_i64_field("published_at", STORED | FAST),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        doc_no: b.add_text_field("doc_no", text.clone()),
        organ: b.add_text_field("organ", text),
    };
    (b.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed.
    pub fn open(dir: &Path, jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| SearchError::Index(e.into()))?;
        let index = Index::open_or_create(directory, schema)?;
        Self::with_index(index, fields, jieba)
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory(jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, jieba)
    }

    fn with_index(index: Index, fields: Fields, jieba: Arc<Jieba>) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(INDEX_TOKENIZER, TextAnalyzer::from(ChineseTokenizer::new(jieba.clone(), Mode::Index)));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(50_000_000)?;
        let query_analyzer = TextAnalyzer::from(ChineseTokenizer::new(jieba, Mode::Query));
        Ok(SearchIndex { index, reader, writer: Mutex::new(writer), fields, query_analyzer })
    }

    /// Adds or replaces documents (not visible until [`SearchIndex::commit`]).
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        let f = &self.fields;
        let writer = self.writer.lock().expect("index writer lock");
        for d in docs {
            writer.delete_term(Term::from_field_i64(f.id, d.id));
            let mut doc = doc!(
                f.id => d.id,
                f.tenant => d.tenant_id,
                f.public => u64::from(d.public),
                f.published_at => d.published_at,
                f.title => d.title.clone(),
                f.body => d.body.clone(),
                f.organ => d.issuing_organ.clone(),
            );
            if let Some(no) = &d.doc_no {
                doc.add_text(f.doc_no, no);
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
        prepared.set_payload(&applied_index.to_string());
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// The Raft index the last commit reflects (0 for a new index).
    pub fn indexed_position(&self) -> Result<u64, SearchError> {
        Ok(self.index.load_metas()?.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer.lock().expect("index writer lock").delete_all_documents()?;
        Ok(())
    }

    fn query_terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.query_analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
    }

    /// Runs a query. Every term must match somewhere (title, 文号, body or
    /// 发布机构); title matches weigh 4×, 文号 matches 6×, and a query that
    /// is a whole 文号 (its terms as a phrase) 20× — so the document a 文号
    /// names comes first.
    pub fn search(&self, q: &Query) -> Result<Results, SearchError> {
        let text: String = q.text.chars().filter(|c| !c.is_control()).collect();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::BadQuery(format!("the query is longer than {MAX_QUERY_CHARS} characters")));
        }
        let terms = self.query_terms(&text);
        if terms.is_empty() {
            return Ok(Results::default());
        }
        let f = &self.fields;
        let term = |field: Field, t: &str| -> Box<dyn TantivyQuery> { Box::new(TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs)) };
        let boost = |q: Box<dyn TantivyQuery>, by: f32| -> Box<dyn TantivyQuery> { Box::new(BoostQuery::new(q, by)) };
        let mut must: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for t in &terms {
            let any_field = BooleanQuery::new(vec![
                (Occur::Should, boost(term(f.title, t), 4.0)),
                (Occur::Should, boost(term(f.doc_no, t), 6.0)),
                (Occur::Should, term(f.body, t)),
                (Occur::Should, term(f.organ, t)),
            ]);
            must.push((Occur::Must, Box::new(any_field)));
        }
        if terms.len() > 1 {
            let phrase = |field: Field| PhraseQuery::new(terms.iter().map(|t| Term::from_field_text(field, t)).collect());
            must.push((Occur::Should, boost(Box::new(phrase(f.doc_no)), 20.0)));
            must.push((Occur::Should, boost(Box::new(phrase(f.title)), 4.0)));
        }
        if q.public_only {
            must.push((Occur::Must, Box::new(TermQuery::new(Term::from_field_u64(f.public, 1), IndexRecordOption::Basic))));
        }
        if !q.tenants.is_empty() {
            let scope = q
                .tenants
                .iter()
                .map(|t| (Occur::Should, Box::new(TermQuery::new(Term::from_field_i64(f.tenant, *t), IndexRecordOption::Basic)) as Box<dyn TantivyQuery>))
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(scope))));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 100);
        let (top, total) = searcher.search(&query, &(TopDocs::with_limit(limit).and_offset(q.offset.min(10_000)).order_by_score(), Count))?;
        let mut title_snippets = SnippetGenerator::create(&searcher, &query, f.title)?;
        title_snippets.set_max_num_chars(200);
        let mut body_snippets = SnippetGenerator::create(&searcher, &query, f.body)?;
        body_snippets.set_max_num_chars(160);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text_of = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let title = text_of(f.title);
            let body = text_of(f.body);
            let title_html = highlight(&title_snippets.snippet(&title), &title, true);
            let snippet_html = highlight(&body_snippets.snippet(&body), &body, false);
            hits.push(Hit {
                id: doc.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or(0),
                tenant_id: doc.get_first(f.tenant).and_then(|v| v.as_i64()).unwrap_or(0),
                score,
                title_html,
                snippet_html,
            });
        }
        Ok(Results { total, hits })
    }
}

/// Escaped HTML of a snippet, matches wrapped in `<em>`. A title without a
/// match is shown whole; a body without one shows its beginning.
fn highlight(snippet: &tantivy::snippet::Snippet, full: &str, whole: bool) -> String {
    if snippet.is_empty() {
        let shown: String = if whole { full.to_string() } else { full.chars().take(80).collect() };
        return escape_html(&shown);
    }
    let fragment = snippet.fragment();
    let mut out = String::new();
    let mut at = 0;
    for range in snippet.highlighted() {
        out.push_str(&escape_html(&fragment[at..range.start]));
        out.push_str("<em>");
        out.push_str(&escape_html(&fragment[range.clone()]));
        out.push_str("</em>");
        at = range.end;
    }
    out.push_str(&escape_html(&fragment[at..]));
    out
}
