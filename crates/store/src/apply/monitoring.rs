//! What the platform observes of its sites, recorded so that every node
//! judges from the same facts: the leader's probes of the home pages.

use crate::db::{self, Conn};
use zhanqun_model::compliance::PROBES_KEPT_MS;
use zhanqun_model::{Applied, Command, Proposal};

use super::{Step, misrouted};

pub(super) fn apply(conn: &Conn, _p: &Proposal, command: &Command) -> Step<Applied> {
    // (`_p`: the probes carry their own time; an archive is judged by the proposal's.)
    match command {
        Command::RecordHomeProbes { at, probes } => {
            for probe in probes {
                db::query("INSERT INTO home_probes (tenant_id, at, status, ms) VALUES (?, ?, ?, ?)")
                    .bind(probe.tenant_id)
                    .bind(at)
                    .bind(probe.status as i64)
                    .bind(probe.ms as i64)
                    .execute(conn)?;
            }
            // The window moves with the probes' own time, never a node's clock.
            db::query("DELETE FROM home_probes WHERE at < ?").bind(at - PROBES_KEPT_MS).execute(conn)?;
            Ok(Applied::default())
        }
        Command::RecordLinkChecks { at, sites, checks } => {
            for site in sites {
                db::query("DELETE FROM outbound_links WHERE tenant_id = ?").bind(site).execute(conn)?;
            }
            for c in checks {
                db::query("INSERT OR REPLACE INTO outbound_links (tenant_id, url, status, note, at) VALUES (?, ?, ?, ?, ?)")
                    .bind(c.tenant_id)
                    .bind(&c.url)
                    .bind(c.status as i64)
                    .bind(&c.note)
                    .bind(at)
                    .execute(conn)?;
            }
            Ok(Applied::default())
        }
        Command::ArchiveAudit { through_id, object_key, sha256, handover_hash } => {
            crate::audit::archive(conn, _p, *through_id, object_key, sha256, handover_hash)?;
            Ok(Applied::default())
        }
        other => Err(misrouted(other)),
    }
}
