//! Scheduled publication: on time on one node, and exactly once across a
//! forced leader change in a real three-node cluster (the leader process is
//! killed shortly before the scheduled time).

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::cluster::Cluster;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn call(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An approved document in `site`/`channel`, created through `base`.
async fn approved(base: &str, token: &str, site: &str, channel: &str, title: &str) -> i64 {
    let (status, doc) = call(
        base,
        token,
        Method::POST,
        &format!("/api/v1/tenants/{site}/documents"),
        Some(json!({ "channel": channel, "title": title, "disclosure": "主动公开" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let id = doc["id"].as_i64().unwrap();
    for step in ["submit", "approve"] {
        let (status, body) = call(base, token, Method::POST, &format!("/api/v1/tenants/{site}/documents/{id}/{step}"), None).await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    id
}

/// Polls until the document is published; returns it.
async fn wait_published(base: &str, token: &str, site: &str, id: i64, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = client().get(format!("{base}/api/v1/tenants/{site}/documents/{id}")).bearer_auth(token).send().await
            && let Ok(doc) = r.json::<Value>().await
            && doc["state"] == "published"
        {
            return doc;
        }
        assert!(Instant::now() < deadline, "document {id} was not published within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn successful_publications(base: &str, token: &str, site: &str, id: i64) -> usize {
    let (_, trail) = call(base, token, Method::GET, &format!("/api/v1/tenants/{site}/documents/{id}/audit"), None).await;
    trail["items"].as_array().unwrap().iter().filter(|e| e["action"] == "publish_document" && e["result"] == "ok").count()
}

#[tokio::test]
async fn a_scheduled_document_is_published_and_withdrawn_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let admin = server.admin_token().await;
    let (status, _) = call(
        &server.base,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "sch", "name": "定时镇", "kind": "township", "organ_code": "SCH", "lifecycle": "online" })),
    )
    .await;
    assert_eq!(status, 201);
    call(&server.base, &admin, Method::POST, "/api/v1/tenants/sch/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    let token = server.staff_token(&["sch"]).await;
    let id = approved(&server.base, &token, "sch", "tzgg", "定时镇关于元旦期间值班安排的通知").await;
    let path = format!("/api/v1/tenants/sch/documents/{id}/schedule");

    // The past, a withdrawal before the publication, a bad time: refused.
    let (status, body) = call(&server.base, &token, Method::POST, &path, Some(json!({ "publish_at": now_ms() - 1000 }))).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "in_the_past"), "{body}");
    let (status, body) = call(&server.base, &token, Method::POST, &path, Some(json!({ "publish_at": "2026-13-01 09:00" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "invalid_time"), "{body}");
    let at = now_ms() + 2_000;
    let (status, body) = call(&server.base, &token, Method::POST, &path, Some(json!({ "publish_at": at, "unpublish_at": at - 500 }))).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "invalid_schedule"), "{body}");

    let (status, body) = call(&server.base, &token, Method::POST, &path, Some(json!({ "publish_at": at, "unpublish_at": at + 3_000 }))).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("scheduled")), "{body}");
    assert_eq!(page(&server, None, &format!("/sites/sch/art/{id}.html")).await.0, 404, "not before its time");

    let doc = wait_published(&server.base, &token, "sch", id, Duration::from_secs(8)).await;
    let published_at = doc["published_at"].as_i64().unwrap();
    eprintln!("published {} ms after its time", published_at - at);
    assert!(published_at >= at && published_at - at <= 5_000, "published at {published_at}, scheduled {at}");
    assert_eq!(page(&server, None, &format!("/sites/sch/art/{id}.html")).await.0, 200);

    // And withdrawn at unpublish_at.
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&server.base, &token, Method::GET, &format!("/api/v1/tenants/sch/documents/{id}"), None).await.1["state"] != "withdrawn" {
        assert!(Instant::now() < deadline, "not withdrawn at unpublish_at");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(now_ms() - (at + 3_000) <= 5_000 + 1_000);
    let auditor = server.auditor_token().await;
    assert_eq!(successful_publications(&server.base, &auditor, "sch", id).await, 1);
}

#[tokio::test]
async fn a_scheduled_publish_happens_once_across_a_leader_change() {
    let mut cluster = Cluster::start(3, false, &[]).await;
    let leader = cluster.wait_leader(Duration::from_secs(30)).await;
    let admin = cluster.admin_token(leader).await;
    let token = cluster.create_site(leader, &admin, "sched").await;
    let base = cluster.base(leader);
    let id = approved(&base, &token, "sched", "news", "定时发布跨越领导者更替").await;
    let at = now_ms() + 4_000;
    let (status, body) = call(&base, &token, Method::POST, &format!("/api/v1/tenants/sched/documents/{id}/schedule"), Some(json!({ "publish_at": at }))).await;
    assert_eq!(status, 200, "{body}");

    // The leader that accepted the schedule dies 2.5 s before the time (an
    // election here takes 1–3 s); the node that takes over must do it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    cluster.node(leader).kill();
    let new_leader = cluster.wait_leader(Duration::from_secs(15)).await;
    assert_ne!(new_leader, leader);
    let survivor = cluster.base(new_leader);
    let token = common::login_at(&survivor, "sched-staff", common::STAFF_PASSWORD).await;
    let doc = wait_published(&survivor, &token, "sched", id, Duration::from_secs(15)).await;
    let published_at = doc["published_at"].as_i64().unwrap();
    eprintln!("published {} ms after its time, by node {new_leader} (old leader {leader} killed)", published_at - at);
    assert!(published_at >= at, "published before its time");
    assert!(published_at - at <= 5_000, "published {} ms late", published_at - at);

    // Exactly once, seen from every surviving node, also after the old
    // leader comes back.
    cluster.node(leader).spawn();
    cluster.wait_converged(Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, session) = call(&survivor, "", Method::POST, "/api/v1/session", Some(json!({ "username": "auditor", "password": common::AUDITOR_PASSWORD }))).await;
    let auditor = session["token"].as_str().unwrap().to_string();
    for node in 1..=3 {
        assert_eq!(successful_publications(&cluster.base(node), &auditor, "sched", id).await, 1, "node {node}");
    }
}
