//! Asking the index: a [`Query`] in, a page of [`Results`] with facet counts out.
//!
//! Every match goes through one collector (`gather.rs`) that keeps its score,
//! date and repost key and counts the facets, so de-duplication, both sort
//! orders, facets and pagination come from a single pass over the matches.

use std::ops::Bound;

use crate::sparse_union::SparseUnionQuery;
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query as TantivyQuery, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TokenStream;

use crate::gather::{Facets, Gather};
use crate::index::{SearchError, SearchIndex};
use crate::snippet::Highlighter;
use crate::tokenizer::parts_of;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Deepest result a query may page to: past this, refine the query.
pub const MAX_OFFSET: usize = 10_000;

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// The sites searched; the web layer decides which a caller may search.
    pub scope: Scope,
    pub public_only: bool,
    pub filters: Filters,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
}

/// Which sites a search covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every site in the index.
    #[default]
    Everywhere,
    /// These sites only; none when the list is empty (a caller with no site
    /// finds nothing, never everything).
    Sites(Vec<i64>),
}

/// Narrowing a search; every filter set must hold.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Published at or after (ms).
    pub from: Option<i64>,
    /// Published before (ms).
    pub until: Option<i64>,
    pub year: Option<i64>,
    /// A 文号 or a part of one, in any bracket style.
    pub doc_no: Option<String>,
    /// 主题分类, exactly.
    pub topic: Option<String>,
    /// 发布机构, exactly.
    pub organ: Option<String>,
    /// Column kind (`list`, `disclosure` …).
    pub channel_kind: Option<String>,
    /// 有效性, exactly (有效, 失效, 废止, 修订).
    pub validity: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Relevance,
    /// Newest first.
    Date,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: i64,
    pub tenant_id: i64,
    pub score: f32,
    pub published_at: i64,
    pub doc_no: Option<String>,
    pub issuing_organ: String,
    pub validity: String,
    /// Escaped HTML with matches in `<em>`.
    pub title_html: String,
    pub snippet_html: String,
    /// Other copies (reposts) of this document that matched and are not shown.
    pub copies: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Distinct documents matched (copies of one source count once).
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

