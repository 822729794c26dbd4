//! `zhanqun audit verify --data DIR`: the audit trail's hash chain checked
//! on a stopped node's own files, without the node, the network or an
//! account — what a 等级保护 assessor or an incident responder runs on a
//! copy of the data directory.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Recompute every line's hash from the first and check the end against
    /// the head the state machine recorded. Exits 1 when the chain is broken.
    /// Opens the database read-only; safe on a copy, or while the node runs.
    Verify {
        /// The node's data directory (holding content.db).
        #[arg(long, env = "ZHANQUN_DATA")]
        data: PathBuf,
    },
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.action {
        Action::Verify { data } => {
            let db = data.join("content.db");
            let check = zhanqun_store::verify_audit_file(&db).await.with_context(|| format!("cannot read the audit trail in {}", db.display()))?;
            if check.intact {
                println!(
                    "the audit trail in {} is intact: {} lines, each following from the one before, ending at the recorded head",
                    db.display(),
                    check.entries
                );
                return Ok(());
            }
            let at = check.first_broken_id.map_or_else(|| "?".to_string(), |id| id.to_string());
            if check.tail_cut {
                eprintln!("the audit trail in {} is CUT: lines from {at} on are missing (the recorded head is not its last line)", db.display());
            } else {
                eprintln!(
                    "the audit trail in {} is BROKEN at line {at}: its hash does not follow from the lines before it (changed, inserted or removed)",
                    db.display()
                );
            }
            std::process::exit(1);
        }
    }
}
