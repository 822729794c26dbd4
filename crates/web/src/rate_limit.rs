//! Per-client limits on what the public can make expensive (等级保护 asks
//! for them on search and on public forms): a token bucket per client
//! address, refilled at `per_second`, holding at most `burst`. A client
//! over it gets 429 with `Retry-After`; everyone else is unaffected.
//!
//! The buckets are per node and in memory: a client spreading its requests
//! over N nodes gets N times the rate, and a restart forgets them — enough
//! to keep one scraper from starving a node's search pool.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many clients tracked, the full (idle) buckets are dropped.
const TRACKED: usize = 50_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32) -> RateLimiter {
        let per_second = f64::from(per_second);
        RateLimiter { per_second, burst: (per_second * 4.0).max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request of `client` at `now`, or answers how long until it may.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().expect("rate limit lock");
        if buckets.len() >= TRACKED {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(client).or_insert(Bucket { tokens: self.burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second).max(Duration::from_secs(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_the_rate_and_others_are_not_touched() {
        let limit = RateLimiter::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..8 {
            assert!(limit.take(a, t0).is_ok());
        }
        let wait = limit.take(a, t0).unwrap_err();
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        assert!(limit.take(b, t0).is_ok(), "another client has its own bucket");
        assert!(limit.take(a, t0 + Duration::from_millis(500)).is_ok(), "half a second at 2/s gives one back");
        assert!(limit.take(a, t0 + Duration::from_millis(500)).is_err());
        assert!(RateLimiter::new(0).take(a, t0).is_ok(), "0 is off");
    }
}
