//! Policies reaching every site that must carry them, through a real
//! `zhanqun serve --demo`: a feed from above (served by a feed server
//! written for these tests), repost rules and reposts by hand, the
//! targets' answers, the proof the platform fetches, and 信息报送 upward.

mod common;
mod feed_server;

use common::*;
use feed_server::{FeedServer, rss};
use reqwest::Method;
use serde_json::{Value, json};

async fn get(server: &Server, token: &str, path: &str) -> Value {
    let (status, _, body) = api(server, token, Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn post(server: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, _, answer) = api(server, token, Method::POST, path, Some(body)).await;
    (status, answer)
}

async fn channel_id(server: &Server, token: &str, site: &str, slug: &str) -> i64 {
    let channels = get(server, token, &format!("/api/v1/tenants/{site}/channels")).await;
    channels["items"].as_array().unwrap().iter().find(|c| c["slug"] == slug).unwrap_or_else(|| panic!("{site} has no column {slug}"))["id"].as_i64().unwrap()
}

/// A published document of `site` in column `slug`.
async fn published(server: &Server, token: &str, site: &str, slug: &str, title: &str) -> i64 {
    let (status, doc) =
        post(server, token, &format!("/api/v1/tenants/{site}/documents"), json!({ "channel": slug, "title": title, "body_html": format!("<p>{title}。</p>") }))
            .await;
    assert_eq!(status, 201, "{doc}");
    let id = doc["id"].as_i64().unwrap();
    let (status, _, body) = review_and_publish(&server.base, token, site, id).await;
    assert_eq!(status, 200, "{body}");
    id
}

/// The tracking rows of a source site's board.
async fn board(server: &Server, token: &str, site: &str) -> Vec<Value> {
    get(server, token, &format!("/api/v1/tenants/{site}/reposts")).await["items"].as_array().unwrap().clone()
}

/// The platform source site the feed's items go to, and its column.
async fn source_site(server: &Server, admin: &str) -> i64 {
    let (status, body) = post(
        server,
        admin,
        "/api/v1/tenants",
        json!({ "code": "shangji", "name": "上级政策文件", "kind": "special", "organ_code": "000014348", "hosts": ["shangji.haicheng.gov.cn"] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        post(server, admin, "/api/v1/tenants/shangji/channels", json!({ "slug": "gwywj", "name": "国务院文件", "update_class": "regular" })).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn feed(server: &Server, admin: &str, name: &str, url: &str, channel_id: i64, allow_private: bool) -> i64 {
    let body = json!({ "name": name, "url": url, "site": "shangji", "channel_id": channel_id, "poll_seconds": 3600, "allow_private": allow_private });
    let (status, feed) = post(server, admin, "/api/v1/feeds", body).await;
    assert_eq!(status, 201, "{feed}");
    feed["id"].as_i64().unwrap()
}

async fn feed_status(server: &Server, admin: &str, id: i64) -> Value {
    let feeds = get(server, admin, "/api/v1/feeds").await;
    feeds["items"].as_array().unwrap().iter().find(|f| f["id"] == id).cloned().expect("the feed is listed")
}

async fn metrics(server: &Server) -> String {
    client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_feed_from_the_test_server_is_ingested_once_updated_in_place_and_reposted_to_every_township() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let feeds = FeedServer::start().await;
    let admin = server.admin_token().await;
    let column = source_site(&server, &admin).await;
    // A city web office account with the site admin role everywhere,
    // the source site included (the 系统管理员 reads no content).
    let staff = server.all_sites_staff_token().await;
    let id = feed(&server, &admin, "国务院最新政策", &feeds.url("/feed.xml"), column, true).await;
    // The portal's rule: every item of the feed, into every township's repost column.
    let rule = json!({ "name": "国务院文件转载到各镇", "source": { "type": "feed", "feed_id": id }, "targets": { "type": "kind", "kind": "township" },
        "role": "policy-repost", "mode": "mandatory" });
    let (status, body) = post(&server, &staff, "/api/v1/tenants/haicheng/repost-rules", rule).await;
    assert_eq!(status, 201, "{body}");

    // Two items, one of them twice, and one without GUID or link.
    feeds.set(rss(&[
        ("gov-1", "国务院关于印发某规划的通知", "国发〔2024〕5号"),
        ("gov-2", "国务院办公厅关于某事项的意见", "国办发〔2024〕8号"),
        ("gov-1", "国务院关于印发某规划的通知", "国发〔2024〕5号"),
    ]));
    let (status, body) = post(&server, &admin, &format!("/api/v1/feeds/{id}/poll"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let status = wait_for("the feed's two items", 15, || async {
        let f = feed_status(&server, &admin, id).await;
        if f["items"] == 2 { Ok(f) } else { Err(f.to_string()) }
    })
    .await;
    assert!(status["failing_reason"].is_null(), "{status}");
    assert!(status["failing_detail"].as_str().unwrap_or("").contains("1 items skipped"), "the item without GUID or link is counted: {status}");
    let sources = get(&server, &staff, "/api/v1/tenants/shangji/documents").await;
    assert_eq!(sources["total"], 2, "the same GUID twice is one document: {sources}");

    // Every township carries both, each copy's page answers 200 with its
    // 来源 and the canonical link to the original; a department does not.
    for site in ["niuzhuang", "xiliu", "ganwang"] {
        let inbox = get(&server, &staff, &format!("/api/v1/tenants/{site}/reposts?direction=in")).await;
        let copies: Vec<i64> = inbox["items"].as_array().unwrap().iter().filter_map(|r| r["copy_id"].as_i64()).collect();
        assert_eq!(copies.len(), 2, "{site}: {inbox}");
        for copy in copies {
            let (status, html) = page(&server, None, &format!("/sites/{site}/art/{copy}.html")).await;
            assert_eq!(status, 200, "{site} copy {copy}");
            assert!(html.contains(r#"<link rel="canonical" href="https://www.gov.cn/zhengce/content/gov-"#), "{html}");
            assert!(html.contains("来源：<a href=\"https://www.gov.cn/zhengce/content/gov-"), "{html}");
            assert!(!html.contains("alert(1)") && !html.contains("tracker.example"), "no script, no tracking pixel");
        }
    }
    // The portal's board shows what its rule placed, though the documents are the source site's.
    let portal_board = board(&server, &staff, "haicheng").await;
    assert_eq!(portal_board.iter().filter(|r| r["source_site"] == "上级政策文件").count(), 6, "{portal_board:?}");
    let jyj = get(&server, &staff, "/api/v1/tenants/jyj/reposts?direction=in").await;
    assert_eq!(jyj["items"].as_array().unwrap().len(), 0, "{jyj}");
    // The board is evidence: each copy fetched through the platform's own router.
    wait_for("a 200 proof for every copy", 15, || async {
        let rows = board(&server, &staff, "shangji").await;
        if rows.len() == 6 && rows.iter().all(|r| r["proof_status"] == 200 && r["overdue"] == false) { Ok(()) } else { Err(format!("{rows:?}")) }
    })
    .await;

    // The source updates an item: the document and every copy follow.
    feeds.set(rss(&[("gov-1", "国务院关于印发某规划的通知（修订版）", "国发〔2024〕5号"), ("gov-2", "国务院办公厅关于某事项的意见", "国办发〔2024〕8号")]));
    post(&server, &admin, &format!("/api/v1/feeds/{id}/poll"), json!({})).await;
    let copy = board(&server, &staff, "shangji")
        .await
        .iter()
        .find(|r| r["site_code"] == "xiliu" && r["source_title"].as_str().unwrap().contains("规划"))
        .unwrap()["copy_id"]
        .clone();
    wait_for("the updated title on 西柳镇's copy", 15, || async {
        let (_, html) = page(&server, None, &format!("/sites/xiliu/art/{copy}.html")).await;
        if html.contains("（修订版）") { Ok(()) } else { Err(html.chars().take(300).collect()) }
    })
    .await;
    assert_eq!(get(&server, &staff, "/api/v1/tenants/shangji/documents").await["total"], 2, "an updated item updates its document");

    // Unchanged: the next poll is a conditional GET the server answers 304.
    let before = feeds.state.lock().unwrap().conditional_hits;
    post(&server, &admin, &format!("/api/v1/feeds/{id}/poll"), json!({})).await;
    wait_for("a conditional GET", 15, || async {
        let hits = feeds.state.lock().unwrap().conditional_hits;
        if hits > before { Ok(()) } else { Err(format!("{hits} conditional requests")) }
    })
    .await;
    // The gauges are refreshed from the replicated state every 5 s.
    wait_for("the feed and overdue gauges", 15, || async {
        let m = metrics(&server).await;
        let feed = m.contains(&format!("zhanqun_feed_last_success_timestamp_seconds{{feed=\"{id}\"}}"));
        if feed && m.contains("zhanqun_reposts_overdue{tenant=\"niuzhuang\"} 0") { Ok(()) } else { Err(m) }
    })
    .await;
}

#[tokio::test]
async fn one_command_places_a_mandatory_copy_in_100_sites_and_the_source_takes_them_along() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let admin = server.admin_token().await;
    let staff = server.all_sites_staff_token().await;
    // 100 department sites, each with a column that plays `policy-repost`.
    let mut codes = Vec::new();
    for n in 0..100 {
        let code = format!("bm{n:03}");
        let (status, body) = post(
            &server,
            &admin,
            "/api/v1/tenants",
            json!({ "code": code, "name": format!("测试部门{n}"), "kind": "department", "organ_code": format!("T{n:05}"), "lifecycle": "online" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) =
            post(&server, &admin, &format!("/api/v1/tenants/{code}/channels"), json!({ "slug": "zzwj", "name": "上级文件转载", "role": "policy-repost" }))
                .await;
        assert_eq!(status, 201, "{body}");
        codes.push(code);
    }
    let source = published(&server, &staff, "haicheng", "gsgg", "海城市关于开展安全生产大检查的通知").await;
    let (status, rows) = post(
        &server,
        &staff,
        &format!("/api/v1/tenants/haicheng/documents/{source}/reposts"),
        json!({ "sites": codes, "role": "policy-repost", "mode": "mandatory" }),
    )
    .await;
    assert_eq!(status, 201, "{rows}");
    let rows = rows["items"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|r| r["state"] == "shown"), "{rows:?}");
    for r in rows {
        let (status, html) = page(&server, None, &format!("/sites/{}/art/{}.html", r["site_code"].as_str().unwrap(), r["copy_id"])).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!(r#"<link rel="canonical" href="http://www.haicheng.gov.cn/art/{source}.html">"#)), "{html}");
    }
    wait_for("a 200 proof for each of the 100 copies", 30, || async {
        let rows = board(&server, &staff, "haicheng").await;
        let proven = rows.iter().filter(|r| r["proof_status"] == 200).count();
        if proven == 100 { Ok(()) } else { Err(format!("{proven} of {} proven", rows.len())) }
    })
    .await;

    // Withdrawn at the source: gone from every site; proven gone too.
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/haicheng/documents/{source}/withdraw"), None).await;
    assert_eq!(status, 200, "{body}");
    for r in rows {
        let (status, _) = page(&server, None, &format!("/sites/{}/art/{}.html", r["site_code"].as_str().unwrap(), r["copy_id"])).await;
        assert_eq!(status, 404, "{} still shows a withdrawn policy", r["site_code"]);
    }
    // Corrected and published again: every copy shows the correction.
    let (status, _, body) = api(
        &server,
        &staff,
        Method::PATCH,
        &format!("/api/v1/tenants/haicheng/documents/{source}"),
        Some(json!({ "title": "海城市关于开展安全生产大检查的通知（更正）" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = review_and_publish(&server.base, &staff, "haicheng", source).await;
    assert_eq!(status, 200, "{body}");
    for r in rows.iter().step_by(9) {
        let (status, html) = page(&server, None, &format!("/sites/{}/art/{}.html", r["site_code"].as_str().unwrap(), r["copy_id"])).await;
        assert_eq!(status, 200);
        assert!(html.contains("（更正）"), "{}", r["site_code"]);
    }
}

#[tokio::test]
async fn optional_reposts_wait_for_each_target_and_a_site_without_the_column_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let admin = server.admin_token().await;
    let portal = site_account(&server.base, "hc-web", &[("haicheng", "editor"), ("haicheng", "reviewer")]).await;
    let nz = site_account(&server.base, "nz-web", &[("niuzhuang", "admin")]).await;
    let xl = site_account(&server.base, "xl-web", &[("xiliu", "editor")]).await;
    let (status, body) =
        post(&server, &admin, "/api/v1/tenants", json!({ "code": "xinzhan", "name": "新建专题站", "kind": "special", "organ_code": "X0001" })).await;
    assert_eq!(status, 201, "{body}");

    let staff = server.staff_token(&["haicheng"]).await;
    let source = published(&server, &staff, "haicheng", "gsgg", "海城市关于征集民生实事项目的公告").await;
    let (status, rows) = post(
        &server,
        &portal,
        &format!("/api/v1/tenants/haicheng/documents/{source}/reposts"),
        json!({ "sites": ["niuzhuang", "xiliu", "xinzhan"], "role": "policy-repost", "mode": "optional", "deadline_hours": 48 }),
    )
    .await;
    assert_eq!(status, 201, "{rows}");
    let state_of = |rows: &Value, site: &str| rows["items"].as_array().unwrap().iter().find(|r| r["site_code"] == site).unwrap()["state"].clone();
    assert_eq!(state_of(&rows, "xinzhan"), "no_column", "the site lacking the role is reported: {rows}");
    assert_eq!(state_of(&rows, "niuzhuang"), "pending");

    // Each target sees it in its inbox, and only its own.
    let inbox = get(&server, &nz, "/api/v1/tenants/niuzhuang/reposts?direction=in").await;
    let item = &inbox["items"][0];
    assert_eq!((item["state"].as_str(), item["source_title"].as_str()), (Some("pending"), Some("海城市关于征集民生实事项目的公告")));
    let repost = item["id"].as_i64().unwrap();
    let (status, _) = post(&server, &xl, &format!("/api/v1/tenants/niuzhuang/reposts/{repost}/accept"), json!({})).await;
    assert_eq!(status, 403, "西柳镇 cannot answer for 牛庄镇");
    assert!(page(&server, None, &format!("/sites/niuzhuang/art/{repost}.html")).await.0 == 404, "not shown before it is accepted");
    let (status, body) = post(&server, &nz, &format!("/api/v1/tenants/niuzhuang/reposts/{repost}/accept"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, html) = page(&server, None, &format!("/sites/niuzhuang/art/{repost}.html")).await;
    assert_eq!(status, 200);
    assert!(html.contains("来源：<a href=\"/sites/haicheng/art/"), "{html}");

    let xl_inbox = get(&server, &xl, "/api/v1/tenants/xiliu/reposts?direction=in").await;
    let xl_repost = xl_inbox["items"][0]["id"].as_i64().unwrap();
    let (status, body) = post(&server, &xl, &format!("/api/v1/tenants/xiliu/reposts/{xl_repost}/refuse"), json!({ "reason": " " })).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "missing_field"), "a refusal needs its reason");
    let (status, body) =
        post(&server, &xl, &format!("/api/v1/tenants/xiliu/reposts/{xl_repost}/refuse"), json!({ "reason": "本镇已在政策文件栏目发布原文" })).await;
    assert_eq!(status, 200, "{body}");

    // The portal's board, also as CSV for 绩效考核.
    let rows = board(&server, &portal, "haicheng").await;
    let xl_row = rows.iter().find(|r| r["site_code"] == "xiliu").unwrap();
    assert_eq!((xl_row["state"].as_str(), xl_row["reason"].as_str()), (Some("refused"), Some("本镇已在政策文件栏目发布原文")));
    let csv = client().get(server.url("/api/v1/tenants/haicheng/reposts?format=csv")).bearer_auth(&portal).send().await.unwrap().text().await.unwrap();
    for expected in ["牛庄镇人民政府", "已采用", "已拒绝", "本镇已在政策文件栏目发布原文", "缺少栏目", "可选"] {
        assert!(csv.contains(expected), "the CSV lacks {expected}: {csv}");
    }

    // A mandatory copy is the site's to carry: its admin cannot take it
    // down or edit it; an optional one it may take down.
    let second = published(&server, &staff, "haicheng", "gsgg", "海城市关于做好冬季安全生产工作的通知").await;
    let (status, body) = post(
        &server,
        &portal,
        &format!("/api/v1/tenants/haicheng/documents/{second}/reposts"),
        json!({ "sites": ["niuzhuang"], "role": "policy-repost", "mode": "mandatory" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let copy = body["items"][0]["copy_id"].as_i64().unwrap();
    let (status, _, body) = api(&server, &nz, Method::POST, &format!("/api/v1/tenants/niuzhuang/documents/{copy}/withdraw"), None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "mandatory_copy"), "{body}");
    let (status, _, body) = api(&server, &nz, Method::PATCH, &format!("/api/v1/tenants/niuzhuang/documents/{copy}"), Some(json!({ "title": "改标题" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "copy_follows_source"), "{body}");
    let (status, _, body) = api(&server, &nz, Method::POST, &format!("/api/v1/tenants/niuzhuang/documents/{repost}/withdraw"), None).await;
    assert_eq!(status, 200, "an optional copy may be taken down: {body}");
    assert_eq!(state_of(&json!({ "items": board(&server, &portal, "haicheng").await }), "niuzhuang"), "shown", "the newest row is the mandatory one");
}

#[tokio::test]
async fn a_township_submits_upward_and_the_portal_adopts_one_and_returns_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let nz = server.staff_token(&["niuzhuang"]).await;
    let portal = site_account(&server.base, "hc-web", &[("haicheng", "editor")]).await;
    let jcdt = channel_id(&server, &portal, "haicheng", "jcdt").await;
    let good = published(&server, &nz, "niuzhuang", "gzdt", "牛庄镇建成首个村级便民服务中心").await;
    let thin = published(&server, &nz, "niuzhuang", "gzdt", "牛庄镇召开例会").await;
    for id in [good, thin] {
        let (status, body) =
            post(&server, &nz, &format!("/api/v1/tenants/niuzhuang/documents/{id}/submissions"), json!({ "portal": "haicheng", "channel_id": jcdt })).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) =
        post(&server, &nz, &format!("/api/v1/tenants/niuzhuang/documents/{good}/submissions"), json!({ "portal": "haicheng", "channel_id": jcdt })).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "already_submitted"));

    let waiting = get(&server, &portal, "/api/v1/tenants/haicheng/submissions?direction=in").await;
    let items = waiting["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{waiting}");
    let id_of = |doc: i64| items.iter().find(|s| s["document_id"] == doc).unwrap()["id"].as_i64().unwrap();
    let (status, adopted) = post(&server, &portal, &format!("/api/v1/tenants/haicheng/submissions/{}/adopt", id_of(good)), json!({})).await;
    assert_eq!(status, 200, "{adopted}");
    let copy = adopted["document_id"].as_i64().unwrap();
    let (status, html) = page(&server, None, &format!("/sites/haicheng/art/{copy}.html")).await;
    assert_eq!(status, 200);
    assert!(html.contains("牛庄镇建成首个村级便民服务中心"));
    assert!(html.contains(&format!(r#"<link rel="canonical" href="http://niuzhuang.haicheng.gov.cn/art/{good}.html">"#)), "origin linked: {html}");
    assert!(html.contains("来源：<a href=") && html.contains("牛庄镇人民政府</a>"), "origin credited: {html}");
    let (status, body) =
        post(&server, &portal, &format!("/api/v1/tenants/haicheng/submissions/{}/return", id_of(thin)), json!({ "reason": "内容单薄，请补充具体成效后再报" }))
            .await;
    assert_eq!(status, 200, "{body}");

    let mine = get(&server, &nz, "/api/v1/tenants/niuzhuang/submissions").await;
    let returned = mine["items"].as_array().unwrap().iter().find(|s| s["document_id"] == thin).unwrap().clone();
    assert_eq!((returned["state"].as_str(), returned["reason"].as_str()), (Some("returned"), Some("内容单薄，请补充具体成效后再报")));
    let year = zhanqun_year();
    let counts = get(&server, &portal, &format!("/api/v1/tenants/haicheng/submission-counts?year={year}")).await;
    let row = counts["items"].as_array().unwrap().iter().find(|c| c["site_name"] == "牛庄镇人民政府").unwrap().clone();
    assert_eq!((row["submitted"].as_i64(), row["adopted"].as_i64(), row["returned"].as_i64()), (Some(2), Some(1), Some(1)), "{counts}");
    let csv = client()
        .get(server.url(&format!("/api/v1/tenants/haicheng/submission-counts?year={year}&format=csv")))
        .bearer_auth(&portal)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("牛庄镇人民政府,2,1,1,50%"), "{csv}");
}

/// The year in Beijing now.
fn zhanqun_year() -> i64 {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + 8 * 3_600_000;
    // Days since the epoch to a year, by 365.2425-day years: exact except
    // within a day of New Year, which these tests never run near enough to matter.
    1970 + (ms as f64 / (365.2425 * 86_400_000.0)) as i64
}

#[tokio::test]
async fn bad_feeds_fail_with_their_reason_and_never_delay_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let feeds = FeedServer::start().await;
    let admin = server.admin_token().await;
    let column = source_site(&server, &admin).await;
    let port = feeds.addr.port();
    // Internal addresses, with the operator's permission not given: refused
    // before any connection. (A redirect from a public address to loopback
    // is refused the same way: crates/platform/src/feeds/fetch.rs tests it
    // with one loopback address standing for a public one.)
    let mut blocked = Vec::new();
    for (n, url) in [
        format!("http://127.0.0.1:{port}/feed.xml"),
        format!("http://[::1]:{port}/feed.xml"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/feed.xml".to_string(),
        format!("http://localhost:{port}/feed.xml"),
    ]
    .iter()
    .enumerate()
    {
        blocked.push(feed(&server, &admin, &format!("内网地址{n}"), url, column, false).await);
    }
    // Allowed inside, but bad; and one good feed among them.
    let hang = feed(&server, &admin, "不应答的源", &feeds.url("/hang"), column, true).await;
    let text = feed(&server, &admin, "不是订阅源", &feeds.url("/text"), column, true).await;
    let looping = feed(&server, &admin, "循环跳转", &feeds.url("/loop"), column, true).await;
    let huge = feed(&server, &admin, "超大的源", &feeds.url("/huge"), column, true).await;
    feeds.set(rss(&[("ok-1", "正常条目", "国发〔2024〕1号")]));
    let good = feed(&server, &admin, "正常的源", &feeds.url("/feed.xml"), column, true).await;

    let expect = [(text, "not_a_feed"), (looping, "too_many_redirects"), (huge, "too_large")];
    wait_for("the good feed's item and the bad feeds' reasons, while one feed still hangs", 15, || async {
        let good_ok = feed_status(&server, &admin, good).await["items"] == 1;
        let mut seen = Vec::new();
        for (id, reason) in blocked.iter().map(|b| (*b, "blocked_address")).chain(expect) {
            let f = feed_status(&server, &admin, id).await;
            if f["failing_reason"] != reason {
                seen.push(format!("{}: {} ({})", f["name"], f["failing_reason"], f["failing_detail"]));
            }
        }
        if good_ok && seen.is_empty() { Ok(()) } else { Err(format!("good feed done: {good_ok}; {seen:?}")) }
    })
    .await;
    assert!(feed_status(&server, &admin, hang).await["last_poll_at"].is_null(), "the hanging feed is still being polled, and delayed nothing");
    wait_for("the hanging feed to time out", 40, || async {
        let f = feed_status(&server, &admin, hang).await;
        if f["failing_reason"] == "timeout" { Ok(()) } else { Err(f.to_string()) }
    })
    .await;
    // A feed the 系统管理员 stops is polled no more; what it brought stays.
    let (status, _, body) = api(&server, &admin, Method::DELETE, &format!("/api/v1/feeds/{good}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(get(&server, &admin, "/api/v1/feeds").await["items"].as_array().unwrap().iter().all(|f| f["id"] != good));
    let m = metrics(&server).await;
    for id in &blocked {
        assert!(m.contains(&format!("zhanqun_feed_failures_total{{feed=\"{id}\",reason=\"blocked_address\"}} 1")), "{m}");
    }
    assert!(m.contains(&format!("zhanqun_feed_failures_total{{feed=\"{hang}\",reason=\"timeout\"}} 1")), "{m}");
    // The server still serves and the log shows no panic.
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
