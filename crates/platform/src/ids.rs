//! Ids and the clock a proposal carries: decided on the node that
//! proposes, before Raft, so that apply stays deterministic.

/// Milliseconds since the epoch: the time a proposal carries.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A new id: milliseconds since the epoch shifted left by 10 bits, then 4
/// bits of the node id and a 6-bit sequence within the millisecond.
/// Time-ordered, below 2^53 (exact in JavaScript) until the year 2248, and
/// decided before proposing (apply stays deterministic). Nodes 1–16 never
/// collide with each other; within one process ids strictly increase, a
/// burst beyond 64 per millisecond borrowing from the next millisecond. A
/// collision that still happens (nodes 17 and 1) is refused by apply with
/// `duplicate_id`, never merged.
pub fn new_id() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let node = (NODE_BITS.load(Ordering::Relaxed) & 0xf) << 6;
    let next = |last: i64| {
        let fresh = (now_ms() << 10) | node;
        // Same node bits, next sequence number, or a fresh millisecond.
        let bumped = if last & 0x3c0 == node && last & 0x3f < 0x3f { last + 1 } else { ((last >> 10) + 1) << 10 | node };
        if fresh > last { fresh } else { bumped }
    };
    // Return exactly the value stored: recomputing it after the swap would
    // read the clock again and could hand two callers the same id.
    let mut last = LAST.load(Ordering::SeqCst);
    loop {
        let candidate = next(last);
        match LAST.compare_exchange(last, candidate, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return candidate,
            Err(actual) => last = actual,
        }
    }
}

static NODE_BITS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Tells [`new_id`] which node it runs on.
pub fn set_id_node(node_id: u64) {
    NODE_BITS.store((node_id.saturating_sub(1) & 0xf) as i64, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_from_many_threads_at_once_are_unique() {
        let threads: Vec<_> = (0..8).map(|_| std::thread::spawn(|| (0..20_000).map(|_| super::new_id()).collect::<Vec<_>>())).collect();
        let mut all: Vec<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "every id handed out once");
    }

    #[test]
    fn ids_increase_and_carry_the_node_bits_through_a_burst() {
        super::set_id_node(3);
        let ids: Vec<i64> = (0..5000).map(|_| super::new_id()).collect();
        assert!(ids.windows(2).all(|w| w[1] > w[0]), "ids strictly increase");
        assert!(ids.iter().all(|id| (id >> 6) & 0xf == 2), "every id carries node 3's bits");
        assert!(ids.iter().all(|id| *id < 1 << 53), "ids stay exact in JavaScript");
    }
}
