//! The editorial workflow of a document: which state follows which, and who
//! may move it.
//!
//! ```text
//! draft ──submit──▶ submitted ──approve──▶ in_review ──approve──▶ (secrecy_review ──sign off──▶) approved ──publish──▶ published
//!   ▲                   │ (政务公开 stage first when        │                │                          │ schedule        │
//!   └──── return (退文, with a reason) ◀─── not 主动公开) ───┴────────────────┘                          ▼                 │ withdraw
//!                                                                                                  scheduled ─publish─▶   ▼
//!                                                                                                                     withdrawn
//! ```
//!
//! The rules live here, pure, so that the API answers early with the same
//! words the state machine would use, and the state machine has the last say.

use serde::{Deserialize, Serialize};

use crate::{DocState, Document, Millis, Rejection, TenantRole, User, string_enum};

string_enum! {
    /// Whose turn it is while a document is under review.
    pub enum ReviewStage {
        /// The tenant's 政务公开 reviewer checks a 依申请公开 / 不予公开 decision.
        Disclosure => "disclosure",
        /// The content reviewer.
        Content => "content",
        /// The 保密审查员 signs off.
        Secrecy => "secrecy",
    }
}

/// A workflow step someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Edit,
    Submit,
    Approve,
    Return,
    SignOff,
    Publish,
    Withdraw,
    /// Change 有效性 of a published document.
    SetValidity,
    /// Schedule publication or withdrawal.
    Schedule,
}

/// Why a document was sent back (退文): shown to its editor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReturnNote {
    pub reason: String,
    pub by: Option<i64>,
    pub at: Millis,
    /// The stage that returned it.
    pub stage: ReviewStage,
}

/// A 保密审查 sign-off, kept with the document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecrecySignOff {
    pub by: Option<i64>,
    pub at: Millis,
    /// Passed: may be published. Not passed: the document goes back.
    pub passed: bool,
    pub conclusion: String,
}

/// The roles that may take `step` on a document in its current state.
pub fn roles_for(step: Step, stage: Option<ReviewStage>) -> &'static [TenantRole] {
    use TenantRole::*;
    match (step, stage) {
        (Step::Edit | Step::Submit, _) => &[Admin, Editor],
        (Step::Approve | Step::Return, Some(ReviewStage::Disclosure)) => &[DisclosureReviewer],
        (Step::Approve | Step::Return, Some(ReviewStage::Content) | None) => &[Admin, Reviewer],
        // Nobody approves at the secrecy stage — it is signed off — so any
        // reviewer asking is told that (a conflict), not that it is not
        // their step.
        (Step::Approve, Some(ReviewStage::Secrecy)) => &[Admin, Reviewer, DisclosureReviewer, SecrecyReviewer],
        (Step::Return | Step::SignOff, Some(ReviewStage::Secrecy)) | (Step::SignOff, _) => &[SecrecyReviewer],
        (Step::Publish | Step::Withdraw | Step::SetValidity | Step::Schedule, _) => &[Admin, Reviewer],
    }
}

/// Whether `user` may take `step` on `d`: only with one of the step's roles
/// in the document's site (no platform role implies one).
pub fn check_may(user: &User, d: &Document, step: Step) -> Result<(), Rejection> {
    let roles = roles_for(step, d.review_stage);
    if user.may(d.tenant_id, roles) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.title()).collect();
    Err(Rejection::forbidden("not_your_step", format!("this step needs the {} role in this site", names.join(" or "))))
}

/// The stage a submitted document goes to first.
pub fn first_stage(d: &Document) -> ReviewStage {
    match d.meta.disclosure {
        Some(crate::Disclosure::Proactive) | None => ReviewStage::Content,
        Some(_) => ReviewStage::Disclosure,
    }
}

/// Checks a submission: the disclosure attribute is chosen, and explained
/// when it is not 主动公开. A refusal says what to fill in; it is a
/// conflict (409) with the document as it stands, not a malformed request.
pub fn check_submission(d: &Document) -> Result<(), Rejection> {
    let Some(disclosure) = d.meta.disclosure else {
        return Err(Rejection::conflict(
            "disclosure_required",
            "choose the 公开属性 (disclosure: 主动公开, 依申请公开 or 不予公开) before submitting the document for review",
        ));
    };
    if disclosure.needs_reason() {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&d.meta.disclosure_basis) || blank(&d.meta.disclosure_reason) {
            return Err(Rejection::conflict(
                "disclosure_reason_required",
                format!(
                    "公开属性 {disclosure} needs its legal basis (disclosure_basis) and the reason (disclosure_reason) before the document can be submitted"
                ),
            ));
        }
    }
    Ok(())
}

/// Where a document goes when its current reviewer approves it.
pub fn after_approval(d: &Document) -> (DocState, Option<ReviewStage>) {
    match d.review_stage {
        Some(ReviewStage::Disclosure) => (DocState::InReview, Some(ReviewStage::Content)),
        _ if d.needs_secrecy_review && !d.secrecy.as_ref().is_some_and(|s| s.passed) => (DocState::SecrecyReview, Some(ReviewStage::Secrecy)),
        _ => (DocState::Approved, None),
    }
}

