//! `zhanqun audit verify --data DIR` on a node's own files: intact after a
//! real node wrote its trail (checked on a stopped node's directory), then
//! broken at the line someone edited by hand, and cut when the last lines
//! are deleted — each with exit code 1 and the line named.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

fn verify(data: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zhanqun")).args(["audit", "verify", "--data", data.to_str().unwrap()]).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_is_verified_offline_and_a_hand_edit_or_a_cut_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]).await;
    let admin = server.admin_token().await;
    for code in ["aa", "bb", "cc"] {
        let (status, _, _) = api(
            &server,
            &admin,
            Method::POST,
            "/api/v1/tenants",
            Some(json!({ "code": code, "name": format!("{code}镇"), "kind": "township", "organ_code": code.to_uppercase() })),
        )
        .await;
        assert_eq!(status, 201);
    }
    server.kill();

    let (ok, said) = verify(&data);
    assert!(ok && said.contains("is intact"), "{said}");
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("content.db").display())).await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(&mut db).await.unwrap();
    assert!(ids.len() >= 5, "{ids:?}");

    // Someone rewrites who did something, in the middle of the trail.
    let middle = ids[ids.len() / 2];
    sqlx::query("UPDATE audit_log SET client_ip = '10.9.9.9' WHERE id = ?").bind(middle).execute(&mut db).await.unwrap();
    let (ok, said) = verify(&data);
    assert!(!ok && said.contains(&format!("BROKEN at line {middle}")), "{said}");

    // Another node's files, whose last two lines are deleted: the end no
    // longer meets the head the state machine recorded.
    let dir2 = tempfile::tempdir().unwrap();
    let data2 = dir2.path().join("data");
    let mut server = Server::start(&data2, &[]).await;
    let admin = server.admin_token().await;
    let (status, _, _) =
        api(&server, &admin, Method::POST, "/api/v1/tenants", Some(json!({ "code": "dd", "name": "dd镇", "kind": "township", "organ_code": "DD" }))).await;
    assert_eq!(status, 201);
    server.kill();
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", data2.join("content.db").display())).await.unwrap();
    let last: i64 = sqlx::query_scalar("SELECT max(id) FROM audit_log").fetch_one(&mut db).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id >= ?").bind(last - 1).execute(&mut db).await.unwrap();
    let (ok, said) = verify(&data2);
    assert!(!ok && said.contains(&format!("CUT: lines from {} on are missing", last - 1)), "{said}");

    let (ok, said) = verify(&dir.path().join("nowhere"));
    assert!(!ok && said.contains("does not exist"), "{said}");
}
