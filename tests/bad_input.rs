//! Bad input gets a clear 4xx with `{"error":{"code","message"}}` (or a
//! friendly page on the public side) and changes nothing.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn document_count(server: &Server, token: &str) -> i64 {
    let (_, _, body) = api(server, token, Method::GET, "/api/v1/tenants/bad/documents", None).await;
    body["total"].as_i64().unwrap()
}

#[tokio::test]
async fn bad_requests_are_refused_clearly_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &["--max-upload-mb", "1"]).await;
    let admin = server.admin_token().await;
    let security = server.security_token().await;
    api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "bad", "name": "输入测试镇", "kind": "township", "organ_code": "BAD", "lifecycle": "online" })),
    )
    .await;
    api(&server, &admin, Method::POST, "/api/v1/tenants/bad/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    let token = server.staff_token(&["bad"]).await;
    let (_, _, tenants_before) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    let docs_before = document_count(&server, &token).await;

    let c = client();
    let docs = server.url("/api/v1/tenants/bad/documents");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("malformed JSON", c.post(&docs).bearer_auth(&token).header("content-type", "application/json").body("{\"title\": "), 400, "malformed_json"),
        ("missing title", c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg" })), 422, "invalid_field"),
        ("wrong type", c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": 5 })), 422, "invalid_field"),
        ("unknown channel", c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "nope", "title": "x" })), 404, "unknown_channel"),
        (
            "unknown tenant",
            c.post(server.url("/api/v1/tenants/nope/documents")).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x" })),
            404,
            "unknown_tenant",
        ),
        ("path in tenant code", c.get(server.url("/api/v1/tenants/..%2F..%2Fetc%2Fpasswd/documents")).bearer_auth(&token), 404, "unknown_tenant"),
        ("odd 文号", c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x", "doc_no": "海政<b>发2017-37" })), 422, "invalid_doc_no"),
        (
            "impossible date",
            c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x", "written_date": "2017-02-30" })),
            422,
            "invalid_date",
        ),
        (
            "non-public without reason",
            c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x", "disclosure": "不予公开" })),
            422,
            "disclosure_reason_required",
        ),
        ("unknown 公开属性", c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x", "disclosure": "半公开" })), 422, "invalid_field"),
        (
            "JSON over 2 MiB",
            c.post(&docs).bearer_auth(&token).json(&json!({ "channel": "tzgg", "title": "x", "body_html": "字".repeat(800_000) })),
            413,
            "too_large",
        ),
        ("no token", c.post(&docs).json(&json!({ "channel": "tzgg", "title": "x" })), 401, "unauthenticated"),
        ("forged token", c.post(&docs).bearer_auth("0".repeat(64)).json(&json!({ "channel": "tzgg", "title": "x" })), 401, "unauthenticated"),
        (
            "tenant code with odd characters",
            c.post(server.url("/api/v1/tenants"))
                .bearer_auth(&admin)
                .json(&json!({ "code": "../../etc/passwd", "name": "x", "kind": "township", "organ_code": "X" })),
            422,
            "invalid_code",
        ),
        (
            "duplicate tenant code",
            c.post(server.url("/api/v1/tenants")).bearer_auth(&admin).json(&json!({ "code": "bad", "name": "x", "kind": "township", "organ_code": "X" })),
            409,
            "duplicate_code",
        ),
        (
            "reserved tenant code",
            c.post(server.url("/api/v1/tenants")).bearer_auth(&admin).json(&json!({ "code": "sites", "name": "x", "kind": "township", "organ_code": "X" })),
            422,
            "reserved_code",
        ),
        (
            "weak password",
            c.post(server.url("/api/v1/users")).bearer_auth(&security).json(&json!({ "username": "weak", "password": "123456" })),
            422,
            "weak_password",
        ),
        ("wrong password", c.post(server.url("/api/v1/session")).json(&json!({ "username": "admin", "password": "wrong" })), 401, "unauthenticated"),
        ("unknown user", c.post(server.url("/api/v1/session")).json(&json!({ "username": "nobody", "password": "wrong" })), 401, "unauthenticated"),
    ];
    for (what, req, status, code) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
        assert_eq!(error_code(&body), code, "{what}: {body}");
    }

    // An attachment over the (here 1 MiB) limit.
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(vec![7u8; 1_600_000]).file_name("big.bin"));
    let r = c.post(server.url("/api/v1/tenants/bad/attachments")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(&r.json().await.unwrap()), "too_large");
    // A path as a file name keeps only its last part.
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("../../etc/passwd"));
    let r = c.post(server.url("/api/v1/tenants/bad/attachments")).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["file_name"], "passwd");

    // Public side: friendly pages, never a stack trace.
    for path in [
        "/../../etc/passwd",
        "/sites/bad/../../etc/passwd",
        "/sites/bad/art/99999.html",
        "/sites/bad/col/nope/",
        "/sites/nope/",
        "/sites/bad/art/%2e%2e%2fetc.html",
    ] {
        let (status, body) = page(&server, None, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("页面不存在"), "{path}: {body}");
    }

    // Nothing changed.
    let (_, _, tenants_after) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(tenants_before, tenants_after);
    assert_eq!(document_count(&server, &token).await, docs_before);
}
