//! The log is a contract (invariant 10): entries written by an older
//! version must still decode and apply to the same state, and its snapshot
//! must still open. The fixture was written by the node of commit bff56ef,
//! the last before proposals carried a format version, driven through
//! every kind of command by `fixtures/make-log-v0.py`: its Raft log, one
//! stored entry a line, and its content database afterwards.
//!
//! The test replays that log through today's state-machine adapter into an
//! empty store, opens the old database with today's code (its migrations
//! run), and compares both with each other and with a committed digest of
//! what they hold — the content people and the audit trail see, not the
//! columns later versions add.

use std::path::Path;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use sha2::{Digest, Sha256};
use zhanqun_cluster::state_machine::{ApplyObserver, StateMachine};
use zhanqun_cluster::{ClusterMetrics, TypeConfig};
use zhanqun_store::{Store, Touched};

/// What the old node's store holds, as of the fixture (update only with a
/// reason: a change here means an old log no longer replays the same).
const DIGEST: &str = "e5a2e3ed6121493d9f53ff67219b3b107d7a0469bf709d3a751d7d4b525effef";

struct Nobody;

impl ApplyObserver for Nobody {
    fn applied(&self, _: &Touched) {}
    fn reset(&self) {}
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Every table's rows as text, for telling where two stores differ.
async fn table_rows(path: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' AND name <> 'document_writes' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut out = std::collections::BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid").bind(&table).fetch_all(&mut conn).await.unwrap();
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
        let select = format!("SELECT {} FROM \"{table}\" ORDER BY 1", quoted.join(" || ',' || "));
        let rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(select)).fetch_all(&mut conn).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect();
        out.insert(format!("{table} ({})", columns.join(", ")), rows);
    }
    out
}

/// A digest of what a store holds that people and auditors see: sites,
/// columns, documents and their revisions, attachments, accounts and roles,
/// sessions, settings and the audit trail, in a fixed order.
async fn digest(path: &Path) -> (String, usize) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    let queries = [
        "SELECT code, name, kind, lifecycle, organ_code, icp, mailbox, site_id_code, police_record FROM tenants ORDER BY code",
        "SELECT host, position FROM tenant_hosts ORDER BY host",
        "SELECT slug, name, kind, update_class, position FROM channels ORDER BY tenant_id, slug",
        "SELECT id, tenant_id, channel_id, title, body_html, summary, state, index_no, doc_no, issuing_organ, written_date, disclosure, disclosure_basis, disclosure_reason, validity, published_at, replaced_by, interprets, interpretation_kind, publish_at, unpublish_at, needs_secrecy_review, secrecy_passed, return_reason, review_stage FROM documents ORDER BY id",
        "SELECT document_id, revision, at, actor, content FROM document_revisions ORDER BY document_id, revision",
        "SELECT id, document_id, sha256, size, file_name, content_type FROM attachments ORDER BY id",
        "SELECT username, display_name, password_hash, platform_role FROM users ORDER BY username",
        "SELECT user_id, tenant_id, role FROM grants ORDER BY user_id, tenant_id, role",
        "SELECT token_sha256, user_id, expires_at FROM sessions ORDER BY token_sha256",
        "SELECT key, value FROM settings ORDER BY key",
        "SELECT id, at, actor, client_ip, tenant_id, target_id, action, result, detail, hash FROM audit_log ORDER BY id",
    ];
    let mut hasher = Sha256::new();
    let mut rows = 0;
    for q in queries {
        let columns =
            q.split(" FROM ").next().unwrap().trim_start_matches("SELECT ").split(", ").map(|c| format!("quote({c})")).collect::<Vec<_>>().join(" || '|' || ");
        let table_and_order = q.split(" FROM ").nth(1).unwrap();
        let select = format!("SELECT {columns} FROM {table_and_order}");
        let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select)).fetch_all(&mut conn).await.unwrap();
        hasher.update(q.as_bytes());
        for l in &lines {
            hasher.update(l.as_bytes());
            hasher.update(b"\n");
        }
        rows += lines.len();
    }
    (hex::encode(hasher.finalize()), rows)
}

/// A log as the log store keeps it, one entry a line.
fn stored_log(name: &str) -> Vec<openraft::Entry<TypeConfig>> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:.200}"))).collect()
}

/// Replays `entries` through today's state-machine adapter into a new
/// store at `dir/replayed.db`: the codes of the refused proposals.
async fn replay(dir: &Path, entries: Vec<openraft::Entry<TypeConfig>>) -> (Arc<Store>, Vec<String>) {
    let store = Arc::new(Store::open(&dir.join("replayed.db")).await.unwrap());
    let (applied, _) = tokio::sync::watch::channel(0);
    let mut machine = StateMachine::new(
        store.clone(),
        dir.join("snapshots"),
        Arc::new(Nobody),
        Arc::new(applied),
        Arc::new(ClusterMetrics::new(&prometheus::Registry::new())),
    );
    let answers = machine.apply(entries).await.unwrap();
    let refused = answers.iter().flat_map(|a| a.outcomes()).filter_map(|o| o.as_ref().err().map(|r| r.code.clone())).collect();
    (store, refused)
}

