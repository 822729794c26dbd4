//! The README's curl walk-through, step by step, against a real
//! `zhanqun serve` process: log in, create a site, a channel, a document and
//! its attachment, publish, see it public, withdraw, see it gone.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn publish_a_first_document_and_withdraw_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let admin = server.admin_token().await;

    // The 系统管理员 opens a township site, online, with its footer registrations.
    let (status, headers, tenant) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({
            "code": "shifan", "name": "示范镇人民政府", "kind": "township", "organ_code": "DEMO001",
            "hosts": ["shifan.example.gov.cn"], "lifecycle": "online", "site_id_code": "2103810099",
            "icp": "辽ICP备11014897号-1", "police_record": "辽公网安备 21038102000999号", "mailbox": "shifan@example.gov.cn"
        })),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    assert!(headers.get("x-zhanqun-index").is_some(), "writes carry the applied index");

    let (status, _, channel) = api(&server, &admin, Method::POST, "/api/v1/tenants/shifan/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    assert_eq!(status, 201, "{channel}");

    // ... but writes nothing in it (least privilege): the 安全管理员 makes
    // the site's own account, which does the content work.
    let (status, _, refused) = api(&server, &admin, Method::POST, "/api/v1/tenants/shifan/documents", Some(json!({ "channel": "tzgg", "title": "x" }))).await;
    assert_eq!((status, error_code(&refused).as_str()), (403, "forbidden"));
    let security = server.security_token().await;
    let (status, _, user) = api(
        &server,
        &security,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "shifan-web", "password": "Shifan-Start-2026", "roles": [{ "tenant": "shifan", "role": "admin" }] })),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    // The 安全管理员 knows that password, so the owner changes it before
    // anything else: until then every request is refused.
    let token = login(&server, "shifan-web", "Shifan-Start-2026").await;
    let (status, _, refused) = api(&server, &token, Method::GET, "/api/v1/tenants/shifan/documents", None).await;
    assert_eq!((status, error_code(&refused).as_str()), (403, "password_change_required"));
    let (status, _, changed) = api(
        &server,
        &token,
        Method::PUT,
        "/api/v1/session/password",
        Some(json!({ "current_password": "Shifan-Start-2026", "new_password": "Winter-Heat-2026" })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");

    // Body HTML with a script and an event handler: both stripped, text kept.
    let (status, _, doc) = api(
        &server,
        &token,
        Method::POST,
        "/api/v1/tenants/shifan/documents",
        Some(json!({
            "channel": "tzgg", "title": "示范镇关于做好冬季供暖工作的通知",
            "body_html": "<p>各村：请做好供暖保障。</p><script>alert(1)</script><img src=\"x.png\" alt=\"供暖示意图\" onerror=\"alert(2)\">",
            "doc_no": "示政发[2026]5号", "written_date": "2026-11-20", "topic": "城乡建设"
        })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(doc["state"], "draft");
    assert_eq!(doc["meta"]["doc_no"], "示政发〔2026〕5号", "文号 stored in its standard form");
    assert_eq!(doc["meta"]["index_no"], "DEMO001/2026-00001");
    let body = doc["body_html"].as_str().unwrap();
    assert!(body.contains("请做好供暖保障") && !body.contains("<script") && !body.contains("onerror"), "{body}");
    let id = doc["id"].as_i64().unwrap();
    let url = doc["url"].as_str().unwrap().to_string();

    // Not public while a draft.
    assert_eq!(page(&server, None, &url).await.0, 404);

    // An attachment with a Chinese name, linked to the document.
    let form = reqwest::multipart::Form::new()
        .text("document_id", id.to_string())
        .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 demo".to_vec()).file_name("供暖保障名单.pdf"));
    let r = client().post(server.url("/api/v1/tenants/shifan/attachments")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let att: serde_json::Value = r.json().await.unwrap();
    assert_eq!(att["content_type"], "application/pdf");

    let (status, headers, published) = review_and_publish(&server.base, &token, "shifan", id).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["state"], "published");
    let index: u64 = headers["x-zhanqun-index"].to_str().unwrap().parse().unwrap();
    assert!(index > 0);

    // Public, with its metadata, by /sites/<code>/ and by Host.
    let (status, html) = page(&server, None, &url).await;
    assert_eq!(status, 200);
    for needle in [
        "示范镇关于做好冬季供暖工作的通知",
        "示政发〔2026〕5号",
        "DEMO001/2026-00001",
        "供暖保障名单.pdf",
        "辽公网安备 21038102000999号",
        "<meta name=\"SiteIDCode\" content=\"2103810099\">",
        "我为政府网站找错",
    ] {
        assert!(html.contains(needle), "document page lacks {needle}");
    }
    assert!(!html.contains("alert("), "sanitized body stays sanitized");
    let (status, home) = page(&server, Some("shifan.example.gov.cn"), "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("示范镇关于做好冬季供暖工作的通知"));

    // The attachment downloads with its type, Chinese name and ETag.
    let att_url = format!("/sites/shifan/att/{}", att["id"]);
    let r = client().get(server.url(&att_url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.contains("filename*=UTF-8''%E4%BE%9B%E6%9A%96"), "{disposition}");
    let etag = r.headers()["etag"].clone();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.4 demo");
    let r = client().get(server.url(&att_url)).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(r.status(), 304);

    // Pages carry an ETag and honour If-None-Match.
    let r = client().get(server.url(&url)).send().await.unwrap();
    let etag = r.headers()["etag"].clone();
    let r = client().get(server.url(&url)).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(r.status(), 304);

    // A reader who accepts compression gets the same page compressed, with
    // its own tag, which it can revalidate.
    let plain = page(&server, None, &url).await.1;
    for (accept, coding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.8", "gzip")] {
        let r = client().get(server.url(&url)).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], coding, "Accept-Encoding: {accept}");
        assert!(r.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("accept-encoding")));
        let etag = r.headers()["etag"].clone();
        let sent = r.bytes().await.unwrap();
        let mut decoded = Vec::new();
        if coding == "br" {
            brotli::BrotliDecompress(&mut &sent[..], &mut decoded).unwrap();
        } else {
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&sent[..]), &mut decoded).unwrap();
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), plain, "the {coding} page decodes to the page");
        assert!(sent.len() * 2 < plain.len(), "{coding}: {} bytes of {}", sent.len(), plain.len());
        let r = client().get(server.url(&url)).header("accept-encoding", accept).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(r.status(), 304);
    }

    // Withdrawn: gone from the page, the list, the feed and the file.
    let (status, _, _) = api(&server, &token, Method::POST, &format!("/api/v1/tenants/shifan/documents/{id}/withdraw"), None).await;
    assert_eq!(status, 200);
    assert_eq!(page(&server, None, &url).await.0, 404);
    assert!(!page(&server, None, "/sites/shifan/col/tzgg/").await.1.contains("冬季供暖"));
    assert!(!page(&server, None, "/sites/shifan/col/tzgg/rss.xml").await.1.contains("冬季供暖"));
    assert_eq!(page(&server, None, &att_url).await.0, 404);
}

