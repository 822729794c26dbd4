//! The permission matrix: every command against every kind of person, as
//! the README's roles table says. `ZHANQUN_PRINT_MATRIX=1 cargo test -p
//! zhanqun-model matrix` prints the table the policy gives.

use super::*;
use crate::workflow::ReviewStage;
use crate::{Attachment, Channel, ChannelKind, Document, Grant, PasswordPolicy, Tenant, TenantKind, TenantPatch, UpdateClass};

const SITE: i64 = 1;
const OTHER_SITE: i64 = 2;
const OWNER: i64 = 7;

/// The people of the table's columns, in its order.
fn people() -> Vec<(&'static str, Option<User>)> {
    let person = |id: i64, platform: Option<PlatformRole>, grants: &[(i64, TenantRole)]| {
        let mut u = User::new(id, format!("u{id}"), format!("u{id}"), String::new(), 0);
        u.platform_role = platform;
        u.grants = grants.iter().map(|(tenant_id, role)| Grant { tenant_id: *tenant_id, role: *role }).collect();
        Some(u)
    };
    use TenantRole::*;
    vec![
        ("operator", None),
        ("系统管理员", person(1, Some(PlatformRole::Admin), &[])),
        ("安全管理员", person(2, Some(PlatformRole::Security), &[])),
        ("审计管理员", person(3, Some(PlatformRole::Auditor), &[])),
        ("site admin", person(10, None, &[(SITE, Admin)])),
        ("editor", person(11, None, &[(SITE, Editor)])),
        ("reviewer", person(12, None, &[(SITE, Reviewer)])),
        ("政务公开审核员", person(13, None, &[(SITE, DisclosureReviewer)])),
        ("保密审查员", person(14, None, &[(SITE, SecrecyReviewer)])),
        ("another site's admin", person(20, None, &[(OTHER_SITE, Admin)])),
        ("the account itself", person(OWNER, None, &[])),
    ]
}

