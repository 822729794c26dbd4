//! Group commit: the proposals a leader receives while its last entry is
//! being written go into the log together, as one entry.
//!
//! Why above Raft: openraft 0.9 writes its log one client request at a
//! time — its core hands each entry to the log store and waits for the
//! fsync before it reads the next request — so concurrent writes each paid
//! a log fsync, a content-store commit and a core round of their own. Here
//! a gatherer keeps at most [`IN_FLIGHT`] entry on its way through Raft;
//! whatever arrives meanwhile waits, and goes as one [`Logged::Group`] when
//! the slot frees. A lone writer never waits for company: with a free
//! slot its proposal goes at once.
//!
//! What does not change: each proposal of a group is applied on its own
//! (its own outcome and audit line, in the order gathered; a refused one
//! changes nothing else, see `Store::apply_entries`), in
//! the one transaction of its entry, so the group lands whole or not at
//! all. Every waiter hears its own outcome, and all hear the same error if
//! the entry was not committed.
//!
//! A group is a log format a member must read: it is proposed only once the
//! cluster's level ([`GROUP_LEVEL`]) says every member does.

use std::sync::Arc;

use openraft::error::{ClientWriteError, RaftError};
use prometheus::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc, oneshot};
use zhanqun_model::{Outcome, Proposal};

use crate::Raft;
use crate::node::{COMMIT_TIMEOUT, WriteError, Written};

/// The log format level from which an entry may carry a group.
pub const GROUP_LEVEL: u32 = 2;

/// Entries of this node's on their way through Raft at once. One: the
/// writes bench measured 1, 2 and 3 alike in writes/s (two runs each), and
/// 1 makes the largest groups and the lowest p99.
const IN_FLIGHT: usize = 1;

/// At most this many proposals per group: its transaction holds the
/// writer of the content store, and every answer in it waits for the last.
const MOST_PER_GROUP: usize = 128;

/// At most this many bytes of proposals (as logged) per group, so an entry
/// stays well inside what one Raft call carries; a larger proposal goes
/// alone.
const MOST_BYTES_PER_GROUP: usize = 4 << 20;

/// What one Raft log entry carries. Untagged: an entry of one proposal is
/// logged exactly as before groups existed, so old logs read as they are.
// Not boxed, as `Command` is not: an entry lives briefly, and most carry one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Logged {
    One(Proposal),
    /// Proposals gathered while earlier entries were being written, applied
    /// in this order.
    Group {
        group: Vec<Proposal>,
    },
}

impl Logged {
    /// The proposals of this entry, in the order they are applied.
    pub fn proposals(&self) -> &[Proposal] {
        match self {
            Logged::One(p) => std::slice::from_ref(p),
            Logged::Group { group } => group,
        }
    }
}

/// What applying one entry answered: an outcome per proposal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Answer {
    One(Outcome),
    Group(Vec<Outcome>),
}

impl Answer {
    /// The outcome of each proposal of the entry, in its order.
    pub fn outcomes(&self) -> &[Outcome] {
        match self {
            Answer::One(o) => std::slice::from_ref(o),
            Answer::Group(os) => os,
        }
    }
}

/// The write of one log entry and what it answered, or why it did not
/// happen (the same for every proposal in it).
pub(crate) async fn write_entry(raft: &Raft, entry: Logged) -> Result<(Answer, u64), WriteError> {
    match tokio::time::timeout(COMMIT_TIMEOUT, raft.client_write(entry)).await {
        Ok(Ok(resp)) => Ok((resp.data, resp.log_id.index)),
        // openraft answers ForwardToLeader only before appending, or
        // after truncating the entry: either way it was not applied.
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => Err(WriteError::Unavailable),
        Ok(Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e)))) => Err(WriteError::Fatal(e.to_string())),
        Ok(Err(RaftError::Fatal(e))) => Err(WriteError::Fatal(e.to_string())),
        Err(_) => Err(WriteError::OutcomeUnknown(format!("not committed within {} s", COMMIT_TIMEOUT.as_secs()))),
    }
}

/// A proposal waiting for a free slot, with where its answer goes.
struct Waiting {
    proposal: Proposal,
    bytes: usize,
    answer: oneshot::Sender<Result<Written, WriteError>>,
}

