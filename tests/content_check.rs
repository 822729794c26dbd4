//! Content safety before publishing, through a real `zhanqun serve` given
//! a word list: a draft holding a 身份证号 or a blocking word cannot be
//! submitted (409 content_check, naming where), a warning word can; the
//! editor in the workbench lists every hit with its position.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// The township 牛庄镇 (`nz`), online, with its 通知公告 column (`tzgg`).
async fn township_with_notices(server: &Server, admin: &str) {
    server.online_township(admin, "nz", "牛庄镇人民政府").await;
    let (status, _, body) = api(server, admin, Method::POST, "/api/v1/tenants/nz/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_and_blocking_words_stop_submission_and_the_editor_shows_where() {
    let dir = tempfile::tempdir().unwrap();
    let words = dir.path().join("words.tsv");
    std::fs::write(&words, "# 测试词表\nblock\t某某县撤销办\nwarn\t布署\t部署\n").unwrap();
    let server = Server::start(&dir.path().join("data"), &["--word-list", words.to_str().unwrap()]).await;
    let admin = server.admin_token().await;
    township_with_notices(&server, &admin).await;
    let staff = server.staff_token(&["nz"]).await;

    // A 身份证号 with a valid check character, in the body.
    let id = server.draft(&staff, "nz", "tzgg", "关于低保人员名单的公示", "<p>张三，身份证号11010519491231002X，住某村。</p>").await;
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{id}/submit"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("content_check")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("正文第8字：疑似身份证号 1101**********002X"), "{message}");
    assert!(!message.contains("11010519491231002X"), "the refusal never repeats the number");
    // Masked in the text, it goes through.
    let (status, _, body) = api(
        &server,
        &staff,
        Method::PATCH,
        &format!("/api/v1/tenants/nz/documents/{id}"),
        Some(json!({ "body_html": "<p>张三，身份证号1101**********002X，住某村。</p>" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{id}/submit"), None).await;
    assert_eq!(status, 200, "{body}");

    // A blocking word in the title is refused; a warning word is not.
    // Its body links to a column that exists and to one that does not.
    let links = r#"<p>正文，见<a href="/col/tzgg/">通知公告</a>和<a href="/col/nowhere/">说明</a>。</p>"#;
    let blocked = server.draft(&staff, "nz", "tzgg", "某某县撤销办关于工作的通知", links).await;
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{blocked}/submit"), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("标题第1字：「某某县撤销办」不宜使用"), "{body}");
    let warned = server.draft(&staff, "nz", "tzgg", "关于布署春季防火工作的通知", "<p>请认真布署。</p>").await;
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{warned}/submit"), None).await;
    assert_eq!(status, 200, "a warning does not stop submission: {body}");

    // --- The editor lists each hit where it is (the workbench, logged in by its form).
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = browser
        .post(server.url("/admin/login"))
        .header("origin", server.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=staff&password={STAFF_PASSWORD}&next=%2Fadmin%2F"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers().get("set-cookie").expect("the workbench sets its session cookie").to_str().unwrap().split(';').next().unwrap().to_string();
    let page = browser.get(server.url(&format!("/admin/sites/nz/documents/{blocked}"))).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("发布前内容检查") && page.contains("须修改") && page.contains("标题第1字：「某某县撤销办」不宜使用"), "{page}");
    // Each of the body's links to its own site was asked of the public side.
    assert!(page.contains("正文第10字：站内链接打不开 /col/nowhere/ → 404"), "{page}");
    assert!(!page.contains("/col/tzgg/ →"), "a link that opens is not listed: {page}");
}

#[test]
fn a_word_list_that_cannot_be_read_stops_the_node_with_the_line_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let words = dir.path().join("words.tsv");
    std::fs::write(&words, "warn\t布署\t部署\nstop\t词\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zhanqun"))
        .args(["serve", "--data", dir.path().join("data").to_str().unwrap(), "--listen", "127.0.0.1:0", "--word-list", words.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: starts with `stop`"), "{err}");
}

/// The content-safety finding of `site` in its compliance report.
async fn content_finding(server: &Server, token: &str, site: &str) -> serde_json::Value {
    let (status, _, body) = api(server, token, Method::GET, &format!("/api/v1/tenants/{site}/compliance"), None).await;
    if status != 200 {
        // Before the node's first round: 409 not_ready, said by the caller's wait.
        return body;
    }
    body["site"]["findings"].as_array().unwrap().iter().find(|f| f["monitor"] == "content_safety").cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_need_alt_text_outside_links_are_flagged_and_published_pages_are_checked_again_under_a_new_word_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let every_second = ["--compliance-round-secs", "1", "--home-probe-secs", "1"];
    let mut server = Server::start(&data, &every_second).await;
    let admin = server.admin_token().await;
    township_with_notices(&server, &admin).await;
    let staff = server.staff_token(&["nz"]).await;

    // An image without alternative text stops submission; a link to a
    // domain outside the allow-list (gov.cn by default) is only a warning.
    let body = r#"<p>详见<a href="http://old-bureau.com.cn/notice">原网站</a>。</p><img src="/sites/nz/att/1" alt="">"#;
    let id = server.draft(&staff, "nz", "tzgg", "某旧机构名称关于春耕的通知", body).await;
    let (status, _, refused) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{id}/submit"), None).await;
    assert_eq!(status, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("图片缺少替代文字（alt）/sites/nz/att/1"), "{message}");
    assert!(!message.contains("old-bureau"), "a warning is not a reason to refuse: {message}");
    let with_alt = body.replace(r#"alt="""#, r#"alt="春耕现场""#);
    let (status, _, patched) = api(&server, &staff, Method::PATCH, &format!("/api/v1/tenants/nz/documents/{id}"), Some(json!({ "body_html": with_alt }))).await;
    assert_eq!(status, 200, "{patched}");
    let (status, _, published) = review_and_publish(&server.base, &staff, "nz", id).await;
    assert_eq!(status, 200, "{published}");
    // The re-scan of published pages names the outside link as a warning.
    let found = wait_for("the published page re-scanned", 30, || async {
        let f = content_finding(&server, &staff, "nz").await;
        if f["level"] == "warn" { Ok(f) } else { Err(f.to_string()) }
    })
    .await;
    assert!(found["faults"][0]["what"].as_str().unwrap().contains("链接指向白名单以外的网站 old-bureau.com.cn"), "{found}");

    // The operator adds the organ's old name to the word list as blocking
    // and restarts the node: the page already published is found, red, and
    // its link opens the page.
    server.kill();
    let words = dir.path().join("words.tsv");
    std::fs::write(&words, "block\t某旧机构名称\n").unwrap();
    let server = Server::start(&data, &[&every_second[..], &["--word-list", words.to_str().unwrap()]].concat()).await;
    let staff = login(&server, "staff", STAFF_PASSWORD).await;
    let found = wait_for("the published page found under the new word list", 30, || async {
        let f = content_finding(&server, &staff, "nz").await;
        if f["level"] == "red" { Ok(f) } else { Err(f.to_string()) }
    })
    .await;
    let fault = &found["faults"][0];
    assert!(fault["what"].as_str().unwrap().contains("《某旧机构名称关于春耕的通知》标题第1字：「某旧机构名称」不宜使用"), "{found}");
    let page = client().get(server.url(fault["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(page.status(), 200, "{fault}");

    // Withdrawn, the page is no longer public and the finding goes with it
    // (the re-scan follows the writes since its first pass).
    let (status, _, body) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{id}/withdraw"), None).await;
    assert_eq!(status, 200, "{body}");
    wait_for("the withdrawn page's finding gone", 30, || async {
        let f = content_finding(&server, &staff, "nz").await;
        if f["level"] == "ok" { Ok(()) } else { Err(f.to_string()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_lets_a_contact_number_stay_with_an_audited_reason_for_that_body_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    township_with_notices(&server, &admin).await;
    let editor = site_account(&server.base, "nz-bianji", &[("nz", "editor")]).await;
    let reviewer = site_account(&server.base, "nz-shenhe", &[("nz", "reviewer")]).await;
    let body = "<p>报名请联系村委会，联系电话13904121234。</p>";
    let id = server.draft(&editor, "nz", "tzgg", "关于春季征兵报名的通知", body).await;
    let doc = format!("/api/v1/tenants/nz/documents/{id}");
    let (status, _, refused) = api(&server, &editor, Method::POST, &format!("{doc}/submit"), None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("content_check")), "{refused}");

    // An editor cannot wave it through; a reviewer can, with a reason.
    let reason = json!({ "reason": "村委会对外公开的办公联系电话" });
    let (status, _, _) = api(&server, &editor, Method::POST, &format!("{doc}/allow-personal-data"), Some(reason.clone())).await;
    assert_eq!(status, 403, "an editor may not let personal data stay");
    let (status, _, body_) = api(&server, &reviewer, Method::POST, &format!("{doc}/allow-personal-data"), Some(json!({ "reason": " " }))).await;
    assert_eq!(status, 422, "a reason is required: {body_}");
    let (status, _, allowed) = api(&server, &reviewer, Method::POST, &format!("{doc}/allow-personal-data"), Some(reason)).await;
    assert_eq!(status, 200, "{allowed}");
    let (status, _, submitted) = api(&server, &editor, Method::POST, &format!("{doc}/submit"), None).await;
    assert_eq!((status, submitted["state"].as_str()), (200, Some("submitted")), "{submitted}");
    // The audit trail keeps who let it stay and why.
    let (_, _, trail) = api(&server, &reviewer, Method::GET, &format!("{doc}/audit"), None).await;
    let line = trail["items"].as_array().unwrap().iter().find(|l| l["action"] == "allow_personal_data").cloned().unwrap_or_default();
    assert_eq!((line["result"].as_str(), line["detail"].as_str()), (Some("ok"), Some("村委会对外公开的办公联系电话")), "{trail}");

    // The leave is for that body: a draft changed after it needs a new one.
    let other = server.draft(&editor, "nz", "tzgg", "关于秋季征兵报名的通知", body).await;
    let other_doc = format!("/api/v1/tenants/nz/documents/{other}");
    let (status, _, _) = api(&server, &reviewer, Method::POST, &format!("{other_doc}/allow-personal-data"), Some(json!({ "reason": "办公电话" }))).await;
    assert_eq!(status, 200);
    let changed = "<p>报名请联系村委会，联系电话13904121234，或13804125678。</p>";
    let (status, _, _) = api(&server, &editor, Method::PATCH, &other_doc, Some(json!({ "body_html": changed }))).await;
    assert_eq!(status, 200);
    let (status, _, refused) = api(&server, &editor, Method::POST, &format!("{other_doc}/submit"), None).await;
    assert_eq!(status, 409, "the changed body was not allowed: {refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_inside_a_word_attachment_stops_submission_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    township_with_notices(&server, &admin).await;
    let staff = server.staff_token(&["nz"]).await;
    let id = server.draft(&staff, "nz", "tzgg", "关于低保人员名单的公示", "<p>名单见附件。</p>").await;
    // A real .docx (tests/fixtures/make-docx.py) under the name a clerk would give it.
    let docx = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/dibao-roster.docx")).unwrap();
    let form =
        reqwest::multipart::Form::new().text("document_id", id.to_string()).part("file", reqwest::multipart::Part::bytes(docx).file_name("低保名单.docx"));
    let r = client().post(server.url("/api/v1/tenants/nz/attachments")).bearer_auth(&staff).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let (status, _, refused) = api(&server, &staff, Method::POST, &format!("/api/v1/tenants/nz/documents/{id}/submit"), None).await;
    assert_eq!(status, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("附件《低保名单.docx》第20字：疑似身份证号 1101**********002X"), "{message}");
    assert!(message.contains("附件《低保名单.docx》第45字：疑似手机号 1390***1234"), "{message}");
}
