//! A value read from the store and held in memory until an applied command
//! changes what it was read from: applying only bumps a version number, and
//! the next reader that sees the bump reloads (one reload at a time). A
//! write's response is sent after its apply, so the writer's next request
//! always sees the change. The directory of sites and the password policy
//! are read on every request this way, without touching SQLite.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub struct Reloading<T> {
    version: AtomicU64,
    loaded: RwLock<Option<(u64, Arc<T>)>>,
    reload: tokio::sync::Mutex<()>,
}

impl<T> Default for Reloading<T> {
    fn default() -> Self {
        Reloading { version: AtomicU64::new(0), loaded: RwLock::new(None), reload: tokio::sync::Mutex::new(()) }
    }
}

impl<T> Reloading<T> {
    pub fn mark_stale(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    fn loaded_at(&self, version: u64) -> Option<Arc<T>> {
        self.loaded.read().expect("reloading lock").as_ref().filter(|(v, _)| *v == version).map(|(_, value)| value.clone())
    }

    /// The current value, calling `load` first if it was marked stale since.
    pub async fn current<E, F: Future<Output = Result<T, E>>>(&self, load: impl FnOnce() -> F) -> Result<Arc<T>, E> {
        let want = self.version.load(Ordering::SeqCst);
        if let Some(value) = self.loaded_at(want) {
            return Ok(value);
        }
        let _one_reload_at_a_time = self.reload.lock().await;
        let want = self.version.load(Ordering::SeqCst);
        if let Some(value) = self.loaded_at(want) {
            return Ok(value);
        }
        let value = Arc::new(load().await?);
        *self.loaded.write().expect("reloading lock") = Some((want, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_is_loaded_once_and_again_after_it_is_marked_stale() {
        let cell: Reloading<u32> = Reloading::default();
        let loads = std::sync::atomic::AtomicU32::new(0);
        let load = || async { Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst) + 10) };
        assert_eq!(*cell.current(load).await.unwrap(), 10);
        assert_eq!(*cell.current(load).await.unwrap(), 10, "held, not reloaded");
        cell.mark_stale();
        assert_eq!(*cell.current(load).await.unwrap(), 11);
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }
}
