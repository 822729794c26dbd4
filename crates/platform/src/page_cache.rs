//! Rendered public pages, kept in memory per tenant.
//!
//! Applying any command that touches a tenant drops that tenant's pages on
//! every node (see `Derived::applied`), so a cached page is never older than
//! the content this node has applied.
//!
//! The cache is bounded in bytes, not only in entries (invariant 14): one
//! site with a few huge articles, or a crawler walking every page of every
//! site, must not grow a node's memory. When a new page would pass the
//! budget, the site holding the most bytes gives up its oldest pages first,
//! so a site that fills the cache evicts itself before it evicts others.
//! Keys are canonical (see `zhanqun_model::urls::Page::cache_key`): a path spelled another way
//! never becomes a second entry.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;

/// A page ready to send: its body, its tag, and its compressed forms, each
/// made once — the first time a reader asks for it — and kept with the page.
pub struct CachedPage {
    pub body: Bytes,
    /// The entity tag, quoted, as the `ETag` header carries it.
    pub etag: String,
    pub content_type: &'static str,
    /// The body gzip-compressed, once asked for.
    pub gzip: OnceLock<Bytes>,
    /// The body brotli-compressed, once asked for.
    pub br: OnceLock<Bytes>,
}

impl CachedPage {
    pub fn new(body: Bytes, etag: String, content_type: &'static str) -> CachedPage {
        CachedPage { body, etag, content_type, gzip: OnceLock::new(), br: OnceLock::new() }
    }

    /// What the entry costs: the body, half as much again for its
    /// compressed forms (HTML compresses to well under a quarter, each), and
    /// a rough allowance for the key, headers and bookkeeping. Counted in
    /// full when the page is stored, so the budget holds however many
    /// forms are made later.
    fn cost(&self, key: &str) -> usize {
        self.body.len() + self.body.len() / 2 + key.len() + 256
    }
}

/// Pages per tenant above this are not cached, whatever their size.
const MAX_PAGES_PER_TENANT: usize = 20_000;

/// The default budget: enough for every page of a few hundred sites'
/// front pages and recent articles.
pub const DEFAULT_CACHE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Default)]
struct SitePages {
    pages: HashMap<String, Arc<CachedPage>>,
    /// Keys in the order they were cached: the oldest goes first.
    order: VecDeque<String>,
    bytes: usize,
}

#[derive(Default)]
struct Pages {
    sites: HashMap<i64, SitePages>,
    bytes: usize,
}

impl Pages {
    /// Drops the oldest page of the site holding the most bytes.
    fn evict_one(&mut self) -> bool {
        let Some((&tenant, _)) = self.sites.iter().filter(|(_, s)| !s.order.is_empty()).max_by_key(|(_, s)| s.bytes) else {
            return false;
        };
        let site = self.sites.get_mut(&tenant).expect("the site just found");
        if let Some(key) = site.order.pop_front()
            && let Some(page) = site.pages.remove(&key)
        {
            let cost = page.cost(&key);
            site.bytes -= cost;
            self.bytes -= cost;
        }
        true
    }
}

pub struct PageCache {
    inner: RwLock<Pages>,
    /// Bumped by every invalidation. A render that started before an
    /// invalidation may hold old content and must not be stored.
    epoch: AtomicU64,
    budget: usize,
}

impl Default for PageCache {
    fn default() -> Self {
        Self::with_budget(DEFAULT_CACHE_BYTES)
    }
}

impl PageCache {
    /// A cache that holds at most `budget` bytes of pages.
    pub fn with_budget(budget: usize) -> Self {
        PageCache { inner: RwLock::default(), epoch: AtomicU64::new(0), budget }
    }

    pub fn get(&self, tenant: i64, key: &str) -> Option<Arc<CachedPage>> {
        self.inner.read().expect("cache lock").sites.get(&tenant)?.pages.get(key).cloned()
    }

    /// Read this before rendering and pass it to [`PageCache::put`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn put(&self, tenant: i64, key: String, page: Arc<CachedPage>, epoch: u64) {
        let cost = page.cost(&key);
        // A page bigger than a sixteenth of the budget would push out many
        // others for one reader; it is rendered each time instead.
        if cost > self.budget / 16 {
            return;
        }
        let mut all = self.inner.write().expect("cache lock");
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        let site = all.sites.entry(tenant).or_default();
        if site.pages.contains_key(&key) || site.pages.len() >= MAX_PAGES_PER_TENANT {
            return;
        }
        site.order.push_back(key.clone());
        site.pages.insert(key, page);
        site.bytes += cost;
        all.bytes += cost;
        while all.bytes > self.budget && all.evict_one() {}
    }

    pub fn invalidate_tenant(&self, tenant: i64) {
        let mut all = self.inner.write().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(site) = all.sites.remove(&tenant) {
            all.bytes -= site.bytes;
        }
    }

    pub fn clear(&self) {
        let mut all = self.inner.write().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *all = Pages::default();
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("cache lock").sites.values().map(|s| s.pages.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held now (bodies plus allowances), never above the budget.
    pub fn bytes(&self) -> usize {
        self.inner.read().expect("cache lock").bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(size: usize) -> Arc<CachedPage> {
        Arc::new(CachedPage::new(Bytes::from(vec![b'x'; size]), "\"e\"".into(), "text/html"))
    }

    #[test]
    fn the_cache_never_holds_more_than_its_budget_and_the_biggest_site_pays() {
        let cache = PageCache::with_budget(1_000_000);
        // A quiet site caches a few small pages.
        for i in 0..5 {
            cache.put(1, format!("quiet/{i}"), page(1_000), cache.epoch());
        }
        // Another site pushes far more than the budget through the cache.
        for i in 0..500 {
            cache.put(2, format!("art/{i}"), page(40_000), cache.epoch());
            assert!(cache.bytes() <= 1_000_000, "over budget after page {i}: {}", cache.bytes());
        }
        for i in 0..5 {
            assert!(cache.get(1, &format!("quiet/{i}")).is_some(), "the quiet site's page {i} was evicted by another site's pages");
        }
        assert!(cache.get(2, "art/499").is_some(), "the newest page is kept");
        assert!(cache.get(2, "art/0").is_none(), "the oldest page went first");
    }

    #[test]
    fn a_page_too_big_for_the_budget_is_not_cached_and_invalidation_frees_bytes() {
        let cache = PageCache::with_budget(1_600_000);
        cache.put(1, "huge".into(), page(200_000), cache.epoch());
        assert!(cache.get(1, "huge").is_none());
        cache.put(1, "ok".into(), page(50_000), cache.epoch());
        assert!(cache.bytes() > 50_000);
        cache.invalidate_tenant(1);
        assert_eq!(cache.bytes(), 0);
        // A render that began before the invalidation is not stored.
        let before = cache.epoch();
        cache.invalidate_tenant(3);
        cache.put(1, "late".into(), page(10), before);
        assert!(cache.is_empty());
    }
}