/// A command of every kind, with the facts of its target, named as the
/// table's rows name them. The match below makes a new command a compile
/// error here until it has its rows.
fn rows() -> Vec<(String, Command, Target)> {
    let tenant = Tenant::new(SITE, "t", "t", TenantKind::Township, "T", 0);
    let channel = Channel::new(5, SITE, "c", "c", ChannelKind::List, UpdateClass::Dynamic, 0);
    let document = Document::draft(9, SITE, 5, "t", "o", 0);
    let attachment = Attachment {
        id: 8,
        tenant_id: SITE,
        document_id: None,
        sha256: "0".repeat(64),
        size: 1,
        content_type: "a/b".into(),
        file_name: "f".into(),
        created_at: 0,
        created_by: None,
    };
    let site_user = User::new(OWNER, "owner", "owner", String::new(), 0);
    let platform_user = User { platform_role: Some(PlatformRole::Auditor), ..site_user.clone() };
    let (t, d) = (SITE, 9);
    let plain = Target::default();
    let stage = |s: ReviewStage| Target { review_stage: Some(s), ..Target::default() };
    let platform = Target { account_role: Some(PlatformRole::Auditor), ..Target::default() };
    let mut rows: Vec<(String, Command, Target)> = vec![
        ("create_tenant".into(), Command::CreateTenant { tenant }, plain),
        ("update_tenant".into(), Command::UpdateTenant { tenant_id: t, patch: TenantPatch::default() }, plain),
        ("create_channel".into(), Command::CreateChannel { channel }, plain),
        ("rename_channel".into(), Command::RenameChannel { tenant_id: t, channel_id: 5, name: "n".into() }, plain),
        ("move_channel".into(), Command::MoveChannel { tenant_id: t, channel_id: 5, parent_id: None }, plain),
        ("reorder_channels".into(), Command::ReorderChannels { tenant_id: t, parent_id: None, order: vec![5] }, plain),
        ("delete_channel".into(), Command::DeleteChannel { tenant_id: t, channel_id: 5 }, plain),
        ("set_update_class".into(), Command::SetUpdateClass { tenant_id: t, channel_id: 5, update_class: UpdateClass::Static }, plain),
        ("create_document".into(), Command::CreateDocument { document, attachment_ids: vec![] }, plain),
        ("update_document".into(), Command::UpdateDocument { tenant_id: t, document_id: d, patch: Default::default() }, plain),
        ("restore_revision".into(), Command::RestoreRevision { tenant_id: t, document_id: d, revision: 1 }, plain),
        ("add_attachment".into(), Command::AddAttachment { attachment }, plain),
        ("submit_document".into(), Command::SubmitDocument { tenant_id: t, document_id: d }, plain),
        ("allow_personal_data (in a draft)".into(), Command::AllowPersonalData { tenant_id: t, document_id: d, reason: "r".into() }, plain),
    ];
    for (label, s) in [("content", ReviewStage::Content), ("政务公开", ReviewStage::Disclosure), ("保密审查", ReviewStage::Secrecy)] {
        // At the secrecy stage approval is let through to any reviewer so
        // that the document's state answers (409: it is signed off instead).
        let note = if s == ReviewStage::Secrecy { ", then 409: signed off instead" } else { "" };
        rows.push((format!("approve_document ({label} stage{note})"), Command::ApproveDocument { tenant_id: t, document_id: d }, stage(s)));
        rows.push((format!("return_document ({label} stage)"), Command::ReturnDocument { tenant_id: t, document_id: d, reason: "r".into() }, stage(s)));
    }
    rows.extend([
        (
            "sign_off_secrecy".to_string(),
            Command::SignOffSecrecy { tenant_id: t, document_id: d, passed: true, conclusion: "c".into() },
            stage(ReviewStage::Secrecy),
        ),
        ("publish_document".into(), Command::PublishDocument { tenant_id: t, document_id: d }, plain),
        ("schedule_document".into(), Command::ScheduleDocument { tenant_id: t, document_id: d, publish_at: Some(1), unpublish_at: None }, plain),
        ("withdraw_document".into(), Command::WithdrawDocument { tenant_id: t, document_id: d }, plain),
        ("set_validity".into(), Command::SetValidity { tenant_id: t, document_id: d, validity: crate::Validity::Expired, replaced_by: None }, plain),
        ("create_user (site account)".into(), Command::CreateUser { user: site_user }, plain),
        ("create_user (platform account)".into(), Command::CreateUser { user: platform_user }, plain),
        ("set_roles".into(), Command::SetRoles { user_id: OWNER, grants: vec![] }, plain),
        ("set_password_policy".into(), Command::SetPasswordPolicy { policy: PasswordPolicy::default() }, plain),
    ]);
    for (label, target) in [("site account", plain), ("platform account", platform)] {
        rows.push((format!("reset_password ({label})"), Command::ResetPassword { user_id: OWNER, password_hash: String::new() }, target));
        rows.push((format!("disable_account, enable_account ({label})"), Command::SetAccountDisabled { user_id: OWNER, disabled: true }, target));
        rows.push((format!("revoke_sessions ({label})"), Command::RevokeSessions { user_id: OWNER }, target));
        rows.push((format!("unlock_account ({label})"), Command::UnlockAccount { username: "owner".into() }, target));
        rows.push((format!("remove_totp ({label})"), Command::RemoveTotp { user_id: OWNER }, target));
    }
    rows.extend([
        ("change_password".to_string(), Command::ChangePassword { user_id: OWNER, password_hash: String::new(), keep_session: None }, plain),
        (
            "create_session (log in)".into(),
            Command::CreateSession { token_sha256: String::new(), user_id: OWNER, expires_at: 0, idle_ms: None, totp_step: None },
            plain,
        ),
        ("enroll_totp, wrong_totp_code (one's own second factor)".into(), Command::EnrollTotp { user_id: OWNER, secret: String::new(), step: 0 }, plain),
        ("touch_session (a browser session in use)".into(), Command::TouchSession { token_sha256: String::new(), user_id: OWNER }, plain),
        ("delete_session (log out)".into(), Command::DeleteSession { token_sha256: String::new() }, plain),
    ]);
    use crate::repost::*;
    let feed = Feed { id: 3, name: "f".into(), url: "https://x/".into(), tenant_id: t, channel_id: 5, poll_seconds: 600, allow_private: false, created_at: 0 };
    let rule = RepostRule {
        id: 4,
        tenant_id: t,
        name: "r".into(),
        source: RepostSource::Feed { feed_id: 3 },
        filter: RepostFilter::default(),
        targets: RepostTargets::All,
        role: "policy-repost".into(),
        mode: RepostMode::Mandatory,
        deadline_ms: DEFAULT_DEADLINE_MS,
        created_at: 0,
        created_by: None,
    };
    let submission = Submission { id: 6, tenant_id: t, document_id: d, portal_id: OTHER_SITE, channel_id: 5, created_at: 0, created_by: None };
    let fetched = PollResult::Fetched { etag: None, last_modified: None, items: vec![], skipped: 0, skipped_reason: None };
    rows.extend([
        ("set_channel_role".to_string(), Command::SetChannelRole { tenant_id: t, channel_id: 5, role: Some("policy-repost".into()) }, plain),
        ("set_tenant_tags".into(), Command::SetTenantTags { tenant_id: t, tags: vec![] }, plain),
        ("set_certificate (a site's HTTPS certificate)".into(), Command::SetCertificate { tenant_id: t, certificate: None }, plain),
        ("create_feed, delete_feed, request_feed_poll".into(), Command::CreateFeed { feed }, plain),
        (
            "record_feed_poll, record_repost_proofs, record_home_probes, record_link_checks, archive_audit, raise_cluster_level (the leader)".into(),
            Command::RecordFeedPoll { feed_id: 3, result: fetched },
            plain,
        ),
        ("create_repost_rule, delete_repost_rule (the rule's site)".into(), Command::CreateRepostRule { rule }, plain),
        (
            "repost_document (from this site)".into(),
            Command::RepostDocument { tenant_id: t, document_id: d, targets: vec![OTHER_SITE], role: "r".into(), mode: RepostMode::Optional, deadline_ms: 1 },
            plain,
        ),
        ("accept_repost, refuse_repost (into this site)".into(), Command::AcceptRepost { tenant_id: t, repost_id: 1 }, plain),
        ("submit_upward (信息报送 from this site)".into(), Command::SubmitUpward { submission }, plain),
        ("adopt_submission, return_submission (to this portal)".into(), Command::AdoptSubmission { portal_id: t, submission_id: 6 }, plain),
    ]);
    // Every kind of command has a row (a batch is checked command by command).
    for (_, c, _) in &rows {
        match c {
            Command::CreateTenant { .. }
            | Command::UpdateTenant { .. }
            | Command::CreateChannel { .. }
            | Command::RenameChannel { .. }
            | Command::MoveChannel { .. }
            | Command::ReorderChannels { .. }
            | Command::DeleteChannel { .. }
            | Command::SetUpdateClass { .. }
            | Command::CreateDocument { .. }
            | Command::UpdateDocument { .. }
            | Command::RestoreRevision { .. }
            | Command::SubmitDocument { .. }
            | Command::ApproveDocument { .. }
            | Command::ReturnDocument { .. }
            | Command::AllowPersonalData { .. }
            | Command::SignOffSecrecy { .. }
            | Command::SetValidity { .. }
            | Command::ScheduleDocument { .. }
            | Command::PublishDocument { .. }
            | Command::WithdrawDocument { .. }
            | Command::AddAttachment { .. }
            | Command::CreateUser { .. }
            | Command::SetRoles { .. }
            | Command::SetPasswordPolicy { .. }
            | Command::ChangePassword { .. }
            | Command::ResetPassword { .. }
            | Command::SetAccountDisabled { .. }
            | Command::RevokeSessions { .. }
            | Command::UnlockAccount { .. }
            | Command::CreateSession { .. }
            | Command::EnrollTotp { .. }
            | Command::RemoveTotp { .. }
            | Command::RecordTotpFailure { .. }
            | Command::TouchSession { .. }
            | Command::DeleteSession { .. }
            | Command::SetChannelRole { .. }
            | Command::SetTenantTags { .. }
            | Command::SetCertificate { .. }
            | Command::CreateFeed { .. }
            | Command::DeleteFeed { .. }
            | Command::RequestFeedPoll { .. }
            | Command::RecordFeedPoll { .. }
            | Command::RecordRepostProofs { .. }
            | Command::RecordHomeProbes { .. }
            | Command::ArchiveAudit { .. }
            | Command::RecordLinkChecks { .. }
            | Command::RaiseClusterLevel { .. }
            | Command::CreateRepostRule { .. }
            | Command::DeleteRepostRule { .. }
            | Command::RepostDocument { .. }
            | Command::AcceptRepost { .. }
            | Command::RefuseRepost { .. }
            | Command::SubmitUpward { .. }
            | Command::AdoptSubmission { .. }
            | Command::ReturnSubmission { .. }
            | Command::Batch { .. } => {}
        }
    }
    rows
}

