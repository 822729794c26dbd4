//! The cluster's own state: the log format level every member reads
//! (`zhanqun_model::command::level`), kept in `settings`.

use crate::db::{self, Conn};
use zhanqun_model::command::level::LOG_LEVEL;
use zhanqun_model::{Applied, Command, Rejection};

use super::{Step, misrouted};

pub(super) fn apply(conn: &Conn, command: &Command) -> Step<Applied> {
    let Command::RaiseClusterLevel { level, members } = command else { return Err(misrouted(command)) };
    let current = crate::query::cluster_level_in(conn)?;
    if *level <= current {
        return Err(Rejection::conflict("level_not_higher", format!("the cluster is already at log format level {current}")).into());
    }
    if *level > LOG_LEVEL {
        // Only a binary that reads `level` proposes it; one that does not
        // is older than the entry and must not pretend to have applied it.
        return Err(Rejection::invalid("level_unknown", format!("log format level {level} is newer than this node's ({LOG_LEVEL})")).into());
    }
    // Asked of `members`: a member added since may be older.
    let membership: Option<String> = db::query_scalar("SELECT value FROM raft_meta WHERE key = 'membership'").fetch_optional(conn)?;
    let unasked: Vec<u64> = membership.as_deref().map(member_ids).unwrap_or_default().into_iter().filter(|id| !members.contains(id)).collect();
    if !unasked.is_empty() {
        return Err(Rejection::conflict("members_changed", format!("node(s) {unasked:?} joined after the members were asked; ask again")).into());
    }
    db::query("INSERT INTO settings (key, value) VALUES ('cluster_level', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(level.to_string())
        .execute(conn)?;
    // Entries of version 0 (the level-0 cluster's) left their documents
    // without tamper digests; from here on every document has one.
    let digested = crate::integrity::record_missing(conn)?;
    if digested > 0 {
        tracing::info!(documents = digested, "digested the documents written before digests existed");
    }
    Ok(Applied::default())
}

/// The member ids of a stored membership (openraft's `StoredMembership`
/// as JSON: `{"membership": {"nodes": {"1": …}}}`).
fn member_ids(stored: &str) -> Vec<u64> {
    let value: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    value["membership"]["nodes"].as_object().map(|nodes| nodes.keys().filter_map(|k| k.parse().ok()).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn members_are_read_from_the_stored_membership() {
        let stored = r#"{"log_id":{"leader_id":{"term":1,"node_id":1},"index":3},"membership":{"configs":[[1,2,3]],"nodes":{"1":{"addr":"a"},"2":{"addr":"b"},"3":{"addr":"c"}}}}"#;
        assert_eq!(super::member_ids(stored), vec![1, 2, 3]);
    }
}