/// The gatherer of one node: hand it proposals with [`GroupCommit::write`].
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl GroupCommit {
    /// Starts the gatherer's task; it ends when this is dropped.
    pub(crate) fn start(raft: Raft, proposals_per_entry: Histogram) -> GroupCommit {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(gather(raft, waiting, proposals_per_entry));
        GroupCommit { queue }
    }

    /// Proposes on this node (the leader), in the next entry with room.
    pub(crate) async fn write(&self, proposal: Proposal) -> Result<Written, WriteError> {
        let bytes = logged_size(&proposal);
        let (answer, answered) = oneshot::channel();
        self.queue.send(Waiting { proposal, bytes, answer }).map_err(|_| WriteError::Fatal("the node is stopping".into()))?;
        answered.await.unwrap_or_else(|_| Err(WriteError::OutcomeUnknown("the node stopped before the write was answered".into())))
    }
}

/// How many bytes a proposal takes in the log (as JSON), counted without
/// keeping them.
fn logged_size(proposal: &Proposal) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, proposal).expect("proposals serialize");
    count.0
}

async fn gather(raft: Raft, mut waiting: mpsc::UnboundedReceiver<Waiting>, proposals_per_entry: Histogram) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    // A proposal that did not fit in the last group: it leads the next.
    let mut held: Option<Waiting> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let first = match held.take() {
            Some(w) => w,
            None => match waiting.recv().await {
                Some(w) => w,
                None => return,
            },
        };
        let mut bytes = first.bytes;
        let mut group = vec![first];
        while group.len() < MOST_PER_GROUP {
            let Ok(next) = waiting.try_recv() else { break };
            if bytes + next.bytes > MOST_BYTES_PER_GROUP {
                held = Some(next);
                break;
            }
            bytes += next.bytes;
            group.push(next);
        }
        proposals_per_entry.observe(group.len() as f64);
        let raft = raft.clone();
        tokio::spawn(async move {
            let _slot = slot;
            propose(&raft, group).await;
        });
    }
}

/// Writes one entry of the gathered proposals and answers each waiter.
async fn propose(raft: &Raft, group: Vec<Waiting>) {
    let (proposals, answers): (Vec<Proposal>, Vec<_>) = group.into_iter().map(|w| (w.proposal, w.answer)).unzip();
    let entry = match <[Proposal; 1]>::try_from(proposals) {
        Ok([one]) => Logged::One(one),
        Err(group) => Logged::Group { group },
    };
    let results: Vec<Result<Written, WriteError>> = match write_entry(raft, entry).await {
        Ok((Answer::One(outcome), index)) if answers.len() == 1 => vec![Ok(Written { outcome, index })],
        Ok((Answer::Group(outcomes), index)) if outcomes.len() == answers.len() => outcomes.into_iter().map(|outcome| Ok(Written { outcome, index })).collect(),
        Ok((answer, index)) => {
            // The state machine answers each entry in its own shape: this
            // is a bug, and the outcomes cannot be told apart.
            let why = format!("entry {index} was answered in a shape that does not match it: {answer:?}");
            tracing::error!("{why}");
            answers.iter().map(|_| Err(WriteError::OutcomeUnknown(why.clone()))).collect()
        }
        Err(e) => answers.iter().map(|_| Err(e.clone())).collect(),
    };
    for (answer, result) in answers.into_iter().zip(results) {
        // A waiter that gave up is not an error here.
        let _ = answer.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhanqun_model::Command;

    fn proposal(n: i64) -> Proposal {
        Proposal::new(n, Some(n), None, Command::Batch { commands: vec![] })
    }

    #[test]
    fn an_entry_of_one_proposal_is_logged_as_the_proposal_itself() {
        let one = Logged::One(proposal(7));
        let json = serde_json::to_string(&one).unwrap();
        assert_eq!(json, serde_json::to_string(&proposal(7)).unwrap(), "a binary before groups reads it");
        assert_eq!(serde_json::from_str::<Logged>(&json).unwrap(), one);
    }

    #[test]
    fn a_group_reads_back_with_its_proposals_in_order() {
        let group = Logged::Group { group: vec![proposal(1), proposal(2), proposal(3)] };
        let back: Logged = serde_json::from_str(&serde_json::to_string(&group).unwrap()).unwrap();
        let actors: Vec<Option<i64>> = back.proposals().iter().map(|p| p.actor).collect();
        assert_eq!(actors, vec![Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn the_size_counted_is_the_size_logged() {
        let p = proposal(42);
        assert_eq!(logged_size(&p), serde_json::to_vec(&p).unwrap().len());
    }
}
