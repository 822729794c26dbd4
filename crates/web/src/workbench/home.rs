//! The workbench home: what waits for me, site by site.

use std::sync::Arc;

use axum::extract::State;
use minijinja::{Value, context};
use zhanqun_model::{DocState, Document, Tenant};
use zhanqun_store::DocumentFilter;

use super::{Browser, Page, layout, my_sites, render, review, words};
use crate::{App, now_ms};

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// A document in a list of the workbench.
pub fn item(t: &Tenant, d: &Document) -> Value {
    context! {
        id => d.id, title => d.title, state => words::state(d.state), state_code => d.state.as_str(), updated_at => d.updated_at,
        url => format!("/admin/sites/{}/documents/{}", t.code, d.id), index_no => d.meta.index_no, doc_no => d.meta.doc_no,
        disclosure => d.meta.disclosure.map(|x| x.as_str()), returned => d.returned.as_ref().map(|r| r.reason.clone()),
        published_at => d.published_at, publish_at => d.publish_at,
    }
}

/// The compliance monitors' findings on a site, for its admin: the
/// monitors not ok, each with the columns or pages at fault.
fn compliance_card(app: &App, t: &Tenant) -> Option<Value> {
    let report = app.derived.compliance.site(t.id)?;
    let findings: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.level != zhanqun_model::compliance::Level::Ok)
        .map(|f| {
            let faults: Vec<Value> = f.faults.iter().take(20).map(|x| context! { what => x.what, url => x.url }).collect();
            context! { monitor => f.monitor.as_str(), level => f.level.as_str(), summary => f.summary, faults, more => f.faults.len().saturating_sub(20) }
        })
        .collect();
    Some(context! { level => report.level.as_str(), red => report.red, warn => report.warn, findings, at => app.derived.compliance.latest().at })
}

pub async fn show(State(app): State<Arc<App>>, b: Browser) -> Result<Page, Page> {
    let sites = my_sites(&app, &b.user).await?;
    let me = b.user.id;
    let mut cards = Vec::new();
    for t in &sites {
        let mine = |state| DocumentFilter { state: Some(state), created_by: Some(me), limit: 20, ..Default::default() };
        let drafts = app.store.documents_page(t.id, &mine(DocState::Draft), None).await?;
        let (returned, drafts): (Vec<_>, Vec<_>) = drafts.into_iter().partition(|d| d.returned.is_some());
        let waiting = review::waiting_for(&app, &b.user, t, 20).await?;
        let scheduled = app.store.documents_page(t.id, &DocumentFilter { state: Some(DocState::Scheduled), limit: 20, ..Default::default() }, None).await?;
        let week_ago = now_ms() - WEEK_MS;
        let published: Vec<Document> = app
            .store
            .documents_page(t.id, &DocumentFilter { state: Some(DocState::Published), limit: 50, ..Default::default() }, None)
            .await?
            .into_iter()
            .filter(|d| d.published_at.is_some_and(|p| p >= week_ago))
            .take(20)
            .collect();
        let list = |docs: &[Document]| docs.iter().map(|d| item(t, d)).collect::<Vec<_>>();
        cards.push(context! {
            code => t.code, name => t.name,
            drafts => list(&drafts), returned => list(&returned), waiting => list(&waiting),
            scheduled => list(&scheduled), published => list(&published),
            writes => b.user.may(t.id, zhanqun_model::policy::WRITERS),
            crossing => app.store.crossings_waiting(t.id).await?,
            compliance => b.user.may(t.id, &[zhanqun_model::TenantRole::Admin]).then(|| compliance_card(&app, t)).flatten(),
        });
    }
    let platform = b.user.platform_role.map(|r| r.as_str());
    render(&app, "admin/home.html", context! { layout => layout(&b, None), cards, platform })
}
