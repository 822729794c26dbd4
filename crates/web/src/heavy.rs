//! Where CPU-heavy work on user input runs: never on the async workers.
//!
//! Sanitizing a pasted body, diffing two revisions, hashing an upload or a
//! password can each take from milliseconds to a second. On the async
//! workers that time is stolen from every other request of every site on
//! the node (two hostile drafts once made `/healthz` time out for 47 s).
//! Each kind of work gets a [`Pool`]: a few permits, each running one job on
//! tokio's blocking threads. With one permit per two cores, heavy work can
//! take at most half the machine however many editors send it at once;
//! what does not get a permit within [`QUEUE_WAIT`] is refused with 503 and
//! `Retry-After`, so a queue cannot grow without bound either.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Input up to this size is worked on in place, on the async worker: its
/// work takes microseconds, less than handing it to a blocking thread and
/// waking back up (a short notice sanitized, a typical edit).
pub const IN_PLACE_BYTES: usize = 4096;

/// How long a job waits for a permit before the request is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(20);

/// A bounded set of permits for one kind of heavy work.
pub struct Pool {
    what: &'static str,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// A pool of `permits` jobs at once, for `what` (named in refusals).
    pub fn new(what: &'static str, permits: usize) -> Pool {
        Pool { what, permits: Arc::new(Semaphore::new(permits.max(1))) }
    }

    /// One permit per two cores (at least one): the other half of the
    /// machine stays with the async workers that serve pages.
    pub fn half_the_cores(what: &'static str) -> Pool {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Pool::new(what, cores / 2)
    }

    /// Runs `job` on a blocking thread once a permit is free. The permit is
    /// held until the job ends, even if the request that asked for it has
    /// gone: a job cannot be stopped half-way, so it still counts.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let permit = match tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(ApiError::Unavailable(format!("the node is busy with other {}; retry in a moment", self.what)));
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn no_more_jobs_run_at_once_than_the_pool_has_permits() {
        let pool = Arc::new(Pool::new("tests", 2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
