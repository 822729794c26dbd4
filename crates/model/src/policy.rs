//! Who may do what: one pure function of the actor, the command and the few
//! facts about its target that the command alone does not carry.
//!
//! The state machine asks it for every command of every proposal (format
//! version 2 on), whatever front door proposed it, so a refusal reads the
//! same and is audited on every node. Front doors may ask it earlier, only
//! to answer more kindly. The README's roles table is checked against it
//! (`tests::the_readme_roles_table_is_what_the_policy_says`).
//!
//! 三权分立 and least privilege, in short: the 系统管理员 runs sites and
//! their columns and holds no site role; the 安全管理员 runs site accounts
//! and the password policy; the 审计管理员 changes nothing; platform
//! accounts are made and rescued only by the operator (the system); site
//! roles are held personally, per site.

use crate::workflow::{ReviewStage, Step, roles_for};
use crate::{Command, PlatformRole, Rejection, TenantRole, User};

/// What a command acts on, as far as permission goes, and which the state
/// machine looks up before asking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    /// The document's review stage: approving and returning depend on it.
    pub review_stage: Option<ReviewStage>,
    /// The platform role of the account a command acts on.
    pub account_role: Option<PlatformRole>,
}

/// The duty a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only the system: the first start, the demo, the operator's console.
    System,
    /// The 系统管理员.
    PlatformAdmin,
    /// The 安全管理员.
    SecurityAdmin,
    /// The 系统管理员 or the site's own admin (a site's shape: its columns).
    Builder(i64),
    /// One of these roles in the site.
    SiteRole(i64, &'static [TenantRole]),
    /// The account itself.
    Owner(i64),
    /// Anyone logged in (ending their own session).
    Anyone,
}

/// Writing documents and attachments.
pub const WRITERS: &[TenantRole] = &[TenantRole::Admin, TenantRole::Editor];
/// Who may let personal data stay in a draft: those who review content.
pub const CONTENT_REVIEWERS: &[TenantRole] = &[TenantRole::Admin, TenantRole::Reviewer];

/// The duty `command` needs. A batch needs each of its commands' duties.
pub fn need(command: &Command, target: &Target) -> Vec<Need> {
    use Command::*;
    let step = |tenant_id: i64, step: Step| Need::SiteRole(tenant_id, roles_for(step, target.review_stage));
    let account = || if target.account_role.is_some() { Need::System } else { Need::SecurityAdmin };
    vec![match command {
        CreateTenant { .. } | UpdateTenant { .. } => Need::PlatformAdmin,
        CreateChannel { channel } => Need::Builder(channel.tenant_id),
        RenameChannel { tenant_id, .. }
        | MoveChannel { tenant_id, .. }
        | ReorderChannels { tenant_id, .. }
        | DeleteChannel { tenant_id, .. }
        | SetUpdateClass { tenant_id, .. } => Need::Builder(*tenant_id),
        CreateDocument { document, .. } => Need::SiteRole(document.tenant_id, WRITERS),
        AddAttachment { attachment } => Need::SiteRole(attachment.tenant_id, WRITERS),
        UpdateDocument { tenant_id, .. } | RestoreRevision { tenant_id, .. } => step(*tenant_id, Step::Edit),
        SubmitDocument { tenant_id, .. } => step(*tenant_id, Step::Submit),
        ApproveDocument { tenant_id, .. } => step(*tenant_id, Step::Approve),
        ReturnDocument { tenant_id, .. } => step(*tenant_id, Step::Return),
        AllowPersonalData { tenant_id, .. } => Need::SiteRole(*tenant_id, CONTENT_REVIEWERS),
        SignOffSecrecy { tenant_id, .. } => step(*tenant_id, Step::SignOff),
        SetValidity { tenant_id, .. } => step(*tenant_id, Step::SetValidity),
        ScheduleDocument { tenant_id, .. } => step(*tenant_id, Step::Schedule),
        PublishDocument { tenant_id, .. } => step(*tenant_id, Step::Publish),
        WithdrawDocument { tenant_id, .. } => step(*tenant_id, Step::Withdraw),
        CreateUser { user } if user.platform_role.is_some() => Need::System,
        CreateUser { .. } | SetPasswordPolicy { .. } => Need::SecurityAdmin,
        // Roles of a platform account are refused by 三权分立 itself
        // (`User::check_separation`), with its own message.
        SetRoles { .. } => Need::SecurityAdmin,
        ResetPassword { .. } | SetAccountDisabled { .. } | RevokeSessions { .. } | UnlockAccount { .. } | RemoveTotp { .. } => account(),
        EnrollTotp { user_id, .. } | RecordTotpFailure { user_id } => Need::Owner(*user_id),
        ChangePassword { user_id, .. } | CreateSession { user_id, .. } | TouchSession { user_id, .. } => Need::Owner(*user_id),
        DeleteSession { .. } => Need::Anyone,
        SetChannelRole { tenant_id, .. } => Need::Builder(*tenant_id),
        SetTenantTags { .. } | SetCertificate { .. } | CreateFeed { .. } | DeleteFeed { .. } | RequestFeedPoll { .. } => Need::PlatformAdmin,
        // The leader's own doings: polling feeds, fetching copies.
        RecordFeedPoll { .. } | RecordRepostProofs { .. } | RecordHomeProbes { .. } | RecordLinkChecks { .. } | ArchiveAudit { .. } => Need::System,
        // A node that asked every member what it reads.
        RaiseClusterLevel { .. } => Need::System,
        CreateRepostRule { rule } => Need::SiteRole(rule.tenant_id, WRITERS),
        DeleteRepostRule { tenant_id, .. } | RepostDocument { tenant_id, .. } | AcceptRepost { tenant_id, .. } | RefuseRepost { tenant_id, .. } => {
            Need::SiteRole(*tenant_id, WRITERS)
        }
        SubmitUpward { submission } => Need::SiteRole(submission.tenant_id, WRITERS),
        AdoptSubmission { portal_id, .. } | ReturnSubmission { portal_id, .. } => Need::SiteRole(*portal_id, WRITERS),
        Batch { commands } => return commands.iter().flat_map(|c| need(c, target)).collect(),
    }]
}