#[tokio::test]
async fn a_log_written_by_the_version_before_format_versions_replays_to_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let entries = stored_log("log-v0.jsonl");
    // Every command that version wrote is one a cluster at log format level
    // 0 logs as it is (`Command::level`): in a rolling upgrade from it, the
    // new nodes may propose these while old nodes remain.
    for e in &entries {
        if let openraft::EntryPayload::Normal(logged) = &e.payload {
            let zhanqun_cluster::group_commit::Logged::One(p) = logged else { panic!("level 0 wrote no groups: {logged:?}") };
            assert_eq!(p.command.level(), 0, "{} as level 0 wrote it", p.command.name());
        }
    }
    // Replayed, entry by entry, through today's adapter.
    let (store, refused) = replay(dir.path(), entries.clone()).await;
    assert_eq!(refused, vec!["not_approved".to_string()], "the one refused step of the scenario, and nothing else");
    let (replayed, rows) = digest(&dir.path().join("replayed.db")).await;

    // The old node's own database, opened (and migrated) by today's code.
    std::fs::copy(fixture("content-v0.db"), dir.path().join("old.db")).unwrap();
    let old = Store::open(&dir.path().join("old.db")).await.unwrap();
    assert!(old.verify_audit_chain().await.unwrap().intact, "the old trail's chain verifies under today's code");
    drop(old);
    let (migrated, _) = digest(&dir.path().join("old.db")).await;

    // Every row of every table, the columns later versions added included:
    // a node that applies version-0 entries leaves exactly what a node of
    // that version left and the migrations then made of it. (In a rolling
    // upgrade the two kinds of node apply the same entries side by side.)
    let replayed_all = store.content_checksum().await.unwrap();
    let migrated_all = Store::open(&dir.path().join("old.db")).await.unwrap().content_checksum().await.unwrap();
    if replayed_all != migrated_all {
        let (a, b) = (table_rows(&dir.path().join("replayed.db")).await, table_rows(&dir.path().join("old.db")).await);
        // Each table that differs, with the first rows only one side has.
        let differ: Vec<(&String, Vec<&String>, Vec<&String>)> = a
            .iter()
            .filter(|(t, rows)| b.get(*t) != Some(rows))
            .map(|(t, rows)| {
                let other = b.get(t).cloned().unwrap_or_default();
                (
                    t,
                    rows.iter().filter(|r| !other.contains(r)).take(3).collect(),
                    b.get(t).map_or(vec![], |o| o.iter().filter(|r| !rows.contains(r)).take(3).collect()),
                )
            })
            .collect();
        panic!("replayed and migrated stores differ: {differ:#?}");
    }
    assert!(rows > 100, "the fixture holds a real scenario ({rows} rows)");
    assert_eq!(replayed, migrated, "replaying the old log gives what the old node held");
    assert_eq!(replayed, DIGEST, "the fixture's content changed: an old log no longer replays the same");
    // The membership entry of that version (members without incarnation)
    // reads as today's members.
    let membership = entries.iter().find_map(|e| match &e.payload {
        openraft::EntryPayload::Membership(m) => Some(m.clone()),
        _ => None,
    });
    let member = membership.unwrap().get_node(&1).cloned().unwrap();
    assert_eq!(member.incarnation, None);
}

/// Level 2's entry form (group commit), fixed by a file: the same scenario's
/// proposals packed four to an entry (`fixtures/make-log-v2-groups.py`).
/// Every entry reads, and writes back in the form it was stored in, so a
/// later binary that changed the form would fail here; and the grouped log
/// replays to exactly the store the one-proposal-an-entry log gives: each
/// proposal of a group is applied, refused and audited as it would be alone.
#[tokio::test]
async fn a_log_of_groups_as_level_2_writes_them_keeps_its_form_and_replays_to_the_same_store() {
    let text = std::fs::read_to_string(fixture("log-v2-groups.jsonl")).unwrap();
    let entries = stored_log("log-v2-groups.jsonl");
    // The entry's form, as stored and as written back: a group is an object
    // of one key, `group`, holding the proposals in order; a lone proposal
    // is the proposal itself. (The proposals inside are the old version's,
    // which today writes with the fields added since: their own contract
    // is the test above.)
    let form = |v: &serde_json::Value| match &v["payload"]["Normal"] {
        serde_json::Value::Object(o) if o.contains_key("group") => {
            assert_eq!(o.len(), 1, "a group entry holds nothing but its group: {o:.200?}");
            Some(o["group"].as_array().expect("a group is a list").iter().map(|p| p["at"].clone()).collect::<Vec<_>>())
        }
        other => {
            assert!(other.is_null() || other.get("command").is_some(), "a lone proposal is logged as itself: {other:.200}");
            None
        }
    };
    for (line, entry) in text.lines().zip(&entries) {
        let stored: serde_json::Value = serde_json::from_str(line).unwrap();
        let written = serde_json::to_value(entry).unwrap();
        assert_eq!(form(&written), form(&stored), "entry {} writes back in another form than it was stored", entry.log_id.index);
    }
    let groups = entries.iter().filter(|e| matches!(&e.payload, openraft::EntryPayload::Normal(zhanqun_cluster::group_commit::Logged::Group { .. }))).count();
    assert!(groups >= 5, "the fixture packs the scenario's writes into groups ({groups})");
    let dir = tempfile::tempdir().unwrap();
    let (_store, refused) = replay(dir.path(), entries).await;
    assert_eq!(refused, vec!["not_approved".to_string()], "the one refused step of the scenario, and nothing else");
    let (replayed, _) = digest(&dir.path().join("replayed.db")).await;
    assert_eq!(replayed, DIGEST, "a grouped log leaves what the same proposals leave one an entry");
}
