//! Documents crossing sites: feeds (系统管理员), column roles and site tags,
//! repost rules, reposting by hand, the tracking board and inbox, and
//! 信息报送. Each write is one command; the state machine decides.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zhanqun_model::policy::Need;
use zhanqun_model::repost::{DEFAULT_DEADLINE_MS, Feed, RepostFilter, RepostMode, RepostRule, RepostSource, RepostTargets, Submission};
use zhanqun_model::{Command, TenantKind, TenantRole};
use zhanqun_platform::{new_id, now_ms};
use zhanqun_store::RepostQuery;

use super::csv::Csv;
use super::{ApiJson, Path, Query, WriteResponse, WriteResult, propose, tenant_by_code, to_json};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFeed {
    pub name: String,
    pub url: String,
    /// The platform source site (its code) the items become documents of.
    pub site: String,
    pub channel_id: i64,
    #[serde(default = "default_poll")]
    pub poll_seconds: i64,
    #[serde(default)]
    pub allow_private: bool,
}

fn default_poll() -> i64 {
    900
}

pub async fn list_feeds(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<Response> {
    caller.may(Need::PlatformAdmin)?;
    Ok(axum::Json(serde_json::json!({ "items": app.store.feeds().await? })).into_response())
}

pub async fn create_feed(State(app): State<Arc<App>>, caller: Caller, ApiJson(body): ApiJson<NewFeed>) -> WriteResult {
    let t = tenant_by_code(&app, &body.site).await?;
    let feed = Feed {
        id: new_id(),
        name: body.name,
        url: body.url,
        tenant_id: t.id,
        channel_id: body.channel_id,
        poll_seconds: body.poll_seconds,
        allow_private: body.allow_private,
        created_at: now_ms(),
    };
    let (headers, _) = propose(&app, caller.propose(Command::CreateFeed { feed: feed.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&feed)))
}

/// Stops polling a feed; the documents it brought stay.
pub async fn delete_feed(State(app): State<Arc<App>>, caller: Caller, Path(id): Path<i64>) -> WriteResult {
    let (headers, _) = propose(&app, caller.propose(Command::DeleteFeed { feed_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "deleted": true })))
}

/// 立即抓取: the leader polls the feed now.
pub async fn poll_now(State(app): State<Arc<App>>, caller: Caller, Path(id): Path<i64>) -> WriteResult {
    let (headers, _) = propose(&app, caller.propose(Command::RequestFeedPoll { feed_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "poll": "requested" })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// `null` takes the role away.
    pub role: Option<String>,
}

pub async fn set_channel_role(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<NewRole>,
) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::SetChannelRole { tenant_id: t.id, channel_id: id, role: body.role })).await?;
    let channel = app.store.channels(t.id).await?.into_iter().find(|c| c.id == id).ok_or_else(|| ApiError::internal("the changed column is gone"))?;
    Ok(WriteResponse(StatusCode::OK, headers, to_json(&channel)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTags {
    pub tags: Vec<String>,
}

pub async fn set_tags(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, ApiJson(body): ApiJson<NewTags>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::SetTenantTags { tenant_id: t.id, tags: body.tags })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "tags": app.store.tenant_tags(t.id).await? })))
}

/// Where a rule takes its documents from, as the API names it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceBody {
    Feed { feed_id: i64 },
    Column { site: String, channel_id: i64 },
}

/// Where a rule (or a hand repost) sends them, sites named by code.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetsBody {
    All,
    Kind { kind: TenantKind },
    Tag { tag: String },
    List { sites: Vec<String> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub name: String,
    pub source: SourceBody,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub targets: TargetsBody,
    pub role: String,
    pub mode: RepostMode,
    pub deadline_hours: Option<i64>,
}

fn deadline_ms(hours: Option<i64>) -> i64 {
    hours.map_or(DEFAULT_DEADLINE_MS, |h| h * 3600 * 1000)
}

async fn site_ids(app: &App, codes: &[String]) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(codes.len());
    for code in codes {
        ids.push(tenant_by_code(app, code).await?.id);
    }
    Ok(ids)
}

pub async fn list_rules(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    // Anyone of the site reads it.
    caller.require(t.id, TenantRole::ALL)?;
    Ok(axum::Json(serde_json::json!({ "items": app.store.repost_rules(t.id).await? })).into_response())
}

