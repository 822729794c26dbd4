//! The compliance monitors in the workbench, in a real headless Chromium
//! against a real `zhanqun serve --demo`: the portal's site admin finds a
//! card on the home page naming the columns past their update duty, and
//! each name opens that column; the 系统管理员 sees every site ranked.
//!
//! Screenshots (1024×768 and 390×844) under `target/tmp/workbench-screens/`.

mod common;

use common::browser::{Driver, log_in, shoot, start_demo};
use common::{api, wait_for};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_admin_sees_what_an_inspector_would_fault_and_the_platform_sees_every_site_ranked() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let admin = server.admin_token().await;
    // The monitors' first round with the demo's sites in it.
    let ranking = wait_for("the first round of the monitors", 60, || async {
        let (status, _, body) = api(&server, &admin, Method::GET, "/api/v1/compliance", None).await;
        if status == 200 && body["sites"].as_array().is_some_and(|s| !s.is_empty()) { Ok(body) } else { Err(format!("{status} {body}")) }
    })
    .await;
    let portal = ranking["sites"].as_array().unwrap().iter().find(|s| s["code"] == "haicheng").unwrap().clone();
    let stale: Vec<String> = portal["findings"].as_array().unwrap().iter().find(|f| f["monitor"] == "stale_columns").unwrap()["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["what"].as_str().unwrap().to_string())
        .collect();
    assert!(!stale.is_empty(), "the demo portal has 动态 columns older than two weeks: {portal}");

    let driver = Driver::start().await;
    let hc = driver.browser(1024, 768).await;
    log_in(&hc, &server, "hc-admin").await;
    let card = hc.text(".compliance").await;
    assert!(card.contains("网站检查指标监测") && card.contains(&stale[0]), "the card names the stale columns: {card}");
    shoot(&hc, "30-compliance-card").await;
    // The column's name opens its public page.
    let column = stale[0].split('（').next().unwrap().to_string();
    hc.click_through(".compliance li[data-monitor=stale_columns] ul a").await;
    hc.wait_text(&column).await;
    assert!(hc.url().await.contains("/sites/haicheng/col/"), "{}", hc.url().await);
    // A township editor has no such card: it is the site admin's.
    let nz = driver.browser(1024, 768).await;
    log_in(&nz, &server, "nz-editor").await;
    assert!(!nz.exists(".compliance").await, "an editor's home has no compliance card");

    // --- The 系统管理员's ranking: every online site, worst first.
    let sys = driver.browser(1024, 768).await;
    sys.goto(&server.url("/admin/")).await;
    sys.fill("#username", "admin").await;
    sys.fill("#password", common::ADMIN_PASSWORD).await;
    sys.click_through("button[type=submit]").await;
    sys.wait_text("我的待办").await;
    sys.click_through("a[href='/admin/platform/compliance']").await;
    sys.wait_text("网站检查指标监测").await;
    let rows = sys.run("return [...document.querySelectorAll('tr[data-site]')].map(r => r.dataset.site + ':' + r.dataset.level);", serde_json::json!([])).await;
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert_eq!(rows.len(), 6, "every online site of the demo: {rows:?}");
    assert_eq!(rows[0], format!("haicheng:{}", portal["level"].as_str().unwrap()), "the worst site first: {rows:?}");
    shoot(&sys, "31-compliance-ranking").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_reads_the_content_check_in_the_editor_and_lets_a_contact_number_stay_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let editor = common::login(&server, "nz-editor", common::browser::DEMO_PASSWORD).await;
    let body = r#"<p>报名请联系村委会，联系电话13904121234。</p><img src="/sites/niuzhuang/" alt=""><p>见<a href="http://old-bureau.com.cn/">原网站</a>。</p>"#;
    let id = server.draft(&editor, "niuzhuang", "tzgg", "关于春季征兵报名的通知", body).await;

    let driver = Driver::start().await;
    let b = driver.browser(1024, 768).await;
    log_in(&b, &server, "nz-reviewer").await;
    b.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    b.find("#content-check").await;
    let panel = b.text("#content-check").await;
    for said in [
        "须修改：正文第14字：疑似手机号 1390***1234",
        "须修改：正文第26字：图片缺少替代文字（alt）/sites/niuzhuang/",
        "提示：正文第27字：链接指向白名单以外的网站 old-bureau.com.cn",
    ] {
        assert!(panel.contains(said), "the panel says {said}: {panel}");
    }
    shoot(&b, "31-editor-content-check").await;
    b.fill("#allow-reason", "村委会对外公开的办公联系电话").await;
    b.click_through("#allow-form button[type=submit]").await;
    b.wait_text("审核人已确认上述个人信息须公开").await;
    let note = b.text("#allowance").await;
    assert!(note.contains("村委会对外公开的办公联系电话"), "{note}");
    // The editor cannot give that leave: no form on their page.
    let e = driver.browser(1024, 768).await;
    log_in(&e, &server, "nz-editor").await;
    e.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    e.wait_text("发布前内容检查").await;
    assert!(!e.exists("#allow-form").await, "an editor has no form to let personal data stay");
}
