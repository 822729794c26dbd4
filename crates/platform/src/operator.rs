//! What the operator asks of a node on its console with the cluster secret
//! (`zhanqun account …`): the acts on platform accounts, as they travel
//! from the CLI to the node's peer endpoint.

use serde::{Deserialize, Serialize};
use zhanqun_model::PlatformRole;

/// One act of the operator on an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AccountOp {
    /// A new platform account (系统管理员, 安全管理员 or 审计管理员).
    Create {
        username: String,
        display_name: Option<String>,
        role: PlatformRole,
        password: String,
    },
    /// A new password for any account; the operator's choice stands.
    SetPassword {
        username: String,
        password: String,
    },
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Ends every session of the account.
    Revoke {
        username: String,
    },
    /// Lifts the failed-login lock on every node.
    Unlock {
        username: String,
    },
    /// Takes the account's second factor off (a lost phone).
    RemoveTotp {
        username: String,
    },
}

/// What the node answers: a line for the operator, or why not.
pub type AccountAnswer = Result<String, String>;

/// The title of a platform role, as accounts are named by default.
pub fn role_title(role: PlatformRole) -> &'static str {
    match role {
        PlatformRole::Admin => "系统管理员",
        PlatformRole::Security => "安全管理员",
        PlatformRole::Auditor => "审计管理员",
    }
}
