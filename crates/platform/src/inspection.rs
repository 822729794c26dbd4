//! The annual self-inspection (每年全面自查) of a site's 政务公开.
//!
//! For the documents of the year (by 索引号 year) it lists those not
//! proactively disclosed, with their 公开属性, legal basis and reason, and
//! separately the 依申请公开 ones, each to be reconsidered for 主动公开
//! (《政府信息公开条例》第四十四条: information requested repeatedly and
//! fit to be public should become 主动公开). zhanqun does not track 依申请
//! requests yet, so every 依申请公开 document of the year is listed for that
//! decision rather than a guessed subset.

use serde::Serialize;
use zhanqun_model::{Disclosure, Document, Tenant};
use zhanqun_store::{Store, StoreError};

#[derive(Serialize)]
pub struct Line {
    pub index_no: String,
    pub title: String,
    pub doc_no: Option<String>,
    pub state: String,
    pub disclosure: String,
    pub disclosure_basis: Option<String>,
    pub disclosure_reason: Option<String>,
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
pub struct Report {
    pub site: String,
    pub year: i32,
    pub documents: usize,
    pub proactive: usize,
    /// Not 主动公开 (依申请公开, 不予公开, or not chosen yet), with reasons.
    pub not_proactive: Vec<Line>,
    /// 依申请公开 documents to reconsider for 主动公开.
    pub reconsider: Vec<Line>,
}

/// The report of `site` for `year`.
pub async fn report(store: &Store, site: &Tenant, year: i32) -> Result<Report, StoreError> {
    let docs = store.documents_of_year(site.id, year).await?;
    Ok(Report {
        site: site.name.clone(),
        year,
        documents: docs.len(),
        proactive: docs.iter().filter(|d| d.meta.disclosure == Some(Disclosure::Proactive)).count(),
        not_proactive: docs.iter().filter(|d| d.meta.disclosure != Some(Disclosure::Proactive)).map(Line::from).collect(),
        reconsider: docs.iter().filter(|d| d.meta.disclosure == Some(Disclosure::OnRequest)).map(Line::from).collect(),
    })
}
