//! `GET /api/v1/tenants/{code}/self-inspection?year=YYYY[&format=csv]`: the
//! annual self-inspection report (`zhanqun_platform::inspection`) as JSON
//! or as CSV for Excel/WPS.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zhanqun_model::TenantRole;
use zhanqun_platform::inspection::{self, Report};

use super::csv::Csv;
use super::{Path, Query, tenant_by_code};
use crate::App;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// Who reads the report: the site's admin and reviewers.
const READERS: &[TenantRole] = &[TenantRole::Admin, TenantRole::Reviewer, TenantRole::DisclosureReviewer];

#[derive(Deserialize)]
pub struct InspectionQuery {
    year: Option<String>,
    format: Option<String>,
}

fn csv(report: &Report) -> Csv {
    let mut csv = Csv::new(&["清单", "索引号", "标题", "文号", "状态", "公开属性", "公开依据", "理由"]);
    for (list, lines) in [("不予主动公开", &report.not_proactive), ("可转为主动公开（待评估）", &report.reconsider)] {
        for l in lines {
            csv.row(&[
                list,
                &l.index_no,
                &l.title,
                l.doc_no.as_deref().unwrap_or(""),
                &l.state,
                &l.disclosure,
                l.disclosure_basis.as_deref().unwrap_or(""),
                l.disclosure_reason.as_deref().unwrap_or(""),
            ]);
        }
    }
    csv
}

pub async fn report(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Query(q): Query<InspectionQuery>) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    caller.require(t.id, READERS)?;
    let year: i32 = match q.year.as_deref() {
        Some(y) => y
            .parse()
            .ok()
            .filter(|y| (1949..=9999).contains(y))
            .ok_or_else(|| ApiError::bad_request("bad_year", format!("`year` must be a year like 2026, not {y:?}")))?,
        None => return Err(ApiError::bad_request("missing_year", "say which year: ?year=2026")),
    };
    let report = inspection::report(&app.store, &t, year).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(report).into_response()),
        Some("csv") => Ok(csv(&report).into_response(&format!("self-inspection-{}-{year}.csv", t.code))),
        Some(other) => Err(ApiError::bad_request("bad_format", format!("`format` is json or csv, not {other:?}"))),
    }
}
