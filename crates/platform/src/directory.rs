//! The host → tenant directory, held in memory on every node.
//!
//! Resolving a tenant happens on every public request, so it must not touch
//! SQLite. The directory is reloaded lazily: applying a tenant command only
//! bumps a version number, and the next request that sees the bump reloads.
//! A write's response is sent after its apply, so the writer's next request
//! always sees the change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use zhanqun_model::Tenant;
use zhanqun_store::Store;

#[derive(Default)]
pub struct Directory {
    version: AtomicU64,
    loaded: RwLock<Option<(u64, Arc<Sites>)>>,
    reload: tokio::sync::Mutex<()>,
}

/// One consistent view of all tenants.
#[derive(Default)]
pub struct Sites {
    tenants: Vec<Tenant>,
    by_code: HashMap<String, usize>,
    by_host: HashMap<String, usize>,
}

impl Sites {
    fn new(tenants: Vec<Tenant>) -> Sites {
        let by_code = tenants.iter().enumerate().map(|(i, t)| (t.code.clone(), i)).collect();
        let by_host = tenants.iter().enumerate().flat_map(|(i, t)| t.hosts.iter().map(move |h| (h.clone(), i))).collect();
        Sites { tenants, by_code, by_host }
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter()
    }

    pub fn by_code(&self, code: &str) -> Option<&Tenant> {
        self.by_code.get(code).map(|i| &self.tenants[*i])
    }

    pub fn by_host(&self, host: &str) -> Option<&Tenant> {
        self.by_host.get(host).map(|i| &self.tenants[*i])
    }

    pub fn by_id(&self, id: i64) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// A child site mounted under `parent`'s host at `/<code>/`.
    pub fn mounted_child(&self, parent: i64, code: &str) -> Option<&Tenant> {
        self.by_code(code).filter(|t| t.parent_id == Some(parent) && t.mount_under_parent)
    }

    pub fn children(&self, parent: i64) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter().filter(move |t| t.parent_id == Some(parent))
    }
}

impl Directory {
    pub fn mark_stale(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    fn loaded_at(&self, version: u64) -> Option<Arc<Sites>> {
        self.loaded.read().expect("directory lock").as_ref().filter(|(v, _)| *v == version).map(|(_, sites)| sites.clone())
    }

    /// The current view, reloading it first if a tenant changed.
    pub async fn current(&self, store: &Store) -> zhanqun_store::Result<Arc<Sites>> {
        let want = self.version.load(Ordering::SeqCst);
        if let Some(sites) = self.loaded_at(want) {
            return Ok(sites);
        }
        let _one_reload_at_a_time = self.reload.lock().await;
        let want = self.version.load(Ordering::SeqCst);
        if let Some(sites) = self.loaded_at(want) {
            return Ok(sites);
        }
        let sites = Arc::new(Sites::new(store.tenants().await?));
        *self.loaded.write().expect("directory lock") = Some((want, sites.clone()));
        Ok(sites)
    }
}
