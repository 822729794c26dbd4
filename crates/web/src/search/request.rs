//! One search request, whichever door it came through: the public pages
//! (`/search`, `/sites/<code>/search`) and `GET /api/v1/search` read the same
//! parameters and show the same results; they differ only in which sites
//! the caller may search and whether drafts count.

use serde::{Deserialize, Serialize};
use zhanqun_model::time::{date_to_millis, format_date};
use zhanqun_model::{ChannelKind, Tenant};
use zhanqun_search::{Filters, Results, Sort};

use zhanqun_platform::directory::Sites;

/// The query string of a search. Everything is text here so that a bad
/// value gets our own message, not a deserializer's.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    /// A site code: narrows a portal search to one site.
    pub site: Option<String>,
    /// Older name of `site` in the API.
    pub tenant: Option<String>,
    pub year: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    pub doc_no: Option<String>,
    pub topic: Option<String>,
    pub organ: Option<String>,
    pub kind: Option<String>,
    /// 有效性: 有效, 失效, 废止 or 修订.
    pub validity: Option<String>,
    /// `relevance` (default) or `date`.
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// Results per page unless asked otherwise, and at most.
pub const PER_PAGE: usize = 20;
const MAX_PER_PAGE: usize = 100;

/// A parameter that cannot be understood; shown to the user as is.
#[derive(Debug)]
pub struct BadParam(pub String);

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number(name: &str, v: &Option<String>, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, BadParam> {
    match non_empty(v) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(BadParam(format!("`{name}` must be a whole number from {} to {}, not {s:?}", range.start(), range.end()))),
        },
    }
}

fn date(name: &str, v: &Option<String>) -> Result<Option<i64>, BadParam> {
    match non_empty(v) {
        None => Ok(None),
        Some(s) => date_to_millis(s).map(Some).ok_or_else(|| BadParam(format!("`{name}` must be a date like 2024-03-01, not {s:?}"))),
    }
}

impl SearchParams {
    pub fn text(&self) -> &str {
        self.q.as_deref().unwrap_or("")
    }

    /// The site code asked for, if any.
    pub fn site_code(&self) -> Option<&str> {
        non_empty(&self.site).or(non_empty(&self.tenant))
    }

    pub fn page(&self) -> Result<usize, BadParam> {
        Ok(number("page", &self.page, 1..=500)?.unwrap_or(1) as usize)
    }

    pub fn per_page(&self) -> Result<usize, BadParam> {
        Ok(number("per_page", &self.per_page, 1..=MAX_PER_PAGE as i64)?.unwrap_or(PER_PAGE as i64) as usize)
    }

    /// The engine query over the sites `tenants` (decided by the caller's
    /// rights; an empty list finds nothing).
    pub fn to_query(&self, tenants: Vec<i64>, public_only: bool) -> Result<zhanqun_search::Query, BadParam> {
        let sort = match non_empty(&self.sort) {
            None | Some("relevance") => Sort::Relevance,
            Some("date") => Sort::Date,
            Some(other) => return Err(BadParam(format!("`sort` is `relevance` or `date`, not {other:?}"))),
        };
        let kind = match non_empty(&self.kind) {
            None => None,
            Some(k) => Some(k.parse::<ChannelKind>().map_err(|_| BadParam(format!("`kind` is one of list, page, disclosure, interaction, not {k:?}")))?),
        };
        let from = date("from", &self.from)?;
        // `to` names a day: everything published before the next one. A
        // `from` after `to` is a range with nothing in it: no hits.
        let mut until = date("to", &self.to)?.map(|ms| ms + 86_400_000);
        if let (Some(f), Some(u)) = (from, until)
            && f > u
        {
            // [from, from): empty, and never an inverted range.
            until = Some(f);
        }
        let (page, per_page) = (self.page()?, self.per_page()?);
        Ok(zhanqun_search::Query {
            text: self.text().to_string(),
            scope: zhanqun_search::Scope::Sites(tenants),
            public_only,
            filters: Filters {
                from,
                until,
                year: number("year", &self.year, 1949..=9999)?,
                doc_no: non_empty(&self.doc_no).map(String::from),
                topic: non_empty(&self.topic).map(String::from),
                organ: non_empty(&self.organ).map(String::from),
                channel_kind: kind.map(|k| k.as_str().to_string()),
                validity: match non_empty(&self.validity) {
                    None => None,
                    Some(v) => Some(
                        v.parse::<zhanqun_model::Validity>()
                            .map_err(|_| BadParam(format!("`validity` is one of 有效, 失效, 废止, 修订, not {v:?}")))?
                            .as_str()
                            .to_string(),
                    ),
                },
            },
            sort,
            limit: per_page,
            offset: (page - 1) * per_page,
        })
    }

