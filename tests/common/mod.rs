//! Runs real `zhanqun serve` processes for the integration tests.

#![allow(dead_code)]

pub mod browser;
pub mod cluster;
pub mod office;
pub mod writes;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// Passwords that pass the checks: none contains its account's name.
pub const ADMIN_PASSWORD: &str = "Test-Sysop-Pass-2026";
pub const SECURITY_PASSWORD: &str = "Test-Secops-Pass-2026";
pub const AUDITOR_PASSWORD: &str = "Test-Audit-Pass-2026";

/// A `zhanqun serve` child process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
    pub data: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts a node on `data` and waits until it is ready.
    pub async fn start(data: &Path, extra: &[&str]) -> Server {
        Self::start_on(data, free_port(), extra).await
    }

    pub async fn start_on(data: &Path, port: u16, extra: &[&str]) -> Server {
        Self::start_with_env(data, port, extra, &[]).await
    }

    /// [`Server::start_on`] with extra environment variables.
    pub async fn start_with_env(data: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(data.with_extension("log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zhanqun"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .envs(env.iter().copied())
            .env("ZHANQUN_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("ZHANQUN_BOOTSTRAP_SECURITY_PASSWORD", SECURITY_PASSWORD)
            .env("ZHANQUN_BOOTSTRAP_AUDITOR_PASSWORD", AUDITOR_PASSWORD)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("zhanqun binary runs");
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), port, data: data.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client().get(format!("{}/readyz", server.base)).send().await
                && r.status() == 200
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "zhanqun did not become ready; log: {}",
                std::fs::read_to_string(data.with_extension("log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// What the node has logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.with_extension("log")).unwrap_or_default()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Logs in as the platform admin (系统管理员) and returns the token.
    pub async fn admin_token(&self) -> String {
        login(self, "admin", ADMIN_PASSWORD).await
    }

    /// The 安全管理员, who alone manages accounts.
    pub async fn security_token(&self) -> String {
        login(self, "security", SECURITY_PASSWORD).await
    }

    /// The 审计管理员, who alone reads the audit trail.
    pub async fn auditor_token(&self) -> String {
        login(self, "auditor", AUDITOR_PASSWORD).await
    }

    /// A site office's account `staff` holding the site admin role in each
    /// of `sites` (see [`site_account`]): who writes, reviews and publishes
    /// in most tests, since the 系统管理员 holds no site role.
    pub async fn staff_token(&self, sites: &[&str]) -> String {
        let roles: Vec<(&str, &str)> = sites.iter().map(|s| (*s, "admin")).collect();
        site_account(&self.base, "staff", &roles).await
    }

    /// A new online township site, made by the 系统管理员 (`admin` is their token).
    pub async fn online_township(&self, admin: &str, code: &str, name: &str) {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" });
        let (status, _, body) = api(self, admin, reqwest::Method::POST, "/api/v1/tenants", Some(site)).await;
        assert_eq!(status, 201, "creating the site {code}: {body}");
    }

    /// A new draft in column `slug` of `site`, as `token`: its id.
    pub async fn draft(&self, token: &str, site: &str, slug: &str, title: &str, body_html: &str) -> i64 {
        let doc = json!({ "channel": slug, "title": title, "body_html": body_html, "disclosure": "主动公开" });
        let (status, _, body) = api(self, token, reqwest::Method::POST, &format!("/api/v1/tenants/{site}/documents"), Some(doc)).await;
        assert_eq!(status, 201, "creating a draft in {site}: {body}");
        body["id"].as_i64().unwrap()
    }

    /// [`Server::staff_token`] with the site admin role in every site of the
    /// platform (a city's web office account, for tests across sites).
    pub async fn all_sites_staff_token(&self) -> String {
        let (_, _, sites) = api(self, &self.admin_token().await, reqwest::Method::GET, "/api/v1/tenants", None).await;
        let codes: Vec<&str> = sites["items"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
        self.staff_token(&codes).await
    }
}

/// The password the 安全管理员 gives every account the tests make; its
/// owner must change it at the first login ([`first_login`]).
pub const INITIAL_PASSWORD: &str = "Given-Once-Pass-2026";

/// What every account the tests make changes its password to.
pub const STAFF_PASSWORD: &str = "Test-Desk-Pass-2026";

/// Logs `username` in at `base` with the password the 安全管理员 gave,
/// changes it to [`STAFF_PASSWORD`] as the owner must before doing anything
/// else, and returns the session (which the change keeps).
pub async fn first_login(base: &str, username: &str, initial: &str) -> String {
    let token = login_at(base, username, initial).await;
    let r = client()
        .put(format!("{base}/api/v1/session/password"))
        .bearer_auth(&token)
        .json(&json!({ "current_password": initial, "new_password": STAFF_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{username} changing the given password: {}", r.text().await.unwrap());
    token
}

/// Logs in at the node `base` (retrying a few seconds while a cluster
/// settles) and returns the token.
pub async fn login_at(base: &str, username: &str, password: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        match client().post(format!("{base}/api/v1/session")).json(&json!({ "username": username, "password": password })).send().await {
            Ok(r) if r.status() == 201 => return r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string(),
            Ok(r) => last = format!("{} {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("cannot log in as {username} at {base}: {last}");
}

/// Makes the site account `username` the way a city does it: the
/// 安全管理员 creates it with `roles` (`[("haicheng", "editor")]`), or gives
/// an existing one exactly those roles; then logs it in at `base`.
pub async fn site_account(base: &str, username: &str, roles: &[(&str, &str)]) -> String {
    let security = login_at(base, "security", SECURITY_PASSWORD).await;
    let roles: Vec<Value> = roles.iter().map(|(tenant, role)| json!({ "tenant": tenant, "role": role })).collect();
    let c = client();
    let r = c
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&security)
        .json(&json!({ "username": username, "password": INITIAL_PASSWORD, "roles": roles }))
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        201 => first_login(base, username, INITIAL_PASSWORD).await,
        409 => {
            let r = c.put(format!("{base}/api/v1/users/{username}/roles")).bearer_auth(&security).json(&json!({ "roles": roles })).send().await.unwrap();
            assert_eq!(r.status(), 200, "setting the roles of {username}: {}", r.text().await.unwrap());
            login_at(base, username, STAFF_PASSWORD).await
        }
        other => panic!("creating {username}: {other} {}", r.text().await.unwrap()),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider (the workspace picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap()
}

pub async fn login(server: &Server, username: &str, password: &str) -> String {
    let r = client().post(server.url("/api/v1/session")).json(&json!({ "username": username, "password": password })).send().await.unwrap();
    assert_eq!(r.status(), 201, "login as {username}");
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

/// Sends a JSON request with a bearer token; returns status, headers and body.
pub async fn api(server: &Server, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().request(method, server.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// GETs a public page with an optional Host header; returns status and body.
pub async fn page(server: &Server, host: Option<&str>, path: &str) -> (u16, String) {
    let mut req = client().get(server.url(path));
    if let Some(h) = host {
        req = req.header("host", h);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Asserts the API error shape and returns the error code.
pub fn error_code(body: &Value) -> String {
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error body: {body}"));
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {body}");
    code.to_string()
}

/// Takes a draft through review to publication as a user who holds the
/// content steps (a site admin, e.g. [`Server::staff_token`]): chooses 主动公开
/// if no 公开属性 was chosen, submits, approves until approved, publishes.
/// Returns the answer to the publish request. `base` is a node's URL.
pub async fn review_and_publish(base: &str, token: &str, site: &str, id: i64) -> (u16, reqwest::header::HeaderMap, Value) {
    let c = client();
    let doc_url = format!("{base}/api/v1/tenants/{site}/documents/{id}");
    let send = |method: reqwest::Method, url: String, body: Option<Value>| {
        let mut req = c.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            let (status, headers) = (r.status().as_u16(), r.headers().clone());
            let text = r.text().await.unwrap();
            (status, headers, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
        }
    };
    let (_, _, doc) = send(reqwest::Method::GET, doc_url.clone(), None).await;
    if doc["meta"]["disclosure"].is_null() {
        let (status, _, body) = send(reqwest::Method::PATCH, doc_url.clone(), Some(json!({ "disclosure": "主动公开" }))).await;
        assert_eq!(status, 200, "choosing 主动公开: {body}");
    }
    let (status, _, body) = send(reqwest::Method::POST, format!("{doc_url}/submit"), None).await;
    assert_eq!(status, 200, "submit: {body}");
    let mut state = body["state"].as_str().unwrap_or_default().to_string();
    // A document passes at most three stages (政务公开, content, 保密审查).
    for _ in 0..3 {
        if state == "approved" {
            break;
        }
        let (status, _, body) = send(reqwest::Method::POST, format!("{doc_url}/approve"), None).await;
        assert_eq!(status, 200, "approve: {body}");
        state = body["state"].as_str().unwrap_or_default().to_string();
    }
    assert_eq!(state, "approved", "still not approved after three approvals");
    send(reqwest::Method::POST, format!("{doc_url}/publish"), None).await
}

/// Polls `check` until it answers `Ok`, or fails after `secs` saying what
/// it waited for and what it saw last.
pub async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => panic!("waited {secs} s for {what}; last saw: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
