//! Reposting benchmark with real processes (build with `--release`):
//!
//! 1. a mandatory repost of one policy to 100 sites — one command — until
//!    every copy's page answers 200 on every node, for a one-node and a
//!    three-node cluster; the baseline is one ordinary document write
//!    visible on every node of the same cluster, measured in the same run;
//! 2. a 1,000-item feed (served by the feed server written for the tests)
//!    polled, read, sanitized and ingested on one node, against 1,000
//!    single-document API writes' p50 in the same run.
//!
//! ```text
//! cargo bench -p zhanqun --bench reposts
//! ```

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/feed_server/mod.rs"]
mod feed_server;

use std::time::{Duration, Instant};

use common::client;
use common::cluster::Cluster;
use serde_json::{Value, json};

const SITES: usize = 100;
const ROUNDS: usize = 5;

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async move {
        println!("\nmandatory repost to {SITES} sites, one command → every copy answers 200 on every node (median of {ROUNDS}):");
        println!("| cluster | one document write, visible everywhere | repost to {SITES} sites, every copy served everywhere | vs one write |");
        println!("|---|---|---|---|");
        for nodes in [1, 3] {
            let (write, fan_out) = fan_out(nodes).await;
            println!("| {nodes} node{} | {write:.1} ms | **{fan_out:.0} ms** (budget 1,000 ms) | {:.1}× |", if nodes > 1 { "s" } else { "" }, fan_out / write);
        }
        let (ingest, write_p50) = feed_ingest().await;
        println!("\na 1,000-item RSS feed, polled to ingested on one node:");
        println!("| what | time | per item | vs one API write (p50 {write_p50:.2} ms) |");
        println!("|---|---|---|---|");
        let per_item_ms = ingest * 1000.0 / 1000.0;
        println!("| fetch, read, sanitize, ingest 1,000 items | **{ingest:.2} s** (budget 5 s) | {per_item_ms:.2} ms | {:.2}× |", per_item_ms / write_p50);
    });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

