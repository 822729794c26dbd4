//! Documents crossing sites (`model::repost`): the fan-out of a source
//! document into its targets' columns, the copies it places and keeps in
//! step with their source, the targets' answers, and the proof the leader
//! fetched. Feeds (`feeds`) and 信息报送 (`submissions`) end here too.
//!
//! A fan-out is one command whatever the number of targets: every copy,
//! every tracking row and the report of sites lacking the column commit in
//! the entry's one transaction, so every node shows all of them or none.

use crate::db::{self, Conn};
use zhanqun_model::repost::{self, RepostFilter, RepostMode, RepostRule, RepostSource, RepostState, RepostTargets};
use zhanqun_model::{Applied, Command, DocState, Document, Lifecycle, Proposal, Rejection, TenantKind, rules};

use super::documents::{load_document, next_index_no};
use super::sites::{channel_in_tenant, tenant_exists};
use super::{Step, Touched, feeds, misrouted, submissions};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::CreateFeed { .. } | Command::DeleteFeed { .. } | Command::RequestFeedPoll { .. } | Command::RecordFeedPoll { .. } => {
            feeds::apply(conn, p, command, touched)
        }
        Command::SubmitUpward { .. } | Command::AdoptSubmission { .. } | Command::ReturnSubmission { .. } => submissions::apply(conn, p, command, touched),
        Command::CreateRepostRule { rule } => create_rule(conn, rule),
        Command::DeleteRepostRule { tenant_id, rule_id } => {
            let gone = db::query("DELETE FROM repost_rules WHERE id = ? AND tenant_id = ?").bind(rule_id).bind(tenant_id).execute(conn)?;
            if gone == 0 {
                return Err(Rejection::not_found("unknown_rule", format!("this site has no repost rule with id {rule_id}")).into());
            }
            Ok(Applied { id: Some(*rule_id), index_no: None })
        }
        Command::RepostDocument { tenant_id, document_id, targets, role, mode, deadline_ms } => {
            if !matches!(tenant_kind(conn, *tenant_id)?, TenantKind::Portal | TenantKind::Special) {
                return Err(Rejection::forbidden("not_a_portal", "documents are reposted by hand from the portal (or a 专题 source site)").into());
            }
            let source = load_document(conn, *tenant_id, *document_id)?;
            check_source(&source)?;
            check_role(role)?;
            check_deadline(*deadline_ms)?;
            if targets.is_empty() {
                return Err(Rejection::invalid("no_targets", "name at least one site to repost to").into());
            }
            for t in targets {
                tenant_exists(conn, *t)?;
            }
            let plan = Plan { role, mode: *mode, deadline_ms: *deadline_ms, rule_id: None };
            fan_out(conn, p, &source, targets, &plan, touched)?;
            Ok(Applied { id: Some(source.id), index_no: None })
        }
        Command::AcceptRepost { tenant_id, repost_id } => accept(conn, p, *tenant_id, *repost_id, touched),
        Command::RefuseRepost { tenant_id, repost_id, reason } => refuse(conn, p, *tenant_id, *repost_id, reason),
        Command::RecordRepostProofs { proofs } => {
            for proof in proofs {
                db::query("UPDATE reposts SET proof_status = ?, proof_at = ? WHERE id = ?")
                    .bind(proof.status as i64)
                    .bind(proof.at)
                    .bind(proof.repost_id)
                    .execute(conn)?;
            }
            Ok(Applied::default())
        }
        other => Err(misrouted(other)),
    }
}

/// Only what the public may read is reposted.
fn check_source(d: &Document) -> Step {
    if d.state != DocState::Published || !d.is_public() {
        return Err(Rejection::conflict("not_published", "only a published, 主动公开 document can be reposted").into());
    }
    if d.copy_of.is_some() {
        return Err(Rejection::invalid("is_a_copy", "this document is itself a copy; repost its source").into());
    }
    Ok(())
}

/// A column role: lower-case Latin letters, digits and hyphens.
pub(crate) fn check_role(role: &str) -> Step {
    let ok = !role.is_empty() && role.len() <= 40 && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(Rejection::invalid("invalid_role", format!("column role `{role}`: 1–40 of a–z, 0–9 and -, e.g. policy-repost")).into());
    }
    Ok(())
}

