//! 登录失败处理: wrong passwords slow the next try down, and too many in a
//! row from one address lock that address out of that account for a while.
//!
//! 等级保护 2.0 asks for it (身份鉴别: 限制非法登录次数), and it is what
//! makes the password policy mean something against a guessing script. The
//! limits are part of the password policy the 安全管理员 sets.
//!
//! The lock is per account *and* source address. Locking the account as a
//! whole would hand its owner's availability to anyone who knows the name:
//! five wrong passwords for `admin` from anywhere, every fifteen minutes,
//! and the real 系统管理员 could never log in. Locked per source, the script
//! locks itself out while the owner, from their own desk, logs in. A
//! script that spreads its guesses over many addresses meets the slowdown
//! on every failure instead: each wrong password in a row from one source
//! waits longer before it is answered (1 s, 2 s, 4 s …), and once an
//! account collects many failures from all sources together, every further
//! failure for it waits too. Behind a reverse proxy the source is the
//! client's address only when the proxy is trusted (`--trusted-proxy`);
//! otherwise every client shares the proxy's address, and its lock.
//!
//! The 安全管理员 lifts a lock (`POST /api/v1/users/{name}/unlock`, a
//! replicated command every node applies to its own guard); the operator
//! lifts one on a platform account, the 安全管理员's own included, with
//! `zhanqun account unlock`.
//!
//! The counts are kept by each node, in memory, not replicated: putting
//! every failed attempt through Raft would let anyone with a script grow
//! every node's log. A script spreading its guesses over N nodes gets N
//! times the attempts, and a restart forgets the counts. Names that do not
//! exist are counted like real ones, so a lock says nothing about which
//! accounts exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::{IntCounter, Registry};
use zhanqun_model::PasswordPolicy;

/// (account, source) pairs and accounts tracked at most; beyond this,
/// entries whose failures have expired are dropped first, then the oldest
/// unlocked ones.
const MAX_TRACKED: usize = 100_000;

/// The longest a single answer is held back.
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Failures for one account from all sources together, within the lock
/// time, past which every further failure for it is slowed (a multiple of
/// the policy's `max_failed_logins`).
const ACCOUNT_WIDE_FACTOR: u32 = 4;

#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Wrong passwords in a row, the last one at `last`.
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn fresh(now: Instant) -> Self {
        Failures { count: 0, last: now, locked_until: None }
    }

    /// Counts one more failure, forgetting older ones further apart than
    /// `window` or from before a lock that ran out.
    fn add(&mut self, now: Instant, window: Duration) {
        if now.duration_since(self.last) > window || self.locked_until.is_some_and(|until| until <= now) {
            *self = Failures::fresh(now);
        }
        self.count += 1;
        self.last = now;
    }
}

/// What a failed login leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// How long to hold the answer back.
    pub delay: Duration,
    /// `Some(length)` when this failure locked the source out of the account.
    pub locked: Option<Duration>,
}

#[derive(Default)]
struct Counts {
    by_source: HashMap<(String, String), Failures>,
    by_account: HashMap<String, Failures>,
}

pub struct LoginGuard {
    counts: Mutex<Counts>,
    lockouts: IntCounter,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let lockouts =
            IntCounter::new("zhanqun_login_lockouts_total", "Account and source pairs locked on this node after too many failed logins").expect("valid metric");
        LoginGuard { counts: Mutex::new(Counts::default()), lockouts }
    }
}

impl LoginGuard {
    /// Shows the lock counter on the node's `/metrics`.
    pub fn register(&self, registry: &Registry) {
        // A second App over the same node (tests) finds it registered.
        let _ = registry.register(Box::new(self.lockouts.clone()));
    }

    /// `Err(time left)` while `source` is locked out of `username`.
    pub fn check(&self, username: &str, source: &str, now: Instant) -> Result<(), Duration> {
        let counts = self.counts.lock().expect("login guard poisoned");
        match counts.by_source.get(&(key(username), source.to_owned())).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password for `username` from `source`.
    pub fn failed(&self, username: &str, source: &str, policy: &PasswordPolicy, now: Instant) -> Verdict {
        let window = policy.lockout();
        let mut counts = self.counts.lock().expect("login guard poisoned");
        if counts.by_source.len() >= MAX_TRACKED || counts.by_account.len() >= MAX_TRACKED {
            make_room(&mut counts, window, now);
        }
        let account = counts.by_account.entry(key(username)).or_insert(Failures::fresh(now));
        account.add(now, window);
        let crowded = account.count > ACCOUNT_WIDE_FACTOR * policy.max_failed_logins;
        let pair = counts.by_source.entry((key(username), source.to_owned())).or_insert(Failures::fresh(now));
        pair.add(now, window);
        let in_a_row = pair.count;
        let mut verdict = Verdict { delay: slowdown(in_a_row), locked: None };
        if crowded {
            verdict.delay = verdict.delay.max(Duration::from_secs(2));
        }
        if in_a_row >= policy.max_failed_logins {
            pair.locked_until = Some(now + window);
            pair.count = 0;
            self.lockouts.inc();
            verdict.locked = Some(window);
        }
        verdict
    }

    /// A right password ends the run of failures from that source.
    pub fn succeeded(&self, username: &str, source: &str) {
        self.counts.lock().expect("login guard poisoned").by_source.remove(&(key(username), source.to_owned()));
    }

    /// Lifts every lock on `username` and forgets its failures (the
    /// 安全管理员's or the operator's unlock, applied on this node).
    pub fn unlock(&self, username: &str) {
        let account = key(username);
        let mut counts = self.counts.lock().expect("login guard poisoned");
        counts.by_source.retain(|(a, _), _| *a != account);
        counts.by_account.remove(&account);
    }
}

/// The wait before answering the `n`th wrong password in a row: none for
/// the first, then 1 s, 2 s, 4 s … up to [`MAX_DELAY`]. Someone who mistyped
/// once does not notice; a script trying one guess after another slows to a
/// crawl long before the lock.
fn slowdown(n: u32) -> Duration {
    match n {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 2).min(3)).min(MAX_DELAY),
    }
}

