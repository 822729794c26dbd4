//! The stored fields of the documents a search shows, kept after their
//! first read.
//!
//! Reading a hit from tantivy's document store decompresses its block and
//! checks every byte of its body as UTF-8 while decoding it into a
//! `String`: for a page of ten hits of 9 KB bodies that was a quarter of
//! the search page's time, paid again each time the same document was shown.
//! Segments never change once written, so a document's stored fields are
//! keyed by its segment and number and never go stale; a document changed
//! since is another number in another segment, and a merged-away segment's
//! entries just age out.

use std::sync::{Arc, Mutex};

use lru::LruCache;
use tantivy::index::SegmentId;
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, DocId, TantivyDocument};

use crate::index::Fields;

/// What a hit shows of its document.
#[derive(Debug)]
pub(crate) struct Stored {
    pub id: i64,
    pub tenant_id: i64,
    pub title: String,
    pub body: String,
    pub doc_no: Option<String>,
    pub organ: String,
    pub validity: String,
}

impl Stored {
    fn read(doc: &TantivyDocument, f: &Fields) -> Stored {
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_string);
        Stored {
            id: doc.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or(0),
            tenant_id: doc.get_first(f.tenant).and_then(|v| v.as_i64()).unwrap_or(0),
            title: text(f.title).unwrap_or_default(),
            body: text(f.body).unwrap_or_default(),
            doc_no: text(f.doc_no),
            organ: text(f.organ).unwrap_or_default(),
            validity: text(f.validity).unwrap_or_default(),
        }
    }

    fn bytes(&self) -> usize {
        self.title.len() + self.body.len() + self.doc_no.as_ref().map_or(0, String::len) + self.organ.len() + self.validity.len() + 64
    }
}

/// Recently shown documents, least recently shown dropped first once
/// their text passes a budget ([`StoredCache::BUDGET_BYTES`]).
pub(crate) struct StoredCache {
    kept: Mutex<Kept>,
    budget: usize,
}

struct Kept {
    by_address: LruCache<(SegmentId, DocId), Arc<Stored>>,
    bytes: usize,
}

impl StoredCache {
    /// About 3,500 documents of a long notice's size (9 KB of text).
    pub const BUDGET_BYTES: usize = 32 << 20;
    /// A document this large is read each time rather than pushing out
    /// hundreds of others.
    const LARGEST_KEPT: usize = 256 << 10;

    pub fn new() -> StoredCache {
        Self::with_budget(Self::BUDGET_BYTES)
    }

    pub fn with_budget(budget: usize) -> StoredCache {
        StoredCache { kept: Mutex::new(Kept { by_address: LruCache::unbounded(), bytes: 0 }), budget }
    }

    /// The stored fields of the document at `address`.
    pub fn get(&self, searcher: &tantivy::Searcher, fields: &Fields, address: DocAddress) -> tantivy::Result<Arc<Stored>> {
        let key = (searcher.segment_reader(address.segment_ord).segment_id(), address.doc_id);
        if let Some(stored) = self.kept().by_address.get(&key) {
            return Ok(stored.clone());
        }
        let stored = Arc::new(Stored::read(&searcher.doc(address)?, fields));
        let size = stored.bytes();
        if size <= Self::LARGEST_KEPT {
            let mut kept = self.kept();
            if kept.by_address.put(key, stored.clone()).is_none() {
                kept.bytes += size;
            }
            while kept.bytes > self.budget {
                let Some((_, dropped)) = kept.by_address.pop_lru() else { break };
                kept.bytes -= dropped.bytes();
            }
        }
        Ok(stored)
    }

    /// Documents kept and the bytes of their text.
    #[cfg(test)]
    pub fn held(&self) -> (usize, usize) {
        let kept = self.kept();
        (kept.by_address.len(), kept.bytes)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves a consistent cache: every
        // change to it is one call that either happened or did not.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