/// The table the policy gives, as Markdown.
fn table() -> String {
    let people = people();
    let mut out = format!("| command | {} |\n|---|{}\n", people.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" | "), "---|".repeat(people.len()));
    for (name, command, target) in rows() {
        let cells: Vec<&str> = people.iter().map(|(_, u)| if check(u.as_ref(), &command, &target).is_ok() { "✓" } else { "·" }).collect();
        out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
    }
    out
}

#[test]
fn the_readme_roles_table_is_what_the_policy_says() {
    let expected = table();
    if std::env::var("ZHANQUN_PRINT_MATRIX").is_ok() {
        println!("{expected}");
    }
    let readme = include_str!("../../../../README.md");
    let start = readme.find("<!-- roles-matrix -->").expect("the README has the roles matrix") + "<!-- roles-matrix -->".len();
    let end = readme.find("<!-- /roles-matrix -->").expect("the README's roles matrix ends");
    assert_eq!(readme[start..end].trim(), expected.trim(), "the README's roles table and the policy disagree; the policy's table is:\n{expected}");
}

#[test]
fn a_batch_needs_what_each_of_its_commands_needs() {
    let people = people();
    let editor = people[5].1.as_ref();
    let write = Command::CreateDocument { document: Document::draft(9, SITE, 5, "t", "o", 0), attachment_ids: vec![] };
    let publish = Command::PublishDocument { tenant_id: SITE, document_id: 9 };
    assert!(check(editor, &Command::Batch { commands: vec![write.clone()] }, &Target::default()).is_ok());
    let err = check(editor, &Command::Batch { commands: vec![write, publish] }, &Target::default()).unwrap_err();
    assert_eq!(err.code, "not_your_step");
}

