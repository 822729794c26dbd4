//! People and what they may do.

use serde::{Deserialize, Serialize};

use crate::{Millis, string_enum};

string_enum! {
    /// Platform-wide roles, split three ways (三权分立, 等级保护 2.0): no one
    /// both changes the platform and reads the record of the changes.
    pub enum PlatformRole {
        /// 系统管理员: sites (开办 → 关停, hosts, filing numbers), their
        /// columns, the cluster. Reads and writes no site's documents,
        /// manages no accounts and cannot read the audit trail.
        Admin => "admin",
        /// 安全管理员: user accounts and their roles. Nothing else.
        Security => "security",
        /// 审计管理员: reads and exports the audit trail. Changes nothing.
        Auditor => "auditor",
    }
}

string_enum! {
    /// What a user may do inside one tenant.
    pub enum TenantRole {
        /// Manages the site: channels, users' work, publishing.
        Admin => "admin",
        /// Writes and edits drafts.
        Editor => "editor",
        /// Reviews, publishes and withdraws.
        Reviewer => "reviewer",
        /// 政务公开审核员: decides documents that are not 主动公开 first.
        DisclosureReviewer => "disclosure_reviewer",
        /// 保密审查员: signs off documents that need secrecy review.
        SecrecyReviewer => "secrecy_reviewer",
    }
}