impl SearchIndex {
    fn query_terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.query_analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
    }

    fn term(&self, field: Field, text: &str) -> Box<dyn TantivyQuery> {
        Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
    }

    /// The scored part: every term must match somewhere (title, 文号, body or
    /// 发布机构); title matches weigh 4×, 文号 matches 6×, and a query that is
    /// a whole 文号 (its terms as a phrase) 20× — so the document a 文号 names
    /// comes first, and title matches rank above body matches.
    fn text_query(&self, terms: &[String]) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let f = &self.fields;
        let boost = |q: Box<dyn TantivyQuery>, by: f32| -> Box<dyn TantivyQuery> { Box::new(BoostQuery::new(q, by)) };
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for t in terms {
            let mut any_field: Vec<(Occur, Box<dyn TantivyQuery>)> = vec![
                (Occur::Should, boost(self.term(f.title, t), 4.0)),
                (Occur::Should, boost(self.term(f.doc_no, t), 6.0)),
                (Occur::Should, self.term(f.body, t)),
                (Occur::Should, self.term(f.organ, t)),
            ];
            let parts = parts_of(&self.jieba, t);
            if !parts.is_empty() {
                let spelled =
                    |field: Field| -> Box<dyn TantivyQuery> { Box::new(PhraseQuery::new(parts.iter().map(|p| Term::from_field_text(field, p)).collect())) };
                any_field.push((Occur::Should, boost(spelled(f.title), 4.0)));
                any_field.push((Occur::Should, spelled(f.body)));
            }
            // Beside another word, a word is asked about the other's
            // matches one by one: seek each field there (`sparse_union`).
            // Alone, it is walked from start to end, which tantivy's own
            // union does faster.
            let any_field: Box<dyn TantivyQuery> = if terms.len() > 1 {
                Box::new(SparseUnionQuery(any_field.into_iter().map(|(_, q)| q).collect()))
            } else {
                Box::new(BooleanQuery::new(any_field))
            };
            clauses.push((Occur::Must, any_field));
        }
        // No such phrase over the title: it checked the positions of every
        // match of a common pair (养老服务 工作 across 300 sites), a seventh
        // of the slowest queries at a million documents, and changed no
        // judged answer of the search bench.
        if terms.len() > 1 {
            let words = terms.iter().map(|t| Term::from_field_text(f.doc_no, t)).collect();
            clauses.push((Occur::Should, boost(Box::new(PhraseQuery::new(words)), 20.0)));
        }
        clauses
    }

    /// The unscored part: scope and filters.
    fn filter_clauses(&self, q: &Query) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let f = &self.fields;
        let exact = |t: Term| -> Box<dyn TantivyQuery> { Box::new(TermQuery::new(t, IndexRecordOption::Basic)) };
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        if q.public_only {
            // Excluding the few documents that are not public, rather than
            // requiring the many that are: a portal-wide query then skips a
            // posting list as long as the index.
            clauses.push((Occur::MustNot, exact(Term::from_field_u64(f.public, 0))));
        }
        if let Scope::Sites(sites) = &q.scope {
            let scope = sites.iter().map(|t| (Occur::Should, exact(Term::from_field_i64(f.tenant, *t)))).collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(scope))));
        }
        let fl = &q.filters;
        if fl.from.is_some() || fl.until.is_some() {
            let lower = fl.from.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(f.published_at, v)));
            let upper = fl.until.map_or(Bound::Unbounded, |v| Bound::Excluded(Term::from_field_i64(f.published_at, v)));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        if let Some(y) = fl.year {
            clauses.push((Occur::Must, exact(Term::from_field_i64(f.year, y))));
        }
        for (field, value) in [(f.topic, &fl.topic), (f.organ_exact, &fl.organ), (f.kind, &fl.channel_kind), (f.validity, &fl.validity)] {
            if let Some(v) = value {
                clauses.push((Occur::Must, exact(Term::from_field_text(field, v))));
            }
        }
        if let Some(no) = fl.doc_no.as_deref() {
            // A 文号 filter matches the 文号 field as a phrase of its terms, so
            // `海政办发[2017]37号`, `〔2017〕37号` and `37号` all narrow to it.
            let terms: Vec<Term> = self.query_terms(no).iter().map(|t| Term::from_field_text(f.doc_no, t)).collect();
            match terms.len() {
                0 => {}
                1 => clauses.push((Occur::Must, Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::Basic)))),
                _ => clauses.push((Occur::Must, Box::new(PhraseQuery::new(terms)))),
            }
        }
        clauses
    }

    /// What highlights the query's words in one field: each word weighs
    /// more the fewer of the field's documents hold it.
    fn highlighter(&self, searcher: &tantivy::Searcher, terms: &[String], field: Field) -> Result<Highlighter, SearchError> {
        let mut weighted = Vec::with_capacity(terms.len());
        for t in terms {
            let docs = searcher.doc_freq(&Term::from_field_text(field, t))?;
            weighted.push((t.clone(), 1.0 / (1.0 + docs as f32)));
        }
        Ok(Highlighter::new(weighted))
    }

    /// Runs a query. Text with no searchable word and no filter answers
    /// nothing; filters alone list what they select, newest first.
    pub fn search(&self, q: &Query) -> Result<Results, SearchError> {
        let text: String = q.text.chars().filter(|c| !c.is_control()).collect();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::BadQuery(format!("the query is longer than {MAX_QUERY_CHARS} characters; shorten it or use the filters")));
        }
        if q.offset > MAX_OFFSET {
            return Err(SearchError::BadQuery(format!("results deeper than {MAX_OFFSET} are not served; narrow the query with filters")));
        }
        if q.scope == Scope::Sites(Vec::new()) {
            return Ok(Results::default());
        }
        let terms = self.query_terms(&text);
        let filters = self.filter_clauses(q);
        let has_filter = filters.len() > usize::from(q.public_only) + usize::from(matches!(q.scope, Scope::Sites(_)));
        if terms.is_empty() && !has_filter {
            return Ok(Results::default());
        }
        let sort = if terms.is_empty() { Sort::Date } else { q.sort };
        let mut clauses = self.text_query(&terms);
        if clauses.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        clauses.extend(filters);
        let query = BooleanQuery::new(clauses);

        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 100);
        let gathered = searcher.search(&query, &Gather { by_date: sort == Sort::Date, keep: q.offset + limit })?;
        let page = gathered.page(q.offset, limit);

        let f = &self.fields;
        // A title is shown whole: its words need no weights.
        let titles = Highlighter::new(terms.iter().map(|t| (t.clone(), 1.0)).collect());
        let bodies = self.highlighter(&searcher, &terms, f.body)?;
        let mut hits = Vec::with_capacity(page.len());
        for m in page {
            let doc = self.stored.get(&searcher, f, m.address)?;
            hits.push(Hit {
                id: doc.id,
                tenant_id: doc.tenant_id,
                score: m.score,
                published_at: m.published_at,
                doc_no: doc.doc_no.clone(),
                issuing_organ: doc.organ.clone(),
                validity: doc.validity.clone(),
                title_html: titles.title(&doc.title),
                snippet_html: bodies.fragment(&doc.body, SNIPPET_BYTES),
                copies: m.copies,
            });
        }
        Ok(Results { total: gathered.distinct(), hits, facets: gathered.facets })
    }
}

/// The longest snippet of a body, in bytes of text (about 53 Chinese
/// characters).
const SNIPPET_BYTES: usize = 160;
