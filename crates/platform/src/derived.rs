//! What each node derives from its content store and keeps in step with
//! what it applies: rendered pages, the host → site directory, the search
//! index's feed and the failed-login counts. The cluster calls
//! [`ApplyObserver`] after every apply; nothing here is replicated.

use zhanqun_cluster::ApplyObserver;
use zhanqun_store::Touched;

use crate::directory::Directory;
use crate::indexer::{Change, SearchFeed};
use crate::login_guard::LoginGuard;
use crate::page_cache::PageCache;

/// The node-local state derived from the content store: rendered pages and
/// the host → tenant directory. Both follow what this node applies.
#[derive(Default)]
pub struct Derived {
    pub cache: PageCache,
    pub directory: Directory,
    /// The password policy, read on every authenticated request.
    pub password_policy: crate::reloading::Reloading<zhanqun_model::PasswordPolicy>,
    pub search: SearchFeed,
    /// Failed logins on this node (see `login_guard`); an applied unlock
    /// clears an account here.
    pub login_guard: LoginGuard,
    /// The latest round of this node's compliance monitors.
    pub compliance: std::sync::Arc<crate::compliance::Board>,
    /// Documents this node's tamper checker found altered.
    pub tampered: crate::integrity::Tampered,
    /// The sites' HTTPS certificates, as the TLS listener serves them.
    pub certificates: crate::reloading::Reloading<crate::tls::TlsSites>,
}

impl Derived {
    /// Derived state whose page cache holds at most `bytes` of pages.
    pub fn with_page_cache(bytes: usize) -> Derived {
        Derived { cache: PageCache::with_budget(bytes), ..Derived::default() }
    }
}

impl ApplyObserver for Derived {
    fn applied(&self, touched: &Touched) {
        // What decides how a request is routed or answered is marked stale
        // before the pages are invalidated: a request that sees the page
        // cache's new epoch then also sees the new hosts and certificates.
        if touched.directory {
            self.directory.mark_stale();
        }
        if touched.settings {
            self.password_policy.mark_stale();
        }
        if touched.certificates {
            self.certificates.mark_stale();
        }
        for t in &touched.tenants {
            self.cache.invalidate_tenant(*t);
        }
        if !touched.documents.is_empty() {
            self.search.send(Change::Documents(touched.documents.iter().copied().collect()));
        }
        for account in &touched.unlocked {
            self.login_guard.unlock(account);
        }
    }

    fn reset(&self) {
        self.cache.clear();
        self.directory.mark_stale();
        self.password_policy.mark_stale();
        self.certificates.mark_stale();
        self.search.send(Change::Reset);
    }
}
