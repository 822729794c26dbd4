//! Commands: every change of content is one of these.
//!
//! A handler validates and authorizes, then wraps a [`Command`] in a
//! [`Proposal`] with everything that varies (time, actor, client address) and
//! hands it to Raft. Every node applies the same proposals in the same order
//! and reaches the same state; the [`Outcome`] is what the state machine
//! answered, and is identical on every node too.

use serde::{Deserialize, Serialize};

mod describe;
pub mod level;
pub use describe::Domain;

use crate::repost::{Feed, PollResult, RepostMode, RepostProof, RepostRule, Submission};
use crate::{Attachment, Channel, Document, DocumentPatch, Millis, Tenant, TenantPatch, User};

/// How long an audit line stays in the database at least (等级保护 asks
/// ≥ 180 days); older ones may be archived to the object store.
pub const AUDIT_KEPT_MS: Millis = 180 * 86_400_000;

/// What goes into the Raft log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Proposal {
    /// When the change was asked for; the state machine's only clock.
    pub at: Millis,
    /// The user who asked, if any (the bootstrap runs as nobody).
    pub actor: Option<i64>,
    /// Where the request came from, for the audit trail.
    pub client_ip: Option<String>,
    pub command: Command,
    /// The rules this proposal was made under ([`Proposal::VERSION`] when
    /// made; entries written before versions existed read as 0). Apply
    /// checks an entry by the rules of its version, so a node that replays
    /// an old entry, or an old node in a rolling upgrade that applies a new
    /// one, decides it exactly as every other node does.
    #[serde(default)]
    pub version: u32,
}

impl Proposal {
    /// The rules new proposals are made under.
    /// - 1: free-text limits (`rules::limits`), no invisible or
    ///   text-direction characters, body size, column links checked by
    ///   apply; platform accounts only from the operator; 文号 unique per
    ///   site.
    /// - 2: the one permission policy (`policy`) asked first, for every
    ///   command.
    pub const VERSION: u32 = 2;

    /// A proposal made now, under the current rules.
    pub fn new(at: Millis, actor: Option<i64>, client_ip: Option<String>, command: Command) -> Proposal {
        Proposal { at, actor, client_ip, command, version: Self::VERSION }
    }

    /// Whether this entry is checked by the rules of `version` or later.
    pub fn made_under(&self, version: u32) -> bool {
        self.version >= version
    }
}

