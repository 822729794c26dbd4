//! Which binaries can read a command: the log format *level*.
//!
//! In a rolling upgrade old and new binaries replicate one log. An older
//! binary cannot decode a command kind it does not know, nor a value its
//! types refuse (three of its structs deny unknown fields), and it silently
//! drops fields it does not know — its replica would then differ from the
//! others'. So every command says the lowest level that reads it exactly
//! ([`Command::level`]), each binary says the level it reads ([`LOG_LEVEL`],
//! in its `/_raft/status`), and the cluster keeps the level all its members
//! read as replicated state ([`Command::RaiseClusterLevel`]). A node
//! proposes only commands at or below the cluster's level, and stamps the
//! proposal with the rules of that level ([`rules_version`]), so that old
//! and new nodes decide it alike.
//!
//! Levels:
//! - **0** — the release that resolved issue 5 (`bff56ef`): 21 command
//!   kinds, no `Proposal::version`. A binary that says no level is at 0.
//! - **1** — the releases after it up to `13ce59b`: every command kind,
//!   rules version 2.
//! - **2** — this release: a log entry may carry a group of proposals
//!   (`zhanqun_cluster::group_commit`); no command kind is new, so
//!   [`Command::level`] names none at 2.
//!
//! When a release adds a command kind, a field a logged type serializes, a
//! value of a logged enum, or a form of log entry, `LOG_LEVEL` goes up and [`Command::level`]
//! says which commands need it.

use super::{Command, Proposal};

/// The log format level this binary reads and writes.
pub const LOG_LEVEL: u32 = 2;

/// The rules version ([`Proposal::version`]) of each level: what a
/// proposal is stamped with while the cluster is at that level.
const RULES_AT_LEVEL: [u32; LOG_LEVEL as usize + 1] = [0, Proposal::VERSION, Proposal::VERSION];

/// The rules version proposals are made under at cluster level `level`.
pub fn rules_version(level: u32) -> u32 {
    RULES_AT_LEVEL[(level.min(LOG_LEVEL)) as usize]
}

impl Proposal {
    /// This proposal as a cluster at `level` must log it: under the rules
    /// every member applies (never newer than it was made under).
    pub fn for_level(mut self, level: u32) -> Proposal {
        self.version = self.version.min(rules_version(level));
        self
    }
}