#[test]
fn a_disabled_account_or_one_that_must_change_its_password_does_nothing_else() {
    let people = people();
    let mut editor = people[5].1.clone().unwrap();
    let write = Command::CreateDocument { document: Document::draft(9, SITE, 5, "t", "o", 0), attachment_ids: vec![] };
    editor.must_change_password = true;
    assert_eq!(check(Some(&editor), &write, &Target::default()).unwrap_err().code, "password_change_required");
    let change = Command::ChangePassword { user_id: editor.id, password_hash: String::new(), keep_session: None };
    assert!(check(Some(&editor), &change, &Target::default()).is_ok());
    editor.disabled_at = Some(1);
    assert_eq!(check(Some(&editor), &change, &Target::default()).unwrap_err().code, "account_disabled");
}

/// Log entries are kept for ever (invariant 10): a command this version
/// writes must read back, unchanged, in every later one. The fixture holds
/// one entry of each command kind as the version that first had it wrote
/// it; each line must still decode and encode to the same bytes, and every
/// kind the table above builds must be in it. `ZHANQUN_ADD_COMMAND_SHAPES=1`
/// appends the kinds it lacks; a line that is there is never rewritten.
#[test]
fn every_command_kind_once_written_reads_back_byte_for_byte() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/command-shapes.jsonl");
    let fixture = std::fs::read_to_string(path).unwrap_or_default();
    let mut kinds = std::collections::BTreeSet::new();
    for (n, line) in fixture.lines().enumerate() {
        let c: Command = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {} of {path} no longer decodes: {e}\n{line}", n + 1));
        assert_eq!(serde_json::to_string(&c).unwrap(), line, "line {} of {path} encodes differently now", n + 1);
        kinds.insert(c.name());
    }
    // A certificate as it is logged (the table's row takes one off).
    let certificate = crate::SiteCertificate {
        chain_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        private_key_pem: "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n".into(),
        not_after: 1_900_000_000_000,
        sha256: "ab".repeat(32),
        hosts: vec!["www.haicheng.gov.cn".into()],
    };
    // The cluster's own command (the table lists it under the leader's row).
    let raise = Command::RaiseClusterLevel { level: crate::command::level::LOG_LEVEL, members: vec![1, 2, 3] };
    let mut samples = vec![Command::SetCertificate { tenant_id: SITE, certificate: Some(certificate) }, raise];
    samples.extend(rows().into_iter().map(|(_, c, _)| c));
    let mut lacking = Vec::new();
    for c in samples {
        if kinds.insert(c.name()) {
            lacking.push(serde_json::to_string(&c).unwrap());
        }
    }
    if std::env::var_os("ZHANQUN_ADD_COMMAND_SHAPES").is_some() {
        let mut text = fixture;
        for line in &lacking {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(path, text).unwrap();
    } else {
        assert!(lacking.is_empty(), "command kinds not in {path} yet (add them with ZHANQUN_ADD_COMMAND_SHAPES=1):\n{}", lacking.join("\n"));
    }
}
