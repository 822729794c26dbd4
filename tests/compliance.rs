//! The compliance monitors through a real `zhanqun serve`, probing and
//! judging every second: a new township site starts with every empty
//! column, missing filings and a dead link in its navigation, and the
//! gauges, the ranking, the site's daily report (CSV) and the monitors'
//! probes show it; the site's people fix it and every view follows.
//!
//! The thresholds that need days to pass (freshness, stale columns,
//! reachability over 7 days) are driven across under a held clock in
//! `crates/model/src/compliance.rs` and `crates/store/src/tests/compliance.rs`.

mod common;
mod feed_server;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const EVERY_SECOND: &[&str] = &["--home-probe-secs", "1", "--compliance-round-secs", "1"];

async fn metrics(server: &Server) -> String {
    client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// The value of `zhanqun_compliance_level{tenant,monitor}` on /metrics.
async fn level(server: &Server, tenant: &str, monitor: &str) -> Result<i64, String> {
    let m = metrics(server).await;
    let series = format!("zhanqun_compliance_level{{monitor=\"{monitor}\",tenant=\"{tenant}\"}} ");
    m.lines().find_map(|l| l.strip_prefix(&series)).and_then(|v| v.trim().parse().ok()).ok_or_else(|| format!("no {series}in /metrics"))
}

async fn wait_level(server: &Server, tenant: &str, monitor: &str, want: i64) {
    wait_for(&format!("{monitor} of {tenant} at level {want}"), 30, || async {
        match level(server, tenant, monitor).await {
            Ok(v) if v == want => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

async fn report(server: &Server, token: &str, site: &str) -> Value {
    let (status, _, body) = api(server, token, Method::GET, &format!("/api/v1/tenants/{site}/compliance"), None).await;
    assert_eq!(status, 200, "{body}");
    body["site"].clone()
}

fn finding<'a>(site: &'a Value, monitor: &str) -> &'a Value {
    site["findings"].as_array().unwrap().iter().find(|f| f["monitor"] == monitor).unwrap_or_else(|| panic!("no {monitor} in {site}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_township_shows_red_for_empty_columns_and_recovers_as_its_people_fill_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), EVERY_SECOND).await;
    let admin = server.admin_token().await;
    let (status, _, body) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "dongcheng", "name": "东城镇人民政府", "kind": "township", "organ_code": "DC0001", "hosts": ["dc.example.gov.cn"], "lifecycle": "online" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for (slug, name) in [("gzdt", "工作动态"), ("tzgg", "通知公告"), ("zcwj", "政策文件"), ("rsxx", "人事信息"), ("czzj", "财政资金")] {
        let (status, _, c) = api(&server, &admin, Method::POST, "/api/v1/tenants/dongcheng/channels", Some(json!({ "slug": slug, "name": name }))).await;
        assert_eq!(status, 201, "{c}");
    }
    // A navigation link to a page that does not exist: a dead link on the home page.
    let (status, _, c) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants/dongcheng/channels",
        Some(json!({ "slug": "jdhy", "name": "解读回应", "kind": "link", "link_url": "/col/nowhere/" })),
    )
    .await;
    assert_eq!(status, 201, "{c}");

    // --- Five empty columns: a veto risk; no filings; the dead link.
    wait_level(&server, "dongcheng", "empty_columns", 2).await;
    wait_level(&server, "dongcheng", "registration", 1).await;
    wait_level(&server, "dongcheng", "dead_links", 1).await;
    let staff = site_account(&server.base, "dc-web", &[("dongcheng", "admin"), ("dongcheng", "reviewer")]).await;
    let site = report(&server, &staff, "dongcheng").await;
    assert_eq!(site["level"], "red", "{site}");
    let empty = finding(&site, "empty_columns");
    let named: Vec<&str> = empty["faults"].as_array().unwrap().iter().map(|f| f["what"].as_str().unwrap()).collect();
    assert_eq!(named, ["工作动态", "通知公告", "政策文件", "人事信息", "财政资金"], "{empty}");
    // Each fault links to the column's public page, which opens.
    let first = empty["faults"][0]["url"].as_str().unwrap();
    let page = client().get(server.url(first)).send().await.unwrap();
    assert_eq!(page.status(), 200, "{first}");
    let dead = finding(&site, "dead_links");
    assert!(dead["faults"][0]["what"].as_str().unwrap().starts_with("/col/nowhere/ → 404"), "{dead}");
    let marks = finding(&site, "registration")["summary"].as_str().unwrap().to_string();
    assert!(marks.contains("网站标识码") && marks.contains("ICP备案号") && marks.contains("公安备案号"), "{marks}");

    // The leader probes the home page; every probe so far answered 200.
    let probed = wait_for("home page probes recorded", 30, || async {
        let site = report(&server, &staff, "dongcheng").await;
        let f = finding(&site, "home_reachable").clone();
        if f["summary"].as_str().unwrap_or("").starts_with("近7天首页探测") { Ok(f) } else { Err(f.to_string()) }
    })
    .await;
    assert_eq!((probed["level"].as_str(), probed["value"].as_f64()), (Some("ok"), Some(0.0)), "{probed}");

    // The 系统管理员's ranking puts the site first (the only red one), as JSON and CSV.
    let (status, _, ranking) = api(&server, &admin, Method::GET, "/api/v1/compliance", None).await;
    assert_eq!(status, 200, "{ranking}");
    assert_eq!(ranking["sites"][0]["code"], "dongcheng", "{ranking}");
    let csv = client().get(server.url("/api/v1/tenants/dongcheng/compliance?format=csv")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("empty_columns,单项否决风险,5,空白栏目5个"), "{csv}");
    assert!(csv.contains("/sites/dongcheng/col/rsxx/"), "each empty column has its line and link: {csv}");
    // A site's report is its own people's: another site's account is refused.
    let (status, _, body) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "xicheng", "name": "西城镇人民政府", "kind": "township", "organ_code": "XC0001", "lifecycle": "online" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let other = site_account(&server.base, "xc-web", &[("xicheng", "admin")]).await;
    let (status, _, _) = api(&server, &other, Method::GET, "/api/v1/tenants/dongcheng/compliance", None).await;
    assert_eq!(status, 403);

    // --- The site's people publish into three columns, fix the link, the
    // 系统管理员 records the filings: the site is green again.
    for slug in ["gzdt", "tzgg", "zcwj"] {
        let (status, _, doc) = api(
            &server,
            &staff,
            Method::POST,
            "/api/v1/tenants/dongcheng/documents",
            Some(json!({ "channel": slug, "title": format!("{slug} 第一条信息"), "body_html": "<p>正文。</p>" })),
        )
        .await;
        assert_eq!(status, 201, "{doc}");
        let (status, _, body) = review_and_publish(&server.base, &staff, "dongcheng", doc["id"].as_i64().unwrap()).await;
        assert_eq!(status, 200, "{body}");
    }
    let link_id = c["id"].as_i64().unwrap();
    let (status, _, body) = api(&server, &admin, Method::DELETE, &format!("/api/v1/tenants/dongcheng/channels/{link_id}"), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = api(
        &server,
        &admin,
        Method::PATCH,
        "/api/v1/tenants/dongcheng",
        Some(json!({ "site_id_code": "2103810001", "icp": "辽ICP备11014897号-1", "police_record": "辽公网安备 21038102000126号" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_level(&server, "dongcheng", "empty_columns", 0).await;
    wait_level(&server, "dongcheng", "dead_links", 0).await;
    wait_level(&server, "dongcheng", "registration", 0).await;
    let site = report(&server, &staff, "dongcheng").await;
    assert_eq!(site["level"], "ok", "{site}");
    assert_eq!(finding(&site, "empty_columns")["value"], 2.0, "two columns still wait, below the warning's three");

    // A site taken offline is no longer judged, and its series go.
    let (status, _, body) = api(&server, &admin, Method::PATCH, "/api/v1/tenants/dongcheng", Some(json!({ "lifecycle": "closed" }))).await;
    assert_eq!(status, 200, "{body}");
    wait_for("the closed site's series to go", 30, || async {
        match level(&server, "dongcheng", "empty_columns").await {
            Err(_) => Ok(()),
            Ok(v) => Err(format!("still there at {v}")),
        }
    })
    .await;
    let (status, _, body) = api(&server, &staff, Method::GET, "/api/v1/tenants/dongcheng/compliance", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("not_monitored")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_link_to_another_website_on_the_home_page_is_found_politely_and_forgotten_once_removed() {
    // Another website, simulated on loopback (hence --link-check-private).
    let outside = feed_server::FeedServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let flags = [EVERY_SECOND, &["--link-check-secs", "1", "--link-check-private"]].concat();
    let server = Server::start(&dir.path().join("data"), &flags).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "dongcheng", "东城镇人民政府").await;
    let mut link_ids = Vec::new();
    for (slug, name, path) in [("wz1", "上级网站", "/text"), ("wz2", "已撤销的网站", "/gone"), ("wz3", "内部系统", "/private/page")] {
        let body = json!({ "slug": slug, "name": name, "kind": "link", "link_url": outside.url(path) });
        let (status, _, c) = api(&server, &admin, Method::POST, "/api/v1/tenants/dongcheng/channels", Some(body)).await;
        assert_eq!(status, 201, "{c}");
        link_ids.push(c["id"].as_i64().unwrap());
    }
    let staff = server.staff_token(&["dongcheng"]).await;
    let gone = format!("{} → 404（站外链接）", outside.url("/gone"));
    let found = wait_for("the dead outside link named", 60, || async {
        let (status, _, body) = api(&server, &staff, Method::GET, "/api/v1/tenants/dongcheng/compliance", None).await;
        let dead = if status == 200 { finding(&body["site"], "dead_links").clone() } else { body };
        if dead["faults"].as_array().is_some_and(|f| f.iter().any(|x| x["what"] == gone.as_str())) { Ok(dead) } else { Err(dead.to_string()) }
    })
    .await;
    assert_eq!(found["level"], "warn", "{found}");
    let named: Vec<&str> = found["faults"].as_array().unwrap().iter().map(|f| f["what"].as_str().unwrap()).collect();
    assert_eq!(named, [gone.as_str()], "the working link and the one robots.txt keeps us from are not faults");
    let asked = outside.state.lock().unwrap().paths.clone();
    assert!(asked.contains(&"/robots.txt".to_string()) && asked.contains(&"/gone".to_string()), "{asked:?}");
    assert!(!asked.iter().any(|p| p.starts_with("/private/")), "robots.txt obeyed: {asked:?}");

    // The link taken off the home page: no longer a fault.
    let (status, _, body) = api(&server, &admin, Method::DELETE, &format!("/api/v1/tenants/dongcheng/channels/{}", link_ids[1]), None).await;
    assert_eq!(status, 200, "{body}");
    wait_level(&server, "dongcheng", "dead_links", 0).await;
}
