//! Search over every site of the cluster, in Chinese.
//!
//! - [`tokenizer`]: jieba segmentation for tantivy, with full-width
//!   normalization and a government dictionary;
//! - [`index`]: the engine's storage — documents in, commits with the Raft
//!   position they reflect;
//! - [`query`]: scoped, filtered, faceted queries; reposted copies folded;
//! - `snippet`: titles and fragments with the query's words marked.
//!
//! It has no HTTP and no SQL: the web layer feeds it what the node applies.

mod gather;
pub mod index;
pub mod query;
mod snippet;
mod sparse_union;
mod stored;
pub mod tokenizer;

pub use gather::Facets;
pub use index::{SearchDoc, SearchError, SearchIndex};
pub use query::{Filters, Hit, MAX_OFFSET, MAX_QUERY_CHARS, Query, Results, Scope, Sort};
pub use tokenizer::build_jieba;

#[cfg(test)]
mod tests;
