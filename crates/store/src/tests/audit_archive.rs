//! Audit lines archived under a clock the test holds: lines younger than
//! 180 days are never dropped, an export must match the trail, the newest
//! line stays, and the chain verifies on from the hand-over hash.

use zhanqun_model::*;

use super::{store, tenant};
use crate::Store;

const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

async fn at(store: &Store, n: u64, at: i64, cmd: Command) -> Outcome {
    store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&Proposal::new(at, None, None, cmd))).await.unwrap().0
}

fn archive(through_id: i64, handover_hash: &str) -> Command {
    Command::ArchiveAudit { through_id, object_key: "audit/1.jsonl".into(), sha256: "00".into(), handover_hash: handover_hash.into() }
}

#[tokio::test]
async fn lines_older_than_180_days_are_archived_and_the_chain_verifies_from_the_hand_over() {
    let (_dir, s) = store().await;
    for (n, code) in [(1, "aa"), (2, "bb"), (3, "cc")] {
        at(&s, n, T0 + n as i64, Command::CreateTenant { tenant: tenant(n as i64, code) }).await.unwrap();
    }
    at(&s, 4, T0 + 200 * DAY, Command::CreateTenant { tenant: tenant(4, "dd") }).await.unwrap();
    // What the leader would export 181 days after the first three.
    let old = s.audit_lines_older_than(T0 + DAY, 100).await.unwrap();
    assert_eq!(old.len(), 3, "the line from day 200 is not old yet at day 1 + 180");
    let (through, hash) = (old[2].id, old[2].hash.clone());

    // Too young at the proposal's time: refused, nothing dropped.
    let refused = at(&s, 5, T0 + 100 * DAY, archive(through, &hash)).await.unwrap_err();
    assert_eq!(refused.code, "audit_too_young");
    // An export of another trail: refused.
    assert_eq!(at(&s, 6, T0 + 200 * DAY, archive(through, "not-this-one")).await.unwrap_err().code, "audit_hash_mismatch");
    // The newest line stays.
    let newest = s.audit(None, None, None, 1).await.unwrap()[0].id;
    assert_eq!(at(&s, 7, T0 + 400 * DAY, archive(newest, &s.audit(None, None, None, 1).await.unwrap()[0].hash)).await.unwrap_err().code, "audit_head_kept");
    assert_eq!(s.audit_archives().await.unwrap().len(), 0);

    at(&s, 8, T0 + 200 * DAY, archive(through, &hash)).await.unwrap();
    let kept = s.audit(None, None, None, 100).await.unwrap();
    assert!(kept.iter().all(|l| l.id > through), "lines through {through} dropped");
    assert_eq!(kept[0].line.action, "archive_audit", "the archive itself is in the trail");
    let archives = s.audit_archives().await.unwrap();
    assert_eq!((archives[0].through_id, archives[0].lines, archives[0].handover_hash.as_str()), (through, 3, hash.as_str()));
    let check = s.verify_audit_chain().await.unwrap();
    assert!(check.intact, "the chain verifies from the hand-over hash: {check:?}");
    // A second archive of the same lines finds nothing to drop.
    assert_eq!(at(&s, 9, T0 + 300 * DAY, archive(through, &hash)).await.unwrap_err().code, "unknown_audit_line");
}
