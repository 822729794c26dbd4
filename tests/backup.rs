//! Backup and restore with real processes: `zhanqun backup` copies a
//! serving node's data while an editor keeps writing, the node and its
//! disk are wiped, `zhanqun restore` makes a new data directory from the
//! backup (putting the lost attachments back), and the new cluster founded
//! on it serves the same pages and the same attachment bytes. The backup
//! target is a directory (`file://`); the S3 path of the same code is the
//! object store's.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use common::*;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

fn zhanqun(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zhanqun")).args(args).output().expect("zhanqun runs")
}

fn said(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn bytes_of(server: &Server, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = client().get(server.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_a_new_cluster_with_the_same_pages_and_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let target = format!("file://{}", dir.path().join("backups").display());
    let mut server = Server::start(&data, &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "nz", "牛庄镇人民政府").await;
    let (status, _, _) = api(&server, &admin, Method::POST, "/api/v1/tenants/nz/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    assert_eq!(status, 201);
    let staff = server.staff_token(&["nz"]).await;

    // Three published notices, each with an attachment.
    let mut published = Vec::new();
    for i in 0..3 {
        let id = server.draft(&staff, "nz", "tzgg", &format!("关于备份演练的第{i}号通知"), "<p>详见附件。</p>").await;
        let file: Vec<u8> = (0..40_000u32).map(|b| (b * (i + 7)) as u8).collect();
        let form = reqwest::multipart::Form::new()
            .text("document_id", id.to_string())
            .part("file", reqwest::multipart::Part::bytes(file.clone()).file_name(format!("附件{i}.pdf")));
        let r = client().post(server.url("/api/v1/tenants/nz/attachments")).bearer_auth(&staff).multipart(form).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let attachment: serde_json::Value = r.json().await.unwrap();
        let (status, _, body) = review_and_publish(&server.base, &staff, "nz", id).await;
        assert_eq!(status, 200, "{body}");
        published.push((id, attachment["id"].as_i64().unwrap(), hex::encode(Sha256::digest(&file))));
    }

    // An editor keeps writing drafts while the backup runs; each draft is
    // noted with when its write was acknowledged.
    let acknowledged: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (base, staff, acknowledged, stop) = (server.base.clone(), staff.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "channel": "tzgg", "title": format!("备份期间的草稿{n}"), "body_html": "<p>草稿</p>", "disclosure": "主动公开" });
                let r = client().post(format!("{base}/api/v1/tenants/nz/documents")).bearer_auth(&staff).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201);
                let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
                acknowledged.lock().await.push((id, Instant::now()));
            }
        })
    };
    wait_for("drafts written before the backup", 30, || async { if acknowledged.lock().await.len() >= 5 { Ok(()) } else { Err("fewer than 5".to_string()) } })
        .await;
    let started = Instant::now();
    let out = zhanqun(&["backup", "--data", data.to_str().unwrap(), "--to", &target]);
    let finished = Instant::now();
    assert!(out.status.success(), "backup failed: {}", said(&out));
    assert!(said(&out).contains("3 attachments"), "{}", said(&out));
    wait_for("drafts written after the backup", 30, || async {
        let after = acknowledged.lock().await.iter().filter(|(_, at)| *at > finished).count();
        if after >= 3 { Ok(()) } else { Err(format!("{after} so far")) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let acknowledged = acknowledged.lock().await.clone();

    // What the public and the editors see now.
    let mut pages = Vec::new();
    for (id, attachment, _) in &published {
        let (status, html) = page(&server, None, &format!("/sites/nz/art/{id}.html")).await;
        assert_eq!(status, 200);
        let (status, bytes) = bytes_of(&server, &staff, &format!("/api/v1/tenants/nz/attachments/{attachment}")).await;
        assert_eq!(status, 200);
        pages.push((html, hex::encode(Sha256::digest(&bytes))));
    }

    // The machine is lost: the node, its database and its attachment directory.
    server.kill();
    std::fs::remove_dir_all(&data).unwrap();

    // A restore into a directory that holds a node refuses and changes nothing.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::write(restored.join("content.db"), b"someone's node").unwrap();
    let out = zhanqun(&["restore", "--from", &target, "--data", restored.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(said(&out).contains("already holds a node's data"), "{}", said(&out));
    assert_eq!(std::fs::read(restored.join("content.db")).unwrap(), b"someone's node");
    std::fs::remove_dir_all(&restored).unwrap();

    let out = zhanqun(&["restore", "--from", &target, "--data", restored.to_str().unwrap()]);
    assert!(out.status.success(), "restore failed: {}", said(&out));
    assert!(said(&out).contains("0 attachments checked whole, 3 put back from the backup"), "{}", said(&out));

    // The new cluster, founded on the restored data, serves the same pages
    // and attachment bytes, keeps every draft acknowledged before the
    // backup began, none acknowledged after it ended, and takes writes.
    let server = Server::start(&restored, &[]).await;
    let staff = login(&server, "staff", STAFF_PASSWORD).await;
    for ((id, attachment, sha), (html, served_sha)) in published.iter().zip(&pages) {
        let (status, again) = page(&server, None, &format!("/sites/nz/art/{id}.html")).await;
        assert_eq!(status, 200);
        assert_eq!(&again, html, "document {id}'s page differs after the restore");
        let (status, bytes) = bytes_of(&server, &staff, &format!("/api/v1/tenants/nz/attachments/{attachment}")).await;
        assert_eq!(status, 200);
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), sha);
        assert_eq!(sha, served_sha);
    }
    for (id, at) in &acknowledged {
        let (status, _, _) = api(&server, &staff, Method::GET, &format!("/api/v1/tenants/nz/documents/{id}"), None).await;
        if *at < started {
            assert_eq!(status, 200, "draft {id}, acknowledged before the backup began, is missing");
        } else if *at > finished {
            assert_eq!(status, 404, "draft {id}, acknowledged after the backup ended, cannot be in it");
        }
    }
    server.draft(&staff, "nz", "tzgg", "恢复之后的第一份草稿", "<p>新集群照常写入。</p>").await;
    let auditor = server.auditor_token().await;
    let (status, _, verified) = api(&server, &auditor, Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(
        (verified["intact"].as_bool(), verified["tail_cut"].as_bool()),
        (Some(true), Some(false)),
        "the audit chain goes on unbroken across the restore: {verified}"
    );

    // A backup whose database was altered is refused whole.
    let listed = zhanqun(&["backup", "--list", "--to", &target]);
    let id = said(&listed).split_whitespace().next().unwrap().to_string();
    let db = dir.path().join("backups").join("backups").join(&id).join("content.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    let out = zhanqun(&["restore", "--from", &target, "--data", elsewhere.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(said(&out).contains("is not the one the manifest names"), "{}", said(&out));
    assert!(!elsewhere.join("content.db").exists());

    // Retention: two more backups of the restored node, keeping two.
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // ids are to the second
        let out = zhanqun(&["backup", "--data", restored.to_str().unwrap(), "--to", &target, "--keep", "2"]);
        assert!(out.status.success(), "{}", said(&out));
    }
    let listed = said(&zhanqun(&["backup", "--list", "--to", &target]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains(&id), "the oldest backup was kept: {listed}");
}
