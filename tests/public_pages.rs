//! The public sites as citizens and inspectors meet them, in a real
//! headless Chromium against a real `zhanqun serve --demo`: every kind of
//! page passes an automated accessibility audit (axe-core, vendored from
//! its npm package under `assets/vendor/`) on the WCAG 2 A/AA rules that
//! GB/T 37668-2019's basics correspond to, at 1280 px and at 390 px.

mod common;

use common::browser::{Driver, shoot, start_demo};
use serde_json::{Value, json};

const AXE: &str = include_str!("../assets/vendor/axe-core/axe.min.js");

/// The audit's violations on the page the browser shows, as lines a
/// person can act on: rule, impact, and the first elements at fault.
async fn violations(b: &common::browser::Browser) -> Vec<String> {
    b.run(AXE, json!([])).await;
    let script = "const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
           .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.html) }))))
           .catch(e => done([{ id: 'axe-failed', impact: 'critical', help: String(e), nodes: [] }]));";
    let found: Value = b.run_async(script, json!([])).await;
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{} ({}): {} — {}", v["id"].as_str().unwrap_or(""), v["impact"].as_str().unwrap_or(""), v["help"].as_str().unwrap_or(""), v["nodes"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_public_page_passes_the_accessibility_audit_on_a_desktop_and_a_phone() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    let (_, html) = common::page(&server, None, "/sites/haicheng/col/szfbgswj/").await;
    let doc = html.split("/sites/haicheng/art/").nth(1).and_then(|s| s.split('"').next()).expect("a document link on the column page").to_string();
    let pages = [
        ("portal-home", "/sites/haicheng/".to_string()),
        ("portal-column", "/sites/haicheng/col/szfbgswj/".to_string()),
        ("portal-document", format!("/sites/haicheng/art/{doc}")),
        ("portal-search", "/sites/haicheng/search?q=%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80".to_string()),
        ("township-home", "/sites/niuzhuang/".to_string()),
        ("interpretations", "/sites/haicheng/zcjd/".to_string()),
    ];
    let mut failures = Vec::new();
    for (name, path) in &pages {
        for (w, h) in [(1280, 900), (390, 844)] {
            b.resize(w, h).await;
            b.goto(&server.url(path)).await;
            b.wait_text("").await;
            for v in violations(&b).await {
                failures.push(format!("{name} at {w}px ({path}): {v}"));
            }
        }
        shoot(&b, &format!("public-{name}")).await;
    }
    assert!(failures.is_empty(), "{} accessibility violations:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_reaches_the_skip_link_and_the_sub_columns_and_a_phone_reads_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    b.goto(&server.url("/sites/haicheng/")).await;
    // The first Tab lands on the skip link, which is then shown.
    b.run("document.activeElement && document.activeElement.blur();", json!([])).await;
    b.press_tab().await;
    let focused = b.run("const e = document.activeElement; return [e.innerText, getComputedStyle(e).left];", json!([])).await;
    assert_eq!(focused[0], "跳到正文", "{focused}");
    assert_ne!(focused[1], "-9999px", "the skip link shows when focused");
    // Tabbing on through the menu opens a column's sub-columns (no mouse).
    let opened = b
        .run(
            "const links = [...document.querySelectorAll('nav > ul > li > a')];
             const parent = links.find(a => a.parentElement.querySelector('ul'));
             parent.focus();
             const sub = parent.parentElement.querySelector('ul');
             return [getComputedStyle(sub).display, sub.querySelector('a').innerText];",
            json!([]),
        )
        .await;
    assert_eq!(opened[0], "block", "sub-columns open when their column has the keyboard focus: {opened}");
    // On a phone the 政务公开 metadata keeps its labels on one line each.
    b.resize(390, 844).await;
    let (_, html) = common::page(&server, None, "/sites/haicheng/col/szfbgswj/").await;
    let doc = html.split("/sites/haicheng/art/").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    b.goto(&server.url(&format!("/sites/haicheng/art/{doc}"))).await;
    // The label's text itself (its cell grows with a long value beside it).
    let label = b
        .run(
            "const th = document.querySelector('table.meta th'); const r = document.createRange(); r.selectNodeContents(th);
             const box = r.getBoundingClientRect(); return [box.width, box.height, parseFloat(getComputedStyle(th).lineHeight)];",
            json!([]),
        )
        .await;
    let (width, height, line) = (label[0].as_f64().unwrap(), label[1].as_f64().unwrap(), label[2].as_f64().unwrap());
    assert!(width > 30.0 && height < 1.5 * line, "索引号 on one line, not one character a line: {label}");
    shoot(&b, "public-document-phone").await;
}

