//! `zhanqun cluster status|add|remove|promote`: membership from the command
//! line, through any member, authenticated with the cluster secret.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use zhanqun_cluster::network::{PeerError, Peers, paths};
use zhanqun_cluster::{ClusterOp, ClusterStatus};

/// The member a command-line call goes through.
#[derive(Args)]
pub struct Member {
    /// Any member of the cluster.
    #[arg(long, env = "ZHANQUN_NODE", default_value = "http://127.0.0.1:8080", global = true)]
    pub node: String,
}

impl Member {
    /// A client that calls the member with the cluster secret.
    pub fn peers(&self) -> anyhow::Result<Peers> {
        let secret = crate::cluster_secret()?.context("set ZHANQUN_CLUSTER_SECRET to the cluster's secret (the one the nodes were started with)")?;
        Ok(Peers::new(0, Some(secret)))
    }
}

#[derive(Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    member: Member,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Members, leader, term, each node's applied index and lag.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add a node: as a learner, then (unless --learner) a voter once caught up.
    Add {
        #[arg(long)]
        id: u64,
        /// The URL the new node advertises (its --advertise).
        #[arg(long)]
        addr: String,
        /// Leave it a learner: it replicates but does not vote.
        #[arg(long)]
        learner: bool,
    },
    /// Make a learner a voter.
    Promote {
        #[arg(long)]
        id: u64,
    },
    /// Take a node out of the cluster.
    Remove {
        #[arg(long)]
        id: u64,
    },
}

pub async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    let peers = args.member.peers()?;
    let op = match args.action {
        Action::Status { json } => {
            let status: ClusterStatus = peers.call(&args.member.node, paths::CLUSTER, &(), Duration::from_secs(10)).await.map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
            return Ok(());
        }
        // The node is asked which incarnation it is.
        Action::Add { id, addr, learner: true } => ClusterOp::AddLearner { id, addr, incarnation: None },
        Action::Add { id, addr, learner: false } => ClusterOp::Join { id, addr, incarnation: None },
        Action::Promote { id } => ClusterOp::Promote { id },
        Action::Remove { id } => ClusterOp::Remove { id },
    };
    eprintln!("asking {} to {op:?} (a new node first catches up; this can take a while on a large store)", args.member.node);
    let answer: Result<(), String> = peers.call(&args.member.node, paths::MEMBERS, &op, Duration::from_secs(900)).await.map_err(explain)?;
    if let Err(e) = answer {
        bail!("the cluster refused: {e}");
    }
    eprintln!("done");
    Ok(())
}

pub(crate) fn explain(e: PeerError) -> anyhow::Error {
    match e {
        PeerError::Refused { status: 401 | 403, .. } => anyhow::anyhow!("{e}\n(is ZHANQUN_CLUSTER_SECRET the cluster's secret?)"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn print_status(s: &ClusterStatus) {
    let leader = s.leader.map_or("none (election in progress?)".to_string(), |l| l.to_string());
    println!("leader: {leader}   term: {}   answered by node {} (last log index {})", s.term, s.node_id, s.last_log_index);
    if s.membership_changing {
        println!("a membership change is under way (not yet committed); the roles below are the ones it proposes");
    }
    // A rolling upgrade is finished when the cluster logs the level its
    // members' binaries read (deploy/upgrading.md).
    let newest = s.members.iter().filter_map(|m| m.level).max().unwrap_or(s.level);
    if newest > s.level {
        println!("log format level: {} (upgrade under way: a member reads level {newest}; the cluster moves up once every member does)", s.level);
    } else {
        println!("log format level: {}", s.level);
    }
    println!("{:>4}  {:<8} {:<32} {:>10} {:>8} {:>6}", "id", "role", "address", "applied", "lag", "level");
    for m in &s.members {
        let role = if Some(m.id) == s.leader {
            "leader"
        } else if m.voter {
            "voter"
        } else {
            "learner"
        };
        let applied = m.applied_index.map_or("-".into(), |i| i.to_string());
        let lag = if m.reachable { m.lag.map_or("-".into(), |l| l.to_string()) } else { "unreachable".into() };
        let level = m.level.map_or("-".into(), |l| l.to_string());
        println!("{:>4}  {:<8} {:<32} {:>10} {:>8} {:>6}", m.id, role, m.addr, applied, lag, level);
    }
}