fn check_deadline(ms: i64) -> Step {
    if !(60_000..=30 * 24 * 3600 * 1000).contains(&ms) {
        return Err(Rejection::invalid("invalid_deadline", "a repost deadline is between 1 minute and 30 days").into());
    }
    Ok(())
}

fn create_rule(conn: &Conn, rule: &RepostRule) -> Step<Applied> {
    tenant_exists(conn, rule.tenant_id)?;
    rules::limits::RULE_NAME.required(&rule.name)?;
    check_role(&rule.role)?;
    check_deadline(rule.deadline_ms)?;
    for word in rule.filter.topics.iter().chain(&rule.filter.keywords) {
        rules::limits::FILTER_WORD.required(word)?;
    }
    match &rule.source {
        RepostSource::Feed { feed_id } => {
            let known: Option<i64> = db::query_scalar("SELECT id FROM feeds WHERE id = ?").bind(feed_id).fetch_optional(conn)?;
            if known.is_none() {
                return Err(Rejection::not_found("unknown_feed", format!("no feed with id {feed_id}")).into());
            }
        }
        RepostSource::Column { tenant_id, channel_id } => channel_in_tenant(conn, *tenant_id, *channel_id)?,
    }
    match &rule.targets {
        RepostTargets::List { tenant_ids } if tenant_ids.is_empty() => {
            return Err(Rejection::invalid("no_targets", "name at least one site to repost to").into());
        }
        RepostTargets::List { tenant_ids } => {
            for t in tenant_ids {
                tenant_exists(conn, *t)?;
            }
        }
        RepostTargets::Tag { tag } => check_tag(tag)?,
        RepostTargets::All | RepostTargets::Kind { .. } => {}
    }
    db::query(
        "INSERT INTO repost_rules (id, tenant_id, name, source, filter, targets, role, mode, deadline_ms, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(rule.id)
    .bind(rule.tenant_id)
    .bind(&rule.name)
    .bind(json(&rule.source))
    .bind(json(&rule.filter))
    .bind(json(&rule.targets))
    .bind(&rule.role)
    .bind(rule.mode.as_str())
    .bind(rule.deadline_ms)
    .bind(rule.created_at)
    .bind(rule.created_by)
    .execute(conn)?;
    Ok(Applied { id: Some(rule.id), index_no: None })
}

/// A rule's parts are stored as JSON text.
fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("rule parts serialize")
}

pub(crate) fn check_tag(tag: &str) -> Step {
    Ok(rules::limits::TAG.required(tag)?)
}

/// The rules, as stored.
pub(crate) fn rules_of(conn: &Conn) -> Step<Vec<RepostRule>> {
    let rows = db::query("SELECT id, tenant_id, name, source, filter, targets, role, mode, deadline_ms, created_at, created_by FROM repost_rules ORDER BY id")
        .fetch_all(conn)?;
    rows.iter().map(|r| crate::rows::repost_rule(r).map_err(Into::into)).collect()
}

/// What a fan-out places: into the column of `role`, how, by when, for which rule.
pub(crate) struct Plan<'a> {
    pub role: &'a str,
    pub mode: RepostMode,
    pub deadline_ms: i64,
    pub rule_id: Option<i64>,
}

/// The rules a newly published document (of a site's column, or of a feed)
/// falls under, fanned out. A document published again after a withdrawal
/// reaches no target twice.
pub(crate) fn by_rules(conn: &Conn, p: &Proposal, d: &Document, feed_id: Option<i64>, touched: &mut Touched) -> Step {
    if d.copy_of.is_some() || d.state != DocState::Published || !d.is_public() {
        return Ok(());
    }
    for rule in rules_of(conn)? {
        let from_here = match rule.source {
            RepostSource::Feed { feed_id: f } => feed_id == Some(f),
            RepostSource::Column { tenant_id, channel_id } => feed_id.is_none() && (tenant_id, channel_id) == (d.tenant_id, d.channel_id),
        };
        if !from_here || !takes(&rule.filter, d) {
            continue;
        }
        let targets = resolve(conn, &rule.targets)?;
        let plan = Plan { role: &rule.role, mode: rule.mode, deadline_ms: rule.deadline_ms, rule_id: Some(rule.id) };
        fan_out(conn, p, d, &targets, &plan, touched)?;
    }
    Ok(())
}

