//! Search through a real `zhanqun serve --demo`: the index follows what the
//! node applies, 文号 in any spelling, tenant scope, odd queries.
//! (The public search page and the portal's facets are still to come.)

mod common;

use std::time::{Duration, Instant};

use common::{Server, api, error_code, login};
use reqwest::Method;
use serde_json::{Value, json};

async fn search(server: &Server, token: &str, query: &str) -> (u16, Value) {
    let url = format!("/api/v1/search?{}", serde_urlencoded_pair("q", query));
    let (status, _, body) = api(server, token, Method::GET, &url, None).await;
    (status, body)
}

fn serde_urlencoded_pair(k: &str, v: &str) -> String {
    let mut out = format!("{k}=");
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn titles(body: &Value) -> Vec<String> {
    body["hits"].as_array().unwrap().iter().map(|h| h["title_html"].as_str().unwrap().replace("<em>", "").replace("</em>", "")).collect()
}

#[tokio::test]
async fn search_follows_the_log_and_stays_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo"]).await;
    let token = server.admin_token().await;

    // The demo's notice, by its 文号 in three spellings, first every time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = search(&server, &token, "海政办发〔2017〕37号").await;
        assert_eq!(status, 200, "{body}");
        if body["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the demo never became searchable");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for q in ["海政办发〔2017〕37号", "海政办发[2017]37号", "海政办发(2017)37号"] {
        let (_, body) = search(&server, &token, q).await;
        assert!(titles(&body)[0].contains("政务公开"), "{q}: {body}");
    }

    // A document published now is searchable within a second.
    let (status, _, doc) = api(
        &server,
        &token,
        Method::POST,
        "/api/v1/tenants/niuzhuang/documents",
        Some(json!({ "channel": "tzgg", "title": "牛庄镇秸秆禁烧工作通告", "body_html": "<p>全镇范围内严禁露天焚烧秸秆。</p>" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let published = Instant::now();
    let seen = loop {
        let (_, body) = search(&server, &token, "秸秆禁烧").await;
        if titles(&body).iter().any(|t| t.contains("秸秆禁烧")) {
            break published.elapsed();
        }
        assert!(published.elapsed() < Duration::from_secs(1), "not searchable within 1 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("searchable {} ms after the write was acknowledged", seen.as_millis());

    // An editor of 西柳镇 finds only 西柳镇's documents, and may not search 牛庄镇.
    let (status, _, _) = api(
        &server,
        &token,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "xiliu-editor", "password": "Xiliu-Editor-1", "roles": [{ "tenant": "xiliu", "role": "editor" }] })),
    )
    .await;
    assert_eq!(status, 201);
    let editor = login(&server, "xiliu-editor", "Xiliu-Editor-1").await;
    let (status, body) = search(&server, &editor, "秸秆禁烧").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 0, "another township's document leaked: {body}");
    let (_, body) = search(&server, &editor, "西柳").await;
    assert!(body["hits"].as_array().unwrap().iter().all(|h| h["tenant"] == "xiliu"), "{body}");
    let (status, _, body) = api(&server, &editor, Method::GET, "/api/v1/search?q=x&tenant=niuzhuang", None).await;
    assert_eq!(status, 403, "{body}");

    // Odd queries: a clear 400 for the too-long one, 200 for the rest.
    let long = "政".repeat(2000);
    let (status, body) = search(&server, &token, &long).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "bad_query");
    for q in ["", "AND OR", "\"政务", "😀", "\u{1}\u{2}", "((("] {
        let (status, body) = search(&server, &token, q).await;
        assert_eq!(status, 200, "{q:?}: {body}");
    }
}