impl TenantRole {
    /// The role's name as people in a government office say it.
    pub fn title(self) -> &'static str {
        match self {
            TenantRole::Admin => "站点管理员 (admin)",
            TenantRole::Editor => "编辑 (editor)",
            TenantRole::Reviewer => "审核员 (reviewer)",
            TenantRole::DisclosureReviewer => "政务公开审核员 (disclosure_reviewer)",
            TenantRole::SecrecyReviewer => "保密审查员 (secrecy_reviewer)",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct Grant {
    pub tenant_id: i64,
    pub role: TenantRole,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// argon2id PHC string, computed before proposing so apply stays pure.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub password_hash: String,
    pub platform_role: Option<PlatformRole>,
    pub grants: Vec<Grant>,
    pub created_at: Millis,
    /// When the 安全管理员 disabled the account: it cannot log in, and its
    /// sessions ended then.
    #[serde(default)]
    pub disabled_at: Option<Millis>,
    /// The password was set by the 安全管理员, who therefore knows it: the
    /// owner must change it before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

impl User {
    /// A new account as the 安全管理员 or the operator makes it: enabled,
    /// with the roles given, its password to be changed by its owner when
    /// someone else chose it.
    pub fn new(id: i64, username: impl Into<String>, display_name: impl Into<String>, password_hash: String, at: Millis) -> User {
        User {
            id,
            username: username.into(),
            display_name: display_name.into(),
            password_hash,
            platform_role: None,
            grants: vec![],
            created_at: at,
            disabled_at: None,
            must_change_password: false,
        }
    }

    /// Whether the account holds any duty at all: a platform role or a
    /// role in some site. An account with none has nothing to log in for.
    pub fn has_any_role(&self) -> bool {
        self.platform_role.is_some() || !self.grants.is_empty()
    }

    pub fn is_platform_admin(&self) -> bool {
        self.platform_role == Some(PlatformRole::Admin)
    }

    pub fn is_security_admin(&self) -> bool {
        self.platform_role == Some(PlatformRole::Security)
    }

    pub fn is_auditor(&self) -> bool {
        self.platform_role == Some(PlatformRole::Auditor)
    }

    /// 三权分立 in accounts: a platform account (系统/安全/审计管理员) holds
    /// no site role, so no one person both runs the platform and edits or
    /// reviews a site. One person with both duties gets two accounts.
    pub fn check_separation(platform_role: Option<PlatformRole>, grants: &[Grant]) -> Result<(), crate::Rejection> {
        match platform_role {
            Some(role) if !grants.is_empty() => Err(crate::Rejection::invalid(
                "platform_account_with_site_roles",
                format!("a platform account ({role}) cannot also hold site roles; create a separate account for the site work"),
            )),
            _ => Ok(()),
        }
    }

    /// Whether the user holds any of `roles` in `tenant_id`. Site roles are
    /// only ever held personally: no platform role implies one (least
    /// privilege — the 系统管理员 runs the platform, not the sites' content).
    pub fn may(&self, tenant_id: i64, roles: &[TenantRole]) -> bool {
        self.grants.iter().any(|g| g.tenant_id == tenant_id && roles.contains(&g.role))
    }

    /// Whether the user holds any role in the tenant: may see its drafts.
    pub fn belongs_to(&self, tenant_id: i64) -> bool {
        self.grants.iter().any(|g| g.tenant_id == tenant_id)
    }

    /// Whether the user may change the tenant's shape (columns): the
    /// platform administrator who builds sites, or the site's own admin.
    pub fn builds(&self, tenant_id: i64) -> bool {
        self.is_platform_admin() || self.may(tenant_id, &[TenantRole::Admin])
    }
}

/// What a password must be, set by the 安全管理员.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
// Logged in commands: unknown fields are ignored, so an older node reads a
// newer entry (invariant 10); the API refuses them (`api::Strict`).
pub struct PasswordPolicy {
    /// Characters at least (8–64).
    pub min_length: u32,
    /// Of lowercase, uppercase, digits, symbols: how many kinds at least (1–4).
    pub min_classes: u32,
    /// Wrong passwords in a row that lock an account (3–10; 登录失败处理).
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// How long the lock lasts, in minutes (1–1440).
    #[serde(default = "default_lockout_minutes")]
    pub lockout_minutes: u32,
    /// A browser session left alone this many minutes ends (1–480;
    /// 等级保护 asks for an idle timeout on the management side).
    /// Written only when it is not the default, so a policy set before the
    /// field existed is stored (and audited) byte for byte as it was: an
    /// old log replays to the same store.
    #[serde(default = "default_idle_timeout_minutes", skip_serializing_if = "is_default_idle_timeout")]
    pub idle_timeout_minutes: u32,
    /// The three platform accounts must log in with a second factor
    /// (TOTP); until one has enrolled, it can do nothing else. Written only
    /// when on, for the same reason as the idle timeout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub totp_for_platform: bool,
    /// A password older than this many days must be changed before
    /// anything else (0: never).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_age_days: u32,
    /// A new password may not be any of the account's last this many
    /// (the current one included; 1: only not the current one).
    #[serde(default = "default_history", skip_serializing_if = "is_default_history")]
    pub history: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_history() -> u32 {
    5
}

fn is_default_history(n: &u32) -> bool {
    *n == default_history()
}

// Policies stored before the lock existed get these.
fn default_max_failed_logins() -> u32 {
    5
}

fn default_lockout_minutes() -> u32 {
    15
}

fn default_idle_timeout_minutes() -> u32 {
    30
}

fn is_default_idle_timeout(minutes: &u32) -> bool {
    *minutes == default_idle_timeout_minutes()
}

impl Default for PasswordPolicy {
    /// 10 characters of 3 kinds, 5 tries then 15 minutes locked: what
    /// 等级保护 2.0 assessors usually accept.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            min_classes: 3,
            max_failed_logins: default_max_failed_logins(),
            lockout_minutes: default_lockout_minutes(),
            idle_timeout_minutes: default_idle_timeout_minutes(),
            totp_for_platform: false,
            max_age_days: 0,
            history: default_history(),
        }
    }
}

impl PasswordPolicy {
    pub fn validate(&self) -> Result<(), crate::Rejection> {
        if !(8..=64).contains(&self.min_length) || !(1..=4).contains(&self.min_classes) {
            return Err(crate::Rejection::invalid("invalid_policy", "min_length must be 8–64 and min_classes 1–4"));
        }
        if !(3..=10).contains(&self.max_failed_logins) || !(1..=1440).contains(&self.lockout_minutes) {
            return Err(crate::Rejection::invalid("invalid_policy", "max_failed_logins must be 3–10 and lockout_minutes 1–1440"));
        }
        if !(1..=480).contains(&self.idle_timeout_minutes) {
            return Err(crate::Rejection::invalid("invalid_policy", "idle_timeout_minutes must be 1–480"));
        }
        if self.max_age_days > 3650 || !(1..=24).contains(&self.history) {
            return Err(crate::Rejection::invalid("invalid_policy", "max_age_days must be 0–3650 (0: never) and history 1–24"));
        }
        Ok(())
    }

    /// Whether the idle timeout is the default one (older entries and
    /// stored policies do not name it).
    pub fn default_idle_timeout(&self) -> bool {
        is_default_idle_timeout(&self.idle_timeout_minutes)
    }

    /// How long a browser session may sit idle.
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.idle_timeout_minutes) * 60)
    }

    /// Whether a password set at `changed_at` has expired at `now`.
    pub fn expired(&self, changed_at: Option<crate::Millis>, now: crate::Millis) -> bool {
        self.max_age_days > 0 && changed_at.is_some_and(|at| now - at > i64::from(self.max_age_days) * 86_400_000)
    }

    /// How long a locked account stays locked.
    pub fn lockout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.lockout_minutes) * 60)
    }

    /// Refuses a password for `username` that falls short of the policy or
    /// is among the first a guessing script tries (see `weak_passwords`).
    pub fn check_for(&self, password: &str, username: &str) -> Result<(), crate::Rejection> {
        self.check(password)?;
        if password.chars().count() > 128 {
            return Err(crate::Rejection::invalid("weak_password", "the password must be at most 128 characters"));
        }
        match crate::weak_passwords::weakness(password, username) {
            Some(why) => Err(crate::Rejection::invalid("weak_password", format!("this password is too easy to guess: {why}; choose another"))),
            None => Ok(()),
        }
    }

    /// Refuses a password that falls short, saying what the policy asks.
    pub fn check(&self, password: &str) -> Result<(), crate::Rejection> {
        let classes = [
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_ascii_alphanumeric()),
        ];
        if (password.chars().count() as u32) < self.min_length || (classes.iter().filter(|c| **c).count() as u32) < self.min_classes {
            return Err(crate::Rejection::invalid(
                "weak_password",
                format!(
                    "the password needs at least {} characters from at least {} of: lowercase, uppercase, digits, symbols",
                    self.min_length, self.min_classes
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_policy_from_before_the_idle_timeout_is_stored_and_audited_as_it_was() {
        let old = r#"{"min_length":12,"min_classes":3,"max_failed_logins":5,"lockout_minutes":15}"#;
        let policy: PasswordPolicy = serde_json::from_str(old).unwrap();
        assert_eq!(policy.idle_timeout_minutes, 30, "read with the default");
        assert_eq!(serde_json::to_string(&policy).unwrap(), old, "written back byte for byte");
        let detail = crate::Command::SetPasswordPolicy { policy }.audit_detail().unwrap();
        assert_eq!(detail, "min_length 12, min_classes 3, max_failed_logins 5, lockout_minutes 15", "the audit line of an old entry");
        let set = PasswordPolicy { idle_timeout_minutes: 10, ..policy };
        assert!(serde_json::to_string(&set).unwrap().contains(r#""idle_timeout_minutes":10"#));
        assert!(crate::Command::SetPasswordPolicy { policy: set }.audit_detail().unwrap().ends_with("idle_timeout_minutes 10"));
    }

    use super::PasswordPolicy;

    #[test]
    fn a_policy_stored_before_the_login_lock_existed_reads_with_the_default_lock() {
        let stored: PasswordPolicy = serde_json::from_str(r#"{"min_length":12,"min_classes":2}"#).unwrap();
        assert_eq!((stored.min_length, stored.max_failed_logins, stored.lockout_minutes), (12, 5, 15));
        assert!(stored.validate().is_ok());
    }

    #[test]
    fn a_password_expires_after_max_age_days_and_never_when_it_is_zero() {
        let day = 86_400_000;
        let policy = PasswordPolicy { max_age_days: 90, ..PasswordPolicy::default() };
        assert!(!policy.expired(Some(0), 90 * day), "on the 90th day it still holds");
        assert!(policy.expired(Some(0), 90 * day + 1));
        assert!(!policy.expired(None, 1_000 * day), "a password set before the date was kept is not judged");
        assert!(!PasswordPolicy::default().expired(Some(0), 10_000 * day));
        assert!(PasswordPolicy { history: 0, ..PasswordPolicy::default() }.validate().is_err());
        // The defaults are not written, so older logs keep their bytes.
        assert_eq!(
            serde_json::to_string(&PasswordPolicy::default()).unwrap(),
            r#"{"min_length":10,"min_classes":3,"max_failed_logins":5,"lockout_minutes":15}"#
        );
    }
}