pub async fn create_rule(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, ApiJson(body): ApiJson<NewRule>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let source = match body.source {
        SourceBody::Feed { feed_id } => RepostSource::Feed { feed_id },
        SourceBody::Column { site, channel_id } => RepostSource::Column { tenant_id: tenant_by_code(&app, &site).await?.id, channel_id },
    };
    let targets = match body.targets {
        TargetsBody::All => RepostTargets::All,
        TargetsBody::Kind { kind } => RepostTargets::Kind { kind },
        TargetsBody::Tag { tag } => RepostTargets::Tag { tag },
        TargetsBody::List { sites } => RepostTargets::List { tenant_ids: site_ids(&app, &sites).await? },
    };
    let rule = RepostRule {
        id: new_id(),
        tenant_id: t.id,
        name: body.name,
        source,
        filter: RepostFilter { topics: body.topics, keywords: body.keywords },
        targets,
        role: body.role,
        mode: body.mode,
        deadline_ms: deadline_ms(body.deadline_hours),
        created_at: now_ms(),
        created_by: Some(caller.user.id),
    };
    let (headers, _) = propose(&app, caller.propose(Command::CreateRepostRule { rule: rule.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, to_json(&rule)))
}

pub async fn delete_rule(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::DeleteRepostRule { tenant_id: t.id, rule_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "deleted": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRepost {
    pub sites: Vec<String>,
    pub role: String,
    pub mode: RepostMode,
    pub deadline_hours: Option<i64>,
}

/// Reposts one published document of the site to the named sites, and
/// answers the tracking rows of that document.
pub async fn repost(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<NewRepost>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let targets = site_ids(&app, &body.sites).await?;
    let command =
        Command::RepostDocument { tenant_id: t.id, document_id: id, targets, role: body.role, mode: body.mode, deadline_ms: deadline_ms(body.deadline_hours) };
    let (headers, _) = propose(&app, caller.propose(command)).await?;
    let rows = app.store.reposts(&RepostQuery { source_id: Some(id), reposted_by: Some(t.id), limit: 10_000, ..Default::default() }).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, board_json(&rows)))
}

fn board_json(rows: &[zhanqun_store::RepostRow]) -> serde_json::Value {
    let now = now_ms();
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = to_json(r);
            v["overdue"] = serde_json::json!(r.overdue(now));
            v
        })
        .collect();
    serde_json::json!({ "items": items })
}

#[derive(Deserialize)]
pub struct BoardQuery {
    /// `out`: what this site reposted (the board); `in`: what reached it (the inbox).
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
}

pub async fn list_reposts(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<BoardQuery>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    caller.require(t.id, TenantRole::ALL)?;
    let inbound = match q.direction.as_deref() {
        None | Some("out") => false,
        Some("in") => true,
        Some(_) => return Err(ApiError::Unprocessable("invalid_query".into(), "direction is `out` or `in`".into())),
    };
    let query = if inbound {
        RepostQuery { tenant_id: Some(t.id), limit: 5_000, ..Default::default() }
    } else {
        RepostQuery { reposted_by: Some(t.id), limit: 5_000, ..Default::default() }
    };
    let rows = app.store.reposts(&query).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(board_json(&rows)).into_response()),
        Some("csv") => Ok(board_csv(&rows).into_response(&format!("reposts-{}.csv", t.code))),
        Some(_) => Err(ApiError::Unprocessable("invalid_query".into(), "format is `json` or `csv`".into())),
    }
}

/// The board as 绩效考核 reads it: one line per source and site.
pub(crate) fn board_csv(rows: &[zhanqun_store::RepostRow]) -> Csv {
    use zhanqun_model::time::format_minute;
    let now = now_ms();
    let mut csv = Csv::new(&["来源文件", "来源站点", "目标站点", "方式", "状态", "理由", "转载时间", "时限", "是否超期", "核验状态码", "核验时间"]);
    for r in rows {
        csv.row(&[
            r.source_title.clone(),
            r.source_site.clone(),
            r.site_name.clone(),
            if r.mode == RepostMode::Mandatory { "强制".into() } else { "可选".into() },
            if r.source_published { r.state.title().to_string() } else { "来源已撤回".into() },
            r.reason.clone().unwrap_or_default(),
            format_minute(r.created_at),
            format_minute(r.deadline_at),
            if r.overdue(now) { "是".into() } else { "否".into() },
            r.proof_status.map(|s| s.to_string()).unwrap_or_default(),
            r.proof_at.map(format_minute).unwrap_or_default(),
        ]);
    }
    csv
}