#[tokio::test]
async fn the_policy_interpretations_are_in_the_navigation_and_a_closed_site_says_where_its_content_went() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &["--demo"]).await;
    for site in ["haicheng", "niuzhuang"] {
        let (_, html) = common::page(&server, None, &format!("/sites/{site}/")).await;
        let nav = html.split("<nav>").nth(1).and_then(|s| s.split("</nav>").next()).unwrap_or("");
        assert!(nav.contains(&format!(r#"<a href="/sites/{site}/zcjd/">政策解读</a>"#)), "{site}: {nav}");
    }
    let admin = server.admin_token().await;
    let (status, _, body) = common::api(&server, &admin, reqwest::Method::PATCH, "/api/v1/tenants/ganwang", Some(json!({ "lifecycle": "closed" }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, html) = common::page(&server, None, "/sites/ganwang/").await;
    assert_eq!(status, 410);
    assert!(html.contains(r#"<a href="/sites/haicheng/">海城市人民政府</a>"#), "{html}");
}

#[tokio::test]
async fn a_sitemap_lists_absolute_urls_on_the_sites_own_host_however_it_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &["--demo"]).await;
    for (host, path) in [(Some("niuzhuang.haicheng.gov.cn"), "/sitemap.xml"), (None, "/sites/niuzhuang/sitemap.xml")] {
        let (status, xml) = common::page(&server, host, path).await;
        assert_eq!(status, 200, "{path}");
        let locs: Vec<&str> = xml.split("<loc>").skip(1).filter_map(|s| s.split("</loc>").next()).collect();
        assert!(locs.len() > 10, "{xml}");
        assert!(locs.iter().all(|l| l.starts_with("http://niuzhuang.haicheng.gov.cn/")), "{path}: {locs:?}");
    }
}

/// The `<nav>` of a public page.
fn nav_of(html: &str) -> String {
    html.split("<nav>").nth(1).and_then(|s| s.split("</nav>").next()).unwrap_or("").to_string()
}

#[tokio::test]
async fn the_navigation_leaves_out_empty_columns_until_they_have_something_to_read_and_the_interaction_column_says_where_letters_go() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "dongcheng", "东城镇人民政府").await;
    let (status, _, body) =
        common::api(&server, &admin, reqwest::Method::PATCH, "/api/v1/tenants/dongcheng", Some(json!({ "mailbox": "dc@example.gov.cn" }))).await;
    assert_eq!(status, 200, "{body}");
    let mut ids = std::collections::HashMap::new();
    for (slug, name, kind, parent) in [
        ("tzgg", "通知公告", "list", None),
        ("zwgk", "政务公开", "list", None),
        ("zcwj", "政策文件", "list", Some("zwgk")),
        ("hdjl", "互动交流", "interaction", None),
    ] {
        let parent_id = parent.map(|p| ids[p]);
        let (status, _, c) = common::api(
            &server,
            &admin,
            reqwest::Method::POST,
            "/api/v1/tenants/dongcheng/channels",
            Some(json!({ "slug": slug, "name": name, "kind": kind, "parent_id": parent_id })),
        )
        .await;
        assert_eq!(status, 201, "{c}");
        ids.insert(slug, c["id"].as_i64().unwrap());
    }
    let (_, home) = common::page(&server, None, "/sites/dongcheng/").await;
    let nav = nav_of(&home);
    assert!(!nav.contains("通知公告") && !nav.contains("政务公开") && !nav.contains("政策文件"), "empty columns are not offered to readers: {nav}");
    assert!(nav.contains(r#"<a href="/sites/dongcheng/col/hdjl/">互动交流</a>"#), "{nav}");
    // The interaction column says where a letter goes.
    let (status, letters) = common::page(&server, None, "/sites/dongcheng/col/hdjl/").await;
    assert_eq!(status, 200);
    assert!(letters.contains(r#"<a href="mailto:dc@example.gov.cn">dc@example.gov.cn</a>"#), "{letters}");

    // A document in the sub-column brings it and its parent into the
    // navigation; the still empty column stays out.
    let staff = server.staff_token(&["dongcheng"]).await;
    let id = server.draft(&staff, "dongcheng", "zcwj", "东城镇政策文件一", "<p>正文。</p>").await;
    let (status, _, body) = common::review_and_publish(&server.base, &staff, "dongcheng", id).await;
    assert_eq!(status, 200, "{body}");
    let (_, home) = common::page(&server, None, "/sites/dongcheng/").await;
    let nav = nav_of(&home);
    assert!(nav.contains("政务公开") && nav.contains(r#"<a href="/sites/dongcheng/col/zcwj/">政策文件</a>"#), "{nav}");
    assert!(!nav.contains("通知公告"), "{nav}");
}

#[tokio::test]
async fn the_footer_shows_the_party_and_government_badge_linking_to_its_verification_only_where_the_site_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "dongcheng", "东城镇人民政府").await;
    let (_, html) = common::page(&server, None, "/sites/dongcheng/").await;
    assert!(!html.contains("党政机关"), "no badge, and no empty element for one, before the site has its number: {html}");
    // A number that would break out of the link is refused, and changes nothing.
    let (status, _, body) =
        common::api(&server, &admin, reqwest::Method::PATCH, "/api/v1/tenants/dongcheng", Some(json!({ "conac_id": "1\" onclick=\"x" }))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("党政机关网站标识"), "{body}");
    let (status, _, body) =
        common::api(&server, &admin, reqwest::Method::PATCH, "/api/v1/tenants/dongcheng", Some(json!({ "conac_id": "5C1F2A0B3D4E" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conac_id"], "5C1F2A0B3D4E", "{body}");
    let (_, html) = common::page(&server, None, "/sites/dongcheng/").await;
    assert!(html.contains(r#"href="https://bszs.conac.cn/sitename?method=show&amp;id=5C1F2A0B3D4E""#), "{html}");
    assert!(html.contains(">党政机关</a>"), "{html}");
}

/// The classes on `<html>` and the zoom of the page's frame.
async fn text_size(b: &common::browser::Browser) -> Value {
    b.run("return [document.documentElement.className, getComputedStyle(document.querySelector('.wrap')).zoom];", json!([])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_turns_on_larger_text_and_the_care_mode_and_every_page_keeps_it_and_still_passes_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 900).await;
    b.goto(&server.url("/sites/haicheng/")).await;
    b.wait_text("关怀版").await;
    assert_eq!(text_size(&b).await, json!(["", "1"]), "standard size at first");
    b.click(".access button[data-size='2']").await;
    assert_eq!(text_size(&b).await, json!(["size-2", "1.3"]));
    b.click(".access button[data-care]").await;
    let pressed = b.run("return [...document.querySelectorAll('.access button')].map(x => x.getAttribute('aria-pressed'));", json!([])).await;
    assert_eq!(pressed, json!(["false", "false", "true", "true"]), "the buttons say what is on");
    // The choice follows the reader to the next page, on a phone too.
    b.resize(390, 844).await;
    b.goto(&server.url("/sites/haicheng/col/szfbgswj/")).await;
    b.wait_text("关怀版").await;
    assert_eq!(text_size(&b).await, json!(["size-2 care", "1.5"]));
    let v = violations(&b).await;
    assert!(v.is_empty(), "the care mode passes the audit too:\n{}", v.join("\n"));
    shoot(&b, "public-care-mode-phone").await;
    // Back to standard.
    b.click(".access button[data-care]").await;
    b.click(".access button[data-size='0']").await;
    assert_eq!(text_size(&b).await, json!(["", "1"]));
}
