//! `zhanqun account create|password|disable|enable|revoke|unlock`: the
//! platform accounts of 三权分立, from a node's console with the cluster
//! secret — the only way to make a 系统管理员, 安全管理员 or 审计管理员, or
//! to let one back in (the 安全管理员 included) when they are locked out.

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use zhanqun_cluster::network::paths;
use zhanqun_model::PlatformRole;
use zhanqun_platform::operator::{AccountAnswer, AccountOp};

#[derive(Args)]
pub struct AccountArgs {
    #[command(flatten)]
    member: crate::cluster_cmd::Member,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Create a platform account: --role admin (系统管理员), security
    /// (安全管理员) or auditor (审计管理员). The password comes from
    /// ZHANQUN_ACCOUNT_PASSWORD, or --generate, or a line on standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: PlatformRole,
        #[arg(long)]
        display_name: Option<String>,
        /// Make up a strong password and print it once.
        #[arg(long)]
        generate: bool,
    },
    /// Set a new password for an account (ends its sessions). Same password
    /// sources as `create`.
    Password {
        #[arg(long)]
        username: String,
        #[arg(long)]
        generate: bool,
    },
    /// Disable an account: it cannot log in, its sessions end.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// End every session of an account.
    Revoke {
        #[arg(long)]
        username: String,
    },
    /// Lift an account's failed-login lock on every node.
    Unlock {
        #[arg(long)]
        username: String,
    },
    /// Take an account's second factor (TOTP) off, e.g. after a lost phone.
    RemoveTotp {
        #[arg(long)]
        username: String,
    },
}

fn parse_role(s: &str) -> Result<PlatformRole, String> {
    s.parse()
}

pub async fn run(args: AccountArgs) -> anyhow::Result<()> {
    let peers = args.member.peers()?;
    let mut shown = None;
    let op = match args.action {
        Action::Create { username, role, display_name, generate } => {
            let password = password(generate, &mut shown)?;
            AccountOp::Create { username, display_name, role, password }
        }
        Action::Password { username, generate } => AccountOp::SetPassword { password: password(generate, &mut shown)?, username },
        Action::Disable { username } => AccountOp::Disable { username },
        Action::Enable { username } => AccountOp::Enable { username },
        Action::Revoke { username } => AccountOp::Revoke { username },
        Action::Unlock { username } => AccountOp::Unlock { username },
        Action::RemoveTotp { username } => AccountOp::RemoveTotp { username },
    };
    let answer: AccountAnswer = peers.call(&args.member.node, paths::ACCOUNT, &op, Duration::from_secs(30)).await.map_err(crate::cluster_cmd::explain)?;
    match answer {
        Ok(done) => {
            eprintln!("{done}");
            if let Some(p) = shown {
                // Printed once, to the console only.
                println!("password: {p}");
            }
            Ok(())
        }
        Err(refused) => bail!("the cluster refused: {refused}"),
    }
}

/// The password to set: from ZHANQUN_ACCOUNT_PASSWORD, made up, or read
/// from standard input. A made-up one is kept in `shown` to print once.
fn password(generate: bool, shown: &mut Option<String>) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ZHANQUN_ACCOUNT_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    if generate {
        let p = crate::generate_password();
        *shown = Some(p.clone());
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprintln!("password (shown as you type; pipe it in or use --generate to avoid that):");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("no password given: set ZHANQUN_ACCOUNT_PASSWORD, pass --generate, or type it on standard input");
    }
    Ok(p)
}