/// Usernames are matched as the store matches them: case and surrounding
/// blanks aside. Long names are cut so a caller cannot make keys huge.
fn key(username: &str) -> String {
    username.trim().chars().take(64).flat_map(char::to_lowercase).collect()
}

fn make_room(counts: &mut Counts, window: Duration, now: Instant) {
    let live = |f: &Failures| f.locked_until.is_some_and(|until| until > now) || now.duration_since(f.last) <= window;
    counts.by_source.retain(|_, f| live(f));
    counts.by_account.retain(|_, f| live(f));
    if counts.by_source.len() >= MAX_TRACKED {
        let mut unlocked: Vec<(Instant, (String, String))> =
            counts.by_source.iter().filter(|(_, f)| f.locked_until.is_none()).map(|(k, f)| (f.last, k.clone())).collect();
        unlocked.sort();
        for (_, k) in unlocked.into_iter().take(MAX_TRACKED / 10) {
            counts.by_source.remove(&k);
        }
    }
    if counts.by_account.len() >= MAX_TRACKED {
        let mut oldest: Vec<(Instant, String)> = counts.by_account.iter().map(|(k, f)| (f.last, k.clone())).collect();
        oldest.sort();
        for (_, k) in oldest.into_iter().take(MAX_TRACKED / 10) {
            counts.by_account.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> LoginGuard {
        LoginGuard::default()
    }

    fn policy(max: u32, minutes: u32) -> PasswordPolicy {
        PasswordPolicy { max_failed_logins: max, lockout_minutes: minutes, ..PasswordPolicy::default() }
    }

    const SCRIPT: &str = "203.0.113.9";
    const OWNER: &str = "10.1.2.3";

    #[test]
    fn a_script_locks_only_itself_out_and_the_owner_still_logs_in() {
        let (g, p, t0) = (guard(), policy(3, 15), Instant::now());
        assert_eq!(g.failed("admin", SCRIPT, &p, t0).locked, None);
        assert_eq!(g.failed("admin", SCRIPT, &p, t0 + Duration::from_secs(1)).locked, None);
        assert!(g.check("admin", SCRIPT, t0 + Duration::from_secs(2)).is_ok(), "two failures of three: not locked yet");
        assert_eq!(g.failed("admin", SCRIPT, &p, t0 + Duration::from_secs(2)).locked, Some(Duration::from_secs(15 * 60)));
        let left = g.check("ADMIN ", SCRIPT, t0 + Duration::from_secs(62)).unwrap_err();
        assert_eq!(left, Duration::from_secs(14 * 60), "locked whatever the spelling, for what is left of 15 minutes");
        assert!(g.check("admin", OWNER, t0 + Duration::from_secs(62)).is_ok(), "the owner's own address is not locked");
        assert!(g.check("security", SCRIPT, t0 + Duration::from_secs(62)).is_ok(), "other accounts are not affected");
        assert!(g.check("admin", SCRIPT, t0 + Duration::from_secs(2 + 15 * 60)).is_ok(), "the lock runs out");
        assert_eq!(g.lockouts.get(), 1);
    }

    #[test]
    fn each_wrong_password_in_a_row_waits_longer_and_a_right_one_starts_again() {
        let (g, p, t0) = (guard(), policy(10, 15), Instant::now());
        let delays: Vec<u64> = (0..6).map(|_| g.failed("wang", SCRIPT, &p, t0).delay.as_secs()).collect();
        assert_eq!(delays, vec![0, 1, 2, 4, 8, 8]);
        g.succeeded("wang", SCRIPT);
        assert_eq!(g.failed("wang", SCRIPT, &p, t0).delay, Duration::ZERO, "the success wiped the run");
        let later = t0 + Duration::from_secs(16 * 60);
        assert_eq!(g.failed("wang", SCRIPT, &p, later).delay, Duration::ZERO, "failures 16 minutes apart do not add up");
    }

    #[test]
    fn guesses_spread_over_many_addresses_are_slowed_without_locking_the_account() {
        let (g, p, t0) = (guard(), policy(5, 15), Instant::now());
        let mut last = Verdict { delay: Duration::ZERO, locked: None };
        for i in 0..30 {
            last = g.failed("zhao", &format!("198.51.100.{i}"), &p, t0);
        }
        assert_eq!(last.locked, None, "one failure per address locks nothing");
        assert!(last.delay >= Duration::from_secs(2), "but the account as a whole is being guessed at: {last:?}");
        assert!(g.check("zhao", OWNER, t0).is_ok());
    }

    #[test]
    fn an_unlock_lifts_every_lock_on_the_account() {
        let (g, p, t0) = (guard(), policy(3, 15), Instant::now());
        for source in [SCRIPT, OWNER] {
            for _ in 0..3 {
                g.failed("li", source, &p, t0);
            }
            assert!(g.check("li", source, t0).is_err());
        }
        g.unlock("LI");
        assert!(g.check("li", SCRIPT, t0).is_ok() && g.check("li", OWNER, t0).is_ok());
        assert_eq!(g.failed("li", SCRIPT, &p, t0).delay, Duration::ZERO, "the unlock forgot the failures too");
    }
}
