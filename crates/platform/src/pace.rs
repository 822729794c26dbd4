//! Background work that gives way to visitors: a watcher that would keep
//! a core busy for seconds (a monitor round over 300 sites, a re-scan of
//! 2,000 pages) rests as long as it worked, every few milliseconds of work,
//! so that on a small machine it takes at most about half a core and pages
//! keep their speed while it runs. It finishes later, which a round every
//! few minutes can afford.

use std::time::{Duration, Instant};

/// Work between two rests.
const STRETCH: Duration = Duration::from_millis(20);

pub struct Pace {
    since: Instant,
}

impl Default for Pace {
    fn default() -> Self {
        Pace { since: Instant::now() }
    }
}

impl Pace {
    /// Call between pieces of work: after [`STRETCH`] of work, rests as
    /// long as that took.
    pub async fn breathe(&mut self) {
        let worked = self.since.elapsed();
        if worked >= STRETCH {
            tokio::time::sleep(worked).await;
            self.since = Instant::now();
        }
    }
}
