//! The public search page of every site: `/search?q=…` under the site's
//! host, `/sites/<code>/search` anywhere.
//!
//! A site searches its own published 主动公开 documents. The portal searches
//! every site that is online (统一检索) and shows facets — site, year,
//! column kind, 发布机构 — and the filters behind them. Pages are not cached:
//! the query string is the page.

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use zhanqun_model::{Lifecycle, TenantKind};

use zhanqun_model::urls::Page;

use super::{Mount, Sites, render};
use crate::App;
use crate::search::request::{self, FacetValue, SearchParams};

/// A facet group as links that add (or, when chosen, remove) its filter.
fn facet_links(params: &SearchParams, path: &str, name: &str, chosen: Option<&str>, values: &[FacetValue]) -> Vec<Value> {
    values
        .iter()
        .map(|v| {
            let active = chosen == Some(v.value.as_str());
            let url = format!("{path}{}", params.link_with(name, (!active).then_some(v.value.as_str())));
            context! { label => v.label, count => v.count, url, active }
        })
        .collect()
}

pub async fn page(app: &App, sites: &Sites, mount: &Mount, uri: &Uri) -> Result<Response, super::BoxError> {
    let params = Query::<SearchParams>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let t = &mount.tenant;
    let portal = t.kind == TenantKind::Portal;
    let online: Vec<i64> = if portal { sites.tenants().filter(|s| s.lifecycle == Lifecycle::Online).map(|s| s.id).collect() } else { vec![t.id] };
    let mut error: Option<String> = None;
    let tenants = match params.site_code().filter(|_| portal) {
        Some(code) => match sites.by_code(code).filter(|s| online.contains(&s.id)) {
            Some(s) => vec![s.id],
            None => {
                error = Some(format!("没有可检索的站点“{code}”。"));
                vec![]
            }
        },
        None => online,
    };
    let per_page = params.per_page().unwrap_or(request::PER_PAGE);
    let mut results = zhanqun_search::Results::default();
    if error.is_none() && !tenants.is_empty() {
        match params.to_query(tenants, true) {
            Err(bad) => error = Some(bad.0),
            Ok(query) => match app.search.as_ref() {
                None => error = Some("本节点未启用检索。".into()),
                Some(index) => match request::run(app, index, query).await {
                    Ok(Ok(r)) => results = r,
                    Ok(Err(zhanqun_search::SearchError::BadQuery(m))) => error = Some(m),
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_busy) => error = Some("检索服务繁忙，请稍后再试。".into()),
                },
            },
        }
    }
    let view = request::view(&params, results, sites, per_page, |site, id| mount.url_of(site, &Page::Document { id }));
    let path = mount.url(&Page::Search);
    let facets = if portal {
        let f = &view.facets;
        context! {
            sites => facet_links(&params, &path, "site", params.site_code(), &f.sites),
            years => facet_links(&params, &path, "year", params.year.as_deref(), &f.years),
            kinds => facet_links(&params, &path, "kind", params.kind.as_deref(), &f.channel_kinds),
            organs => facet_links(&params, &path, "organ", params.organ.as_deref(), &f.organs),
        }
    } else {
        Value::from(())
    };
    let page_link = |n: usize| {
        let mut link = params.link_with("page", None);
        link.push_str(&format!("&page={n}"));
        format!("{path}{link}")
    };
    let sorted_by_date = params.sort.as_deref() == Some("date");
    let (_, site) = render::site_of(app, mount).await?;
    let html = app.templates.render(
        "search.html",
        context! {
            site,
            column => if portal { "统一检索" } else { "站内搜索" },
            portal, path, error, params => context! {
                q => params.q, year => params.year, from => params.from, to => params.to, doc_no => params.doc_no,
                topic => params.topic, organ => params.organ, site => params.site_code(),
            },
            searched => !params.text().trim().is_empty() || view.total > 0,
            total => view.total, page => view.page, pages => view.pages, hits => view.hits, facets,
            sort_relevance => format!("{path}{}", params.link_with("sort", None)),
            sort_date => format!("{path}{}", params.link_with("sort", Some("date"))),
            sorted_by_date,
            prev => (view.page > 1).then(|| page_link(view.page - 1)),
            next => (view.page < view.pages).then(|| page_link(view.page + 1)),
        },
    )?;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        html,
    )
        .into_response())
}