fn takes(filter: &RepostFilter, d: &Document) -> bool {
    filter.takes(&d.title, d.summary.as_deref(), d.meta.topic.as_deref())
}

/// The sites a rule's targets name today: every site that is not closed.
fn resolve(conn: &Conn, targets: &RepostTargets) -> Step<Vec<i64>> {
    let closed = Lifecycle::Closed.as_str();
    let ids: Vec<i64> = match targets {
        RepostTargets::All => db::query_scalar("SELECT id FROM tenants WHERE lifecycle != ? ORDER BY id").bind(closed).fetch_all(conn)?,
        RepostTargets::Kind { kind } => {
            db::query_scalar("SELECT id FROM tenants WHERE kind = ? AND lifecycle != ? ORDER BY id").bind(kind.as_str()).bind(closed).fetch_all(conn)?
        }
        RepostTargets::Tag { tag } => {
            db::query_scalar("SELECT t.id FROM tenant_tags g JOIN tenants t ON t.id = g.tenant_id WHERE g.tag = ? AND t.lifecycle != ? ORDER BY t.id")
                .bind(tag)
                .bind(closed)
                .fetch_all(conn)?
        }
        RepostTargets::List { tenant_ids } => tenant_ids.clone(),
    };
    Ok(ids)
}

/// Places `source` into each target (never its own site, never twice):
/// a copy at once when mandatory, an inbox entry when optional, and a
/// `no_column` row — the report — where no column plays the role.
pub(crate) fn fan_out(conn: &Conn, p: &Proposal, source: &Document, targets: &[i64], plan: &Plan<'_>, touched: &mut Touched) -> Step {
    for &tenant_id in targets {
        if tenant_id == source.tenant_id {
            continue;
        }
        let id = repost::copy_id(source.id, tenant_id);
        let known: Option<i64> =
            db::query_scalar("SELECT id FROM reposts WHERE source_id = ? AND tenant_id = ?").bind(source.id).bind(tenant_id).fetch_optional(conn)?;
        if known.is_some() {
            continue;
        }
        let channel: Option<i64> =
            db::query_scalar("SELECT id FROM channels WHERE tenant_id = ? AND role = ?").bind(tenant_id).bind(plan.role).fetch_optional(conn)?;
        let state = match (channel, plan.mode) {
            (None, _) => RepostState::NoColumn,
            (Some(_), RepostMode::Mandatory) => RepostState::Shown,
            (Some(_), RepostMode::Optional) => RepostState::Pending,
        };
        if let (Some(channel_id), RepostState::Shown) = (channel, state) {
            place_copy(conn, p, source, tenant_id, channel_id, id, touched)?;
        }
        db::query(
            "INSERT INTO reposts (id, source_id, source_tenant_id, tenant_id, channel_id, copy_id, rule_id, mode, state, created_at, created_by, deadline_at)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(id)
        .bind(source.id)
        .bind(source.tenant_id)
        .bind(tenant_id)
        .bind(channel)
        .bind((state == RepostState::Shown).then_some(id))
        .bind(plan.rule_id)
        .bind(plan.mode.as_str())
        .bind(state.as_str())
        .bind(p.at)
        .bind(p.actor)
        .bind(p.at + plan.deadline_ms)
        .execute(conn)?;
        touched.tenants.insert(tenant_id);
    }
    Ok(())
}

/// The copy of `source` in `channel_id` of site `tenant_id`, published now
/// under the id the fan-out chose (made again if it exists: an optional
/// copy accepted after being taken down).
pub(crate) fn place_copy(conn: &Conn, p: &Proposal, source: &Document, tenant_id: i64, channel_id: i64, id: i64, touched: &mut Touched) -> Step {
    let exists: Option<i64> = db::query_scalar("SELECT id FROM documents WHERE id = ?").bind(id).fetch_optional(conn)?;
    if exists.is_none() {
        let organ_code = tenant_exists(conn, tenant_id)?;
        // The copy is numbered in its own site's 公开目录, like any entry there.
        let (year, serial, index_no) = next_index_no(conn, p, tenant_id, &organ_code, source.meta.written_date.as_deref())?;
        db::query(
            "INSERT INTO documents (id, tenant_id, channel_id, title, body_html, issuing_organ, disclosure, validity,
                state, created_at, updated_at, published_at, index_no, index_year, index_serial, created_by, copy_of, origin_url)
             VALUES (?,?,?,'','','','','','published',?,?,?,?,?,?,NULL,?,?)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(channel_id)
        .bind(p.at)
        .bind(p.at)
        .bind(p.at)
        .bind(index_no)
        .bind(year)
        .bind(serial)
        .bind(source.id)
        .bind(&source.origin_url)
        .execute(conn)?;
    } else {
        db::query("UPDATE documents SET state = 'published', published_at = COALESCE(published_at, ?), updated_at = ? WHERE id = ?")
            .bind(p.at)
            .bind(p.at)
            .bind(id)
            .execute(conn)?;
    }
    let source_site: String = db::query_scalar("SELECT name FROM tenants WHERE id = ?").bind(source.tenant_id).fetch_one(conn)?;
    super::edit::write_content(conn, &copy_content(source, id, tenant_id, channel_id, &source_site), p.at)?;
    touched.tenants.insert(tenant_id);
    touched.documents.insert((tenant_id, id));
    Ok(())
}

/// What a copy shows: the source's text and metadata (its 文号 stays the
/// source 发布机构's), in the copy's own place, with the source site
/// named as 来源 when the source names none.
fn copy_content(source: &Document, id: i64, tenant_id: i64, channel_id: i64, source_site: &str) -> Document {
    let mut copy = source.clone();
    copy.id = id;
    copy.tenant_id = tenant_id;
    copy.content.channel_id = channel_id;
    copy.content.source = Some(source.source.clone().unwrap_or_else(|| source_site.to_string()));
    // Links inside a site do not cross into another one.
    copy.content.interprets = None;
    copy.content.interpretation_kind = None;
    copy.content.needs_interpretation = false;
    copy
}

/// Brings every copy of `source_id` in step with its source: content,
/// 有效性, and shown exactly while the source is public and the target
/// keeps it. The proof of each is fetched again.
pub(crate) fn sync_copies(conn: &Conn, p: &Proposal, source_id: i64, touched: &mut Touched) -> Step {
    // A repost's id is its copy's id: the row says whether the target took it down.
    let copies: Vec<(i64, i64, i64, Option<bool>)> =
        db::query_as("SELECT c.id, c.tenant_id, c.channel_id, r.state = 'removed' FROM documents c LEFT JOIN reposts r ON r.id = c.id WHERE c.copy_of = ?")
            .bind(source_id)
            .fetch_all(conn)?;
    if copies.is_empty() {
        return Ok(());
    }
    let source_tenant: i64 = db::query_scalar("SELECT tenant_id FROM documents WHERE id = ?").bind(source_id).fetch_one(conn)?;
    let source = load_document(conn, source_tenant, source_id)?;
    let source_site: String = db::query_scalar("SELECT name FROM tenants WHERE id = ?").bind(source.tenant_id).fetch_one(conn)?;
    let public = source.state == DocState::Published && source.is_public();
    for (id, tenant_id, channel_id, removed) in copies {
        let state = if public && removed != Some(true) { DocState::Published } else { DocState::Withdrawn };
        super::edit::write_content(conn, &copy_content(&source, id, tenant_id, channel_id, &source_site), p.at)?;
        db::query("UPDATE documents SET state = ?, published_at = CASE WHEN ? = 'published' THEN COALESCE(published_at, ?) ELSE published_at END WHERE id = ?")
            .bind(state.as_str())
            .bind(state.as_str())
            .bind(p.at)
            .bind(id)
            .execute(conn)?;
        touched.tenants.insert(tenant_id);
        touched.documents.insert((tenant_id, id));
    }
    db::query("UPDATE reposts SET proof_status = NULL, proof_at = NULL WHERE source_id = ?").bind(source_id).execute(conn)?;
    Ok(())
}

/// A copy's content and life follow its source: it is not edited,
/// submitted or published on its own.
pub(crate) fn not_a_copy(d: &Document) -> Step {
    if d.copy_of.is_some() {
        return Err(Rejection::conflict("copy_follows_source", "this document is a copy of another site's document: it changes when its source does").into());
    }
    Ok(())
}

/// A target may take an optional copy down (it becomes `removed`), never a
/// mandatory one. Called before a copy is withdrawn.
pub(crate) fn before_copy_withdrawn(conn: &Conn, p: &Proposal, d: &Document) -> Step {
    let row: Option<(i64, String)> = db::query_as("SELECT id, mode FROM reposts WHERE id = ?").bind(d.id).fetch_optional(conn)?;
    match row {
        Some((_, mode)) if mode == RepostMode::Mandatory.as_str() => {
            Err(Rejection::conflict("mandatory_copy", "this is a mandatory repost: the site must carry it while its source is published").into())
        }
        Some((id, _)) => {
            db::query("UPDATE reposts SET state = 'removed', decided_at = ?, decided_by = ? WHERE id = ?").bind(p.at).bind(p.actor).bind(id).execute(conn)?;
            Ok(())
        }
        // A 信息报送 the portal adopted: the portal may take it down.
        None => Ok(()),
    }
}

/// (state, mode, channel, source) of a repost of this site.
fn repost_of(conn: &Conn, tenant_id: i64, id: i64) -> Step<(RepostState, RepostMode, Option<i64>, i64, i64)> {
    let row: Option<(String, String, Option<i64>, i64, i64)> =
        db::query_as("SELECT state, mode, channel_id, source_id, source_tenant_id FROM reposts WHERE id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(conn)?;
    let Some((state, mode, channel, source, source_tenant)) = row else {
        return Err(Rejection::not_found("unknown_repost", format!("this site has no repost with id {id}")).into());
    };
    Ok((crate::parse(&state)?, crate::parse(&mode)?, channel, source, source_tenant))
}

fn accept(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    let (state, mode, channel, source_id, source_tenant) = repost_of(conn, tenant_id, id)?;
    if mode != RepostMode::Optional {
        return Err(Rejection::conflict("mandatory_copy", "a mandatory repost is shown at once; there is nothing to accept").into());
    }
    if !matches!(state, RepostState::Pending | RepostState::Refused | RepostState::Removed) {
        return Err(Rejection::conflict("wrong_state", format!("this repost is {}", state.title())).into());
    }
    let Some(channel_id) = channel else {
        return Err(Rejection::conflict("no_column", "no column of this site plays the repost's role").into());
    };
    let source = load_document(conn, source_tenant, source_id)?;
    check_source(&source)?;
    place_copy(conn, p, &source, tenant_id, channel_id, id, touched)?;
    db::query(
        "UPDATE reposts SET state = 'accepted', copy_id = ?, reason = NULL, decided_at = ?, decided_by = ?, proof_status = NULL, proof_at = NULL WHERE id = ?",
    )
    .bind(id)
    .bind(p.at)
    .bind(p.actor)
    .bind(id)
    .execute(conn)?;
    Ok(Applied { id: Some(id), index_no: None })
}

fn refuse(conn: &Conn, p: &Proposal, tenant_id: i64, id: i64, reason: &str) -> Step<Applied> {
    let (state, mode, ..) = repost_of(conn, tenant_id, id)?;
    if mode != RepostMode::Optional {
        return Err(Rejection::conflict("mandatory_copy", "a mandatory repost cannot be refused").into());
    }
    if state != RepostState::Pending {
        return Err(Rejection::conflict("wrong_state", format!("this repost is {}; only a pending one is refused", state.title())).into());
    }
    rules::limits::RETURN_REASON.required(reason)?;
    db::query("UPDATE reposts SET state = 'refused', reason = ?, decided_at = ?, decided_by = ? WHERE id = ?")
        .bind(reason)
        .bind(p.at)
        .bind(p.actor)
        .bind(id)
        .execute(conn)?;
    Ok(Applied { id: Some(id), index_no: None })
}

/// The portal kind, for 信息报送 targets and hand reposts.
pub(crate) fn tenant_kind(conn: &Conn, id: i64) -> Step<TenantKind> {
    let kind: Option<String> = db::query_scalar("SELECT kind FROM tenants WHERE id = ?").bind(id).fetch_optional(conn)?;
    let kind = kind.ok_or_else(|| Rejection::not_found("unknown_tenant", format!("no tenant with id {id}")))?;
    Ok(crate::parse(&kind)?)
}
