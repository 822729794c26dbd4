//! The compliance monitors' latest round (`zhanqun_platform::compliance`):
//! `GET /api/v1/tenants/{code}/compliance[?format=csv]`, a site's daily
//! report, for anyone of the site and the 系统管理员; `GET
//! /api/v1/compliance[?format=csv]`, every site ranked, worst first, for
//! the 系统管理员.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zhanqun_model::TenantRole;
use zhanqun_model::policy::Need;
use zhanqun_model::time::format_date as iso_date;
use zhanqun_platform::compliance::{Round, SiteReport};

use super::csv::Csv;
use super::{Path, Query, tenant_by_code};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

fn wants_csv(q: &FormatQuery) -> ApiResult<bool> {
    match q.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request("bad_format", format!("`format` is json or csv, not {other:?}"))),
    }
}

fn level_name(l: zhanqun_model::compliance::Level) -> &'static str {
    match l {
        zhanqun_model::compliance::Level::Ok => "正常",
        zhanqun_model::compliance::Level::Warn => "预警",
        zhanqun_model::compliance::Level::Red => "单项否决风险",
    }
}

/// One line per finding and, under it, one per fault.
pub(crate) fn site_csv(round_at: i64, report: &SiteReport) -> Csv {
    let mut csv = Csv::new(&["日期", "站点", "监测项", "结果", "数值", "说明", "问题所在", "链接"]);
    let date = iso_date(round_at);
    for f in &report.findings {
        csv.row(&[&date, &report.name, f.monitor.as_str(), level_name(f.level), &format!("{}", f.value), &f.summary, "", ""]);
        for fault in &f.faults {
            csv.row(&[&date, &report.name, f.monitor.as_str(), level_name(f.level), "", "", &fault.what, fault.url.as_deref().unwrap_or("")]);
        }
    }
    csv
}

fn not_yet() -> ApiError {
    // 409 rather than 503: the node is well, the report is not made yet.
    ApiError::Conflict("not_ready".into(), "the compliance monitors have not finished their first round on this node yet; try again in a minute".into())
}

pub async fn site(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<FormatQuery>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    if caller.may(Need::PlatformAdmin).is_err() {
        caller.require(t.id, TenantRole::ALL)?;
    }
    let csv = wants_csv(&q)?;
    let round = app.derived.compliance.latest();
    if round.at == 0 {
        return Err(not_yet());
    }
    let report = round
        .sites
        .iter()
        .find(|s| s.tenant_id == t.id)
        .ok_or_else(|| ApiError::Conflict("not_monitored".into(), format!("site `{code}` is not online ({}), so it is not monitored", t.lifecycle)))?;
    if csv {
        return Ok(site_csv(round.at, report).into_response(&format!("compliance-{}-{}.csv", t.code, iso_date(round.at))));
    }
    Ok(axum::Json(serde_json::json!({ "at": round.at, "site": report })).into_response())
}

pub async fn ranking(State(app): State<Arc<App>>, caller: Caller, Query(q): Query<FormatQuery>) -> ApiResult<Response> {
    caller.may(Need::PlatformAdmin)?;
    let csv = wants_csv(&q)?;
    let round: Arc<Round> = app.derived.compliance.latest();
    if round.at == 0 {
        return Err(not_yet());
    }
    if csv {
        let mut out = Csv::new(&["排名", "站点", "代码", "结果", "否决风险项", "预警项", "问题"]);
        for (i, s) in round.sites.iter().enumerate() {
            let problems: Vec<&str> = s.findings.iter().filter(|f| f.level != zhanqun_model::compliance::Level::Ok).map(|f| f.summary.as_str()).collect();
            out.row(&[&(i + 1).to_string(), &s.name, &s.code, level_name(s.level), &s.red.to_string(), &s.warn.to_string(), &problems.join("；")]);
        }
        return Ok(out.into_response(&format!("compliance-{}.csv", iso_date(round.at))));
    }
    Ok(axum::Json(&*round).into_response())
}
