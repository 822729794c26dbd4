//! `kill -9` in the middle of a stream of writes (4 writers sending 125 each,
//! one after another), then a restart: every acknowledged write is there,
//! exactly once, and nothing nobody wrote.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use common::*;
use reqwest::Method;
use serde_json::json;

const WRITERS: usize = 4;
const PER_WRITER: usize = 125;

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let mut server = Server::start(&data, &[]).await;
    let admin = server.admin_token().await;
    api(&server, &admin, Method::POST, "/api/v1/tenants", Some(json!({ "code": "crash", "name": "崩溃测试镇", "kind": "township", "organ_code": "CRASH" })))
        .await;
    api(&server, &admin, Method::POST, "/api/v1/tenants/crash/channels", Some(json!({ "slug": "gzdt", "name": "工作动态" }))).await;
    let token = server.staff_token(&["crash"]).await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let attempted: Arc<Mutex<HashSet<String>>> = Arc::default();
    // Why each writer stopped, if it did before the kill.
    let stopped: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (base, token, acked, attempted, stopped) = (server.base.clone(), token.clone(), acked.clone(), attempted.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            for n in 0..PER_WRITER {
                let title = format!("写入-{w}-{n}");
                attempted.lock().unwrap().insert(title.clone());
                let r = c
                    .post(format!("{base}/api/v1/tenants/crash/documents"))
                    .bearer_auth(&token)
                    .json(&json!({ "channel": "gzdt", "title": title }))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(title),
                    // The server died under us (or refused): stop this writer.
                    Ok(r) => {
                        let why = format!("writer {w}: {} {}", r.status(), r.text().await.unwrap_or_default());
                        return stopped.lock().unwrap().push(why);
                    }
                    Err(e) => return stopped.lock().unwrap().push(format!("writer {w}: {e}")),
                }
            }
        }));
    }
    // Kill once a good part of the stream is acknowledged, mid-flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let n = acked.lock().unwrap().len();
        if n >= 150 {
            break;
        }
        let why = stopped.lock().unwrap().clone();
        assert!(
            std::time::Instant::now() < deadline && tasks.iter().any(|t| !t.is_finished()),
            "waiting for 150 acknowledged writes before the kill: {n} so far; writers that stopped: {why:?}"
        );
    }
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(acked.len() >= 150 && acked.len() < WRITERS * PER_WRITER, "the kill landed mid-stream ({} acknowledged)", acked.len());

    let server = Server::start(&data, &[]).await;
    let token = login(&server, "staff", STAFF_PASSWORD).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut page_no = 1;
    loop {
        let (status, _, body) = api(&server, &token, Method::GET, &format!("/api/v1/tenants/crash/documents?per_page=200&page={page_no}"), None).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        for d in items {
            *seen.entry(d["title"].as_str().unwrap().to_string()).or_default() += 1;
        }
        page_no += 1;
    }
    for title in &acked {
        assert_eq!(seen.get(title), Some(&1), "acknowledged write {title} must be present exactly once");
    }
    for (title, count) in &seen {
        assert_eq!(*count, 1, "{title} appears {count} times");
        assert!(attempted.contains(title), "{title} was never written by anyone");
    }
    // And the store keeps accepting writes after recovery.
    let (status, _, _) = api(&server, &token, Method::POST, "/api/v1/tenants/crash/documents", Some(json!({ "channel": "gzdt", "title": "恢复后写入" }))).await;
    assert_eq!(status, 201);
}
