//! A township office on a real server for the workflow suites: the site
//! `wf` (channels 政策文件 `zcwj` and 政策解读 `zcjd`) and one person per
//! role, logged in.

use reqwest::Method;
use serde_json::{Value, json};

use super::{INITIAL_PASSWORD, Server, api, first_login};

pub struct Office {
    pub server: Server,
    pub admin: String,
    pub editor: String,
    pub reviewer: String,
    pub disclosure: String,
    pub secrecy: String,
    pub site_admin: String,
}

pub async fn office(dir: &std::path::Path) -> Office {
    let server = Server::start(&dir.join("node"), &[]).await;
    let admin = server.admin_token().await;
    let (status, _, body) = api(
        &server,
        &admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "wf", "name": "流程镇人民政府", "kind": "township", "organ_code": "WF001", "lifecycle": "online" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for (slug, name) in [("zcwj", "政策文件"), ("zcjd", "政策解读")] {
        let (status, _, _) = api(&server, &admin, Method::POST, "/api/v1/tenants/wf/channels", Some(json!({ "slug": slug, "name": name }))).await;
        assert_eq!(status, 201);
    }
    let security = server.security_token().await;
    let mut tokens = Vec::new();
    for (name, role) in
        [("wf-editor", "editor"), ("wf-reviewer", "reviewer"), ("wf-gkb", "disclosure_reviewer"), ("wf-bm", "secrecy_reviewer"), ("wf-admin", "admin")]
    {
        let (status, _, body) = api(
            &server,
            &security,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": name, "password": INITIAL_PASSWORD, "roles": [{ "tenant": "wf", "role": role }] })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        tokens.push(first_login(&server.base, name, INITIAL_PASSWORD).await);
    }
    let [editor, reviewer, disclosure, secrecy, site_admin] = tokens.try_into().unwrap();
    Office { server, admin, editor, reviewer, disclosure, secrecy, site_admin }
}

impl Office {
    pub async fn draft(&self, extra: Value) -> i64 {
        let mut body = json!({ "channel": "zcwj", "title": "流程镇关于规范村级事务公开的通知", "body_html": "<p>各村要按时公开村务。</p>" });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, _, doc) = api(&self.server, &self.editor, Method::POST, "/api/v1/tenants/wf/documents", Some(body)).await;
        assert_eq!(status, 201, "{doc}");
        assert_eq!(doc["state"], "draft");
        doc["id"].as_i64().unwrap()
    }

    /// POSTs a workflow step as `who`; returns status and body.
    pub async fn step(&self, who: &str, id: i64, step: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) = api(&self.server, who, Method::POST, &format!("/api/v1/tenants/wf/documents/{id}/{step}"), body).await;
        (status, body)
    }

    pub async fn get(&self, who: &str, id: i64) -> Value {
        let (status, _, body) = api(&self.server, who, Method::GET, &format!("/api/v1/tenants/wf/documents/{id}"), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// The message of an API error.
pub fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}
