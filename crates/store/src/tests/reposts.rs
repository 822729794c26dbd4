//! Reposts in the state machine, under a clock the test holds (every
//! proposal carries its time; the board's "overdue" is read at a given now).

use zhanqun_model::repost::{RepostMode, RepostProof, copy_id};
use zhanqun_model::*;

use super::{channel, document, store, tenant};
use crate::{RepostQuery, Store};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

async fn at(store: &Store, n: u64, at: i64, cmd: Command) -> Outcome {
    store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&Proposal::new(at, None, None, cmd))).await.unwrap().0
}

/// A portal (1) with a published policy (100), a township (2) whose column
/// 20 plays `policy-repost`, a township (3) with no such column.
async fn sites() -> (tempfile::TempDir, Store) {
    let (dir, s) = store().await;
    let mut portal = tenant(1, "portal");
    portal.kind = TenantKind::Portal;
    at(&s, 1, T0, Command::CreateTenant { tenant: portal }).await.unwrap();
    at(&s, 2, T0, Command::CreateTenant { tenant: tenant(2, "aa") }).await.unwrap();
    at(&s, 3, T0, Command::CreateTenant { tenant: tenant(3, "bb") }).await.unwrap();
    at(&s, 4, T0, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    at(&s, 5, T0, Command::CreateChannel { channel: Channel { role: Some("policy-repost".into()), ..channel(20, 2) } }).await.unwrap();
    at(&s, 6, T0, Command::CreateChannel { channel: channel(30, 3) }).await.unwrap();
    let mut policy = document(100, 1, 10, Some("海政发〔2026〕1号"));
    policy.state = DocState::Published;
    at(&s, 7, T0, Command::CreateDocument { document: policy, attachment_ids: vec![] }).await.unwrap();
    (dir, s)
}

fn repost(targets: Vec<i64>, mode: RepostMode) -> Command {
    Command::RepostDocument { tenant_id: 1, document_id: 100, targets, role: "policy-repost".into(), mode, deadline_ms: HOUR }
}

#[tokio::test]
async fn overdue_flips_at_the_deadline_and_a_proof_or_a_withdrawn_source_ends_it() {
    let (_dir, s) = sites().await;
    at(&s, 10, T0, repost(vec![2, 3], RepostMode::Mandatory)).await.unwrap();
    let deadline = T0 + HOUR;
    assert_eq!(s.overdue_reposts(deadline).await.unwrap(), vec![], "at the deadline: not yet");
    assert_eq!(s.overdue_reposts(deadline + 1).await.unwrap(), vec![(2, 1), (3, 1)], "shown without proof, and the site lacking the column");
    let rows = s.reposts(&RepostQuery { source_id: Some(100), limit: 10, ..Default::default() }).await.unwrap();
    assert!(rows.iter().all(|r| !r.overdue(deadline) && r.overdue(deadline + 1)), "the board and the gauge agree");
    let missing = rows.iter().find(|r| r.tenant_id == 3).unwrap();
    assert_eq!((missing.state.as_str(), missing.copy_id), ("no_column", None), "reported, not silently dropped");

    let copy = copy_id(100, 2);
    at(&s, 11, T0 + 60_000, Command::RecordRepostProofs { proofs: vec![RepostProof { repost_id: copy, status: 200, at: T0 + 60_000 }] }).await.unwrap();
    assert_eq!(s.overdue_reposts(deadline + 1).await.unwrap(), vec![(3, 1)], "shown with proof is done");

    at(&s, 12, T0 + 2 * HOUR, Command::WithdrawDocument { tenant_id: 1, document_id: 100 }).await.unwrap();
    assert_eq!(s.overdue_reposts(deadline + 1).await.unwrap(), vec![], "nothing is owed for a withdrawn source");
    assert!(s.public_document(2, copy).await.unwrap().is_none(), "the copy went with its source");
}

#[tokio::test]
async fn a_copy_follows_its_source_and_is_not_the_targets_to_edit_or_remove() {
    let (_dir, s) = sites().await;
    at(&s, 10, T0, repost(vec![2], RepostMode::Mandatory)).await.unwrap();
    let copy = copy_id(100, 2);
    let shown = s.public_document(2, copy).await.unwrap().expect("a mandatory copy is public at once");
    assert_eq!((shown.copy_of, shown.meta.doc_no.as_deref(), shown.channel_id), (Some(100), Some("海政发〔2026〕1号"), 20));

    // The target may neither edit nor withdraw it.
    let edit = Command::UpdateDocument { tenant_id: 2, document_id: copy, patch: DocumentPatch { title: Some("改".into()), ..Default::default() } };
    assert_eq!(at(&s, 11, T0, edit).await.unwrap_err().code, "copy_follows_source");
    assert_eq!(at(&s, 12, T0, Command::WithdrawDocument { tenant_id: 2, document_id: copy }).await.unwrap_err().code, "mandatory_copy");

    // The source's 有效性, withdrawal, edit and republication show on the copy.
    let expire = Command::SetValidity { tenant_id: 1, document_id: 100, validity: Validity::Expired, replaced_by: None };
    at(&s, 13, T0, expire).await.unwrap();
    assert_eq!(s.document(2, copy).await.unwrap().unwrap().meta.validity, Validity::Expired);
    at(&s, 14, T0, Command::WithdrawDocument { tenant_id: 1, document_id: 100 }).await.unwrap();
    let patch = DocumentPatch { title: Some("关于做好春季防火工作的通知（修订）".into()), ..Default::default() };
    at(&s, 15, T0, Command::UpdateDocument { tenant_id: 1, document_id: 100, patch }).await.unwrap();
    at(&s, 16, T0, Command::SubmitDocument { tenant_id: 1, document_id: 100 }).await.unwrap();
    for n in 17..20 {
        let _ = at(&s, n, T0, Command::ApproveDocument { tenant_id: 1, document_id: 100 }).await;
    }
    at(&s, 20, T0 + HOUR, Command::PublishDocument { tenant_id: 1, document_id: 100 }).await.unwrap();
    let again = s.public_document(2, copy).await.unwrap().expect("public again with its source");
    assert_eq!(again.title, "关于做好春季防火工作的通知（修订）");
    // A 文号 of the source's organ is no clash for the target's own documents of another organ.
    let own = document(200, 2, 20, Some("海政发〔2026〕1号"));
    assert_eq!(own.meta.issuing_organ, shown.meta.issuing_organ, "same organ text, yet the copy is not the site's own");
    at(&s, 21, T0, Command::CreateDocument { document: own, attachment_ids: vec![] }).await.unwrap();
}

#[tokio::test]
async fn an_optional_repost_waits_for_the_target_which_accepts_or_refuses_with_a_reason() {
    let (_dir, s) = sites().await;
    at(&s, 10, T0, repost(vec![2], RepostMode::Optional)).await.unwrap();
    let id = copy_id(100, 2);
    assert!(s.document(2, id).await.unwrap().is_none(), "nothing shown before the target says so");
    let refuse = |reason: &str| Command::RefuseRepost { tenant_id: 2, repost_id: id, reason: reason.into() };
    assert_eq!(at(&s, 11, T0, refuse("  ")).await.unwrap_err().code, "missing_field");
    at(&s, 12, T0, refuse("本镇已在政策文件栏目发布")).await.unwrap();
    let row = &s.reposts(&RepostQuery { tenant_id: Some(2), limit: 10, ..Default::default() }).await.unwrap()[0];
    assert_eq!((row.state.as_str(), row.reason.as_deref()), ("refused", Some("本镇已在政策文件栏目发布")));
    assert_eq!(s.overdue_reposts(T0 + 2 * HOUR).await.unwrap(), vec![], "a refusal is an answer");
    // Changing its mind: accepted, the copy is shown; then taken down again.
    at(&s, 13, T0, Command::AcceptRepost { tenant_id: 2, repost_id: id }).await.unwrap();
    assert!(s.public_document(2, id).await.unwrap().is_some());
    at(&s, 14, T0, Command::WithdrawDocument { tenant_id: 2, document_id: id }).await.unwrap();
    let row = &s.reposts(&RepostQuery { tenant_id: Some(2), limit: 10, ..Default::default() }).await.unwrap()[0];
    assert_eq!(row.state.as_str(), "removed");
    // Another site's editor cannot answer for this one.
    assert_eq!(at(&s, 15, T0, Command::AcceptRepost { tenant_id: 3, repost_id: id }).await.unwrap_err().code, "unknown_repost");
}
