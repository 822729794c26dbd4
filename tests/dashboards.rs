//! The operators' dashboards (`deploy/grafana/*.json`) and alert rules
//! (`deploy/prometheus/rules.yml`) query only metrics a real node exports:
//! a `zhanqun serve --demo` is put through what makes each series appear
//! (public pages, a search, a write, refused logins and API calls, a call
//! to the cluster port without the secret, a feed polled from a feed
//! server written for the tests), then every `zhanqun_*` name in every
//! query must be on its `/metrics`. A renamed metric fails here, not on
//! an operator's empty panel.

mod common;
mod feed_server;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use feed_server::{FeedServer, rss};
use reqwest::Method;
use serde_json::{Value, json};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// The `zhanqun_*` metric names in a PromQL expression, histogram and
/// summary suffixes taken off (the family is what /metrics declares).
fn names_in(expr: &str, into: &mut BTreeSet<String>) {
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("zhanqun_") {
        let start = i + at;
        let end = start + expr[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(expr.len() - start);
        // A label value like `job=~".*zhanqun.*"` is not a metric name.
        if start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_' || bytes[start - 1] == b'.') {
            let name = &expr[start..end];
            let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
            into.insert(family.to_string());
        }
        i = end;
    }
}

/// Every query of every dashboard, by file.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo("deploy/grafana")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            for p in d["panels"].as_array().unwrap() {
                for t in p["targets"].as_array().unwrap() {
                    out.push((format!("{file}: {}", p["title"]), t["expr"].as_str().unwrap().to_string()));
                }
            }
            for v in d["templating"]["list"].as_array().unwrap() {
                if let Some(q) = v["query"]["query"].as_str() {
                    out.push((format!("{file}: variable {}", v["name"]), q.to_string()));
                }
            }
        }
    }
    out
}

/// Every `expr:` of the alert rules.
fn rule_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("deploy/prometheus/rules.yml")).unwrap();
    let mut alert = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(a) = line.strip_prefix("- alert:") {
            alert = a.trim().to_string();
        } else if let Some(e) = line.strip_prefix("expr:") {
            out.push((format!("rules.yml: {alert}"), e.trim().to_string()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_alert_query_names_a_metric_the_node_exports() {
    let dashboards = dashboard_queries();
    let rules = rule_queries();
    assert!(dashboards.len() >= 30, "the four dashboards' queries were read: {}", dashboards.len());
    assert!(rules.len() >= 20, "every alert's expression was read: {}", rules.len());

    let dir = tempfile::tempdir().unwrap();
    let backups = format!("file://{}", dir.path().join("backups").display());
    let server = Server::start(&dir.path().join("data"), &["--demo", "--compliance-round-secs", "1", "--home-probe-secs", "1", "--backup-to", &backups]).await;
    let admin = server.admin_token().await;
    let web = client();
    // Public pages (twice: a miss, then a hit), a search, a write.
    for _ in 0..2 {
        assert_eq!(web.get(server.url("/sites/niuzhuang/")).send().await.unwrap().status(), 200);
    }
    assert_eq!(web.get(server.url("/sites/niuzhuang/search?q=通知")).send().await.unwrap().status(), 200);
    let staff = server.staff_token(&["niuzhuang"]).await;
    server.draft(&staff, "niuzhuang", "tzgg", "指标测试", "<p>正文</p>").await;
    // Refusals: an API call without a token, a peer call without the secret.
    assert_eq!(web.get(server.url("/api/v1/tenants")).send().await.unwrap().status(), 401);
    let refused = web.post(server.url("/_raft/append")).body("{}").send().await.unwrap().status();
    assert!(refused.is_client_error(), "{refused}");
    // A feed polled once, from the simulated feed server.
    let feeds = FeedServer::start().await;
    feeds.set(rss(&[("m-1", "国务院关于指标测试的通知", "国发〔2024〕9号")]));
    let (status, _, site) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "shangji", "name": "上级政策文件", "kind": "special", "organ_code": "000014348" })),
    )
    .await;
    assert_eq!(status, 201, "{site}");
    let (status, _, column) =
        api(&server, &admin, Method::POST, "/api/v1/tenants/shangji/channels", Some(json!({ "slug": "gwywj", "name": "国务院文件" }))).await;
    assert_eq!(status, 201, "{column}");
    let body =
        json!({ "name": "测试源", "url": feeds.url("/feed.xml"), "site": "shangji", "channel_id": column["id"], "poll_seconds": 3600, "allow_private": true });
    let (status, _, feed) = api(&server, &admin, Method::POST, "/api/v1/feeds", Some(body)).await;
    assert_eq!(status, 201, "{feed}");

    // A site with an HTTPS certificate, for its expiry gauge.
    let (status, _, _) = api(&server, &admin, Method::PATCH, "/api/v1/tenants/shangji", Some(json!({ "hosts": ["shangji.example.gov.cn"] }))).await;
    assert_eq!(status, 200);
    let made = rcgen::generate_simple_self_signed(vec!["shangji.example.gov.cn".to_string()]).unwrap();
    let certificate = json!({ "chain_pem": made.cert.pem(), "private_key_pem": made.signing_key.serialize_pem() });
    let (status, _, body) = api(&server, &admin, Method::PUT, "/api/v1/tenants/shangji/certificate", Some(certificate)).await;
    assert_eq!(status, 200, "{body}");

    let mut wanted = BTreeSet::new();
    for (_, q) in dashboards.iter().chain(&rules) {
        names_in(q, &mut wanted);
    }
    let exported = wait_for("every queried metric on /metrics", 60, || async {
        let text = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let exported: BTreeSet<String> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).map(String::from).collect();
        let missing: Vec<&String> = wanted.difference(&exported).collect();
        if missing.is_empty() { Ok(exported) } else { Err(format!("not exported: {missing:?}")) }
    })
    .await;
    // And the other way round, for the record: what no dashboard shows.
    let unshown: Vec<&String> = exported.iter().filter(|m| m.starts_with("zhanqun_") && !wanted.contains(*m)).collect();
    eprintln!("exported but in no dashboard or rule: {unshown:?}");
    for (what, q) in dashboards.iter().chain(&rules) {
        let mut names = BTreeSet::new();
        names_in(q, &mut names);
        assert!(!names.is_empty() || q.contains("up{"), "{what} queries no zhanqun metric: {q}");
    }
}

#[test]
fn metric_names_are_read_out_of_queries_without_suffixes_or_label_values() {
    let mut names = BTreeSet::new();
    names_in(r#"histogram_quantile(0.99, sum by (le) (rate(zhanqun_search_duration_seconds_bucket[5m]))) + up{job=~".*zhanqun.*"}"#, &mut names);
    names_in("scalar(max(zhanqun_raft_last_log_index)) - zhanqun_raft_applied_index", &mut names);
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["zhanqun_raft_applied_index", "zhanqun_raft_last_log_index", "zhanqun_search_duration_seconds"]);
}
