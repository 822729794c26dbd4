//! Search over every site of the cluster, in Chinese.
//!
//! - [`tokenizer`]: jieba segmentation for tantivy, with full-width
//!   normalization and a government dictionary;
//! - [`index`]: the engine — documents in, scoped and ranked results out.
//!   It has no HTTP and no SQL: the web layer feeds it what the node applies.

pub mod index;
pub mod tokenizer;

pub use index::{Hit, MAX_QUERY_CHARS, Query, Results, SearchDoc, SearchError, SearchIndex};
pub use tokenizer::build_jieba;

#[cfg(test)]
mod tests;
