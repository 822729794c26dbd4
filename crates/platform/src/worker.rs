//! The one shape of a node's background jobs: started once, then a tick of
//! work after each wait (a period, or the job's own wake-up such as a
//! change to index), stopped between ticks at shutdown — a tick under way
//! is finished, never cut in half.
//!
//! The scheduler and the search indexer run this way today; pollers,
//! deadline and monitor jobs are meant to be more [`Worker`]s.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub trait Worker: Send + 'static {
    /// Names the job in logs.
    const NAME: &'static str;

    /// Brings the job up to date before its first tick.
    fn start(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Waits until there is work; `false` when there never will be again.
    fn wait(&mut self) -> impl Future<Output = bool> + Send;

    /// One round of work.
    fn tick(&mut self) -> impl Future<Output = ()> + Send;
}

/// The running workers of a node.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers { stop: watch::channel(false).0, tasks: JoinSet::new() }
    }
}

impl Workers {
    /// Starts `worker` on the runtime.
    pub fn spawn<W: Worker>(&mut self, mut worker: W) {
        let mut stop = self.stop.subscribe();
        self.tasks.spawn(async move {
            worker.start().await;
            loop {
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|stopped| *stopped) => break,
                    more = worker.wait() => if !more { break },
                }
                worker.tick().await;
            }
            tracing::debug!(worker = W::NAME, "stopped");
        });
    }

    /// Asks every worker to stop after its current tick, and waits for
    /// them at most `deadline`; one still busy then is abandoned (aborted)
    /// and named in the log.
    pub async fn shutdown(mut self, deadline: Duration) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!(still_running = self.tasks.len(), "background workers did not stop within {deadline:?}; abandoning them");
            self.tasks.abort_all();
        }
    }
}

/// The schedule of a job only the leader runs (probing home pages,
/// checking outside links): every `every` while this node leads; a node
/// that becomes leader runs it `first` after taking over (or sooner, when
/// `every` is shorter), and forgets its schedule when it stops leading.
pub struct LeaderEvery {
    every: std::time::Duration,
    first: std::time::Duration,
    next: Option<std::time::Instant>,
}

impl LeaderEvery {
    pub fn new(every: std::time::Duration, first: std::time::Duration) -> LeaderEvery {
        LeaderEvery { every, first: first.min(every), next: None }
    }

    /// Whether the job is due now on `node`; when it is, the next run is
    /// set `every` from now.
    pub fn due(&mut self, node: &zhanqun_cluster::Node) -> bool {
        if node.leader().map(|(id, _)| id) != Some(node.id) {
            self.next = None;
            return false;
        }
        let now = std::time::Instant::now();
        if now < *self.next.get_or_insert(now + self.first) {
            return false;
        }
        self.next = Some(now + self.every);
        true
    }

    /// The run found nothing to do (no site online yet): try again soon.
    pub fn soon(&mut self) {
        self.next = Some(std::time::Instant::now() + self.first);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Counts its ticks; each tick takes a while, to show shutdown lets it end.
    struct Counter {
        ticks: Arc<AtomicU32>,
        finished: Arc<AtomicU32>,
    }

    impl Worker for Counter {
        const NAME: &'static str = "counter";
        async fn wait(&mut self) -> bool {
            tokio::time::sleep(Duration::from_millis(5)).await;
            true
        }
        async fn tick(&mut self) {
            self.ticks.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_worker_ticks_until_shutdown_and_finishes_the_tick_under_way() {
        let (ticks, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let mut workers = Workers::default();
        workers.spawn(Counter { ticks: ticks.clone(), finished: finished.clone() });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while ticks.load(Ordering::SeqCst) < 2 {
            assert!(tokio::time::Instant::now() < deadline, "the worker did not tick twice within 20 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        workers.shutdown(Duration::from_secs(20)).await;
        let at_stop = ticks.load(Ordering::SeqCst);
        assert_eq!(finished.load(Ordering::SeqCst), at_stop, "a tick was cut in half");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), at_stop, "the worker ticked after shutdown");
    }
}