/// Whether `actor` (`None`: the system) may have `command` applied to a
/// target with these facts; a refusal names the duty that is missing.
pub fn check(actor: Option<&User>, command: &Command, target: &Target) -> Result<(), Rejection> {
    let Some(user) = actor else { return Ok(()) };
    if user.disabled_at.is_some() {
        return Err(Rejection::forbidden("account_disabled", "this account is disabled; ask the 安全管理员"));
    }
    let own_way_out = matches!(
        command,
        Command::ChangePassword { .. }
            | Command::CreateSession { .. }
            | Command::TouchSession { .. }
            | Command::DeleteSession { .. }
            | Command::EnrollTotp { .. }
            | Command::RecordTotpFailure { .. }
    );
    if user.must_change_password && !own_way_out {
        return Err(Rejection::forbidden(
            "password_change_required",
            "change the password the 安全管理员 set for this account first (PUT /api/v1/session/password)",
        ));
    }
    need(command, target).into_iter().try_for_each(|n| meets(user, n))
}

/// Whether `user` has the duty `need`: what a front door asks before it
/// does work for a command it has not built yet (hashing an upload,
/// sanitizing a body), with the same answer the state machine will give.
pub fn meets(user: &User, need: Need) -> Result<(), Rejection> {
    let refuse = |code: &str, message: String| Err(Rejection::forbidden(code, message));
    match need {
        Need::System => refuse(
            "platform_account",
            "platform accounts (系统/安全/审计管理员) are made and managed by the operator with `zhanqun account` and the cluster secret".into(),
        ),
        Need::PlatformAdmin if !user.is_platform_admin() => refuse("not_your_duty", "only the 系统管理员 (platform administrator) runs sites".into()),
        Need::SecurityAdmin if !user.is_security_admin() => {
            refuse("not_your_duty", "only the 安全管理员 (security administrator) manages accounts and the password policy".into())
        }
        Need::Builder(t) if !user.builds(t) => refuse("not_your_step", "columns are built by the 系统管理员 or the site's 站点管理员 (admin)".into()),
        Need::SiteRole(t, roles) if !user.may(t, roles) => {
            let names: Vec<&str> = roles.iter().map(|r| r.title()).collect();
            refuse("not_your_step", format!("this step needs the {} role in this site", names.join(" or ")))
        }
        Need::Owner(id) if user.id != id => refuse("not_your_account", "only the account's owner does this".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
