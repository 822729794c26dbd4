//! `GET /api/v1/tenants/{code}/self-inspection?year=YYYY[&format=csv]`: the
//! annual self-inspection (每年全面自查) of a site's 政务公开.
//!
//! For the documents of the year (by 索引号 year) it lists those not
//! proactively disclosed, with their 公开属性, legal basis and reason, and
//! separately the 依申请公开 ones, each to be reconsidered for 主动公开
//! (《政府信息公开条例》第四十四条: information requested repeatedly and
//! fit to be public should become 主动公开). zhanqun does not track 依申请
//! requests yet, so every 依申请公开 document of the year is listed for that
//! decision rather than a guessed subset.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use zhanqun_model::{Disclosure, Document, TenantRole};

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

#[derive(Serialize)]
struct Line {
    index_no: String,
    title: String,
    doc_no: Option<String>,
    state: String,
    disclosure: String,
    disclosure_basis: Option<String>,
    disclosure_reason: Option<String>,
}

impl From<&Document> for Line {
    fn from(d: &Document) -> Self {
        Line {
            index_no: d.meta.index_no.clone(),
            title: d.title.clone(),
            doc_no: d.meta.doc_no.clone(),
            state: d.state.to_string(),
            disclosure: d.meta.disclosure.map_or_else(|| "未选择".to_string(), |x| x.to_string()),
            disclosure_basis: d.meta.disclosure_basis.clone(),
            disclosure_reason: d.meta.disclosure_reason.clone(),
        }
    }
}

#[derive(Serialize)]
struct Report {
    site: String,
    year: i32,
    documents: usize,
    proactive: usize,
    /// Not 主动公开 (依申请公开, 不予公开, or not chosen yet), with reasons.
    not_proactive: Vec<Line>,
    /// 依申请公开 documents to reconsider for 主动公开.
    reconsider: Vec<Line>,
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
    let docs = app.store.documents_of_year(t.id, year).await?;
    let report = Report {
        site: t.name.clone(),
        year,
        documents: docs.len(),
        proactive: docs.iter().filter(|d| d.meta.disclosure == Some(Disclosure::Proactive)).count(),
        not_proactive: docs.iter().filter(|d| d.meta.disclosure != Some(Disclosure::Proactive)).map(Line::from).collect(),
        reconsider: docs.iter().filter(|d| d.meta.disclosure == Some(Disclosure::OnRequest)).map(Line::from).collect(),
    };
    match q.format.as_deref() {
        None | Some("json") => Ok(axum::Json(report).into_response()),
        Some("csv") => Ok(csv(&report).into_response(&format!("self-inspection-{}-{year}.csv", t.code))),
        Some(other) => Err(ApiError::bad_request("bad_format", format!("`format` is json or csv, not {other:?}"))),
    }
}
