//! Promises kept through a real server that no test held before: one site's
//! people reach nothing of another site — its workflow steps, revisions,
//! audit lines, attachments and annual report, nor its ids given inside
//! their own site's documents; a session ends at logout and at its expiry;
//! SIGTERM lets requests in flight finish.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const SECRET_TITLE: &str = "北园镇尚未公开的干部任免草稿";

#[tokio::test]
async fn one_sites_people_reach_nothing_of_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let admin = server.admin_token().await;
    for (code, name) in [("nanyuan", "南园镇人民政府"), ("beiyuan", "北园镇人民政府")] {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" });
        assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
        assert_eq!(
            api(&server, &admin, Method::POST, &format!("/api/v1/tenants/{code}/channels"), Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await.0,
            201
        );
    }
    // 北园镇's office: a draft with two revisions, submitted, with an attachment.
    let north = site_account(&server.base, "beiyuan-web", &[("beiyuan", "admin")]).await;
    let (status, _, doc) = api(
        &server,
        &north,
        Method::POST,
        "/api/v1/tenants/beiyuan/documents",
        Some(json!({ "channel": "tzgg", "title": SECRET_TITLE, "body_html": "<p>第一稿</p>", "disclosure": "主动公开" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let id = doc["id"].as_i64().unwrap();
    let north_doc = format!("/api/v1/tenants/beiyuan/documents/{id}");
    assert_eq!(api(&server, &north, Method::PATCH, &north_doc, Some(json!({ "body_html": "<p>第二稿</p>" }))).await.0, 200);
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 north".to_vec()).file_name("名单.pdf");
    let form = reqwest::multipart::Form::new().text("document_id", id.to_string()).part("file", part);
    let r = client().post(server.url("/api/v1/tenants/beiyuan/attachments")).bearer_auth(&north).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let attachment = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(api(&server, &north, Method::POST, &format!("{north_doc}/submit"), None).await.0, 200);

    // 南园镇's site admin holds every role there, and none in 北园镇.
    let south = site_account(&server.base, "nanyuan-web", &[("nanyuan", "admin")]).await;
    let south_doc = format!("/api/v1/tenants/nanyuan/documents/{id}");
    let mut tries: Vec<(Method, String, Option<Value>)> = Vec::new();
    for base in [&north_doc, &south_doc] {
        for step in ["submit", "approve", "publish", "withdraw"] {
            tries.push((Method::POST, format!("{base}/{step}"), None));
        }
        tries.push((Method::POST, format!("{base}/return"), Some(json!({ "reason": "越权退文" }))));
        tries.push((Method::POST, format!("{base}/secrecy-review"), Some(json!({ "passed": true, "conclusion": "越权" }))));
        tries.push((Method::POST, format!("{base}/validity"), Some(json!({ "validity": "失效" }))));
        tries.push((Method::POST, format!("{base}/schedule"), Some(json!({ "publish_at": "2030-01-01 09:00" }))));
        tries.push((Method::GET, base.clone(), None));
        tries.push((Method::PATCH, base.clone(), Some(json!({ "title": "越权修改" }))));
        tries.push((Method::GET, format!("{base}/revisions"), None));
        tries.push((Method::GET, format!("{base}/revisions/1"), None));
        tries.push((Method::GET, format!("{base}/revisions/2/diff"), None));
        tries.push((Method::POST, format!("{base}/revisions/1/restore"), None));
        tries.push((Method::GET, format!("{base}/audit"), None));
    }
    tries.push((Method::GET, format!("/api/v1/tenants/beiyuan/attachments/{attachment}"), None));
    tries.push((Method::GET, format!("/api/v1/tenants/nanyuan/attachments/{attachment}"), None));
    tries.push((Method::GET, "/api/v1/tenants/beiyuan/self-inspection?year=2026".into(), None));
    tries.push((Method::GET, "/api/v1/tenants/beiyuan/documents".into(), None));
    tries.push((Method::GET, "/api/v1/search?q=%E5%B9%B2%E9%83%A8%E4%BB%BB%E5%85%8D&site=beiyuan".into(), None));
    for (method, path, body) in tries {
        let (status, _, answer) = api(&server, &south, method.clone(), &path, body).await;
        assert!(status == 403 || status == 404, "{method} {path}: {status} {answer}");
        assert!(!answer.to_string().contains(SECRET_TITLE), "{method} {path} showed the other site's draft: {answer}");
    }
    // Nor through ids of 北园镇 inside 南园镇's own documents.
    let (status, _, interp) = api(
        &server,
        &south,
        Method::POST,
        "/api/v1/tenants/nanyuan/documents",
        Some(json!({ "channel": "tzgg", "title": "解读", "interprets": id, "interpretation_kind": "文字解读" })),
    )
    .await;
    assert_eq!((status, error_code(&interp).as_str()), (404, "unknown_policy"), "{interp}");
    let (status, _, own) = api(
        &server,
        &south,
        Method::POST,
        "/api/v1/tenants/nanyuan/documents",
        Some(json!({ "channel": "tzgg", "title": "南园镇的通知", "disclosure": "主动公开" })),
    )
    .await;
    assert_eq!(status, 201);
    let own_id = own["id"].as_i64().unwrap();
    let (status, _, body) =
        api(&server, &south, Method::PATCH, &format!("/api/v1/tenants/nanyuan/documents/{own_id}"), Some(json!({ "attachment_ids": [attachment] }))).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unknown_attachment"), "{body}");
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 south".to_vec()).file_name("附件.pdf");
    let form = reqwest::multipart::Form::new().text("document_id", id.to_string()).part("file", part);
    let r = client().post(server.url("/api/v1/tenants/nanyuan/attachments")).bearer_auth(&south).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 404, "an attachment for another site's document");
    let (status, _, _) = review_and_publish(&server.base, &south, "nanyuan", own_id).await;
    assert_eq!(status, 200);
    let (status, _, body) = api(
        &server,
        &south,
        Method::POST,
        &format!("/api/v1/tenants/nanyuan/documents/{own_id}/validity"),
        Some(json!({ "validity": "修订", "replaced_by": id })),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unknown_document"), "{body}");

    // 北园镇's document is as its office left it, and its trail shows no step by 南园镇.
    let (_, _, after) = api(&server, &north, Method::GET, &north_doc, None).await;
    assert_eq!((after["title"].as_str(), after["state"].as_str(), after["body_html"].as_str()), (Some(SECRET_TITLE), Some("submitted"), Some("<p>第二稿</p>")));
    let (_, _, trail) = api(&server, &north, Method::GET, &format!("{north_doc}/audit"), None).await;
    let lines = trail["items"].as_array().unwrap();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["submit_document", "update_document", "create_document"], "{trail}");
    assert!(lines.iter().all(|l| l["actor"] == lines[0]["actor"] && l["result"] == "ok"), "{trail}");
}

#[tokio::test]
async fn a_session_ends_at_logout_and_at_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &["--session-ttl-secs", "3"]).await;
    let token = server.admin_token().await;
    assert_eq!(api(&server, &token, Method::GET, "/api/v1/tenants", None).await.0, 200);
    let (status, _, _) = api(&server, &token, Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, 200);
    let (status, _, body) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthenticated"), "logged out");
    let token = server.admin_token().await;
    assert_eq!(api(&server, &token, Method::GET, "/api/v1/tenants", None).await.0, 200);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (status, _, body) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(status, 401, "expired: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("node"), &[]).await;
    // A login whose body is half sent when the signal comes.
    let body = format!("{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let (first, rest) = body.split_at(10);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(conn, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}", body.len()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    std::thread::sleep(Duration::from_millis(500));
    // No new connections once stopping...
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(), "the node still accepts connections after SIGTERM");
    // ... but the request in flight is answered.
    conn.write_all(rest.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");
    // Then the process ends, cleanly.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the node did not stop within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status}");
    assert!(server.log().contains("shutting down"), "{}", server.log());
}
