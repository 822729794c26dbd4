//! The host → tenant directory, held in memory on every node.
//!
//! Resolving a tenant happens on every public request, so it must not touch
//! SQLite: the directory is [`Reloading`], read again after a tenant command
//! applies.

use std::collections::HashMap;
use std::sync::Arc;

use zhanqun_model::Tenant;
use zhanqun_store::Store;

use crate::reloading::Reloading;

#[derive(Default)]
pub struct Directory {
    sites: Reloading<Sites>,
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
        self.sites.mark_stale();
    }

    /// The current view, reloading it first if a tenant changed.
    pub async fn current(&self, store: &Store) -> zhanqun_store::Result<Arc<Sites>> {
        self.sites.current(|| async { Ok(Sites::new(store.tenants().await?)) }).await
    }
}