pub async fn accept(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::AcceptRepost { tenant_id: t.id, repost_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "state": "accepted" })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

pub async fn refuse(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<Reason>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::RefuseRepost { tenant_id: t.id, repost_id: id, reason: body.reason })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "state": "refused" })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubmission {
    /// The portal's code.
    pub portal: String,
    /// The portal's column.
    pub channel_id: i64,
}

pub async fn submit_upward(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((code, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<NewSubmission>,
) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let portal = tenant_by_code(&app, &body.portal).await?;
    let submission = Submission {
        id: new_id(),
        tenant_id: t.id,
        document_id: id,
        portal_id: portal.id,
        channel_id: body.channel_id,
        created_at: now_ms(),
        created_by: Some(caller.user.id),
    };
    let (headers, _) = propose(&app, caller.propose(Command::SubmitUpward { submission: submission.clone() })).await?;
    Ok(WriteResponse(StatusCode::CREATED, headers, serde_json::json!({ "id": submission.id, "state": "submitted" })))
}

pub async fn list_submissions(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<BoardQuery>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    caller.require(t.id, TenantRole::ALL)?;
    let to_portal = match q.direction.as_deref() {
        None | Some("out") => false,
        Some("in") => true,
        Some(_) => return Err(ApiError::Unprocessable("invalid_query".into(), "direction is `out` or `in`".into())),
    };
    Ok(axum::Json(serde_json::json!({ "items": app.store.submissions(t.id, to_portal, 1_000).await? })).into_response())
}

pub async fn adopt(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, applied) = propose(&app, caller.propose(Command::AdoptSubmission { portal_id: t.id, submission_id: id })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "state": "adopted", "document_id": applied.id })))
}

pub async fn give_back(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, ApiJson(body): ApiJson<Reason>) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    let (headers, _) = propose(&app, caller.propose(Command::ReturnSubmission { portal_id: t.id, submission_id: id, reason: body.reason })).await?;
    Ok(WriteResponse(StatusCode::OK, headers, serde_json::json!({ "id": id, "state": "returned" })))
}

#[derive(Deserialize)]
pub struct CountQuery {
    pub year: i32,
    #[serde(default)]
    pub format: Option<String>,
}

/// Per site, the year's 信息报送 to this portal: submitted, adopted, returned.
pub async fn submission_counts(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<CountQuery>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    caller.require(t.id, TenantRole::ALL)?;
    let counts = counts_of(&app, t.id, q.year).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(serde_json::json!({ "year": q.year, "items": counts })).into_response()),
        Some("csv") => Ok(counts_csv(&counts).into_response(&format!("submissions-{}-{}.csv", t.code, q.year))),
        Some(_) => Err(ApiError::Unprocessable("invalid_query".into(), "format is `json` or `csv`".into())),
    }
}

pub(crate) async fn counts_of(app: &App, portal_id: i64, year: i32) -> ApiResult<Vec<zhanqun_store::SubmissionCount>> {
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::Unprocessable("invalid_query".into(), "year is between 2000 and 2100".into()));
    }
    let start = |y: i32| zhanqun_model::time::date_to_millis(&format!("{y}-01-01")).expect("a valid date");
    Ok(app.store.submission_counts(portal_id, start(year), start(year + 1)).await?)
}

pub(crate) fn counts_csv(counts: &[zhanqun_store::SubmissionCount]) -> Csv {
    let mut csv = Csv::new(&["站点", "报送", "采用", "退回", "采用率"]);
    for c in counts {
        let rate = if c.submitted > 0 { format!("{:.0}%", 100.0 * c.adopted as f64 / c.submitted as f64) } else { String::new() };
        csv.row(&[c.site_name.clone(), c.submitted.to_string(), c.adopted.to_string(), c.returned.to_string(), rate]);
    }
    csv
}
