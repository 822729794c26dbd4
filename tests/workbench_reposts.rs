//! Documents crossing sites in the workbench, in a real headless Chromium
//! against a real `zhanqun serve --demo`: the portal's editor reposts a
//! notice to two townships by hand, one accepts and one refuses with a
//! reason, the board shows both with the platform's proof; a township
//! reports a document upward and the portal adopts it; the 系统管理员 adds
//! a feed the poller must refuse, and sees why.
//!
//! Screenshots (1024×768 and 390×844) under `target/tmp/workbench-screens/`.

mod common;

use std::time::{Duration, Instant};

use common::browser::{Driver, log_in, shoot, start_demo};
use common::{Server, api, client};
use reqwest::Method;
use serde_json::{Value, json};

/// The id of the document titled `title` in `site`, read with `token`.
async fn id_of(server: &Server, token: &str, site: &str, title: &str) -> i64 {
    let (_, _, docs) = api(server, token, Method::GET, &format!("/api/v1/tenants/{site}/documents?per_page=200"), None).await;
    docs["items"].as_array().unwrap().iter().find(|d| d["title"] == title).unwrap_or_else(|| panic!("{site} has no 《{title}》"))["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_reposted_answered_and_tracked_and_a_township_report_adopted_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let staff = server.all_sites_staff_token().await;
    let notice = "海城市城区道路改造工程施工期间交通管制公告";
    let notice_id = id_of(&server, &staff, "haicheng", notice).await;
    let driver = Driver::start().await;

    // --- The portal's editor reposts the notice to two townships, optional.
    let hc = driver.browser(1024, 768).await;
    log_in(&hc, &server, "hc-editor").await;
    hc.goto(&server.url(&format!("/admin/sites/haicheng/documents/{notice_id}"))).await;
    hc.wait_text("转载到其他站点").await;
    hc.click("details summary").await;
    for site in ["niuzhuang", "xiliu"] {
        hc.click(&format!("input[name=sites][value={site}]")).await;
    }
    hc.run("document.querySelector('#repost-mode').value = 'optional';", json!([])).await;
    shoot(&hc, "20-document-repost").await;
    hc.click_through("form[action$='/reposts/repost'] button[type=submit]").await;
    hc.wait_text("转载跟踪").await;
    assert!(hc.text("#board").await.contains("2 个站点"), "{}", hc.text("#board").await);

    // --- 牛庄镇's editor accepts it from the inbox.
    let nz = driver.browser(1024, 768).await;
    log_in(&nz, &server, "nz-editor").await;
    nz.click_through("a[href='/admin/sites/niuzhuang/reposts']").await;
    nz.wait_text(notice).await;
    shoot(&nz, "21-repost-inbox").await;
    nz.click_through("form[action$='/reposts/accept'] button[type=submit]").await;
    nz.wait_text("没有等待本站处理的转载").await;
    // The received list is folded away (<details>): read its text content.
    let received = nz.run("return document.querySelector('#inbox details').textContent;", json!([])).await;
    assert!(received.as_str().unwrap_or("").contains("已采用"), "{received}");

    // --- 西柳镇's editor refuses it, saying why.
    let xl = driver.browser(1024, 768).await;
    log_in(&xl, &server, "xl-editor").await;
    xl.goto(&server.url("/admin/sites/xiliu/reposts")).await;
    xl.wait_text(notice).await;
    xl.fill("input[name=reason]", "本镇不在施工范围内").await;
    xl.click_through("form[action$='/reposts/refuse'] button[type=submit]").await;
    xl.wait_text("没有等待本站处理的转载").await;

    // --- The portal's board: both answers, and the platform's proof of the accepted copy.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        hc.goto(&server.url("/admin/sites/haicheng/reposts")).await;
        let board = hc.text("#board").await;
        if board.contains("已核验") {
            assert!(board.contains("已拒绝：本镇不在施工范围内"), "{board}");
            break;
        }
        assert!(Instant::now() < deadline, "no proof on the board within 20 s: {board}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shoot(&hc, "22-repost-board").await;
    let cookie = hc.cookie("zq_session").await.expect("a session")["value"].as_str().unwrap().to_string();
    let csv = client().get(server.url("/admin/sites/haicheng/reposts.csv")).header("Cookie", format!("zq_session={cookie}")).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("牛庄镇人民政府") && csv.contains("已采用") && csv.contains("本镇不在施工范围内"), "{csv}");

    // --- 信息报送: 牛庄镇 reports a document of its own; the portal adopts it.
    let report = "牛庄镇人民政府推进乡村振兴示范村创建工作";
    let report_id = id_of(&server, &staff, "niuzhuang", report).await;
    nz.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{report_id}"))).await;
    nz.wait_text("报送到门户").await;
    nz.run("[...document.querySelectorAll('details summary')].find(s => s.innerText.includes('报送到门户')).click();", json!([])).await;
    nz.click_through("form[action$='/reposts/submit'] button[type=submit]").await;
    nz.wait_text("待采用").await;
    shoot(&nz, "23-upward-township").await;
    hc.goto(&server.url("/admin/sites/haicheng/reposts")).await;
    hc.wait_text(report).await;
    hc.click_through("form[action$='/reposts/adopt'] button[type=submit]").await;
    hc.wait_text("没有待处理的报送").await;
    let counts = hc.text("#upward table").await;
    assert!(counts.contains("牛庄镇人民政府\t1\t1\t0"), "the year's counts: {counts:?}");
    shoot(&hc, "24-upward-portal").await;
    drop((nz, xl, hc));

    // --- The 系统管理员 adds a feed on an internal address: refused, and said why.
    let admin_token = server.admin_token().await;
    let (status, _, body) = api(
        &server,
        &admin_token,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "shangji", "name": "上级政策文件", "kind": "special", "organ_code": "000014348" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _, body) =
        api(&server, &admin_token, Method::POST, "/api/v1/tenants/shangji/channels", Some(json!({ "slug": "gwywj", "name": "国务院文件" }))).await;
    assert_eq!(status, 201, "{body}");
    let admin = driver.browser(1024, 768).await;
    admin.goto(&server.url("/admin/")).await;
    admin.fill("#username", "admin").await;
    admin.fill("#password", common::ADMIN_PASSWORD).await;
    admin.click_through("button[type=submit]").await;
    admin.click_through("a[href='/admin/platform/feeds']").await;
    admin.fill("#feed-name", "国务院最新政策").await;
    admin.fill("#feed-url", "http://127.0.0.1:9/feed.xml").await;
    admin.click_through("form[action$='/feed-create'] button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = json!(admin.text("main").await);
        if page.as_str().unwrap().contains("失败：地址不允许") {
            break;
        }
        assert!(Instant::now() < deadline, "the refusal was not shown within 20 s: {page}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        admin.goto(&server.url("/admin/platform/feeds")).await;
    }
    shoot(&admin, "25-feeds").await;
}
