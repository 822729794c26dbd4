//! 转载与报送: one page per site for documents crossing sites — the
//! optional reposts waiting for this site (accept, or refuse with a
//! reason), what reached it, the site's repost rules, the tracking board of
//! what it reposted (with the CSV for 绩效考核), and 信息报送 (a portal
//! adopts or returns; a township sees its own and the yearly counts). The
//! document page offers the two hand actions: repost to chosen sites, and
//! submit to a portal column.
//!
//! Every form goes through the API's own handler with the JSON body a
//! client would send ([`super::body`]).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;
use zhanqun_model::repost::{RepostMode, RepostSource, RepostTargets};
use zhanqun_model::time::format_minute;
use zhanqun_model::{DocState, Document, Tenant, TenantKind, policy::WRITERS};
use zhanqun_store::{RepostQuery, RepostRow};

use super::{Browser, Page, body, layout, my_site, render};
use crate::api::{self, WriteRefused};
use crate::{App, now_ms};

/// How a tracking row reads on the board: its state in words, and the proof.
fn row_view(r: &RepostRow, now: i64) -> Value {
    let state = if !r.source_published { "来源已撤回".to_string() } else { r.state.title().to_string() };
    let proof = match (r.proof_status, r.proof_at) {
        (Some(200), Some(at)) => format!("已核验 {}", format_minute(at)),
        (Some(s), Some(at)) => format!("核验失败（{s}）{}", format_minute(at)),
        _ if r.copy_id.is_some() => "待核验".to_string(),
        _ => String::new(),
    };
    context! {
        id => r.id, site => r.site_name, site_code => r.site_code, source_id => r.source_id, title => r.source_title, source_site => r.source_site,
        mode => if r.mode == RepostMode::Mandatory { "强制" } else { "可选" }, state, state_code => r.state.as_str(), reason => r.reason,
        deadline => format_minute(r.deadline_at), overdue => r.overdue(now), proof, copy_id => r.copy_id, created => format_minute(r.created_at),
        url => r.copy_id.map(|c| format!("/sites/{}/art/{c}.html", r.site_code)),
    }
}

/// One source on the board: its rows and their tally.
fn board_view(rows: &[RepostRow], now: i64) -> Vec<Value> {
    let mut sources: Vec<(i64, Vec<&RepostRow>)> = Vec::new();
    for r in rows {
        match sources.iter_mut().find(|(id, _)| *id == r.source_id) {
            Some((_, list)) => list.push(r),
            None => sources.push((r.source_id, vec![r])),
        }
    }
    sources
        .into_iter()
        .map(|(_, list)| {
            let first = list[0];
            let count = |f: &dyn Fn(&RepostRow) -> bool| list.iter().filter(|r| f(r)).count();
            context! {
                title => first.source_title, source_site => first.source_site, created => format_minute(first.created_at), targets => list.len(),
                proven => count(&|r| r.state.carried() && r.proof_status == Some(200)),
                waiting => count(&|r| r.state.as_str() == "pending"),
                refused => count(&|r| r.state.settled()),
                missing => count(&|r| r.state.as_str() == "no_column"),
                overdue => count(&|r| r.overdue(now)),
                rows => list.iter().map(|r| row_view(r, now)).collect::<Vec<_>>(),
            }
        })
        .collect()
}

fn targets_text(t: &RepostTargets, name_of: &dyn Fn(i64) -> String) -> String {
    match t {
        RepostTargets::All => "所有站点".into(),
        RepostTargets::Kind { kind } => format!("所有{}", super::words::site_kind(*kind)),
        RepostTargets::Tag { tag } => format!("标签为「{tag}」的站点"),
        RepostTargets::List { tenant_ids } => tenant_ids.iter().map(|id| name_of(*id)).collect::<Vec<_>>().join("、"),
    }
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    year: Option<i32>,
}

