//! What a command is about, read from the command alone: its domain, its
//! name for logs and metrics, the document it acts on, and what the audit
//! trail says of it. Every `match` here names every variant, so a new
//! command is a compile error until it says these things.

use super::Command;
/// The part of the platform a command belongs to. The state machine
/// hands each command to its domain's apply module; the policy, the audit
/// trail and the handlers group them the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Sites and their columns (站点与栏目).
    Sites,
    /// Documents' content and attachments.
    Documents,
    /// The review and publishing steps of a document.
    Workflow,
    /// Accounts, roles, sessions and the password policy.
    Accounts,
    /// Feeds, repost rules, reposts and 信息报送: documents crossing sites.
    Reposts,
    /// What the platform observes of the sites: its probes.
    Monitoring,
    /// The cluster itself: which log format its members read.
    Cluster,
    /// Several commands at once: each goes to its own domain.
    Batch,
}

impl Command {
    /// Which domain applies this command.
    pub fn domain(&self) -> Domain {
        use Command::*;
        match self {
            CreateTenant { .. }
            | UpdateTenant { .. }
            | CreateChannel { .. }
            | RenameChannel { .. }
            | MoveChannel { .. }
            | ReorderChannels { .. }
            | DeleteChannel { .. }
            | SetUpdateClass { .. }
            | SetChannelRole { .. }
            | SetTenantTags { .. }
            | SetCertificate { .. } => Domain::Sites,
            CreateFeed { .. }
            | DeleteFeed { .. }
            | RequestFeedPoll { .. }
            | RecordFeedPoll { .. }
            | CreateRepostRule { .. }
            | DeleteRepostRule { .. }
            | RepostDocument { .. }
            | AcceptRepost { .. }
            | RefuseRepost { .. }
            | RecordRepostProofs { .. }
            | SubmitUpward { .. }
            | AdoptSubmission { .. }
            | ReturnSubmission { .. } => Domain::Reposts,
            CreateDocument { .. } | UpdateDocument { .. } | RestoreRevision { .. } | AddAttachment { .. } => Domain::Documents,
            SubmitDocument { .. }
            | ApproveDocument { .. }
            | ReturnDocument { .. }
            | AllowPersonalData { .. }
            | SignOffSecrecy { .. }
            | SetValidity { .. }
            | ScheduleDocument { .. }
            | PublishDocument { .. }
            | WithdrawDocument { .. } => Domain::Workflow,
            CreateUser { .. }
            | SetRoles { .. }
            | SetPasswordPolicy { .. }
            | ChangePassword { .. }
            | ResetPassword { .. }
            | SetAccountDisabled { .. }
            | RevokeSessions { .. }
            | UnlockAccount { .. }
            | CreateSession { .. }
            | EnrollTotp { .. }
            | RemoveTotp { .. }
            | RecordTotpFailure { .. }
            | TouchSession { .. }
            | DeleteSession { .. } => Domain::Accounts,
            RecordHomeProbes { .. } | RecordLinkChecks { .. } | ArchiveAudit { .. } => Domain::Monitoring,
            RaiseClusterLevel { .. } => Domain::Cluster,
            Batch { .. } => Domain::Batch,
        }
    }

    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateTenant { .. } => "create_tenant",
            Command::UpdateTenant { .. } => "update_tenant",
            Command::CreateChannel { .. } => "create_channel",
            Command::RenameChannel { .. } => "rename_channel",
            Command::MoveChannel { .. } => "move_channel",
            Command::ReorderChannels { .. } => "reorder_channels",
            Command::DeleteChannel { .. } => "delete_channel",
            Command::SetUpdateClass { .. } => "set_update_class",
            Command::CreateDocument { .. } => "create_document",
            Command::UpdateDocument { .. } => "update_document",
            Command::RestoreRevision { .. } => "restore_revision",
            Command::SubmitDocument { .. } => "submit_document",
            Command::ApproveDocument { .. } => "approve_document",
            Command::ReturnDocument { .. } => "return_document",
            Command::AllowPersonalData { .. } => "allow_personal_data",
            Command::SignOffSecrecy { .. } => "sign_off_secrecy",
            Command::SetValidity { .. } => "set_validity",
            Command::ScheduleDocument { .. } => "schedule_document",
            Command::PublishDocument { .. } => "publish_document",
            Command::WithdrawDocument { .. } => "withdraw_document",
            Command::AddAttachment { .. } => "add_attachment",
            Command::CreateUser { .. } => "create_user",
            Command::SetRoles { .. } => "set_roles",
            Command::SetPasswordPolicy { .. } => "set_password_policy",
            Command::ChangePassword { .. } => "change_password",
            Command::ResetPassword { .. } => "reset_password",
            Command::SetAccountDisabled { disabled: true, .. } => "disable_account",
            Command::SetAccountDisabled { disabled: false, .. } => "enable_account",
            Command::RevokeSessions { .. } => "revoke_sessions",
            Command::UnlockAccount { .. } => "unlock_account",
            Command::CreateSession { .. } => "create_session",
            Command::EnrollTotp { .. } => "enroll_totp",
            Command::RemoveTotp { .. } => "remove_totp",
            Command::RecordTotpFailure { .. } => "wrong_totp_code",
            Command::TouchSession { .. } => "touch_session",
            Command::DeleteSession { .. } => "delete_session",
            Command::SetChannelRole { .. } => "set_channel_role",
            Command::SetTenantTags { .. } => "set_tenant_tags",
            Command::SetCertificate { .. } => "set_certificate",
            Command::CreateFeed { .. } => "create_feed",
            Command::DeleteFeed { .. } => "delete_feed",
            Command::RequestFeedPoll { .. } => "request_feed_poll",
            Command::RecordFeedPoll { .. } => "record_feed_poll",
            Command::CreateRepostRule { .. } => "create_repost_rule",
            Command::DeleteRepostRule { .. } => "delete_repost_rule",
            Command::RepostDocument { .. } => "repost_document",
            Command::AcceptRepost { .. } => "accept_repost",
            Command::RefuseRepost { .. } => "refuse_repost",
            Command::RecordRepostProofs { .. } => "record_repost_proofs",
            Command::SubmitUpward { .. } => "submit_upward",
            Command::AdoptSubmission { .. } => "adopt_submission",
            Command::ReturnSubmission { .. } => "return_submission",
            Command::RecordHomeProbes { .. } => "record_home_probes",
            Command::RaiseClusterLevel { .. } => "raise_cluster_level",
            Command::ArchiveAudit { .. } => "archive_audit",
            Command::RecordLinkChecks { .. } => "record_link_checks",
            Command::Batch { .. } => "batch",
        }
    }

    /// The one document (tenant, id) this command acts on, if it acts on one.
    pub fn document(&self) -> Option<(i64, i64)> {
        match self {
            Command::CreateDocument { document, .. } => Some((document.tenant_id, document.id)),
            Command::UpdateDocument { tenant_id, document_id, .. }
            | Command::RestoreRevision { tenant_id, document_id, .. }
            | Command::SubmitDocument { tenant_id, document_id }
            | Command::ApproveDocument { tenant_id, document_id }
            | Command::ReturnDocument { tenant_id, document_id, .. }
            | Command::AllowPersonalData { tenant_id, document_id, .. }
            | Command::SignOffSecrecy { tenant_id, document_id, .. }
            | Command::SetValidity { tenant_id, document_id, .. }
            | Command::ScheduleDocument { tenant_id, document_id, .. }
            | Command::PublishDocument { tenant_id, document_id }
            | Command::WithdrawDocument { tenant_id, document_id }
            | Command::RepostDocument { tenant_id, document_id, .. } => Some((*tenant_id, *document_id)),
            Command::SubmitUpward { submission } => Some((submission.tenant_id, submission.document_id)),
            Command::SetChannelRole { .. }
            | Command::SetTenantTags { .. }
            | Command::SetCertificate { .. }
            | Command::CreateFeed { .. }
            | Command::DeleteFeed { .. }
            | Command::RequestFeedPoll { .. }
            | Command::RecordFeedPoll { .. }
            | Command::CreateRepostRule { .. }
            | Command::DeleteRepostRule { .. }
            | Command::AcceptRepost { .. }
            | Command::RefuseRepost { .. }
            | Command::RecordRepostProofs { .. }
            | Command::RecordHomeProbes { .. }
            | Command::ArchiveAudit { .. }
            | Command::RecordLinkChecks { .. }
            | Command::RaiseClusterLevel { .. }
            | Command::AdoptSubmission { .. }
            | Command::ReturnSubmission { .. } => None,
            Command::CreateTenant { .. }
            | Command::UpdateTenant { .. }
            | Command::CreateChannel { .. }
            | Command::RenameChannel { .. }
            | Command::MoveChannel { .. }
            | Command::ReorderChannels { .. }
            | Command::DeleteChannel { .. }
            | Command::SetUpdateClass { .. }
            | Command::AddAttachment { .. }
            | Command::CreateUser { .. }
            | Command::SetRoles { .. }
            | Command::CreateSession { .. }
            | Command::EnrollTotp { .. }
            | Command::RemoveTotp { .. }
            | Command::RecordTotpFailure { .. }
            | Command::TouchSession { .. }
            | Command::SetPasswordPolicy { .. }
            | Command::ChangePassword { .. }
            | Command::ResetPassword { .. }
            | Command::SetAccountDisabled { .. }
            | Command::RevokeSessions { .. }
            | Command::UnlockAccount { .. }
            | Command::DeleteSession { .. }
            | Command::Batch { .. } => None,
        }
    }

    /// The site and the thing a command acts on, for the audit trail.
    pub fn audit_subject(&self) -> (Option<i64>, Option<i64>) {
        match self {
            Command::CreateTenant { tenant } => (Some(tenant.id), Some(tenant.id)),
            Command::UpdateTenant { tenant_id, .. } => (Some(*tenant_id), Some(*tenant_id)),
            Command::CreateChannel { channel } => (Some(channel.tenant_id), Some(channel.id)),
            Command::RenameChannel { tenant_id, channel_id, .. }
            | Command::MoveChannel { tenant_id, channel_id, .. }
            | Command::DeleteChannel { tenant_id, channel_id }
            | Command::SetUpdateClass { tenant_id, channel_id, .. } => (Some(*tenant_id), Some(*channel_id)),
            Command::ReorderChannels { tenant_id, parent_id, .. } => (Some(*tenant_id), *parent_id),
            Command::AddAttachment { attachment } => (Some(attachment.tenant_id), Some(attachment.id)),
            Command::CreateDocument { document, .. } => (Some(document.tenant_id), Some(document.id)),
            Command::UpdateDocument { tenant_id, document_id, .. }
            | Command::RestoreRevision { tenant_id, document_id, .. }
            | Command::SubmitDocument { tenant_id, document_id }
            | Command::ApproveDocument { tenant_id, document_id }
            | Command::ReturnDocument { tenant_id, document_id, .. }
            | Command::AllowPersonalData { tenant_id, document_id, .. }
            | Command::SignOffSecrecy { tenant_id, document_id, .. }
            | Command::SetValidity { tenant_id, document_id, .. }
            | Command::ScheduleDocument { tenant_id, document_id, .. }
            | Command::PublishDocument { tenant_id, document_id }
            | Command::WithdrawDocument { tenant_id, document_id } => (Some(*tenant_id), Some(*document_id)),
            Command::CreateUser { user } => (None, Some(user.id)),
            Command::SetRoles { user_id, .. }
            | Command::CreateSession { user_id, .. }
            | Command::EnrollTotp { user_id, .. }
            | Command::RemoveTotp { user_id }
            | Command::RecordTotpFailure { user_id }
            | Command::TouchSession { user_id, .. }
            | Command::ChangePassword { user_id, .. }
            | Command::ResetPassword { user_id, .. }
            | Command::SetAccountDisabled { user_id, .. }
            | Command::RevokeSessions { user_id } => (None, Some(*user_id)),
            // The account is named in the detail: the command carries its
            // name, not its id.
            Command::UnlockAccount { .. } => (None, None),
            Command::SetPasswordPolicy { .. } | Command::DeleteSession { .. } | Command::Batch { .. } => (None, None),
            Command::SetChannelRole { tenant_id, channel_id, .. } => (Some(*tenant_id), Some(*channel_id)),
            Command::SetTenantTags { tenant_id, .. } | Command::SetCertificate { tenant_id, .. } => (Some(*tenant_id), Some(*tenant_id)),
            Command::CreateFeed { feed } => (Some(feed.tenant_id), Some(feed.id)),
            Command::DeleteFeed { feed_id } | Command::RequestFeedPoll { feed_id } | Command::RecordFeedPoll { feed_id, .. } => (None, Some(*feed_id)),
            Command::CreateRepostRule { rule } => (Some(rule.tenant_id), Some(rule.id)),
            Command::DeleteRepostRule { tenant_id, rule_id } => (Some(*tenant_id), Some(*rule_id)),
            Command::RepostDocument { tenant_id, document_id, .. } => (Some(*tenant_id), Some(*document_id)),
            Command::AcceptRepost { tenant_id, repost_id } | Command::RefuseRepost { tenant_id, repost_id, .. } => (Some(*tenant_id), Some(*repost_id)),
            Command::RecordRepostProofs { .. }
            | Command::RecordHomeProbes { .. }
            | Command::RecordLinkChecks { .. }
            | Command::ArchiveAudit { .. }
            | Command::RaiseClusterLevel { .. } => (None, None),
            Command::SubmitUpward { submission } => (Some(submission.tenant_id), Some(submission.id)),
            Command::AdoptSubmission { portal_id, submission_id } | Command::ReturnSubmission { portal_id, submission_id, .. } => {
                (Some(*portal_id), Some(*submission_id))
            }
        }
    }

    /// What the audit trail says beyond the command's name: the reason of a
    /// 退文, the conclusion of a sign-off. Never secrets.
    pub fn audit_detail(&self) -> Option<String> {
        match self {
            Command::ReturnDocument { reason, .. } | Command::AllowPersonalData { reason, .. } => Some(reason.clone()),
            Command::SignOffSecrecy { passed, conclusion, .. } => Some(format!("{}: {conclusion}", if *passed { "passed" } else { "not passed" })),
            Command::Batch { commands } => Some(format!("{} commands", commands.len())),
            Command::RestoreRevision { revision, .. } => Some(format!("revision {revision}")),
            Command::SetRoles { grants, .. } => Some(grants.iter().map(|g| format!("{}:{}", g.tenant_id, g.role)).collect::<Vec<_>>().join(", ")),
            Command::SetPasswordPolicy { policy } => Some(format!(
                "min_length {}, min_classes {}, max_failed_logins {}, lockout_minutes {}{}{}{}{}",
                policy.min_length,
                policy.min_classes,
                policy.max_failed_logins,
                policy.lockout_minutes,
                // Named only when set, so entries from before it existed
                // keep the audit line (and hash) they were applied with.
                if policy.default_idle_timeout() { String::new() } else { format!(", idle_timeout_minutes {}", policy.idle_timeout_minutes) },
                if policy.totp_for_platform { ", second factor required of platform accounts" } else { "" },
                if policy.max_age_days > 0 { format!(", max_age_days {}", policy.max_age_days) } else { String::new() },
                if policy.history != 5 { format!(", history {}", policy.history) } else { String::new() }
            )),
            Command::UnlockAccount { username } => Some(username.clone()),
            Command::RenameChannel { name, .. } => Some(name.clone()),
            Command::MoveChannel { parent_id, .. } => Some(match parent_id {
                Some(id) => format!("under {id}"),
                None => "to the top".into(),
            }),
            Command::ReorderChannels { order, .. } => Some(order.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
            Command::SetUpdateClass { update_class, .. } => Some(update_class.to_string()),
            Command::ScheduleDocument { publish_at, unpublish_at, .. } => Some(format!("publish_at {publish_at:?}, unpublish_at {unpublish_at:?}")),
            Command::SetValidity { validity, replaced_by, .. } => Some(match replaced_by {
                Some(id) => format!("{validity}, replaced by {id}"),
                None => validity.to_string(),
            }),
            Command::SetChannelRole { role, .. } => Some(role.clone().unwrap_or_else(|| "no role".into())),
            Command::SetTenantTags { tags, .. } => Some(tags.join(", ")),
            // The certificate's fingerprint and reach, never its key.
            Command::SetCertificate { certificate, .. } => Some(match certificate {
                Some(c) => format!("sha256 {}, valid until {} (ms), hosts {}", c.sha256, c.not_after, c.hosts.join(", ")),
                None => "removed".into(),
            }),
            Command::CreateFeed { feed } => Some(format!("{} {}", feed.name, feed.url)),
            Command::RecordFeedPoll { result, .. } => Some(match result {
                crate::repost::PollResult::Fetched { items, skipped, .. } => format!("{} items, {skipped} skipped", items.len()),
                crate::repost::PollResult::Failed { reason, .. } => format!("failed: {reason}"),
            }),
            Command::CreateRepostRule { rule } => Some(format!("{} → {} ({})", rule.name, rule.role, rule.mode)),
            Command::RepostDocument { targets, mode, .. } => Some(format!("{mode} to {} sites", targets.len())),
            Command::RefuseRepost { reason, .. } | Command::ReturnSubmission { reason, .. } => Some(reason.clone()),
            Command::RecordRepostProofs { proofs } => Some(format!("{} copies fetched", proofs.len())),
            Command::RecordHomeProbes { probes, .. } => {
                Some(format!("{} home pages probed, {} not 200", probes.len(), probes.iter().filter(|p| p.status != 200).count()))
            }
            Command::SubmitUpward { submission } => Some(format!("document {} to portal column {}", submission.document_id, submission.channel_id)),
            Command::RecordLinkChecks { sites, checks, .. } => Some(format!(
                "{} outside links of {} home pages checked, {} not working",
                checks.len(),
                sites.len(),
                checks.iter().filter(|c| !c.works()).count()
            )),
            Command::ArchiveAudit { through_id, object_key, sha256, .. } => {
                Some(format!("lines through {through_id} exported to {object_key} (sha256 {sha256})"))
            }
            Command::RaiseClusterLevel { level, members } => {
                Some(format!("log format level {level}: members {} all read it", members.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")))
            }
            Command::DeleteFeed { .. }
            | Command::RequestFeedPoll { .. }
            | Command::DeleteRepostRule { .. }
            | Command::AcceptRepost { .. }
            | Command::AdoptSubmission { .. } => None,
            // Named by their subject alone; secrets (password hashes,
            // session tokens) never go into the trail.
            Command::CreateTenant { .. }
            | Command::UpdateTenant { .. }
            | Command::CreateChannel { .. }
            | Command::DeleteChannel { .. }
            | Command::CreateDocument { .. }
            | Command::UpdateDocument { .. }
            | Command::SubmitDocument { .. }
            | Command::ApproveDocument { .. }
            | Command::PublishDocument { .. }
            | Command::WithdrawDocument { .. }
            | Command::AddAttachment { .. }
            | Command::CreateUser { .. }
            | Command::ChangePassword { .. }
            | Command::ResetPassword { .. }
            | Command::SetAccountDisabled { .. }
            | Command::RevokeSessions { .. }
            | Command::CreateSession { .. }
            | Command::EnrollTotp { .. }
            | Command::RemoveTotp { .. }
            | Command::RecordTotpFailure { .. }
            | Command::TouchSession { .. }
            | Command::DeleteSession { .. } => None,
        }
    }

    /// The documents (tenant, id) this command may change, read from the
    /// command alone. The search index catches up from the Raft log with
    /// this; it must name every document apply could touch (a refused
    /// command naming one costs a needless re-read, nothing more).
    pub fn document_keys(&self, out: &mut Vec<(i64, i64)>) {
        match self {
            Command::Batch { commands } => commands.iter().for_each(|c| c.document_keys(out)),
            other => out.extend(other.document()),
        }
    }
}
