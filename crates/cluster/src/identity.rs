//! Which life of a node this is, so that a node that lost its disk knows it
//! is not the member the cluster remembers.
//!
//! Raft's safety rests on a voter remembering what it acknowledged and whom
//! it voted for. A voter restarted on an empty data directory (a lost PVC is
//! an ordinary day on Kubernetes) has forgotten both; if it voted again under
//! its old id, it could help elect a leader that lacks an entry it had
//! acknowledged, and that entry would be lost.
//!
//! So every data directory gets an *incarnation* when it is created, kept in
//! the Raft log's file, and every membership entry records the incarnation of
//! each member ([`Member`]). Every Raft call says which incarnation it is
//! meant for; a node that is another incarnation refuses it, so the leader
//! neither counts its acknowledgements nor sends it anything under the old
//! identity, and no candidate gets its vote. A node votes and stands for
//! election only while the membership names it with its own incarnation
//! (`admitted`). Getting there takes the leader removing the old member
//! and adding the new incarnation as a learner that catches up, which the
//! node asks for by joining again; or the operator's explicit word
//! (`--adopt-identity`), for when the data is known to be lost anyway.
//!
//! Data directories from before incarnations existed are *legacy*: their
//! members carry no incarnation, and a legacy node is taken to be the one
//! the cluster knows.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A member as the membership records it: where it is, and which life of
/// the node it is. The `incarnation` is absent in entries written before it
/// existed; older binaries reading a newer entry ignore it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub addr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<String>,
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.addr)
    }
}

/// This node's incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub incarnation: String,
    /// The data directory was in use before incarnations existed.
    #[serde(default)]
    pub legacy: bool,
}

impl Identity {
    /// A new incarnation for a data directory being created now (or, when
    /// `legacy`, one that existed before incarnations did).
    pub fn new(legacy: bool) -> Identity {
        // Unique enough: a clock reading, the process and an address mixed
        // through SHA-256. Nothing secret depends on it.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let local = 0u8;
        let seed = format!("{now}/{}/{:p}/{:?}", std::process::id(), &local, std::thread::current().id());
        let digest = Sha256::digest(seed.as_bytes());
        Identity { incarnation: hex(&digest[..8]), legacy }
    }

    /// Whether a call meant for `expected` (the incarnation the caller's
    /// membership gives this node; `None` for members recorded before
    /// incarnations) is meant for this node.
    pub fn is(&self, expected: Option<&str>) -> bool {
        match expected {
            Some(inc) => inc == self.incarnation,
            None => self.legacy,
        }
    }

    /// What this node should be recorded as when it joins.
    pub fn member(&self, addr: &str) -> Member {
        Member { addr: addr.to_string(), incarnation: Some(self.incarnation.clone()) }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The header on every Raft call naming the incarnation it is meant for.
pub const TARGET_HEADER: &str = "x-zhanqun-target-incarnation";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_life_is_not_the_old_one_and_legacy_members_are_taken_as_themselves() {
        let old = Identity::new(false);
        let new = Identity::new(false);
        assert_ne!(old.incarnation, new.incarnation);
        assert!(old.is(Some(&old.incarnation)) && !new.is(Some(&old.incarnation)));
        assert!(!new.is(None), "a fresh directory is not a member recorded before incarnations");
        assert!(Identity::new(true).is(None));
        // Old entries (Member's shape) read as members without one.
        let m: Member = serde_json::from_str(r#"{"addr":"http://n1:8080"}"#).unwrap();
        assert_eq!(m, Member { addr: "http://n1:8080".into(), incarnation: None });
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"addr":"http://n1:8080"}"#, "written back as old binaries read it");
    }
}