async fn call(base: &str, token: &str, method: reqwest::Method, path: &str, body: Value) -> (u16, String, Value) {
    let r = client().request(method, format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let index = r.headers().get("x-zhanqun-index").and_then(|v| v.to_str().ok()).unwrap_or("0").to_string();
    let text = r.text().await.unwrap();
    (status, index, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Waits until every node has applied `index`.
async fn applied_everywhere(bases: &[String], index: &str) {
    let http = client();
    let waits = bases.iter().map(|b| http.get(format!("{b}/healthz")).header("x-zhanqun-min-index", index).send());
    for w in futures::future::join_all(waits).await {
        assert_eq!(w.unwrap().status(), 200);
    }
}

/// (ms for one document write to be visible on every node, ms for a
/// repost to every site to be served on every node), medians.
async fn fan_out(nodes: u64) -> (f64, f64) {
    let cluster = Cluster::start(nodes, false, &[]).await;
    let admin = cluster.admin_token(1).await;
    let leader = cluster.wait_leader(Duration::from_secs(10)).await;
    let base = cluster.base(leader);
    let bases: Vec<String> = (1..=nodes).map(|id| cluster.base(id)).collect();
    let post = reqwest::Method::POST;
    let (status, _, body) = call(
        &base,
        &admin,
        post.clone(),
        "/api/v1/tenants",
        json!({ "code": "portal", "name": "测试市人民政府", "kind": "portal", "organ_code": "P0001", "lifecycle": "online" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    call(&base, &admin, post.clone(), "/api/v1/tenants/portal/channels", json!({ "slug": "szfwj", "name": "市政府文件" })).await;
    let mut codes = Vec::new();
    for n in 0..SITES {
        let code = format!("bm{n:03}");
        let (status, _, body) = call(
            &base,
            &admin,
            post.clone(),
            "/api/v1/tenants",
            json!({ "code": code, "name": format!("测试部门{n}"), "kind": "department", "organ_code": format!("D{n:05}"), "lifecycle": "online" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        call(
            &base,
            &admin,
            post.clone(),
            &format!("/api/v1/tenants/{code}/channels"),
            json!({ "slug": "zzwj", "name": "上级文件转载", "role": "policy-repost" }),
        )
        .await;
        codes.push(code);
    }
    let staff = common::site_account(&base, "portal-staff", &[("portal", "admin")]).await;
    let (mut writes, mut fan_outs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Baseline: one draft, written and applied on every node.
        let started = Instant::now();
        let (status, index, doc) = call(
            &base,
            &staff,
            post.clone(),
            "/api/v1/tenants/portal/documents",
            json!({ "channel": "szfwj", "title": format!("基准文档 {round}"), "body_html": "<p>正文</p>" }),
        )
        .await;
        assert_eq!(status, 201, "{doc}");
        applied_everywhere(&bases, &index).await;
        writes.push(started.elapsed().as_secs_f64() * 1000.0);

        let (status, _, doc) = call(
            &base,
            &staff,
            post.clone(),
            "/api/v1/tenants/portal/documents",
            json!({ "channel": "szfwj", "title": format!("测试市关于某项工作的通知 {round}"), "body_html": "<p>各部门：</p><p>现将有关事项通知如下。</p>", "disclosure": "主动公开" }),
        )
        .await;
        assert_eq!(status, 201, "{doc}");
        let id = doc["id"].as_i64().unwrap();
        let (status, _, body) = common::review_and_publish(&base, &staff, "portal", id).await;
        assert_eq!(status, 200, "{body}");

        let started = Instant::now();
        let (status, index, rows) = call(
            &base,
            &staff,
            post.clone(),
            &format!("/api/v1/tenants/portal/documents/{id}/reposts"),
            json!({ "sites": codes, "role": "policy-repost", "mode": "mandatory" }),
        )
        .await;
        assert_eq!(status, 201, "{rows}");
        applied_everywhere(&bases, &index).await;
        let copies: Vec<(String, i64)> =
            rows["items"].as_array().unwrap().iter().map(|r| (r["site_code"].as_str().unwrap().to_string(), r["copy_id"].as_i64().unwrap())).collect();
        let http = client();
        let gets = bases.iter().flat_map(|b| copies.iter().map(move |(site, copy)| (b.clone(), site.clone(), *copy))).map(|(b, site, copy)| {
            let http = http.clone();
            async move { http.get(format!("{b}/sites/{site}/art/{copy}.html")).send().await.unwrap().status().as_u16() }
        });
        let statuses = futures::future::join_all(gets).await;
        assert!(statuses.iter().all(|s| *s == 200), "every copy on every node: {statuses:?}");
        fan_outs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (median(writes), median(fan_outs))
}

/// (seconds from 立即抓取 to 1,000 items ingested, ms p50 of one API write).
async fn feed_ingest() -> (f64, f64) {
    let cluster = Cluster::start(1, false, &[]).await;
    let admin = cluster.admin_token(1).await;
    let base = cluster.base(1);
    let post = reqwest::Method::POST;
    let token = cluster.create_site(1, &admin, "bench").await;
    let mut samples = Vec::new();
    for i in 0..200 {
        let started = Instant::now();
        let (status, _, _) = call(
            &base,
            &token,
            post.clone(),
            "/api/v1/tenants/bench/documents",
            json!({ "channel": "news", "title": format!("基准 {i}"), "body_html": "<p>正文</p>" }),
        )
        .await;
        assert_eq!(status, 201);
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let write_p50 = median(samples);

    call(&base, &admin, post.clone(), "/api/v1/tenants", json!({ "code": "shangji", "name": "上级政策文件", "kind": "special", "organ_code": "S0001" })).await;
    let (_, _, channel) = call(&base, &admin, post.clone(), "/api/v1/tenants/shangji/channels", json!({ "slug": "gwywj", "name": "国务院文件" })).await;
    let feeds = feed_server::FeedServer::start().await;
    let items: Vec<(String, String, String)> =
        (0..1000).map(|i| (format!("gov-{i}"), format!("国务院关于第{i}项工作的通知"), format!("国发〔2024〕{}号", i + 1))).collect();
    let borrowed: Vec<feed_server::Item> = items.iter().map(|(g, t, n)| (g.as_str(), t.as_str(), n.as_str())).collect();
    feeds.set(feed_server::rss(&borrowed));
    let started = Instant::now();
    let (status, _, feed) = call(
        &base,
        &admin,
        post.clone(),
        "/api/v1/feeds",
        json!({ "name": "千条测试源", "url": feeds.url("/feed.xml"), "site": "shangji", "channel_id": channel["id"], "allow_private": true }),
    )
    .await;
    assert_eq!(status, 201, "{feed}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = client().get(format!("{base}/api/v1/feeds")).bearer_auth(&admin).send().await.unwrap().json::<Value>().await.unwrap();
        if r["items"][0]["items"] == 1000 {
            break;
        }
        assert!(Instant::now() < deadline, "1,000 items not ingested within 120 s: {r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (started.elapsed().as_secs_f64(), write_p50)
}