#[tokio::test]
async fn an_editor_of_one_site_cannot_touch_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let token = server.admin_token().await;
    for code in ["town-a", "town-b"] {
        let (status, _, _) = api(
            &server,
            &token,
            Method::POST,
            "/api/v1/tenants",
            Some(json!({ "code": code, "name": format!("{code}镇"), "kind": "township", "organ_code": code.to_uppercase() })),
        )
        .await;
        assert_eq!(status, 201);
        let (status, _, _) =
            api(&server, &token, Method::POST, &format!("/api/v1/tenants/{code}/channels"), Some(json!({ "slug": "gzdt", "name": "工作动态" }))).await;
        assert_eq!(status, 201);
    }
    let staff_b = server.staff_token(&["town-b"]).await;
    let (_, _, draft_b) =
        api(&server, &staff_b, Method::POST, "/api/v1/tenants/town-b/documents", Some(json!({ "channel": "gzdt", "title": "乙镇草稿" }))).await;
    let security = server.security_token().await;
    let (status, _, user) = api(
        &server,
        &security,
        Method::POST,
        "/api/v1/users",
        Some(json!({
            "username": "editor-a", "password": common::INITIAL_PASSWORD, "roles": [{ "tenant": "town-a", "role": "editor" }]
        })),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert!(user.get("password_hash").is_none(), "hashes never leave the server");

    let editor = common::first_login(&server.base, "editor-a", common::INITIAL_PASSWORD).await;
    let (status, _, _) = api(&server, &editor, Method::POST, "/api/v1/tenants/town-a/documents", Some(json!({ "channel": "gzdt", "title": "甲镇动态" }))).await;
    assert_eq!(status, 201, "an editor writes in their own site");
    for (method, path, body) in [
        (Method::GET, "/api/v1/tenants/town-b/documents".to_string(), None),
        (Method::GET, format!("/api/v1/tenants/town-b/documents/{}", draft_b["id"]), None),
        (Method::POST, "/api/v1/tenants/town-b/documents".to_string(), Some(json!({ "channel": "gzdt", "title": "越权" }))),
        (Method::PATCH, format!("/api/v1/tenants/town-b/documents/{}", draft_b["id"]), Some(json!({ "title": "越权" }))),
        (Method::POST, format!("/api/v1/tenants/town-b/documents/{}/publish", draft_b["id"]), None),
        (Method::POST, "/api/v1/tenants".to_string(), Some(json!({ "code": "town-c", "name": "丙镇", "kind": "township", "organ_code": "C" }))),
        (Method::GET, "/api/v1/users".to_string(), None),
    ] {
        let (status, _, body) = api(&server, &editor, method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(error_code(&body), "forbidden");
    }
    // An editor may not publish, even in their own site.
    let (_, _, own) = api(&server, &editor, Method::GET, "/api/v1/tenants/town-a/documents", None).await;
    let own_id = own["items"][0]["id"].as_i64().unwrap();
    let (status, _, _) = api(&server, &editor, Method::POST, &format!("/api/v1/tenants/town-a/documents/{own_id}/publish"), None).await;
    assert_eq!(status, 403);
    // The draft of town-b is untouched.
    let (_, _, still) = api(&server, &staff_b, Method::GET, &format!("/api/v1/tenants/town-b/documents/{}", draft_b["id"]), None).await;
    assert_eq!(still["title"], "乙镇草稿");
    assert_eq!(still["state"], "draft");
    // The editor's list of sites shows only their own.
    let (_, _, sites) = api(&server, &editor, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(sites["items"].as_array().unwrap().len(), 1);
}
