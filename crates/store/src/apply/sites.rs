//! Sites (站点) and their columns (栏目): creating and changing them.

use std::collections::HashMap;

use crate::db::{self, Conn};
use zhanqun_model::rules::{self, check_text};
use zhanqun_model::{Applied, Command, Proposal, Rejection, Tenant, TenantPatch};

use super::{Failure, Step, Touched, misrouted};

pub(super) fn apply(conn: &Conn, p: &Proposal, command: &Command, touched: &mut Touched) -> Step<Applied> {
    match command {
        Command::CreateTenant { tenant } => create_tenant(conn, p, tenant, touched),
        Command::UpdateTenant { tenant_id, patch } => update_tenant(conn, p, *tenant_id, patch, touched),
        Command::CreateChannel { channel } => create_channel(conn, p, channel, touched),
        Command::RenameChannel { tenant_id, channel_id, name } => {
            channel_in_tenant(conn, *tenant_id, *channel_id)?;
            rules::limits::CHANNEL_NAME.required(name)?;
            db::query("UPDATE channels SET name = ? WHERE id = ?").bind(name).bind(channel_id).execute(conn)?;
            changed(*tenant_id, *channel_id, touched)
        }
        Command::MoveChannel { tenant_id, channel_id, parent_id } => move_channel(conn, *tenant_id, *channel_id, *parent_id, touched),
        Command::ReorderChannels { tenant_id, parent_id, order } => reorder_channels(conn, *tenant_id, *parent_id, order, touched),
        Command::DeleteChannel { tenant_id, channel_id } => delete_channel(conn, *tenant_id, *channel_id, touched),
        Command::SetUpdateClass { tenant_id, channel_id, update_class } => {
            channel_in_tenant(conn, *tenant_id, *channel_id)?;
            db::query("UPDATE channels SET update_class = ? WHERE id = ?").bind(update_class.as_str()).bind(channel_id).execute(conn)?;
            changed(*tenant_id, *channel_id, touched)
        }
        Command::SetChannelRole { tenant_id, channel_id, role } => {
            channel_in_tenant(conn, *tenant_id, *channel_id)?;
            if let Some(role) = role {
                check_role_free(conn, *tenant_id, role, *channel_id)?;
            }
            db::query("UPDATE channels SET role = ? WHERE id = ?").bind(role).bind(channel_id).execute(conn)?;
            changed(*tenant_id, *channel_id, touched)
        }
        Command::SetTenantTags { tenant_id, tags } => {
            tenant_exists(conn, *tenant_id)?;
            if tags.len() > 20 {
                return Err(Rejection::invalid("too_many_tags", "a site has at most 20 tags").into());
            }
            db::query("DELETE FROM tenant_tags WHERE tenant_id = ?").bind(tenant_id).execute(conn)?;
            for tag in tags {
                super::reposts::check_tag(tag)?;
                db::query("INSERT OR IGNORE INTO tenant_tags (tenant_id, tag) VALUES (?, ?)").bind(tenant_id).bind(tag).execute(conn)?;
            }
            Ok(Applied { id: Some(*tenant_id), index_no: None })
        }
        Command::SetCertificate { tenant_id, certificate } => {
            tenant_exists(conn, *tenant_id)?;
            match certificate {
                Some(c) => {
                    db::query(
                        "INSERT INTO site_certificates (tenant_id, chain_pem, private_key_pem, not_after, sha256, hosts, updated_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?)
                         ON CONFLICT (tenant_id) DO UPDATE SET chain_pem = excluded.chain_pem, private_key_pem = excluded.private_key_pem,
                             not_after = excluded.not_after, sha256 = excluded.sha256, hosts = excluded.hosts, updated_at = excluded.updated_at",
                    )
                    .bind(tenant_id)
                    .bind(&c.chain_pem)
                    .bind(&c.private_key_pem)
                    .bind(c.not_after)
                    .bind(&c.sha256)
                    .bind(serde_json::to_string(&c.hosts).expect("hosts serialize"))
                    .bind(p.at)
                    .execute(conn)?;
                }
                None => {
                    db::query("DELETE FROM site_certificates WHERE tenant_id = ?").bind(tenant_id).execute(conn)?;
                }
            }
            touched.certificates = true;
            // Over plain HTTP the site now answers with a redirect (or no
            // longer does): its pages as served have changed.
            touched.tenants.insert(*tenant_id);
            Ok(Applied { id: Some(*tenant_id), index_no: None })
        }
        other => Err(misrouted(other)),
    }
}

