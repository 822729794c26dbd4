//! Rendered public pages, kept in memory per tenant.
//!
//! Applying any command that touches a tenant drops that tenant's pages on
//! every node (see `Derived::applied`), so a cached page is never older than
//! the content this node has applied.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::HeaderValue;
use bytes::Bytes;

/// A page ready to send.
pub struct CachedPage {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub content_type: &'static str,
}

/// Pages per tenant above this are not cached: a crawler walking every
/// pagination link cannot grow memory without bound.
const MAX_PAGES_PER_TENANT: usize = 20_000;

#[derive(Default)]
pub struct PageCache {
    tenants: RwLock<HashMap<i64, HashMap<String, Arc<CachedPage>>>>,
    /// Bumped by every invalidation. A render that started before an
    /// invalidation may hold old content and must not be stored.
    epoch: AtomicU64,
}

impl PageCache {
    pub fn get(&self, tenant: i64, key: &str) -> Option<Arc<CachedPage>> {
        self.tenants.read().expect("cache lock").get(&tenant)?.get(key).cloned()
    }

    /// Read this before rendering and pass it to [`PageCache::put`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn put(&self, tenant: i64, key: String, page: Arc<CachedPage>, epoch: u64) {
        let mut all = self.tenants.write().expect("cache lock");
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        let pages = all.entry(tenant).or_default();
        if pages.len() < MAX_PAGES_PER_TENANT {
            pages.insert(key, page);
        }
    }

    pub fn invalidate_tenant(&self, tenant: i64) {
        let mut all = self.tenants.write().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        all.remove(&tenant);
    }

    pub fn clear(&self) {
        let mut all = self.tenants.write().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        all.clear();
    }

    pub fn len(&self) -> usize {
        self.tenants.read().expect("cache lock").values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
