//! "This word, in any of these fields", for a word that must match beside
//! others: a union of the word's per-field queries that is cheap to seek.
//!
//! tantivy unions its clauses in windows of 4,096 documents, scoring every
//! match in a window when it fills it. Walking a union from start to end,
//! that is the fastest way. But a word that must match beside a rarer one
//! is only asked "do you match document d?" at the rarer word's matches.
//! For a common word (工作 in "养老服务 工作", portal-wide at a million
//! documents) each such question filled a window, so nearly every posting
//! of the common word was read and scored to answer a few thousand
//! questions. This union moves each field's postings to the document
//! asked about (their skip lists make that cheap) and scores only there.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// Matches a document any of its clauses matches, scored as the sum of
/// those that do (as a `BooleanQuery` of `Should` clauses would).
#[derive(Debug)]
pub(crate) struct SparseUnionQuery(pub Vec<Box<dyn Query>>);

impl Clone for SparseUnionQuery {
    fn clone(&self) -> Self {
        SparseUnionQuery(self.0.iter().map(|q| q.box_clone()).collect())
    }
}

impl Query for SparseUnionQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses = self.0.iter().map(|q| q.weight(scoring)).collect::<tantivy::Result<_>>()?;
        Ok(Box::new(SparseUnionWeight(clauses)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for q in &self.0 {
            q.query_terms(visitor);
        }
    }
}

struct SparseUnionWeight(Vec<Box<dyn Weight>>);

impl Weight for SparseUnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut clauses = Vec::with_capacity(self.0.len());
        for weight in &self.0 {
            let scorer = weight.scorer(reader, boost)?;
            if scorer.doc() != TERMINATED {
                clauses.push(scorer);
            }
        }
        let mut union = SparseUnion { clauses, doc: TERMINATED };
        union.settle();
        Ok(Box::new(union))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document #{doc} does not match")));
        }
        Ok(Explanation::new("any of the word's fields (sum)", scorer.score()))
    }
}

struct SparseUnion {
    clauses: Vec<Box<dyn Scorer>>,
    doc: DocId,
}

impl SparseUnion {
    /// Positions the union on the first clause's document.
    fn settle(&mut self) -> DocId {
        self.doc = self.clauses.iter().map(|c| c.doc()).min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for SparseUnion {
    fn advance(&mut self) -> DocId {
        let current = self.doc;
        for clause in &mut self.clauses {
            if clause.doc() == current {
                clause.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for clause in &mut self.clauses {
            if clause.doc() < target {
                clause.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.clauses.iter().map(|c| c.size_hint()).fold(0u32, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.clauses.iter().map(|c| c.cost()).sum()
    }
}

impl Scorer for SparseUnion {
    fn score(&mut self) -> Score {
        let doc = self.doc;
        self.clauses.iter_mut().filter(|c| c.doc() == doc).map(|c| c.score()).sum()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// The same documents, with the same scores, as tantivy's own union of
    /// `Should` clauses: found by the rare word, the common one in the
    /// title, the body, both, or neither (then not a match).
    #[test]
    fn answers_as_a_union_of_should_clauses_does() {
        let mut builder = Schema::builder();
        let (title, body) = (builder.add_text_field("title", STRING), builder.add_text_field("body", STRING));
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..20_000u32 {
            let mut doc = TantivyDocument::new();
            // The rare word in one document in 97; the common one in the
            // title of every third, the body of every second.
            if i % 97 == 0 {
                doc.add_text(body, "养老服务");
            }
            if i % 3 == 0 {
                doc.add_text(title, "工作");
            }
            if i % 2 == 0 {
                doc.add_text(body, "工作");
            }
            doc.add_text(body, "正文");
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |field, text: &str| -> Box<dyn Query> { Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs)) };
        let common = || vec![term(title, "工作"), term(body, "工作")];
        let rare = || (Occur::Must, term(body, "养老服务"));
        let theirs = BooleanQuery::new(vec![rare(), (Occur::Must, Box::new(BooleanQuery::new(common().into_iter().map(|q| (Occur::Should, q)).collect())))]);
        let ours = BooleanQuery::new(vec![rare(), (Occur::Must, Box::new(SparseUnionQuery(common())))]);
        let top = TopDocs::with_limit(1_000).order_by_score();
        let (expected, got) = (searcher.search(&theirs, &top).unwrap(), searcher.search(&ours, &top).unwrap());
        // 0, 97·2, 97·3 …: of the 207 with the rare word, those whose
        // number is even or a multiple of three.
        let matching = (0..20_000u32).filter(|i| i % 97 == 0 && (i % 2 == 0 || i % 3 == 0)).count();
        assert_eq!(expected.len(), matching);
        assert_eq!(got.len(), matching, "a document with the common word in either field is found");
        let by_doc = |hits: &[(Score, tantivy::DocAddress)]| {
            let mut v: Vec<(u32, Score)> = hits.iter().map(|(s, a)| (a.doc_id, *s)).collect();
            v.sort_by_key(|(d, _)| *d);
            v
        };
        for ((d1, s1), (d2, s2)) in by_doc(&expected).into_iter().zip(by_doc(&got)) {
            assert_eq!(d1, d2);
            assert!((s1 - s2).abs() < 1e-4, "document {d1} scored {s2}, tantivy's union {s1}");
        }
    }
}