/// A column role is valid and played by no other column of the site.
fn check_role_free(conn: &Conn, tenant_id: i64, role: &str, channel_id: i64) -> Step {
    super::reposts::check_role(role)?;
    let other: Option<String> = db::query_scalar("SELECT name FROM channels WHERE tenant_id = ? AND role = ? AND id != ?")
        .bind(tenant_id)
        .bind(role)
        .bind(channel_id)
        .fetch_optional(conn)?;
    match other {
        Some(name) => Err(Rejection::conflict("role_taken", format!("the column 「{name}」 of this site already plays the role `{role}`")).into()),
        None => Ok(()),
    }
}

pub(crate) fn tenant_exists(conn: &Conn, id: i64) -> Step<String> {
    let organ: Option<String> = db::query_scalar("SELECT organ_code FROM tenants WHERE id = ?").bind(id).fetch_optional(conn)?;
    organ.ok_or_else(|| unknown_tenant(id))
}

/// [`tenant_exists`] and [`channel_in_tenant`] in one statement, refusing
/// as the two would one after the other: what every new document asks.
pub(crate) fn tenant_with_channel(conn: &Conn, tenant_id: i64, channel_id: i64) -> Step<String> {
    let found: Option<(String, Option<i64>)> =
        db::query_as("SELECT t.organ_code, c.id FROM tenants t LEFT JOIN channels c ON c.id = ? AND c.tenant_id = t.id WHERE t.id = ?")
            .bind(channel_id)
            .bind(tenant_id)
            .fetch_optional(conn)?;
    match found {
        None => Err(unknown_tenant(tenant_id)),
        Some((_, None)) => Err(unknown_channel(channel_id)),
        Some((organ_code, Some(_))) => Ok(organ_code),
    }
}

fn unknown_tenant(id: i64) -> Failure {
    Rejection::not_found("unknown_tenant", format!("no tenant with id {id}")).into()
}

fn unknown_channel(id: i64) -> Failure {
    Rejection::not_found("unknown_channel", format!("this site has no channel with id {id}")).into()
}

fn check_hosts(conn: &Conn, tenant_id: i64, hosts: &[String]) -> Step {
    for h in hosts {
        rules::check_host(h)?;
        let owner: Option<i64> = db::query_scalar("SELECT tenant_id FROM tenant_hosts WHERE host = ?").bind(h).fetch_optional(conn)?;
        if owner.is_some_and(|o| o != tenant_id) {
            return Err(Rejection::conflict("duplicate_host", format!("host `{h}` already belongs to another tenant")).into());
        }
    }
    Ok(())
}

/// A site's own texts: its name, filing numbers and mailbox (rules of version 1).
fn check_site_texts(name: Option<&str>, registrations: [&Option<String>; 3], mailbox: &Option<String>) -> Step {
    use rules::limits::*;
    SITE_NAME.check(name)?;
    for r in registrations {
        REGISTRATION.check(r.as_deref())?;
    }
    MAILBOX.check(mailbox.as_deref())?;
    Ok(())
}