/// Whether the document is somewhere a reviewer acts on.
pub fn under_review(state: DocState) -> bool {
    matches!(state, DocState::Submitted | DocState::InReview | DocState::SecrecyReview)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Disclosure, Grant};

    fn draft(disclosure: Option<Disclosure>) -> Document {
        let mut d = Document::draft(9, 1, 5, "关于开展秸秆禁烧工作的通知", "示范镇人民政府", 0);
        d.meta.disclosure = disclosure;
        d
    }

    fn holder(role: TenantRole, tenant_id: i64) -> User {
        let mut u = User::new(7, "u", "u", String::new(), 0);
        u.grants = vec![Grant { tenant_id, role }];
        u
    }

    #[test]
    fn a_submission_needs_its_disclosure_and_the_reason_when_not_proactive() {
        assert_eq!(check_submission(&draft(None)).unwrap_err().code, "disclosure_required");
        assert!(check_submission(&draft(Some(Disclosure::Proactive))).is_ok());
        let mut d = draft(Some(Disclosure::OnRequest));
        assert_eq!(check_submission(&d).unwrap_err().code, "disclosure_reason_required");
        d.meta.disclosure_basis = Some("《条例》第十五条".into());
        d.meta.disclosure_reason = Some("   ".into());
        assert_eq!(check_submission(&d).unwrap_err().code, "disclosure_reason_required", "a blank reason is no reason");
        d.meta.disclosure_reason = Some("涉及第三方合法权益".into());
        assert!(check_submission(&d).is_ok());
    }

    #[test]
    fn review_starts_with_the_disclosure_stage_unless_proactive_and_ends_with_secrecy_when_marked() {
        assert_eq!(first_stage(&draft(Some(Disclosure::Proactive))), ReviewStage::Content);
        assert_eq!(first_stage(&draft(Some(Disclosure::Withheld))), ReviewStage::Disclosure);
        let mut d = draft(Some(Disclosure::OnRequest));
        d.review_stage = Some(ReviewStage::Disclosure);
        assert_eq!(after_approval(&d), (DocState::InReview, Some(ReviewStage::Content)));
        d.review_stage = Some(ReviewStage::Content);
        assert_eq!(after_approval(&d), (DocState::Approved, None));
        d.needs_secrecy_review = true;
        assert_eq!(after_approval(&d), (DocState::SecrecyReview, Some(ReviewStage::Secrecy)));
        d.secrecy = Some(SecrecySignOff { by: None, at: 0, passed: false, conclusion: "涉密".into() });
        assert_eq!(after_approval(&d), (DocState::SecrecyReview, Some(ReviewStage::Secrecy)), "a failed sign-off does not let it through");
        d.secrecy = Some(SecrecySignOff { by: None, at: 0, passed: true, conclusion: "无涉密内容".into() });
        assert_eq!(after_approval(&d), (DocState::Approved, None));
    }

    #[test]
    fn each_stage_is_its_own_reviewers_and_only_in_their_site() {
        let mut d = draft(Some(Disclosure::OnRequest));
        d.review_stage = Some(ReviewStage::Disclosure);
        assert!(check_may(&holder(TenantRole::DisclosureReviewer, 1), &d, Step::Approve).is_ok());
        let refused = check_may(&holder(TenantRole::Reviewer, 1), &d, Step::Approve).unwrap_err();
        assert_eq!(refused.code, "not_your_step");
        assert!(refused.message.contains("政务公开审核员"), "the refusal names the role: {}", refused.message);
        d.review_stage = Some(ReviewStage::Content);
        assert!(check_may(&holder(TenantRole::Reviewer, 1), &d, Step::Approve).is_ok());
        assert!(check_may(&holder(TenantRole::Reviewer, 2), &d, Step::Approve).is_err(), "a reviewer of another site");
        assert!(check_may(&holder(TenantRole::Editor, 1), &d, Step::Approve).is_err(), "an editor approves nothing");
        assert!(check_may(&holder(TenantRole::Editor, 1), &d, Step::Submit).is_ok());
        for step in [Step::Publish, Step::Withdraw, Step::Schedule, Step::SetValidity] {
            assert!(check_may(&holder(TenantRole::Editor, 1), &d, step).is_err(), "{step:?} by an editor");
            assert!(check_may(&holder(TenantRole::Admin, 1), &d, step).is_ok(), "{step:?} by the site admin");
        }
        d.review_stage = Some(ReviewStage::Secrecy);
        assert!(check_may(&holder(TenantRole::SecrecyReviewer, 1), &d, Step::SignOff).is_ok());
        assert!(check_may(&holder(TenantRole::Admin, 1), &d, Step::SignOff).is_err(), "only a 保密审查员 signs off");
        assert!(under_review(DocState::SecrecyReview) && !under_review(DocState::Approved));
    }
}
