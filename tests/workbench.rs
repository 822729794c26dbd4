//! The editors' workbench in a real headless Chromium (Debian's `chromium`
//! and `chromium-driver`), against a real `zhanqun serve --demo` process:
//! a township's editor, 政务公开审核员 and reviewer each do their steps in
//! their own browser, and the public page shows the result.
//!
//! Screenshots of every main screen, at 1024×768 and 390×844, are saved
//! under `target/tmp/workbench-screens/` for people to look at.

mod common;

use std::time::Duration;

use common::browser::{DEMO_PASSWORD, Driver, log_in, screens, shoot, start_demo};
use common::{Server, client};
use serde_json::{Value, json};

/// The document's id from the editor's address.
fn doc_id(url: &str) -> i64 {
    url.rsplit('/').next().and_then(|s| s.split('?').next()).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no document id in {url}"))
}

/// A PNG of one red pixel, made here (no binary fixture in the repository).
fn tiny_png(path: &std::path::Path) {
    const PNG: [u8; 69] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8, 0xCF, 0xC0, 0x00, 0x00, 0x03,
        0x01, 0x01, 0x00, 0x18, 0xDD, 0x8D, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    std::fs::write(path, PNG).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_township_document_goes_from_word_paste_to_the_public_page_through_three_browsers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    let driver = Driver::start().await;

    // --- The township editor writes, pastes from Word, attaches, submits.
    let editor = driver.browser(1024, 768).await;
    editor.goto(&server.url("/admin/")).await;
    editor.wait_text("登录站群工作台").await;
    shoot(&editor, "01-login").await;
    editor.fill("#username", "nz-editor").await;
    editor.fill("#password", "not-the-password").await;
    editor.click_through("button[type=submit]").await;
    editor.wait_text("用户名或密码错误").await;
    log_in(&editor, &server, "nz-editor").await;
    shoot(&editor, "02-home-editor").await;

    editor.click_through("a.button[href$='/documents/new']").await;
    editor.fill("#title", "关于做好冬季农村道路安全工作的通知").await;
    editor.run("const s = document.querySelector('#channel_id'); s.value = [...s.options].find(o => o.text === '通知公告').value;", json!([])).await;
    shoot(&editor, "03-new-document").await;
    editor.click_through("main button[type=submit]").await;
    editor.find("#body-editor").await;
    let id = doc_id(&editor.url().await);

    // Paste the Word fixture as Word puts it on the clipboard (text/html).
    let word = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/word-paste.html")).unwrap();
    let pasted = editor
        .run(
            "const ed = document.querySelector('#body-editor'); ed.focus();\
             const dt = new DataTransfer(); dt.setData('text/html', arguments[0]); dt.setData('text/plain', 'x');\
             ed.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));\
             return ed.innerHTML;",
            json!([word]),
        )
        .await;
    let pasted = pasted.as_str().unwrap();
    for junk in ["mso-", "<o:p", "style=", "class=", "font-family", "[王芳1]", "批注", "file:///", "<span"] {
        assert!(!pasted.contains(junk), "pasting from Word keeps `{junk}`: {pasted}");
    }
    for kept in
        ["<table>", "<strong>关于做好冬季农村道路安全工作的通知</strong>", "<strong>请各村于十二月十日前完成排查。</strong>", "牛庄至西柳段", "各村民委员会"]
    {
        assert!(pasted.contains(kept), "pasting from Word lost `{kept}`: {pasted}");
    }
    editor.wait_text("张图片无法直接带过来").await;
    // WPS puts much the same on the clipboard, with properties of its own.
    let wps = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/wps-paste.html")).unwrap();
    let cleaned = editor.run("return window.zhanqunCleanPaste(arguments[0]).html;", json!([wps])).await;
    let cleaned = cleaned.as_str().unwrap();
    for junk in ["wps-", "mso-", "<font", "style=", "class=", "<o:p", "<span"] {
        assert!(!cleaned.contains(junk), "pasting from WPS keeps `{junk}`: {cleaned}");
    }
    for kept in ["<strong>牛庄镇秸秆综合利用实施方案</strong>", "<strong>农用优先、多元利用</strong>", "<table>", "东村", "1200"] {
        assert!(cleaned.contains(kept), "pasting from WPS lost `{kept}`: {cleaned}");
    }

    // A picture inline, a file attached, both with their progress bars.
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("路线图.png");
    tiny_png(&png);
    editor.choose_file("#image-input", &png).await;
    editor
        .wait_until("the picture to appear in the text", "return document.querySelector('#body-editor img[src*=\"/attachments/\"]') !== null;", json!([]))
        .await;
    let list = files.path().join("名单.pdf");
    std::fs::write(&list, b"%PDF-1.4\n% a test file, not a real list\n%%EOF\n").unwrap();
    editor.choose_file("#file-input", &list).await;
    editor.wait_until("the attachment to be listed", "return document.querySelector('#attachment-list').innerText.includes('名单.pdf');", json!([])).await;
    editor.run("document.querySelector('#disclosure').value = '依申请公开'; document.querySelector('#disclosure').dispatchEvent(new Event('change', {bubbles: true}));", json!([])).await;
    editor.fill("#disclosure_basis", "《政府信息公开条例》第十五条").await;
    editor.fill("#disclosure_reason", "涉及村民个人信息").await;
    shoot(&editor, "04-editor").await;
    // 1024×768 at 200 % zoom is a 512×384 viewport: one column, no
    // sideways scrolling.
    editor.resize(512, 384).await;
    editor.screenshot(&screens().join("04-editor-zoom200-512x384.png")).await;
    let overflow = editor.run("return document.documentElement.scrollWidth > window.innerWidth + 1;", json!([])).await;
    editor.resize(1024, 768).await;
    assert_eq!(overflow, json!(false), "at 200 % zoom the editor needs no sideways scrolling");
    editor.click_through("button[value=submit]").await;
    editor.wait_text("已保存").await;
    editor.wait_text("待审核").await;

    // --- The 政务公开审核员 sends it back: it should be 主动公开.
    let gongkai = driver.browser(1024, 768).await;
    log_in(&gongkai, &server, "nz-gongkai").await;
    gongkai.wait_text("关于做好冬季农村道路安全工作的通知").await;
    shoot(&gongkai, "05-home-disclosure-reviewer").await;
    gongkai.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    gongkai.wait_text("当前环节：政务公开审核").await;
    shoot(&gongkai, "06-review-document").await;
    gongkai.fill("#reason", "通知面向全体村民，应主动公开，请修改公开属性").await;
    gongkai.click_through("form[action$='/step/return'] button").await;
    gongkai.wait_text("等我审核").await;
    drop(gongkai);

    // --- The editor sees the 退文 with its reason, fixes it, resubmits.
    editor.goto(&server.url("/admin/")).await;
    editor.wait_text("退文理由：通知面向全体村民，应主动公开").await;
    shoot(&editor, "07-home-returned").await;
    editor.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    editor.find("#body-editor").await;
    editor.run("document.querySelector('#disclosure').value = '主动公开';", json!([])).await;
    editor.click_through("button[value=submit]").await;
    editor.wait_text("待审核").await;
    // The preview is the site's own page, and the revisions can be compared.
    editor.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}/preview"))).await;
    editor.wait_text("预览：这是发布后公众看到的页面").await;
    editor.wait_text("牛庄至西柳段").await;
    assert!(editor.text("footer").await.contains("网站标识码"), "the preview carries the site's own footer");
    shoot(&editor, "07b-preview").await;
    editor.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}/diff?from=1&to=2"))).await;
    editor.wait_text("第 1 版 → 第 2 版").await;
    assert!(editor.text("pre.diff").await.contains("牛庄至西柳段"), "the diff shows the pasted table arriving");

    // --- The reviewer approves and publishes.
    let reviewer = driver.browser(1024, 768).await;
    log_in(&reviewer, &server, "nz-reviewer").await;
    reviewer.goto(&server.url("/admin/sites/niuzhuang/review")).await;
    reviewer.wait_text("关于做好冬季农村道路安全工作的通知").await;
    shoot(&reviewer, "08-review-queue").await;
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    reviewer.click_through("form[action$='/step/approve'] button").await;
    // Scheduled for later first, then published at once after all.
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    reviewer.run("document.querySelector('#publish_at').value = '2030-01-02T09:00';", json!([])).await;
    reviewer.click_through("form[action$='/step/schedule'] button").await;
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    reviewer.wait_text("定时发布").await;
    reviewer.click_through("form[action$='/step/publish'] button").await;
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    reviewer.wait_text("已发布").await;
    let public_url = reviewer.run("return document.querySelector('a[href^=\"/sites/\"]').getAttribute('href');", json!([])).await;
    let public_url = public_url.as_str().unwrap().to_string();

    // --- The public page shows it, cleaned by the server as well.
    let page = client().get(server.url(&public_url)).send().await.unwrap();
    assert_eq!(page.status(), 200, "the published document's public page");
    let html = page.text().await.unwrap();
    assert!(html.contains("关于做好冬季农村道路安全工作的通知") && html.contains("牛庄至西柳段"), "public page lacks the text: {html}");
    assert!(!html.contains("mso-") && !html.contains("/admin/"), "public page carries Word junk or workbench links");
    assert!(html.contains("名单.pdf"), "the attachment is listed on the public page");
    let img = html.split("<img src=\"").nth(1).and_then(|s| s.split('"').next()).expect("the inline picture is on the public page");
    assert_eq!(client().get(server.url(img)).send().await.unwrap().status(), 200, "the inline picture {img} is public once the document is");
    reviewer.goto(&server.url(&public_url)).await;
    shoot(&reviewer, "09-public-page").await;
    // 有效性 of a published document.
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    reviewer.run("document.querySelector('#validity').value = '失效';", json!([])).await;
    reviewer.click_through("form[action$='/step/validity'] button").await;
    reviewer.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    assert!(reviewer.text("dl.meta").await.contains("失效"), "the 有效性 is shown as set");
    drop(reviewer);

    // --- An editor of another township sees none of it.
    let other = driver.browser(1024, 768).await;
    log_in(&other, &server, "xl-editor").await;
    assert!(!other.text("main").await.contains("冬季农村道路"), "another township's workbench lists the document");
    other.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    other.wait_text("不属于您工作的站点").await;
    assert!(!other.text("body").await.contains("冬季农村道路"));
    other.goto(&server.url("/admin/sites/niuzhuang/documents")).await;
    other.wait_text("不属于您工作的站点").await;
    drop(other);

    // --- The 系统管理员 sees no content.
    let admin = driver.browser(1024, 768).await;
    admin.goto(&server.url("/admin/")).await;
    admin.fill("#username", "admin").await;
    admin.fill("#password", common::ADMIN_PASSWORD).await;
    admin.click_through("button[type=submit]").await;
    admin.wait_text("不接触任何站点的内容").await;
    shoot(&admin, "10-home-platform-admin").await;
    assert!(!admin.text("main").await.contains("冬季农村道路"));
    admin.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    admin.wait_text("不属于您工作的站点").await;
    drop(admin);

    // --- A forged form without the CSRF token changes nothing.
    let cookie = editor.cookie("zq_session").await.expect("the editor's session cookie");
    assert_eq!(cookie["httpOnly"], json!(true), "the session cookie is HttpOnly: {cookie}");
    assert_eq!(cookie["sameSite"], json!("Strict"), "the session cookie is SameSite=Strict: {cookie}");
    let forged = client()
        .post(server.url(&format!("/admin/sites/niuzhuang/documents/{id}/step/withdraw")))
        .header("Cookie", format!("zq_session={}", cookie["value"].as_str().unwrap()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("reason=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a form without the CSRF token is refused");
    assert_eq!(client().get(server.url(&public_url)).send().await.unwrap().status(), 200, "the forged withdrawal changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_idles_out_loses_nothing_the_editor_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_demo(&dir).await;
    // The 安全管理员 sets the shortest idle timeout the policy allows.
    let security = server.security_token().await;
    let r = client()
        .put(server.url("/api/v1/settings/password-policy"))
        .bearer_auth(&security)
        .json(&json!({ "min_length": 10, "min_classes": 3, "max_failed_logins": 5, "lockout_minutes": 15, "idle_timeout_minutes": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "setting a 1-minute idle timeout: {:?}", r.text().await);

    let driver = Driver::start().await;
    let editor = driver.browser(1024, 768).await;
    log_in(&editor, &server, "nz-editor").await;
    editor.goto(&server.url("/admin/sites/niuzhuang/documents/new")).await;
    editor.fill("#title", "牛庄镇冬季供暖保障工作方案").await;
    editor.click_through("main button[type=submit]").await;
    let body = editor.find("#body-editor").await;
    let _ = body;
    let typed = "一、供暖时间为十一月一日至次年三月三十一日。二、各村设立供暖服务联系人。";
    editor.run("const ed = document.querySelector('#body-editor'); ed.focus(); document.execCommand('insertText', false, arguments[0]);", json!([typed])).await;
    let id = doc_id(&editor.url().await);

    // Nothing happens for longer than the idle timeout; then "save".
    tokio::time::sleep(Duration::from_secs(75)).await;
    editor.click_through("button[value=save]").await;
    editor.wait_text("登录已超时").await;
    shoot(&editor, "11-login-expired").await;
    editor.fill("#username", "nz-editor").await;
    editor.fill("#password", DEMO_PASSWORD).await;
    editor.click_through("button[type=submit]").await;

    // Back on the editor, which offers the text this browser kept.
    editor.wait_text("本浏览器保存着这篇文档一份未保存的内容").await;
    shoot(&editor, "12-editor-restore-offer").await;
    editor.click("[data-restore]").await;
    let shown = editor.text("#body-editor").await;
    assert!(shown.contains(typed), "the restored text is in the editor: {shown}");
    editor.click_through("button[value=save]").await;
    editor.wait_text("已保存").await;

    let token = common::login_at(&server.base, "nz-editor", DEMO_PASSWORD).await;
    let doc: Value =
        client().get(server.url(&format!("/api/v1/tenants/niuzhuang/documents/{id}"))).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert!(doc["body_html"].as_str().unwrap_or_default().contains("供暖服务联系人"), "the saved document holds the text typed before the timeout: {doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_saves_and_concurrent_edits_keep_what_was_typed_and_the_administrators_have_their_screens() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start_with_env(&dir.path().join("data"), common::free_port(), &["--demo", "--max-upload-mb", "1"], &[("ZHANQUN_DEMO_PASSWORD", DEMO_PASSWORD)])
            .await;
    let driver = Driver::start().await;

    // Keyboard only: Tab between the fields, Enter to log in.
    let a = driver.browser(1024, 768).await;
    a.goto(&server.url("/admin/")).await;
    a.fill("#username", &format!("nz-editor\u{E004}{DEMO_PASSWORD}\u{E007}")).await;
    a.wait_text("我的待办").await;

    a.goto(&server.url("/admin/sites/niuzhuang/documents/new")).await;
    a.fill("#title", "牛庄镇农村人居环境整治方案").await;
    a.click_through("main button[type=submit]").await;
    a.find("#body-editor").await;
    let id = doc_id(&a.url().await);

    // A 文号 that is not one: the refusal sits by the field, in Chinese,
    // and the title typed meanwhile is still there.
    a.fill("#title", "牛庄镇农村人居环境整治三年行动方案").await;
    a.fill("#doc_no", "随便写的").await;
    a.click_through("button[value=save]").await;
    a.wait_text("文号格式不正确").await;
    assert!(a.exists("#err-doc_no").await, "the refusal is shown next to the 文号 field");
    assert_eq!(a.run("return document.querySelector('#doc_no').getAttribute('aria-invalid');", json!([])).await, json!("true"));
    assert_eq!(a.run("return document.querySelector('#title').value;", json!([])).await, json!("牛庄镇农村人居环境整治三年行动方案"), "what was typed stays");
    shoot(&a, "13-editor-refused").await;
    a.fill("#doc_no", "牛政发〔2026〕9号").await;
    a.click_through("button[value=save]").await;
    a.wait_text("已保存").await;

    // Someone else saves first: the later save is refused with both versions.
    let b = driver.browser(1024, 768).await;
    log_in(&b, &server, "nz-editor").await;
    b.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    a.fill("#title", "标题甲：由第一个窗口修改").await;
    b.fill("#title", "标题乙：由第二个窗口先保存").await;
    b.click_through("button[value=save]").await;
    b.wait_text("已保存").await;
    a.click_through("button[value=save]").await;
    a.wait_text("其他人已修改并保存了这篇文档").await;
    let versions = a.text(".conflict").await;
    assert!(versions.contains("标题乙：由第二个窗口先保存") && versions.contains("标题甲：由第一个窗口修改"), "both versions are shown: {versions}");
    shoot(&a, "14-editor-conflict").await;
    let token = common::login_at(&server.base, "nz-editor", DEMO_PASSWORD).await;
    let stored = |token: String| {
        let url = server.url(&format!("/api/v1/tenants/niuzhuang/documents/{id}"));
        async move { client().get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap()["title"].clone() }
    };
    assert_eq!(stored(token.clone()).await, json!("标题乙：由第二个窗口先保存"), "the earlier save was not overwritten silently");
    // Having seen both, saving again is a decision, and it is taken.
    a.click_through("button[value=save]").await;
    a.wait_text("已保存").await;
    assert_eq!(stored(token).await, json!("标题甲：由第一个窗口修改"));
    drop(b);

    // A file over the limit is refused in the browser, before it is sent.
    let files = tempfile::tempdir().unwrap();
    let big = files.path().join("扫描件.pdf");
    std::fs::write(&big, vec![b'x'; 1024 * 1024 + 10]).unwrap();
    a.choose_file("#file-input", &big).await;
    a.wait_text("超过 1 MB 的上限，未上传").await;
    assert!(!a.text("#attachment-list").await.contains("扫描件.pdf"));
    // A file dropped on the zone is uploaded and listed.
    a.run(
        "const dt = new DataTransfer(); dt.items.add(new File(['会议纪要'], '会议纪要.txt', { type: 'text/plain' }));\
         document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
        json!([]),
    )
    .await;
    a.wait_until("the dropped file to be listed", "return document.querySelector('#attachment-list').innerText.includes('会议纪要.txt');", json!([])).await;
    // An earlier revision restored: its title comes back.
    a.goto(&server.url(&format!("/admin/sites/niuzhuang/documents/{id}"))).await;
    a.click_through("form[action$='/step/restore']:has(input[name=revision][value='2']) button").await;
    a.wait_text("已保存").await;
    assert_eq!(a.run("return document.querySelector('#title').value;", json!([])).await, json!("牛庄镇农村人居环境整治三年行动方案"));
    // And by the server in any case.
    let cookie = a.cookie("zq_session").await.unwrap()["value"].as_str().unwrap().to_string();
    let csrf = a.run("return document.querySelector('#editor-form').dataset.csrf;", json!([])).await;
    let form = reqwest::multipart::Form::new()
        .text("document_id", id.to_string())
        .part("file", reqwest::multipart::Part::bytes(vec![b'x'; 1024 * 1024 + 10]).file_name("扫描件.pdf"));
    let r = client()
        .post(server.url("/admin/sites/niuzhuang/attachments"))
        .header("Cookie", format!("zq_session={cookie}"))
        .header("X-CSRF-Token", csrf.as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "the server refuses an upload over the limit");
    drop(a);

    // The platform's three administrators each find their screen.
    let admin = driver.browser(1024, 768).await;
    for (user, password, screen, says) in [
        ("admin", common::ADMIN_PASSWORD, "/admin/platform/sites", "集群状态"),
        ("security", common::SECURITY_PASSWORD, "/admin/platform/accounts", "密码策略"),
        ("auditor", common::AUDITOR_PASSWORD, "/admin/platform/audit", "哈希链完整"),
    ] {
        admin.goto(&server.url("/admin/")).await;
        if admin.exists("form[action='/admin/logout'] button").await {
            admin.click_through("form[action='/admin/logout'] button").await;
        }
        admin.goto(&server.url("/admin/login")).await;
        admin.fill("#username", user).await;
        admin.fill("#password", password).await;
        admin.click_through("button[type=submit]").await;
        admin.wait_text("我的待办").await;
        admin.click_through(&format!("nav a[href='{screen}']")).await;
        admin.wait_text(says).await;
        shoot(&admin, &format!("15-platform-{user}")).await;
        if user == "admin" {
            admin.goto(&server.url("/admin/sites/niuzhuang/site")).await;
            admin.wait_text("栏目").await;
            shoot(&admin, "16-site-columns").await;
        }
    }
}