fn create_tenant(conn: &Conn, p: &Proposal, t: &Tenant, touched: &mut Touched) -> Step<Applied> {
    rules::check_code("tenant code", &t.code)?;
    if rules::RESERVED_CODES.contains(&t.code.as_str()) {
        return Err(Rejection::invalid("reserved_code", format!("`{}` is used by the platform's own URLs; choose another code", t.code)).into());
    }
    rules::check_organ_code(&t.organ_code)?;
    check_text("name", &t.name, 100)?;
    if p.made_under(1) {
        check_site_texts(Some(&t.name), [&t.site_id_code, &t.icp, &t.police_record], &t.mailbox)?;
    }
    if let Some(id) = &t.conac_id {
        rules::check_conac_id(id)?;
    }
    let taken: Option<i64> = db::query_scalar("SELECT id FROM tenants WHERE code = ? OR id = ?").bind(&t.code).bind(t.id).fetch_optional(conn)?;
    if taken.is_some() {
        return Err(Rejection::conflict("duplicate_code", format!("a tenant with code `{}` already exists", t.code)).into());
    }
    if let Some(parent) = t.parent_id {
        tenant_exists(conn, parent)?;
    }
    check_hosts(conn, t.id, &t.hosts)?;
    db::query(
        "INSERT INTO tenants (id, code, name, kind, parent_id, mount_under_parent, site_id_code, icp, police_record, conac_id, organ_code, mailbox, lifecycle, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(t.id).bind(&t.code).bind(&t.name).bind(t.kind.as_str()).bind(t.parent_id).bind(t.mount_under_parent)
    .bind(&t.site_id_code).bind(&t.icp).bind(&t.police_record).bind(&t.conac_id).bind(&t.organ_code).bind(&t.mailbox)
    .bind(t.lifecycle.as_str()).bind(t.created_at).bind(t.updated_at)
    .execute(conn)?;
    for (i, h) in t.hosts.iter().enumerate() {
        db::query("INSERT INTO tenant_hosts (host, tenant_id, position) VALUES (?, ?, ?)").bind(h).bind(t.id).bind(i as i64).execute(conn)?;
    }
    touched.directory = true;
    touched.tenants.insert(t.id);
    if let Some(parent) = t.parent_id {
        touched.tenants.insert(parent);
    }
    Ok(Applied { id: Some(t.id), index_no: None })
}

fn update_tenant(conn: &Conn, p: &Proposal, id: i64, patch: &TenantPatch, touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, id)?;
    if let Some(name) = &patch.name {
        check_text("name", name, 100)?;
    }
    if p.made_under(1) {
        check_site_texts(patch.name.as_deref(), [&patch.site_id_code, &patch.icp, &patch.police_record], &patch.mailbox)?;
    }
    if let Some(id) = &patch.conac_id {
        rules::check_conac_id(id)?;
    }
    if let Some(hosts) = &patch.hosts {
        check_hosts(conn, id, hosts)?;
        db::query("DELETE FROM tenant_hosts WHERE tenant_id = ?").bind(id).execute(conn)?;
        for (i, h) in hosts.iter().enumerate() {
            db::query("INSERT INTO tenant_hosts (host, tenant_id, position) VALUES (?, ?, ?)").bind(h).bind(id).bind(i as i64).execute(conn)?;
        }
    }
    db::query(
        "UPDATE tenants SET name = COALESCE(?, name), mount_under_parent = COALESCE(?, mount_under_parent),
            site_id_code = COALESCE(?, site_id_code), icp = COALESCE(?, icp), police_record = COALESCE(?, police_record),
            conac_id = COALESCE(?, conac_id), mailbox = COALESCE(?, mailbox), lifecycle = COALESCE(?, lifecycle), updated_at = ? WHERE id = ?",
    )
    .bind(&patch.name)
    .bind(patch.mount_under_parent)
    .bind(&patch.site_id_code)
    .bind(&patch.icp)
    .bind(&patch.police_record)
    .bind(&patch.conac_id)
    .bind(&patch.mailbox)
    .bind(patch.lifecycle.map(|l| l.as_str()))
    .bind(p.at)
    .bind(id)
    .execute(conn)?;
    let parent: Option<i64> = db::query_scalar("SELECT parent_id FROM tenants WHERE id = ?").bind(id).fetch_one(conn)?;
    touched.directory = true;
    touched.tenants.insert(id);
    touched.tenants.extend(parent);
    Ok(Applied { id: Some(id), index_no: None })
}

fn create_channel(conn: &Conn, p: &Proposal, c: &zhanqun_model::Channel, touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, c.tenant_id)?;
    rules::check_code("channel slug", &c.slug)?;
    check_text("name", &c.name, 60)?;
    if p.made_under(1) {
        rules::limits::CHANNEL_NAME.required(&c.name)?;
        if let Some(url) = &c.link_url {
            rules::check_link_url(url)?;
        }
    }
    if let Some(parent) = c.parent_id {
        channel_in_tenant(conn, c.tenant_id, parent)?;
    }
    let taken: Option<i64> = db::query_scalar("SELECT id FROM channels WHERE (tenant_id = ? AND slug = ?) OR id = ?")
        .bind(c.tenant_id)
        .bind(&c.slug)
        .bind(c.id)
        .fetch_optional(conn)?;
    if taken.is_some() {
        return Err(Rejection::conflict("duplicate_slug", format!("this site already has a channel `{}`", c.slug)).into());
    }
    if let Some(role) = &c.role {
        check_role_free(conn, c.tenant_id, role, c.id)?;
    }
    db::query(
        "INSERT INTO channels (id, tenant_id, parent_id, slug, name, kind, update_class, position, link_url, created_at, role) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(c.id)
    .bind(c.tenant_id)
    .bind(c.parent_id)
    .bind(&c.slug)
    .bind(&c.name)
    .bind(c.kind.as_str())
    .bind(c.update_class.as_str())
    .bind(c.position)
    .bind(&c.link_url)
    .bind(c.created_at)
    .bind(&c.role)
    .execute(conn)?;
    touched.tenants.insert(c.tenant_id);
    Ok(Applied { id: Some(c.id), index_no: None })
}