impl Command {
    /// The lowest log format level whose binaries read this command exactly
    /// as this one does. Kinds that level 0 knows are at 0 unless a value
    /// only newer binaries understand is set.
    pub fn level(&self) -> u32 {
        let newer = |needs_new: bool| u32::from(needs_new);
        match self {
            Command::Batch { commands } => commands.iter().map(Command::level).max().unwrap_or(0),
            // Kinds level 0 knows, with the fields added since.
            Command::CreateTenant { tenant } => newer(tenant.conac_id.is_some()),
            // Level 0 refuses a patch with a field it does not know.
            Command::UpdateTenant { patch, .. } => newer(patch.conac_id.is_some()),
            Command::CreateChannel { channel } => newer(channel.role.is_some()),
            Command::CreateDocument { document, .. } => newer(document.copy_of.is_some() || document.origin_url.is_some()),
            Command::CreateUser { user } => newer(user.disabled_at.is_some() || user.must_change_password),
            // Level 0 refuses a policy with a field it does not know; the
            // new ones are left out of the JSON when at their defaults.
            Command::SetPasswordPolicy { policy } => {
                newer(!policy.default_idle_timeout() || policy.totp_for_platform || policy.max_age_days != 0 || policy.history != 5)
            }
            Command::CreateSession { idle_ms, totp_step, .. } => newer(idle_ms.is_some() || totp_step.is_some()),
            Command::UpdateDocument { .. }
            | Command::RestoreRevision { .. }
            | Command::SubmitDocument { .. }
            | Command::ApproveDocument { .. }
            | Command::ReturnDocument { .. }
            | Command::SignOffSecrecy { .. }
            | Command::SetValidity { .. }
            | Command::ScheduleDocument { .. }
            | Command::PublishDocument { .. }
            | Command::WithdrawDocument { .. }
            | Command::AddAttachment { .. }
            | Command::SetRoles { .. }
            | Command::DeleteSession { .. } => 0,
            // Kinds added at level 1.
            Command::RenameChannel { .. }
            | Command::MoveChannel { .. }
            | Command::ReorderChannels { .. }
            | Command::DeleteChannel { .. }
            | Command::SetUpdateClass { .. }
            | Command::AllowPersonalData { .. }
            | Command::ChangePassword { .. }
            | Command::ResetPassword { .. }
            | Command::SetAccountDisabled { .. }
            | Command::RevokeSessions { .. }
            | Command::UnlockAccount { .. }
            | Command::TouchSession { .. }
            | Command::SetChannelRole { .. }
            | Command::SetTenantTags { .. }
            | Command::SetCertificate { .. }
            | Command::CreateFeed { .. }
            | Command::DeleteFeed { .. }
            | Command::RequestFeedPoll { .. }
            | Command::RecordFeedPoll { .. }
            | Command::CreateRepostRule { .. }
            | Command::DeleteRepostRule { .. }
            | Command::RepostDocument { .. }
            | Command::AcceptRepost { .. }
            | Command::RefuseRepost { .. }
            | Command::RecordRepostProofs { .. }
            | Command::SubmitUpward { .. }
            | Command::AdoptSubmission { .. }
            | Command::ReturnSubmission { .. }
            | Command::EnrollTotp { .. }
            | Command::RemoveTotp { .. }
            | Command::RecordTotpFailure { .. }
            | Command::RecordHomeProbes { .. }
            | Command::RecordLinkChecks { .. }
            | Command::ArchiveAudit { .. }
            | Command::RaiseClusterLevel { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, ChannelKind, Document, PasswordPolicy, UpdateClass, User};

    #[test]
    fn a_new_field_set_on_an_old_kind_needs_the_new_level() {
        let doc = Document::draft(1, 2, 3, "标题", "某镇人民政府", 0);
        assert_eq!(Command::CreateDocument { document: doc.clone(), attachment_ids: vec![] }.level(), 0);
        let copy = Document { copy_of: Some(9), ..doc };
        assert_eq!(Command::CreateDocument { document: copy, attachment_ids: vec![] }.level(), 1, "a repost's copy");
        let channel = Channel::new(1, 2, "news", "工作动态", ChannelKind::List, UpdateClass::Dynamic, 0);
        assert_eq!(Command::CreateChannel { channel: channel.clone() }.level(), 0);
        assert_eq!(Command::CreateChannel { channel: Channel { role: Some("policy-repost".into()), ..channel } }.level(), 1);
        let user = User::new(1, "nz-editor", "编辑", String::new(), 0);
        assert_eq!(Command::CreateUser { user: user.clone() }.level(), 0);
        assert_eq!(Command::CreateUser { user: User { must_change_password: true, ..user } }.level(), 1, "level 0 would drop the flag");
        let policy = PasswordPolicy::default();
        assert_eq!(Command::SetPasswordPolicy { policy }.level(), 0);
        assert_eq!(Command::SetPasswordPolicy { policy: PasswordPolicy { history: 6, ..policy } }.level(), 1, "level 0 refuses the unknown field");
        let api = Command::CreateSession { token_sha256: "ab".into(), user_id: 1, expires_at: 1, idle_ms: None, totp_step: None };
        let browser = Command::CreateSession { token_sha256: "ab".into(), user_id: 1, expires_at: 1, idle_ms: Some(1_800_000), totp_step: None };
        assert_eq!((api.level(), browser.level()), (0, 1));
        assert_eq!(Command::Batch { commands: vec![api, browser] }.level(), 1, "a batch needs what its newest command needs");
    }

    #[test]
    fn a_proposal_is_stamped_with_the_rules_every_member_applies() {
        let p = Proposal::new(0, None, None, Command::DeleteSession { token_sha256: "ab".into() });
        assert_eq!(p.clone().for_level(0).version, 0, "level 0 knows no rules version");
        assert_eq!(p.clone().for_level(LOG_LEVEL).version, Proposal::VERSION);
        let old = Proposal { version: 1, ..p };
        assert_eq!(old.for_level(LOG_LEVEL).version, 1, "never newer than it was made under");
    }
}