// A command lives briefly (parse → propose → apply) and travels as JSON;
// boxing the document would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    CreateTenant {
        tenant: Tenant,
    },
    UpdateTenant {
        tenant_id: i64,
        patch: TenantPatch,
    },
    CreateChannel {
        channel: Channel,
    },
    /// A column's name changes; its path (`/col/<slug>/`) stays.
    RenameChannel {
        tenant_id: i64,
        channel_id: i64,
        name: String,
    },
    /// A column moves under another of its site's columns (`None`: to the
    /// top); its path stays, so links keep working.
    MoveChannel {
        tenant_id: i64,
        channel_id: i64,
        parent_id: Option<i64>,
    },
    /// The columns under one parent (`None`: the top level), in their new
    /// order: every one of them, each once.
    ReorderChannels {
        tenant_id: i64,
        parent_id: Option<i64>,
        order: Vec<i64>,
    },
    /// Deletes a column that holds no documents and no columns.
    DeleteChannel {
        tenant_id: i64,
        channel_id: i64,
    },
    /// How often the column must be updated (the inspection rules' 动态类
    /// and 常态类), or that it need not be.
    SetUpdateClass {
        tenant_id: i64,
        channel_id: i64,
        update_class: crate::UpdateClass,
    },
    /// The 索引号 serial inside `document.meta.index_no` is ignored: the
    /// state machine assigns the next serial of the tenant and year.
    CreateDocument {
        document: Document,
        attachment_ids: Vec<i64>,
    },
    UpdateDocument {
        tenant_id: i64,
        document_id: i64,
        patch: DocumentPatch,
    },
    /// Brings a draft back to an earlier revision's content (a new revision).
    RestoreRevision {
        tenant_id: i64,
        document_id: i64,
        revision: i64,
    },
    /// Draft → review (first stage by its 公开属性).
    SubmitDocument {
        tenant_id: i64,
        document_id: i64,
    },
    /// The current stage's reviewer passes it on.
    ApproveDocument {
        tenant_id: i64,
        document_id: i64,
    },
    /// 退文: back to draft with a reason the editor sees.
    ReturnDocument {
        tenant_id: i64,
        document_id: i64,
        reason: String,
    },
    /// A reviewer lets the personal data the content check found stay in a
    /// draft (a contact mobile number that must be published), for the
    /// reason the audit trail keeps. It holds while the body is unchanged.
    AllowPersonalData {
        tenant_id: i64,
        document_id: i64,
        reason: String,
    },
    /// A 保密审查员's conclusion.
    SignOffSecrecy {
        tenant_id: i64,
        document_id: i64,
        passed: bool,
        conclusion: String,
    },
    /// 有效性 of a published document: 失效, 废止, 修订 (naming the revising
    /// document) or back to 有效.
    SetValidity {
        tenant_id: i64,
        document_id: i64,
        validity: crate::Validity,
        replaced_by: Option<i64>,
    },
    /// Approved → scheduled for `publish_at`; and/or a withdrawal at
    /// `unpublish_at`. Times are in the future of the proposal.
    ScheduleDocument {
        tenant_id: i64,
        document_id: i64,
        publish_at: Option<Millis>,
        unpublish_at: Option<Millis>,
    },
    /// Approved → published.
    PublishDocument {
        tenant_id: i64,
        document_id: i64,
    },
    WithdrawDocument {
        tenant_id: i64,
        document_id: i64,
    },
    AddAttachment {
        attachment: Attachment,
    },
    CreateUser {
        user: User,
    },
    /// Replaces the user's site roles (安全管理员).
    SetRoles {
        user_id: i64,
        grants: Vec<crate::Grant>,
    },
    /// The password policy (安全管理员).
    SetPasswordPolicy {
        policy: crate::PasswordPolicy,
    },
    /// The owner changes their own password; a change the 安全管理员 asked
    /// for is then done, and every other session of the account ends.
    ChangePassword {
        user_id: i64,
        password_hash: String,
        /// The session the change was made in (SHA-256 of its token): it
        /// stays.
        keep_session: Option<String>,
    },
    /// The 安全管理员 sets a new password: every session ends and the
    /// owner must change it before doing anything else.
    ResetPassword {
        user_id: i64,
        password_hash: String,
    },
    /// The 安全管理员 disables an account (it cannot log in; its sessions
    /// end) or enables it again.
    SetAccountDisabled {
        user_id: i64,
        disabled: bool,
    },
    /// The 安全管理员 ends every session of an account.
    RevokeSessions {
        user_id: i64,
    },
    /// Lifts the failed-login lock of an account on every node (the lock
    /// itself is node-local; this command only carries the word).
    UnlockAccount {
        username: String,
    },
    /// A login. Only the SHA-256 of the token is replicated.
    CreateSession {
        token_sha256: String,
        user_id: i64,
        expires_at: Millis,
        /// A browser session ends after this long without a request
        /// ([`Command::TouchSession`] marks one); API tokens have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_ms: Option<Millis>,
        /// The TOTP step the login's second factor proved: refused unless
        /// later than the account's last one (a code is good once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        totp_step: Option<i64>,
    },
    /// A browser session was used: its idle clock starts again. Proposed
    /// at most every few minutes per session, not per request.
    TouchSession {
        token_sha256: String,
        user_id: i64,
    },
    DeleteSession {
        token_sha256: String,
    },
    /// The part a column plays for the platform (`policy-repost`…), or none.
    SetChannelRole {
        tenant_id: i64,
        channel_id: i64,
        role: Option<String>,
    },
    /// A site's tags, replacing the ones it had (repost rules target them).
    SetTenantTags {
        tenant_id: i64,
        tags: Vec<String>,
    },
    /// A site's HTTPS certificate and key, served by SNI on its hosts;
    /// `None` takes it off (系统管理员).
    SetCertificate {
        tenant_id: i64,
        certificate: Option<crate::tenant::SiteCertificate>,
    },
    /// A feed from above for the leader to poll (系统管理员).
    CreateFeed {
        feed: Feed,
    },
    DeleteFeed {
        feed_id: i64,
    },
    /// 立即抓取: the leader polls the feed now rather than at its interval.
    RequestFeedPoll {
        feed_id: i64,
    },
    /// What the leader's poll of a feed brought: new and updated items
    /// become source documents, and the rules fed by the feed fan them out,
    /// in this one entry.
    RecordFeedPoll {
        feed_id: i64,
        result: PollResult,
    },
    CreateRepostRule {
        rule: RepostRule,
    },
    DeleteRepostRule {
        tenant_id: i64,
        rule_id: i64,
    },
    /// A portal editor reposts one published document of their site to
    /// chosen sites, by hand.
    RepostDocument {
        tenant_id: i64,
        document_id: i64,
        targets: Vec<i64>,
        role: String,
        mode: RepostMode,
        deadline_ms: Millis,
    },
    /// A target site's editor takes an optional repost: the copy is shown.
    AcceptRepost {
        tenant_id: i64,
        repost_id: i64,
    },
    /// A target site's editor declines an optional repost, saying why.
    RefuseRepost {
        tenant_id: i64,
        repost_id: i64,
        reason: String,
    },
    /// What the platform's own fetch of each copy's public URL answered.
    RecordRepostProofs {
        proofs: Vec<RepostProof>,
    },
    /// 信息报送: a site's editor offers a published document to a portal column.
    SubmitUpward {
        submission: Submission,
    },
    /// A portal editor publishes a submission on the portal, crediting its origin.
    AdoptSubmission {
        portal_id: i64,
        submission_id: i64,
    },
    /// A portal editor gives a submission back, saying why.
    ReturnSubmission {
        portal_id: i64,
        submission_id: i64,
        reason: String,
    },
    /// An account's owner turns on the second factor (TOTP), having shown
    /// a code of `secret` for `step` (a later login needs a later step).
    EnrollTotp {
        user_id: i64,
        /// Base32, as the authenticator app holds it.
        secret: String,
        step: i64,
    },
    /// The 安全管理员 (the operator, for platform accounts) takes an
    /// account's second factor off, e.g. after a lost phone.
    RemoveTotp {
        user_id: i64,
    },
    /// A right password with a wrong second-factor code: kept in the audit
    /// trail, since whoever sent it knows the password.
    RecordTotpFailure {
        user_id: i64,
    },
    /// What the leader's probes of every site's home page answered.
    RecordHomeProbes {
        at: Millis,
        probes: Vec<crate::compliance::HomeProbe>,
    },
    /// What the leader's link checker found of the links from these sites'
    /// home pages to other websites (each site's earlier findings replaced).
    RecordLinkChecks {
        at: Millis,
        sites: Vec<i64>,
        checks: Vec<crate::compliance::LinkCheck>,
    },
    /// The leader exported the audit lines up to `through_id` to the object
    /// store (`object_key`, whose SHA-256 is `sha256`); they are dropped
    /// here, and `handover_hash` — the hash of line `through_id` — is kept,
    /// so the chain still verifies from the first line that remains. Lines
    /// younger than [`AUDIT_KEPT_MS`] are never dropped.
    ArchiveAudit {
        through_id: i64,
        object_key: String,
        sha256: String,
        handover_hash: String,
    },
    /// Every member in `members` runs a version that reads the log format
    /// `level` (see [`level`]): from this entry on, commands of that level
    /// may be proposed. Refused if the membership holds a member not in
    /// `members` when it applies (one joined after they were asked).
    RaiseClusterLevel {
        level: u32,
        members: Vec<u64>,
    },
    /// Several commands applied all-or-nothing: an import, a demo load.
    Batch {
        commands: Vec<Command>,
    },
}

/// What applying a proposal produced.
pub type Outcome = Result<Applied, Rejection>;

/// A successful apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Applied {
    /// The id of what was created or changed, if one thing was.
    pub id: Option<i64>,
    /// The 索引号 assigned, for a new document.
    pub index_no: Option<String>,
}

/// Why the state machine refused a command. A refusal changes nothing but
/// the applied log position.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    /// Stable machine-readable code, e.g. `duplicate_code`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RejectionKind {
    NotFound,
    Conflict,
    Invalid,
    /// The actor lacks the role for this step.
    Forbidden,
}

impl Rejection {
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self { kind: RejectionKind::NotFound, code: code.into(), message: message.into() }
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self { kind: RejectionKind::Conflict, code: code.into(), message: message.into() }
    }
    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self { kind: RejectionKind::Invalid, code: code.into(), message: message.into() }
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self { kind: RejectionKind::Forbidden, code: code.into(), message: message.into() }
    }
}
