//! Search through a real `zhanqun serve --demo`: the index follows what the
//! node applies, 文号 in any spelling, tenant scope, odd queries; the public
//! pages with the portal's facets and filters; reposts shown once; closed
//! sites leaving the portal search; catching up after a crash; `zhanqun
//! reindex`; the operator's dictionary.

mod common;

use std::time::{Duration, Instant};

use common::{Server, api, error_code, page};
use reqwest::Method;
use serde_json::{Value, json};

async fn search(server: &Server, token: &str, query: &str) -> (u16, Value) {
    let url = format!("/api/v1/search?{}", serde_urlencoded_pair("q", query));
    let (status, _, body) = api(server, token, Method::GET, &url, None).await;
    (status, body)
}

fn serde_urlencoded_pair(k: &str, v: &str) -> String {
    let mut out = format!("{k}=");
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn titles(body: &Value) -> Vec<String> {
    body["hits"].as_array().unwrap().iter().map(|h| h["title_html"].as_str().unwrap().replace("<em>", "").replace("</em>", "")).collect()
}

#[tokio::test]
async fn search_follows_the_log_and_stays_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let token = server.all_sites_staff_token().await;

    // The demo's notice, by its 文号 in three spellings, first every time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = search(&server, &token, "海政办发〔2017〕37号").await;
        assert_eq!(status, 200, "{body}");
        if body["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the demo never became searchable");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for q in ["海政办发〔2017〕37号", "海政办发[2017]37号", "海政办发(2017)37号"] {
        let (_, body) = search(&server, &token, q).await;
        assert!(titles(&body)[0].contains("政务公开"), "{q}: {body}");
    }

    // A document published now is searchable within a second.
    let (status, _, doc) = api(
        &server,
        &token,
        Method::POST,
        "/api/v1/tenants/niuzhuang/documents",
        Some(json!({ "channel": "tzgg", "title": "牛庄镇秸秆禁烧工作通告", "body_html": "<p>全镇范围内严禁露天焚烧秸秆。</p>" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let published = Instant::now();
    let seen = loop {
        let (_, body) = search(&server, &token, "秸秆禁烧").await;
        if titles(&body).iter().any(|t| t.contains("秸秆禁烧")) {
            break published.elapsed();
        }
        assert!(published.elapsed() < Duration::from_secs(1), "not searchable within 1 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("searchable {} ms after the write was acknowledged", seen.as_millis());

    // An editor of 西柳镇 finds only 西柳镇's documents, and may not search 牛庄镇.
    let security = server.security_token().await;
    let (status, _, _) = api(
        &server,
        &security,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "xiliu-editor", "password": common::INITIAL_PASSWORD, "roles": [{ "tenant": "xiliu", "role": "editor" }] })),
    )
    .await;
    assert_eq!(status, 201);
    let editor = common::first_login(&server.base, "xiliu-editor", common::INITIAL_PASSWORD).await;
    let (status, body) = search(&server, &editor, "秸秆禁烧").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 0, "another township's document leaked: {body}");
    let (_, body) = search(&server, &editor, "西柳").await;
    assert!(body["hits"].as_array().unwrap().iter().all(|h| h["tenant"] == "xiliu"), "{body}");
    let (status, _, body) = api(&server, &editor, Method::GET, "/api/v1/search?q=x&tenant=niuzhuang", None).await;
    assert_eq!(status, 403, "{body}");

    // Odd queries: a clear 400 for the too-long one, 200 for the rest.
    let long = "政".repeat(2000);
    let (status, body) = search(&server, &token, &long).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "bad_query");
    for q in ["", "AND OR", "\"政务", "😀", "\u{1}\u{2}", "((("] {
        let (status, body) = search(&server, &token, q).await;
        assert_eq!(status, 200, "{q:?}: {body}");
    }
}

/// Waits until the demo is searchable (the indexer runs after the load).
async fn wait_searchable(server: &Server, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = search(server, token, "秸秆").await;
        if body["total"].as_u64().unwrap_or(0) >= 5 {
            return;
        }
        assert!(Instant::now() < deadline, "the demo never became searchable: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The site codes of the hits of a public search page, in order.
fn page_hits(html: &str) -> Vec<String> {
    html.split("<li data-site=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_string()).collect()
}

async fn api_get(server: &Server, token: &str, path: &str) -> Value {
    let (status, _, body) = api(server, token, Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn create_and_publish(server: &Server, token: &str, site: &str, title: &str, body_html: &str) -> i64 {
    create_and_publish_in(server, token, site, "tzgg", title, body_html).await
}

async fn create_and_publish_in(server: &Server, token: &str, site: &str, channel: &str, title: &str, body_html: &str) -> i64 {
    let (status, _, doc) = api(
        server,
        token,
        Method::POST,
        &format!("/api/v1/tenants/{site}/documents"),
        Some(json!({ "channel": channel, "title": title, "body_html": body_html })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let id = doc["id"].as_i64().unwrap();
    let (status, _, body) = common::review_and_publish(&server.base, token, site, id).await;
    assert_eq!(status, 200, "{body}");
    id
}

/// Polls the public portal search until `check` holds (the index commits
/// in batches of up to 250 ms).
async fn portal_search_until(server: &Server, query: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, html) = page(server, None, &format!("/sites/haicheng/search?{query}")).await;
        assert_eq!(status, 200, "{html}");
        if check(&html) {
            return html;
        }
        assert!(Instant::now() < deadline, "the portal search never showed what was expected for {query}: {html}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn public_search_pages_scope_filter_facet_sort_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let token = server.all_sites_staff_token().await;
    wait_searchable(&server, &token).await;

    // The portal searches every online site and shows facets.
    let (status, html) = page(&server, None, "/sites/haicheng/search?q=%E7%A7%B8%E7%A7%86").await; // 秸秆
    assert_eq!(status, 200);
    let sites = page_hits(&html);
    assert!(sites.iter().collect::<std::collections::BTreeSet<_>>().len() >= 3, "hits from several sites: {sites:?}");
    for facet in ["<h3>站点</h3>", "<h3>年份</h3>", "<h3>栏目类型</h3>", "<h3>发布机构</h3>", "<em>秸秆</em>"] {
        assert!(html.contains(facet), "{facet} missing");
    }
    // The same search under the portal's own host.
    let (status, by_host) = page(&server, Some("www.haicheng.gov.cn"), "/search?q=%E7%A7%B8%E7%A7%86").await;
    assert_eq!(status, 200);
    assert_eq!(page_hits(&by_host), sites);
    // A township searches itself only, without facets.
    let (status, html) = page(&server, None, "/sites/niuzhuang/search?q=%E7%A7%B8%E7%A7%86").await;
    assert_eq!(status, 200);
    assert!(!page_hits(&html).is_empty() && page_hits(&html).iter().all(|s| s == "niuzhuang"), "{:?}", page_hits(&html));
    assert!(!html.contains("<h3>站点</h3>"));
    // The portal's site filter.
    let (_, html) = page(&server, None, "/sites/haicheng/search?q=%E7%A7%B8%E7%A7%86&site=xiliu").await;
    assert!(!page_hits(&html).is_empty() && page_hits(&html).iter().all(|s| s == "xiliu"), "{:?}", page_hits(&html));

    // Only published 主动公开 documents: the demo's 不予公开 notice is found by
    // the admin search, never by the public one.
    let admin = api_get(&server, &token, "/api/v1/search?q=%E4%BF%A1%E8%AE%BF%E4%BA%8B%E9%A1%B9").await; // 信访事项
    assert_eq!(admin["total"], 1, "{admin}");
    let (_, html) = page(&server, None, "/sites/haicheng/search?q=%E4%BF%A1%E8%AE%BF%E4%BA%8B%E9%A1%B9").await;
    assert!(page_hits(&html).is_empty() && html.contains("没有找到相关信息"));

    // A draft is not public until it is published; then it is within a second.
    let (status, _, draft) = api(
        &server,
        &token,
        Method::POST,
        "/api/v1/tenants/ganwang/documents",
        Some(json!({ "channel": "tzgg", "title": "感王镇冬季清雪除冰工作安排", "body_html": "<p>及时清除积雪。</p>" })),
    )
    .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let q = "q=%E6%B8%85%E9%9B%AA%E9%99%A4%E5%86%B0"; // 清雪除冰
    let (_, html) = page(&server, None, &format!("/sites/haicheng/search?{q}")).await;
    assert!(page_hits(&html).is_empty(), "a draft reached the public search");
    let id = draft["id"].as_i64().unwrap();
    let (status, _, _) = common::review_and_publish(&server.base, &token, "ganwang", id).await;
    assert_eq!(status, 200);
    let published = Instant::now();
    portal_search_until(&server, q, |html| page_hits(html) == ["ganwang"]).await;
    assert!(published.elapsed() < Duration::from_secs(1), "published → searchable took {:?}", published.elapsed());
    let (_, html) = page(&server, None, &format!("/sites/haicheng/search?{q}")).await;
    assert!(html.contains(&format!("/sites/ganwang/art/{id}.html")), "the hit links to the document on its own site");

    // What was typed is shown escaped; a bad filter is a clear 400.
    let (status, html) = page(&server, None, "/sites/haicheng/search?q=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"));
    let (status, html) = page(&server, None, "/sites/haicheng/search?q=x&from=2024-13-01").await;
    assert_eq!(status, 400);
    assert!(html.contains("`from` must be a date"), "{html}");
    let (status, html) = page(&server, None, &format!("/sites/haicheng/search?{}", serde_urlencoded_pair("q", &"政".repeat(2000)))).await;
    assert_eq!(status, 400);
    assert!(html.contains("longer than 200 characters"), "{html}");
    for q in ["", "AND OR", "\"政务", "😀", "\u{1}\u{2}", "(((", "*:*"] {
        let (status, _) = page(&server, None, &format!("/sites/haicheng/search?{}", serde_urlencoded_pair("q", q))).await;
        assert_eq!(status, 200, "{q:?}");
    }
    let (status, _, body) = api(&server, &token, Method::GET, "/api/v1/search?q=x&sort=sideways", None).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_query"));

    // Facets and filters agree: filtering by a year facet gives its count.
    let all = api_get(&server, &token, "/api/v1/search?q=%E5%B7%A5%E4%BD%9C").await; // 工作
    let year = &all["facets"]["years"][0];
    let by_year = api_get(&server, &token, &format!("/api/v1/search?q=%E5%B7%A5%E4%BD%9C&year={}", year["value"].as_str().unwrap())).await;
    assert_eq!(by_year["facets"]["years"][0]["count"], year["count"], "{by_year}");
    let organ = &all["facets"]["organs"][0];
    let by_organ =
        api_get(&server, &token, &format!("/api/v1/search?q=%E5%B7%A5%E4%BD%9C&{}", serde_urlencoded_pair("organ", organ["value"].as_str().unwrap()))).await;
    assert!(by_organ["hits"].as_array().unwrap().iter().all(|h| h["issuing_organ"] == organ["value"]), "{by_organ}");
    // A 文号 filter in ASCII brackets finds the notice that carries it.
    let by_no = api_get(&server, &token, &format!("/api/v1/search?{}", serde_urlencoded_pair("doc_no", "海政办发[2017]37号"))).await;
    assert_eq!(by_no["total"], 1, "{by_no}");

    // Newest first, and pages that neither repeat nor skip.
    let by_date = api_get(&server, &token, "/api/v1/search?q=%E5%B7%A5%E4%BD%9C&sort=date&per_page=100").await;
    let dates: Vec<&str> = by_date["hits"].as_array().unwrap().iter().map(|h| h["published_at"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    let mut paged = Vec::new();
    for n in 1..=3 {
        let p = api_get(&server, &token, &format!("/api/v1/search?q=%E5%B7%A5%E4%BD%9C&sort=date&per_page=7&page={n}")).await;
        paged.extend(p["hits"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()));
    }
    let first_21: Vec<i64> = by_date["hits"].as_array().unwrap().iter().take(21).map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(paged, first_21);
}

#[tokio::test]
async fn reposts_show_once_and_a_suspended_site_leaves_the_portal_search() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let token = server.all_sites_staff_token().await;
    wait_searchable(&server, &token).await;

    // A city notice, reposted by the portal to two townships: search folds
    // the copies by the source they record.
    let title = "海城市关于开展冬季消防安全大检查的通知";
    let body = "<p>各镇要全面排查火灾隐患，确保冬季消防安全。</p>";
    let id = create_and_publish_in(&server, &token, "haicheng", "gsgg", title, body).await;
    let (status, _, rows) = api(
        &server,
        &token,
        Method::POST,
        &format!("/api/v1/tenants/haicheng/documents/{id}/reposts"),
        Some(json!({ "sites": ["niuzhuang", "xiliu"], "role": "policy-repost", "mode": "mandatory" })),
    )
    .await;
    assert_eq!(status, 201, "{rows}");
    let q = "q=%E6%B6%88%E9%98%B2%E5%AE%89%E5%85%A8%E5%A4%A7%E6%A3%80%E6%9F%A5"; // 消防安全大检查
    let html = portal_search_until(&server, q, |html| html.contains("另有 2 个站点转载")).await;
    assert_eq!(page_hits(&html).len(), 1, "one hit for the source and its two copies");
    let api_view = api_get(&server, &token, &format!("/api/v1/search?{q}")).await;
    assert_eq!((api_view["total"].as_u64(), api_view["hits"][0]["copies"].as_u64()), (Some(1), Some(2)), "{api_view}");
    // Two sites that wrote the same text themselves are two documents, not copies.
    let other = "<p>各镇自行组织的消防安全大检查。</p>";
    create_and_publish(&server, &token, "ganwang", "感王镇消防安全大检查", other).await;
    create_and_publish(&server, &token, "jyj", "感王镇消防安全大检查", other).await;
    let html = portal_search_until(&server, q, |html| page_hits(html).len() == 3).await;
    assert!(html.contains("另有 2 个站点转载"), "{html}");
    // Each township's own search shows its own copy.
    for site in ["niuzhuang", "xiliu"] {
        let (_, html) = page(&server, None, &format!("/sites/{site}/search?{q}")).await;
        assert_eq!(page_hits(&html), [site]);
    }

    // Suspending 西柳镇 takes it out of the portal search at once.
    let (_, before) = page(&server, None, "/sites/haicheng/search?q=%E8%A5%BF%E6%9F%B3%E9%95%87&per_page=100").await; // 西柳镇
    assert!(page_hits(&before).iter().any(|s| s == "xiliu"));
    let admin = server.admin_token().await;
    let (status, _, body) = api(&server, &admin, Method::PATCH, "/api/v1/tenants/xiliu", Some(json!({ "lifecycle": "suspended" }))).await;
    assert_eq!(status, 200, "{body}");
    let (_, after) = page(&server, None, "/sites/haicheng/search?q=%E8%A5%BF%E6%9F%B3%E9%95%87&per_page=100").await;
    assert!(!page_hits(&after).iter().any(|s| s == "xiliu"), "{:?}", page_hits(&after));
    let (status, _) = page(&server, None, "/sites/haicheng/search?q=x&site=xiliu").await;
    assert_eq!(status, 400, "a suspended site cannot be chosen");
}

fn reindex(data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_zhanqun")).arg("reindex").arg("--data").arg(data).args(extra).output().unwrap()
}

#[tokio::test]
async fn the_index_catches_up_after_a_crash_and_reindex_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = data.with_extension("log");
    let mut server = Server::start(&data, &["--demo"]).await;
    let token = server.all_sites_staff_token().await;
    wait_searchable(&server, &token).await;

    // Write, and kill -9 inside the indexer's batching window.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_and_publish(&server, &token, "niuzhuang", &format!("牛庄镇应急物资储备清单第{i}批"), "<p>储备物资清单。</p>").await);
    }
    server.kill();

    // At restart the index takes what it missed from the Raft log: no rebuild.
    let server = Server::start(&data, &[]).await;
    let token = server.all_sites_staff_token().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = search(&server, &token, "应急物资储备清单").await;
        if body["total"] == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "documents written before the crash are not all searchable: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("caught up from the log") || text.contains("search index is current"), "{text}");
    assert!(!text.contains("search index rebuilt"), "a restart rebuilt the whole index: {text}");
    eprintln!("restart: {}", if text.contains("caught up") { "caught up from the log" } else { "index was current" });

    // `zhanqun reindex` refuses while the node runs, and says why.
    let busy = reindex(&data, &[]);
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("in use by another process"), "{}", String::from_utf8_lossy(&busy.stderr));
    let mut documents = 0;
    for t in api_get(&server, &token, "/api/v1/tenants").await["items"].as_array().unwrap() {
        let code = t["code"].as_str().unwrap();
        documents += api_get(&server, &token, &format!("/api/v1/tenants/{code}/documents?per_page=1")).await["total"].as_u64().unwrap();
    }
    drop(server);

    // Stopped, it rebuilds from the store and reports what it did.
    let out = reindex(&data, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("search index rebuilt:") && stdout.contains(" documents in "), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("indexing: "), "progress is shown");
    assert!(stdout.contains(&format!("rebuilt: {documents} documents")), "every document of every site: {documents} expected, {stdout}");

    // The rebuilt index is current at the next start.
    let server = Server::start(&data, &[]).await;
    let token = server.all_sites_staff_token().await;
    let (_, body) = search(&server, &token, "应急物资储备清单").await;
    assert_eq!(body["total"], 5, "{body}");
    assert!(std::fs::read_to_string(&log).unwrap().contains("search index is current"));
    drop(server);

    // The operator's dictionary: unreadable → a clear refusal; a new one →
    // the index is rebuilt with it at start.
    let missing = reindex(&data, &["--search-dictionary", "/nonexistent/words.txt"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the search dictionary"));
    let words = dir.path().join("words.txt");
    std::fs::write(&words, "应急物资储备 1000 n\n").unwrap();
    let server = Server::start(&data, &["--search-dictionary", words.to_str().unwrap()]).await;
    let token = server.all_sites_staff_token().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&log).unwrap().contains("search index rebuilt") {
        assert!(Instant::now() < deadline, "a changed dictionary did not rebuild the index");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, body) = search(&server, &token, "应急物资储备").await;
    assert_eq!(body["total"], 5, "{body}");
}
