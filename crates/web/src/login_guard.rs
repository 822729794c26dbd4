//! 登录失败处理: an account whose password was given wrong too many times
//! in a row is locked for a while, the right password included.
//!
//! 等级保护 2.0 asks for it (身份鉴别: 限制非法登录次数), and it is what
//! makes the password policy mean something against a guessing script.
//! The limits are part of the password policy the 安全管理员 sets.
//!
//! The count is kept by each node, in memory, not replicated. Putting every
//! failed attempt through Raft would let anyone with a script grow every
//! node's log; the price is that a script spreading its guesses over N
//! nodes gets N times the attempts before every node has locked the
//! account, and a restart forgets the count. Names that do not exist are
//! counted like real ones, so a lock says nothing about which accounts
//! exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::{IntCounter, Registry};
use zhanqun_model::PasswordPolicy;

/// Accounts tracked at most; beyond this, entries whose failures have
/// expired are dropped first, then the oldest unlocked ones.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Wrong passwords in a row, the last one at `last`.
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

pub struct LoginGuard {
    accounts: Mutex<HashMap<String, Failures>>,
    lockouts: IntCounter,
}

impl LoginGuard {
    pub fn new(registry: &Registry) -> Self {
        let lockouts = IntCounter::new("zhanqun_login_lockouts_total", "Accounts locked on this node after too many failed logins").expect("valid metric");
        registry.register(Box::new(lockouts.clone())).expect("metric registered once");
        LoginGuard { accounts: Mutex::new(HashMap::new()), lockouts }
    }

    /// `Err(time left)` while `username` is locked.
    pub fn check(&self, username: &str, now: Instant) -> Result<(), Duration> {
        let accounts = self.accounts.lock().expect("login guard poisoned");
        match accounts.get(&key(username)).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password; returns the lock's length if this one
    /// locked the account.
    pub fn failed(&self, username: &str, policy: &PasswordPolicy, now: Instant) -> Option<Duration> {
        let window = policy.lockout();
        let mut accounts = self.accounts.lock().expect("login guard poisoned");
        if accounts.len() >= MAX_TRACKED {
            make_room(&mut accounts, window, now);
        }
        let f = accounts.entry(key(username)).or_insert(Failures { count: 0, last: now, locked_until: None });
        // Failures further apart than the lock's length do not add up; nor
        // do those before a lock that has run out.
        if now.duration_since(f.last) > window || f.locked_until.is_some_and(|until| until <= now) {
            *f = Failures { count: 0, last: now, locked_until: None };
        }
        f.count += 1;
        f.last = now;
        if f.count >= policy.max_failed_logins {
            f.locked_until = Some(now + window);
            f.count = 0;
            self.lockouts.inc();
            return Some(window);
        }
        None
    }

    /// A right password ends the run of failures.
    pub fn succeeded(&self, username: &str) {
        self.accounts.lock().expect("login guard poisoned").remove(&key(username));
    }
}

/// Usernames are matched as the store matches them: case and surrounding
/// blanks aside. Long names are cut so a caller cannot make keys huge.
fn key(username: &str) -> String {
    username.trim().chars().take(64).flat_map(char::to_lowercase).collect()
}

fn make_room(accounts: &mut HashMap<String, Failures>, window: Duration, now: Instant) {
    accounts.retain(|_, f| f.locked_until.is_some_and(|until| until > now) || now.duration_since(f.last) <= window);
    if accounts.len() >= MAX_TRACKED {
        let mut unlocked: Vec<(Instant, String)> = accounts.iter().filter(|(_, f)| f.locked_until.is_none()).map(|(k, f)| (f.last, k.clone())).collect();
        unlocked.sort();
        for (_, k) in unlocked.into_iter().take(MAX_TRACKED / 10) {
            accounts.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> LoginGuard {
        LoginGuard::new(&Registry::new())
    }

    fn policy(max: u32, minutes: u32) -> PasswordPolicy {
        PasswordPolicy { max_failed_logins: max, lockout_minutes: minutes, ..PasswordPolicy::default() }
    }

    #[test]
    fn the_nth_wrong_password_in_a_row_locks_the_account_for_the_policy_time() {
        let (g, p, t0) = (guard(), policy(3, 15), Instant::now());
        assert_eq!(g.failed("zhang", &p, t0), None);
        assert_eq!(g.failed("zhang", &p, t0 + Duration::from_secs(1)), None);
        assert!(g.check("zhang", t0 + Duration::from_secs(2)).is_ok(), "two failures of three: not locked yet");
        assert_eq!(g.failed("zhang", &p, t0 + Duration::from_secs(2)), Some(Duration::from_secs(15 * 60)));
        let left = g.check("ZHANG ", t0 + Duration::from_secs(62)).unwrap_err();
        assert_eq!(left, Duration::from_secs(14 * 60), "locked whatever the spelling, for what is left of 15 minutes");
        assert!(g.check("li", t0 + Duration::from_secs(62)).is_ok(), "other accounts are not affected");
        assert!(g.check("zhang", t0 + Duration::from_secs(2 + 15 * 60)).is_ok(), "the lock runs out");
        assert_eq!(g.lockouts.get(), 1);
    }

    #[test]
    fn a_right_password_or_a_long_pause_starts_the_count_again() {
        let (g, p, t0) = (guard(), policy(3, 15), Instant::now());
        g.failed("wang", &p, t0);
        g.failed("wang", &p, t0);
        g.succeeded("wang");
        assert_eq!(g.failed("wang", &p, t0), None, "the success wiped the two failures");
        g.failed("wang", &p, t0);
        let later = t0 + Duration::from_secs(16 * 60);
        assert_eq!(g.failed("wang", &p, later), None, "failures 16 minutes apart do not add up");
        assert!(g.check("wang", later).is_ok());
    }

    #[test]
    fn after_a_lock_runs_out_a_full_run_of_failures_is_needed_again() {
        let (g, p, t0) = (guard(), policy(2, 1), Instant::now());
        g.failed("zhao", &p, t0);
        assert!(g.failed("zhao", &p, t0).is_some());
        let after = t0 + Duration::from_secs(61);
        assert!(g.check("zhao", after).is_ok());
        assert_eq!(g.failed("zhao", &p, after), None, "one failure after the lock is one, not a new lock");
        assert!(g.failed("zhao", &p, after).is_some());
    }
}
