//! What the platform observes of its sites, recorded so that every node
//! judges from the same facts: the leader's probes of the home pages.

use sqlx::SqliteConnection;
use zhanqun_model::compliance::PROBES_KEPT_MS;
use zhanqun_model::{Applied, Command, Proposal};

use super::{Step, misrouted};

pub(super) async fn apply(conn: &mut SqliteConnection, _p: &Proposal, command: &Command) -> Step<Applied> {
    match command {
        Command::RecordHomeProbes { at, probes } => {
            for probe in probes {
                sqlx::query("INSERT INTO home_probes (tenant_id, at, status, ms) VALUES (?, ?, ?, ?)")
                    .bind(probe.tenant_id)
                    .bind(at)
                    .bind(probe.status as i64)
                    .bind(probe.ms as i64)
                    .execute(&mut *conn)
                    .await?;
            }
            // The window moves with the probes' own time, never a node's clock.
            sqlx::query("DELETE FROM home_probes WHERE at < ?").bind(at - PROBES_KEPT_MS).execute(&mut *conn).await?;
            Ok(Applied::default())
        }
        other => Err(misrouted(other)),
    }
}