/// `GET /admin/sites/{code}/reposts`.
pub async fn show(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Query(q): Query<PageQuery>) -> Result<Page, Page> {
    let t = my_site(&app, &b, &code).await?;
    let now = now_ms();
    let dir = app.derived.directory.current(&app.store).await?;
    let name_of = |id: i64| dir.by_id(id).map_or_else(|| id.to_string(), |s| s.name.clone());
    let incoming = app.store.reposts(&RepostQuery { tenant_id: Some(t.id), limit: 500, ..Default::default() }).await?;
    let (waiting, received): (Vec<&RepostRow>, Vec<&RepostRow>) = incoming.iter().partition(|r| r.state.as_str() == "pending" && r.source_published);
    let outgoing = app.store.reposts(&RepostQuery { reposted_by: Some(t.id), limit: 5_000, ..Default::default() }).await?;
    let feeds = app.store.feeds().await?;
    let channels = app.store.channels(t.id).await?;
    let rules: Vec<Value> = app
        .store
        .repost_rules(t.id)
        .await?
        .iter()
        .map(|r| {
            let source = match &r.source {
                RepostSource::Feed { feed_id } => {
                    format!("订阅源：{}", feeds.iter().find(|f| f.feed.id == *feed_id).map_or("（已删除）", |f| f.feed.name.as_str()))
                }
                RepostSource::Column { tenant_id, channel_id } => {
                    let column = if *tenant_id == t.id { channels.iter().find(|c| c.id == *channel_id).map(|c| c.name.clone()) } else { None };
                    format!("{} · {}", name_of(*tenant_id), column.unwrap_or_else(|| format!("栏目 {channel_id}")))
                }
            };
            let filter = [r.filter.topics.join("、"), r.filter.keywords.join("、")].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join("；");
            context! {
                id => r.id, name => r.name, source, filter, targets => targets_text(&r.targets, &name_of), role => r.role,
                mode => if r.mode == RepostMode::Mandatory { "强制" } else { "可选" }, hours => r.deadline_ms / 3_600_000,
            }
        })
        .collect();
    let writes = b.user.may(t.id, WRITERS);
    let portal = t.kind == TenantKind::Portal;
    let year = q.year.unwrap_or_else(|| zhanqun_model::time::to_civil(now).year);
    let (submissions, counts) = if portal {
        let counts = api::reposts::counts_of(&app, t.id, year).await.map_err(Page::Failed)?;
        (app.store.submissions(t.id, true, 300).await?, counts)
    } else {
        (app.store.submissions(t.id, false, 300).await?, Vec::new())
    };
    let submission_rows: Vec<Value> = submissions
        .iter()
        .map(|s| {
            context! {
                id => s.id, site => s.site_name, title => s.title, column => s.channel_name, state => s.state.title(), state_code => s.state.as_str(),
                reason => s.reason, created => format_minute(s.created_at), decided => s.decided_at.map(format_minute),
                url => s.copy_id.map(|c| format!("/sites/{}/art/{c}.html", t.code)),
            }
        })
        .collect();
    render(
        &app,
        "admin/reposts.html",
        context! {
            layout => layout(&b, Some(&t)), writes, portal,
            waiting => waiting.iter().map(|r| row_view(r, now)).collect::<Vec<_>>(),
            received => received.iter().map(|r| row_view(r, now)).collect::<Vec<_>>(),
            board => board_view(&outgoing, now), rules,
            may_rule => writes && matches!(t.kind, TenantKind::Portal | TenantKind::Special),
            feeds => feeds.iter().map(|f| context! { id => f.feed.id, name => f.feed.name }).collect::<Vec<_>>(),
            columns => channels.iter().map(|c| context! { id => c.id, name => c.name }).collect::<Vec<_>>(),
            kinds => TenantKind::ALL.iter().map(|k| context! { code => k.as_str(), name => super::words::site_kind(*k) }).collect::<Vec<_>>(),
            submissions => submission_rows, counts => Value::from_serialize(&counts), year,
        },
    )
}

/// `GET /admin/sites/{code}/reposts.csv`: the board for 绩效考核.
pub async fn board_csv(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>) -> Response {
    let query = api::Query(api::reposts::BoardQuery { direction: Some("out".into()), format: Some("csv".into()) });
    api::reposts::list_reposts(State(app), b.caller(), api::Path(code), query).await.unwrap_or_else(|e| Page::Failed(e).into_response())
}

/// `GET /admin/sites/{code}/submissions.csv?year=`: 信息报送 counts per site.
pub async fn counts_csv(State(app): State<Arc<App>>, b: Browser, Path(code): Path<String>, Query(q): Query<PageQuery>) -> Response {
    let year = q.year.unwrap_or_else(|| zhanqun_model::time::to_civil(now_ms()).year);
    let query = api::Query(api::reposts::CountQuery { year, format: Some("csv".into()) });
    api::reposts::submission_counts(State(app), b.caller(), api::Path(code), query).await.unwrap_or_else(|e| Page::Failed(e).into_response())
}

/// A form's fields; `sites` may come many times (check boxes).
type Fields = Vec<(String, String)>;