pub(crate) fn channel_in_tenant(conn: &Conn, tenant_id: i64, channel_id: i64) -> Step {
    let found: Option<i64> =
        db::query_scalar("SELECT id FROM channels WHERE id = ? AND tenant_id = ?").bind(channel_id).bind(tenant_id).fetch_optional(conn)?;
    found.map(|_| ()).ok_or_else(|| unknown_channel(channel_id))
}

/// A column of the site changed: its pages (and the navigation on every
/// page of the site) are rendered again.
fn changed(tenant_id: i64, channel_id: i64, touched: &mut Touched) -> Step<Applied> {
    touched.tenants.insert(tenant_id);
    Ok(Applied { id: Some(channel_id), index_no: None })
}

/// The parent of each column of a site.
fn parents(conn: &Conn, tenant_id: i64) -> Step<HashMap<i64, Option<i64>>> {
    let rows: Vec<(i64, Option<i64>)> = db::query_as("SELECT id, parent_id FROM channels WHERE tenant_id = ?").bind(tenant_id).fetch_all(conn)?;
    Ok(rows.into_iter().collect())
}

/// Moves a column under another of its site's (or to the top), never
/// under itself or one of its own descendants.
fn move_channel(conn: &Conn, tenant_id: i64, id: i64, parent_id: Option<i64>, touched: &mut Touched) -> Step<Applied> {
    channel_in_tenant(conn, tenant_id, id)?;
    if let Some(parent) = parent_id {
        channel_in_tenant(conn, tenant_id, parent)?;
        let tree = parents(conn, tenant_id)?;
        // Walk up from the new parent: meeting the column itself means a cycle.
        let mut at = Some(parent);
        while let Some(node) = at {
            if node == id {
                return Err(Rejection::conflict("channel_cycle", "a column cannot move under itself or under one of its own columns").into());
            }
            at = tree.get(&node).copied().flatten();
        }
    }
    // Last among its new siblings.
    let position: i64 = db::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM channels WHERE tenant_id = ? AND parent_id IS ? AND id != ?")
        .bind(tenant_id)
        .bind(parent_id)
        .bind(id)
        .fetch_one(conn)?;
    db::query("UPDATE channels SET parent_id = ?, position = ? WHERE id = ?").bind(parent_id).bind(position).bind(id).execute(conn)?;
    changed(tenant_id, id, touched)
}

/// Sets the order of the columns under one parent: the list names each of
/// them exactly once, so a stale screen cannot drop or duplicate one.
fn reorder_channels(conn: &Conn, tenant_id: i64, parent_id: Option<i64>, order: &[i64], touched: &mut Touched) -> Step<Applied> {
    tenant_exists(conn, tenant_id)?;
    if let Some(parent) = parent_id {
        channel_in_tenant(conn, tenant_id, parent)?;
    }
    let mut siblings: Vec<i64> =
        db::query_scalar("SELECT id FROM channels WHERE tenant_id = ? AND parent_id IS ?").bind(tenant_id).bind(parent_id).fetch_all(conn)?;
    let mut asked = order.to_vec();
    siblings.sort_unstable();
    asked.sort_unstable();
    if siblings != asked {
        // The request is well formed; it disagrees with the columns as they
        // are now (a stale screen): a conflict, like any other state.
        return Err(Rejection::conflict(
            "incomplete_order",
            format!("`order` must list each of the {} columns under this parent exactly once (the columns may have changed; reload them)", siblings.len()),
        )
        .into());
    }
    for (position, id) in order.iter().enumerate() {
        db::query("UPDATE channels SET position = ? WHERE id = ?").bind(position as i64).bind(id).execute(conn)?;
    }
    touched.tenants.insert(tenant_id);
    Ok(Applied { id: parent_id, index_no: None })
}

/// Deletes a column that holds nothing: its documents (published or not)
/// and its own columns must go elsewhere first.
fn delete_channel(conn: &Conn, tenant_id: i64, id: i64, touched: &mut Touched) -> Step<Applied> {
    channel_in_tenant(conn, tenant_id, id)?;
    let documents: i64 = db::query_scalar("SELECT COUNT(*) FROM documents WHERE channel_id = ?").bind(id).fetch_one(conn)?;
    if documents > 0 {
        return Err(Rejection::conflict("channel_not_empty", format!("the column holds {documents} documents; move or delete them first")).into());
    }
    let children: i64 = db::query_scalar("SELECT COUNT(*) FROM channels WHERE parent_id = ?").bind(id).fetch_one(conn)?;
    if children > 0 {
        return Err(Rejection::conflict("channel_not_empty", format!("the column holds {children} columns; move or delete them first")).into());
    }
    db::query("DELETE FROM channels WHERE id = ?").bind(id).execute(conn)?;
    changed(tenant_id, id, touched)
}
