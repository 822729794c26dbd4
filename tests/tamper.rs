//! 网页防篡改 through a real `zhanqun serve --demo`: a published document's
//! row is edited by hand in the node's own SQLite file (the way an intruder
//! with the disk, not the platform, would plant a dark link), and within one
//! pass of the tamper checker the page is withheld, the metric names the
//! site, the log names the page; a command that writes the document again
//! (or the row put back) ends it.

mod common;

use common::*;
use sqlx::Connection;

async fn tampered(server: &Server, site: &str) -> Option<i64> {
    let m = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let series = format!("zhanqun_tampered_pages{{tenant=\"{site}\"}} ");
    m.lines().find_map(|l| l.strip_prefix(&series)).and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_row_is_withheld_and_alerted_within_one_check() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--demo", "--integrity-check-secs", "1"]).await;
    let staff = server.staff_token(&["niuzhuang"]).await;
    let id = server.draft(&staff, "niuzhuang", "tzgg", "防篡改测试通知", "<p>原文。</p>").await;
    let (status, _, body) = review_and_publish(&server.base, &staff, "niuzhuang", id).await;
    assert_eq!(status, 200, "{body}");
    let page = server.url(&format!("/sites/niuzhuang/art/{id}.html"));
    let before = client().get(&page).send().await.unwrap();
    assert_eq!(before.status(), 200);
    assert!(before.text().await.unwrap().contains("原文。"));
    wait_for("the checker's first pass over the new document", 30, || async {
        match tampered(&server, "niuzhuang").await {
            Some(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // --- The row changed behind the platform's back, in the live database file.
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("content.db").display())).await.unwrap();
    let planted = r#"<p>原文。</p><p><a href="https://dark.example/">在线博彩</a></p>"#;
    sqlx::query("UPDATE documents SET body_html = ? WHERE id = ?").bind(planted).bind(id).execute(&mut db).await.unwrap();

    wait_for("the tampered page to be counted", 30, || async {
        match tampered(&server, "niuzhuang").await {
            Some(1) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let withheld = client().get(&page).send().await.unwrap();
    assert_eq!(withheld.status(), 503);
    let text = withheld.text().await.unwrap();
    assert!(text.contains("未通过防篡改核验") && !text.contains("博彩"), "{text}");
    let log = server.log();
    assert!(log.contains("tamper check") && log.contains(&format!("/sites/niuzhuang/art/{id}.html")), "the log names the page");
    // Other pages of the site are served as before.
    assert_eq!(client().get(server.url("/sites/niuzhuang/")).send().await.unwrap().status(), 200);

    // --- The row put back: the page is served again.
    sqlx::query("UPDATE documents SET body_html = ? WHERE id = ?").bind("<p>原文。</p>").bind(id).execute(&mut db).await.unwrap();
    wait_for("the page to be served again", 30, || async {
        let r = client().get(&page).send().await.unwrap();
        if r.status() == 200 { Ok(()) } else { Err(r.status().to_string()) }
    })
    .await;
    assert_eq!(tampered(&server, "niuzhuang").await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_after_dropping_the_write_triggers_is_caught_by_the_sweep_their_absence_forces() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Sweeps at their default (every 6 hours): only the triggers' absence brings one sooner.
    let server = Server::start(&data, &["--demo", "--integrity-check-secs", "1"]).await;
    let staff = server.staff_token(&["niuzhuang"]).await;
    let id = server.draft(&staff, "niuzhuang", "tzgg", "防篡改测试通知二", "<p>原文。</p>").await;
    let (status, _, body) = review_and_publish(&server.base, &staff, "niuzhuang", id).await;
    assert_eq!(status, 200, "{body}");
    wait_for("the checker's first look", 30, || async {
        match tampered(&server, "niuzhuang").await {
            Some(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // An intruder who knows the schema drops the trigger, then edits.
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("content.db").display())).await.unwrap();
    sqlx::query("DROP TRIGGER document_written_update").execute(&mut db).await.unwrap();
    sqlx::query("UPDATE documents SET title = '在线博彩' WHERE id = ?").bind(id).execute(&mut db).await.unwrap();
    wait_for("the edit found by a sweep", 30, || async {
        match tampered(&server, "niuzhuang").await {
            Some(1) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(client().get(server.url(&format!("/sites/niuzhuang/art/{id}.html"))).send().await.unwrap().status(), 503);
    assert!(server.log().contains("triggers that note document writes were dropped"), "the log says why it swept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_theme_template_is_reported_and_pages_keep_the_version_read_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("theme");
    std::fs::create_dir_all(&theme).unwrap();
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates/base.html")).unwrap();
    let ours = base.replace("</footer>", "<div>技术支持：本市大数据中心</div></footer>");
    std::fs::write(theme.join("base.html"), &ours).unwrap();
    let server = Server::start(&dir.path().join("data"), &["--integrity-check-secs", "1", "--theme-dir", theme.to_str().unwrap()]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "dongcheng", "东城镇人民政府").await;
    let (_, home) = page(&server, None, "/sites/dongcheng/").await;
    assert!(home.contains("技术支持：本市大数据中心"), "the theme's base.html is in use");
    let changed = || async {
        let m = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        m.lines().find_map(|l| l.strip_prefix("zhanqun_theme_files_changed ")).and_then(|v| v.trim().parse::<i64>().ok())
    };
    assert_eq!(changed().await, Some(0));

    // Someone with the disk swaps the template for one with a dark link.
    std::fs::write(theme.join("base.html"), ours.replace("</footer>", r#"<a href="https://dark.example/">在线博彩</a></footer>"#)).unwrap();
    wait_for("the swapped template to be reported", 30, || async {
        match changed().await {
            Some(1) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(server.log().contains("theme check") && server.log().contains("base.html"), "the log names the file");
    // Pages, even ones rendered for the first time now, come from the version read at start.
    for path in ["/sites/dongcheng/", "/sites/dongcheng/zcjd/", "/sites/dongcheng/search?q=%E9%80%9A%E7%9F%A5"] {
        let (status, html) = page(&server, None, path).await;
        assert!(status == 200 && html.contains("技术支持：本市大数据中心") && !html.contains("博彩"), "{path}: {status}");
    }
}
