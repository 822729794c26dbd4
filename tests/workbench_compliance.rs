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