    /// This search's query string with one parameter changed (or removed
    /// with `None`) and the page reset: the links of facets, sort and pager.
    pub fn link_with(&self, name: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let fields: [(&str, &Option<String>); 12] = [
            ("q", &self.q),
            ("site", &self.site),
            ("year", &self.year),
            ("from", &self.from),
            ("to", &self.to),
            ("doc_no", &self.doc_no),
            ("topic", &self.topic),
            ("organ", &self.organ),
            ("kind", &self.kind),
            ("validity", &self.validity),
            ("sort", &self.sort),
            ("per_page", &self.per_page),
        ];
        for (k, v) in fields {
            if k == name {
                continue;
            }
            if let Some(v) = non_empty(v) {
                pairs.push((k, v.to_string()));
            }
        }
        if let Some(v) = value {
            pairs.push((name, v.to_string()));
        }
        let encoded: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
        format!("?{}", encoded.join("&"))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The Chinese name of a column kind, for the facet list.
pub fn kind_name(kind: &str) -> &'static str {
    match kind {
        "disclosure" => "政府信息公开",
        "list" => "信息发布",
        "page" => "单页信息",
        "interaction" => "互动交流",
        _ => "其他",
    }
}

/// What a search shows, for the page template and the JSON API alike.
#[derive(Debug, Serialize)]
pub struct SearchView {
    pub q: String,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub pages: usize,
    pub hits: Vec<HitView>,
    pub facets: FacetsView,
}

#[derive(Debug, Serialize)]
pub struct HitView {
    pub id: i64,
    pub site: String,
    pub site_name: String,
    pub url: String,
    pub title_html: String,
    pub snippet_html: String,
    pub published_at: String,
    pub doc_no: Option<String>,
    pub issuing_organ: String,
    pub validity: String,
    /// Reposted copies in other sites folded into this hit.
    pub copies: usize,
    pub score: f32,
}

#[derive(Debug, Default, Serialize)]
pub struct FacetsView {
    pub sites: Vec<FacetValue>,
    pub years: Vec<FacetValue>,
    pub channel_kinds: Vec<FacetValue>,
    pub organs: Vec<FacetValue>,
}

#[derive(Debug, Serialize)]
pub struct FacetValue {
    /// What the filter parameter takes.
    pub value: String,
    /// What a person reads.
    pub label: String,
    pub count: usize,
}

/// Shapes engine results; `url` says where a document of a site lives as
/// seen from where the search was asked.
pub fn view(params: &SearchParams, results: Results, sites: &Sites, per_page: usize, url: impl Fn(&Tenant, i64) -> String) -> SearchView {
    let page = params.page().unwrap_or(1);
    let hits = results
        .hits
        .into_iter()
        .filter_map(|h| {
            let site = sites.by_id(h.tenant_id)?;
            Some(HitView {
                id: h.id,
                site: site.code.clone(),
                site_name: site.name.clone(),
                url: url(site, h.id),
                title_html: h.title_html,
                snippet_html: h.snippet_html,
                published_at: format_date(h.published_at),
                doc_no: h.doc_no,
                issuing_organ: h.issuing_organ,
                validity: h.validity,
                copies: h.copies,
                score: h.score,
            })
        })
        .collect();
    let f = results.facets;
    let facets = FacetsView {
        sites: f
            .tenants
            .iter()
            .filter_map(|(id, n)| sites.by_id(*id).map(|t| FacetValue { value: t.code.clone(), label: t.name.clone(), count: *n }))
            .collect(),
        years: f.years.iter().map(|(y, n)| FacetValue { value: y.to_string(), label: format!("{y}年"), count: *n }).collect(),
        channel_kinds: f.channel_kinds.iter().map(|(k, n)| FacetValue { value: k.clone(), label: kind_name(k).to_string(), count: *n }).collect(),
        organs: f.organs.iter().map(|(o, n)| FacetValue { value: o.clone(), label: o.clone(), count: *n }).collect(),
    };
    SearchView { q: params.text().to_string(), total: results.total, page, per_page, pages: results.total.div_ceil(per_page).max(1), hits, facets }
}

/// Runs a query off the async threads (a broad portal query scores tens of
/// thousands of documents), in the node's search pool: the outer error is
/// the pool's refusal when it stayed busy (see `heavy`).
/// The engine's own time is observed on `/metrics`.
pub async fn run(
    app: &crate::App,
    index: &std::sync::Arc<zhanqun_search::SearchIndex>,
    query: zhanqun_search::Query,
) -> Result<Result<Results, zhanqun_search::SearchError>, crate::ApiError> {
    let index = index.clone();
    let timer = app.http_metrics.search.clone();
    app.search_work
        .run(move || {
            let started = std::time::Instant::now();
            let results = index.search(&query);
            timer.observe(started.elapsed().as_secs_f64());
            results
        })
        .await
}