fn field(f: &Fields, k: &str) -> String {
    f.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

fn words_of(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ' ', '\n']).map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// `POST /admin/sites/{code}/reposts/{action}`.
pub async fn act(State(app): State<Arc<App>>, b: Browser, Path((code, action)): Path<(String, String)>, Form(f): Form<Fields>) -> Result<Response, Page> {
    my_site(&app, &b, &code).await?;
    let get = |k: &str| field(&f, k);
    let id = |k: &str| get(k).parse::<i64>().map_err(|_| Page::refused(crate::ApiError::Unprocessable("invalid_field".into(), format!("{k} 缺失"))));
    let hours = || get("deadline_hours").parse::<i64>().ok();
    let (s, c) = (State(app.clone()), b.caller());
    let page = format!("/admin/sites/{code}/reposts");
    let (done, back) = match action.as_str() {
        "accept" => (api::reposts::accept(s, c, api::Path((code.clone(), id("id")?))).await, format!("{page}#inbox")),
        "refuse" => {
            let v = body(json!({ "reason": get("reason") })).map_err(Page::refused)?;
            (api::reposts::refuse(s, c, api::Path((code.clone(), id("id")?)), api::ApiJson(v)).await, format!("{page}#inbox"))
        }
        "rule-create" => {
            let source = match get("source").split_once(':') {
                Some(("feed", id)) => json!({ "type": "feed", "feed_id": id.parse::<i64>().unwrap_or(0) }),
                Some(("column", id)) => json!({ "type": "column", "site": code, "channel_id": id.parse::<i64>().unwrap_or(0) }),
                _ => json!(null),
            };
            let targets = match get("targets").as_str() {
                "all" => json!({ "type": "all" }),
                "kind" => json!({ "type": "kind", "kind": get("kind") }),
                "tag" => json!({ "type": "tag", "tag": get("tag") }),
                _ => json!({ "type": "list", "sites": words_of(&get("sites")) }),
            };
            let v = json!({
                "name": get("name"), "source": source, "targets": targets, "topics": words_of(&get("topics")), "keywords": words_of(&get("keywords")),
                "role": get("role"), "mode": get("mode"), "deadline_hours": hours(),
            });
            (api::reposts::create_rule(s, c, api::Path(code.clone()), api::ApiJson(body(v).map_err(Page::refused)?)).await, format!("{page}#rules"))
        }
        "rule-delete" => (api::reposts::delete_rule(s, c, api::Path((code.clone(), id("id")?))).await, format!("{page}#rules")),
        "repost" => {
            let sites: Vec<&str> = f.iter().filter(|(k, _)| k == "sites").map(|(_, v)| v.as_str()).collect();
            let v = json!({ "sites": sites, "role": get("role"), "mode": get("mode"), "deadline_hours": hours() });
            (
                api::reposts::repost(s, c, api::Path((code.clone(), id("document")?)), api::ApiJson(body(v).map_err(Page::refused)?)).await,
                format!("{page}#board"),
            )
        }
        "submit" => {
            let v = json!({ "portal": get("portal"), "channel_id": id("channel")? });
            (
                api::reposts::submit_upward(s, c, api::Path((code.clone(), id("document")?)), api::ApiJson(body(v).map_err(Page::refused)?)).await,
                format!("{page}#upward"),
            )
        }
        "adopt" => (api::reposts::adopt(s, c, api::Path((code.clone(), id("id")?))).await, format!("{page}#upward")),
        "return" => {
            let v = body(json!({ "reason": get("reason") })).map_err(Page::refused)?;
            (api::reposts::give_back(s, c, api::Path((code.clone(), id("id")?)), api::ApiJson(v)).await, format!("{page}#upward"))
        }
        _ => return Err(Page::NotYours),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(WriteRefused(_, e)) => Err(Page::refused(e)),
    }
}

/// What the document page offers for crossing sites: reposting by hand (a
/// portal's or source site's published document) and 信息报送 (anyone
/// else's), for the site's writers; and, on a copy, where it came from.
pub async fn document_actions(app: &App, b: &Browser, t: &Tenant, d: &Document) -> Result<Value, Page> {
    let shareable = d.state == DocState::Published && d.is_public() && d.copy_of.is_none() && b.user.may(t.id, WRITERS);
    let dir = app.derived.directory.current(&app.store).await?;
    let repost = (shareable && matches!(t.kind, TenantKind::Portal | TenantKind::Special)).then(|| {
        let sites: Vec<Value> = dir
            .tenants()
            .filter(|s| s.id != t.id && s.lifecycle != zhanqun_model::Lifecycle::Closed)
            .map(|s| context! { code => s.code, name => s.name, kind => super::words::site_kind(s.kind) })
            .collect();
        context! { sites }
    });
    // 信息报送 goes to the site's own portal (its parent), else the first.
    let portal =
        t.parent_id.and_then(|id| dir.by_id(id)).filter(|p| p.kind == TenantKind::Portal).or_else(|| dir.tenants().find(|p| p.kind == TenantKind::Portal));
    let upward = match portal {
        Some(p) if shareable && t.kind != TenantKind::Portal => {
            let columns: Vec<Value> = app
                .store
                .channels(p.id)
                .await?
                .iter()
                .filter(|c| c.kind == zhanqun_model::ChannelKind::List)
                .map(|c| context! { id => c.id, name => c.name })
                .collect();
            Some(context! { code => p.code, name => p.name, columns })
        }
        _ => None,
    };
    let copy_of = match d.copy_of {
        Some(_) => app.store.copy_source(t.id, d.id).await?.and_then(|(site, id)| {
            dir.by_id(site).map(|s| context! { site => s.name, url => zhanqun_model::urls::preview_url(s, &zhanqun_model::urls::Page::Document { id }) })
        }),
        None => None,
    };
    Ok(context! { repost, upward, copy_of })
}
