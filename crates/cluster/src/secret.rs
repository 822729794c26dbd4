//! The cluster secret: what every Raft and cluster-admin call must carry.
//!
//! Nodes trust each other with the whole content database, so the peer
//! endpoints under `/_raft/` are closed to anyone who does not present the
//! secret the operator gave every node (`ZHANQUN_CLUSTER_SECRET`).

use sha2::{Digest, Sha256};

/// The header peers send the secret in. A header of its own (not
/// `Authorization`) so that a cluster secret and a user's session token can
/// never be mistaken for each other.
pub const SECRET_HEADER: &str = "x-zhanqun-cluster-secret";

/// The header a node names itself in when it calls a peer (for logs, and for
/// the fault-injecting proxy of the partition test).
pub const FROM_HEADER: &str = "x-zhanqun-node";

/// Shortest secret accepted: a guessable secret hands the database to anyone
/// who can reach the port.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Clone)]
pub struct ClusterSecret {
    value: String,
    digest: [u8; 32],
}

impl ClusterSecret {
    pub fn new(value: &str) -> Result<ClusterSecret, String> {
        if value.chars().count() < MIN_SECRET_LEN {
            return Err(format!("the cluster secret must be at least {MIN_SECRET_LEN} characters long"));
        }
        if !value.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err("the cluster secret must be printable ASCII without spaces (it travels in an HTTP header)".into());
        }
        Ok(ClusterSecret { value: value.to_string(), digest: Sha256::digest(value.as_bytes()).into() })
    }

    /// The value to send to peers.
    pub fn header_value(&self) -> &str {
        &self.value
    }

    /// Whether `presented` is the secret. Compares SHA-256 digests in
    /// constant time, so neither the length nor any prefix of the secret
    /// leaks through response timing.
    pub fn verify(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.digest.iter().zip(other.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_exact_secret() {
        let s = ClusterSecret::new("correct-horse-battery-staple").unwrap();
        assert!(s.verify("correct-horse-battery-staple"));
        assert!(!s.verify("correct-horse-battery-stapl"));
        assert!(!s.verify(""));
        assert!(!format!("{s:?}").contains("horse"));
    }

    #[test]
    fn refuses_short_or_unprintable_secrets() {
        assert!(ClusterSecret::new("short").is_err());
        assert!(ClusterSecret::new("sixteen chars with space").is_err());
    }
}
