//! Search over HTTP: turning parameters into engine queries and engine
//! results into what pages and the JSON API show ([`request`]). Keeping the
//! index in step is `zhanqun_platform::indexer`'s.

pub mod request;
