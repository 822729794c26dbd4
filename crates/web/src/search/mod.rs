//! Search on this node: keeping the index in step with what the node applies
//! ([`indexer`]), and turning HTTP parameters into engine queries and engine
//! results into what pages and the JSON API show ([`request`]).

pub mod indexer;
pub mod request;

pub use indexer::{BoxResult, Change, SearchFeed, rebuild, run_indexer, search_doc};
