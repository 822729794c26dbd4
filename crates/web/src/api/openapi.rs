//! The OpenAPI 3.1 description of the admin API, served at
//! `/api/v1/openapi.json`. Kept beside the routes so that adding one without
//! describing it shows up in review.

use axum::Json;
use serde_json::{Value, json};

/// (method, path, summary, request schema, success status)
const OPERATIONS: &[(&str, &str, &str, Option<&str>, u16)] = &[
    ("post", "/session", "Log in; answers a bearer token (429 login_locked after too many wrong passwords in a row, with Retry-After)", Some("Login"), 201),
    ("delete", "/session", "Log out (the token stops working)", None, 200),
    ("get", "/tenants", "List the sites the caller holds a role in (every site for the platform and security admins)", None, 200),
    ("post", "/tenants", "Create a site (platform admin)", Some("NewTenant"), 201),
    ("get", "/tenants/{code}", "Show a site", None, 200),
    ("patch", "/tenants/{code}", "Change a site's name, hosts, footer or lifecycle (platform admin)", Some("TenantPatch"), 200),
    ("get", "/tenants/{code}/channels", "List a site's channels", None, 200),
    ("post", "/tenants/{code}/channels", "Create a channel (the site's admin, or the platform admin)", Some("NewChannel"), 201),
    ("get", "/tenants/{code}/documents", "List a site's documents, drafts included (filters: channel_id, state, page, per_page)", None, 200),
    ("post", "/tenants/{code}/documents", "Create a draft (editor)", Some("NewDocument"), 201),
    ("get", "/tenants/{code}/documents/{id}", "Show a document with its public url and attachments", None, 200),
    ("patch", "/tenants/{code}/documents/{id}", "Edit a document (editor)", Some("DocumentPatch"), 200),
    (
        "post",
        "/tenants/{code}/documents/{id}/submit",
        "Submit a draft for review (editor); needs its 公开属性, and basis and reason unless 主动公开",
        None,
        200,
    ),
    ("post", "/tenants/{code}/documents/{id}/approve", "Pass the current review stage (政务公开审核员 at the disclosure stage, reviewer after)", None, 200),
    ("post", "/tenants/{code}/documents/{id}/return", "退文: send back to the editor with a reason (the current stage's reviewer)", Some("ReturnBody"), 200),
    ("post", "/tenants/{code}/documents/{id}/secrecy-review", "保密审查 sign-off (保密审查员 only)", Some("SignOffBody"), 200),
    (
        "post",
        "/tenants/{code}/documents/{id}/publish",
        "Publish an approved document, with its policy or approved 政策解读 (reviewer or tenant admin)",
        None,
        200,
    ),
    (
        "post",
        "/tenants/{code}/documents/{id}/schedule",
        "Publish at publish_at / withdraw at unpublish_at (reviewer or tenant admin)",
        Some("ScheduleBody"),
        200,
    ),
    ("post", "/tenants/{code}/documents/{id}/withdraw", "Withdraw from the public site, with its 政策解读 (reviewer or tenant admin)", None, 200),
    ("post", "/tenants/{code}/documents/{id}/validity", "Set 有效性 of a published document (reviewer or tenant admin)", Some("ValidityBody"), 200),
    ("get", "/tenants/{code}/documents/{id}/audit", "Every step taken on the document, refused ones included: who, when, from where, result", None, 200),
    ("post", "/tenants/{code}/attachments", "Upload an attachment: multipart `file`, optional `document_id`", Some("Upload"), 201),
    ("get", "/tenants/{code}/attachments/{id}", "Download an attachment", None, 200),
    ("get", "/tenants/{code}/documents/{id}/revisions", "Every revision of a document (each edit keeps one)", None, 200),
    ("get", "/tenants/{code}/documents/{id}/revisions/{n}", "One revision's content", None, 200),
    (
        "get",
        "/tenants/{code}/documents/{id}/revisions/{n}/diff",
        "What changed from revision `against` (default n-1) to n: fields and a line diff of the body",
        None,
        200,
    ),
    ("post", "/tenants/{code}/documents/{id}/revisions/{n}/restore", "Restore a draft to revision n (a new revision)", None, 200),
    (
        "get",
        "/tenants/{code}/self-inspection",
        "Annual self-inspection (?year=YYYY[&format=csv]): documents not 主动公开 with reasons; 依申请公开 ones to reconsider",
        None,
        200,
    ),
    ("get", "/users", "List users (安全管理员 only)", None, 200),
    ("post", "/users", "Create a user with roles per site (安全管理员 only; a platform account holds no site role)", Some("NewUser"), 201),
    ("put", "/users/{username}/roles", "Replace a user's site roles; [] takes them all (安全管理员 only)", Some("NewRoles"), 200),
    ("get", "/settings/password-policy", "The password policy (安全管理员 only)", None, 200),
    (
        "put",
        "/settings/password-policy",
        "Set the password policy: min_length 8–64, min_classes 1–4, max_failed_logins 3–10, lockout_minutes 1–1440 (安全管理员 only)",
        Some("PasswordPolicy"),
        200,
    ),
    ("get", "/audit/verify", "Recompute the audit trail's hash chain: entries, intact, first_broken_id (审计管理员 only)", None, 200),
    ("get", "/audit", "The audit trail (审计管理员 only): tenant, target, before, limit, format=csv", None, 200),
    (
        "get",
        "/search",
        "Search the caller's sites, drafts included: hits, total, facets (q site year from to doc_no topic organ kind sort page per_page)",
        None,
        200,
    ),
    ("get", "/cluster/status", "Members, leader, term, applied index and lag of each node (platform admin or cluster secret)", None, 200),
];

fn schemas() -> Value {
    let s = |t: &str| json!({ "type": t });
    let text = s("string");
    let roles = json!({ "type": "array", "items": { "type": "object", "required": ["tenant", "role"], "properties": { "tenant": text,
        "role": { "enum": ["admin", "editor", "reviewer", "disclosure_reviewer", "secrecy_reviewer"] } } } });
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": text, "message": text } } } },
        "Login": { "type": "object", "required": ["username", "password"], "properties": { "username": text, "password": text } },
        "NewTenant": { "type": "object", "required": ["code", "name", "kind", "organ_code"], "properties": {
            "code": { "type": "string", "pattern": "^[a-z][a-z0-9-]{1,31}$" }, "name": text,
            "kind": { "enum": ["portal", "township", "department", "special"] }, "parent": text,
            "hosts": { "type": "array", "items": text }, "mount_under_parent": s("boolean"),
            "site_id_code": text, "icp": text, "police_record": text, "organ_code": text, "mailbox": text,
            "lifecycle": { "enum": ["planned", "building", "online", "suspended", "closed"] } } },
        "TenantPatch": { "type": "object", "properties": { "name": text, "hosts": { "type": "array", "items": text }, "mount_under_parent": s("boolean"),
            "site_id_code": text, "icp": text, "police_record": text, "mailbox": text, "lifecycle": { "enum": ["planned", "building", "online", "suspended", "closed"] } } },
        "NewChannel": { "type": "object", "required": ["slug", "name"], "properties": { "slug": text, "name": text,
            "kind": { "enum": ["list", "page", "link", "disclosure", "interaction"] }, "update_class": { "enum": ["dynamic", "regular", "static"] },
            "parent_id": s("integer"), "position": s("integer"), "link_url": text } },
        "NewDocument": { "type": "object", "required": ["title"], "properties": {
            "channel_id": s("integer"), "channel": text, "title": text, "body_html": { "type": "string", "description": "sanitized on the way in" },
            "summary": text, "source": text, "author": text, "doc_no": { "type": "string", "example": "海政办发〔2017〕37号" },
            "issuing_organ": text, "written_date": { "type": "string", "format": "date" }, "topic": text,
            "disclosure": { "enum": ["主动公开", "依申请公开", "不予公开"] }, "disclosure_basis": text, "disclosure_reason": text,
            "validity": { "enum": ["有效", "失效", "废止", "修订"] }, "needs_secrecy_review": s("boolean"), "needs_interpretation": s("boolean"),
            "interprets": { "type": "integer", "description": "the policy this 政策解读 explains (same site)" },
            "interpretation_kind": { "enum": ["文字解读", "图解", "视频解读", "新闻发布会"] },
            "attachment_ids": { "type": "array", "items": s("integer") } } },
        "PasswordPolicy": {
            "type": "object",
            "required": ["min_length", "min_classes"],
            "properties": { "min_length": s("integer"), "min_classes": s("integer"), "max_failed_logins": s("integer"), "lockout_minutes": s("integer") },
        },
        "ReturnBody": { "type": "object", "required": ["reason"], "properties": { "reason": text } },
        "SignOffBody": { "type": "object", "required": ["passed", "conclusion"], "properties": { "passed": s("boolean"), "conclusion": text } },
        "ScheduleBody": { "type": "object", "properties": {
            "publish_at": { "description": "ms since the epoch, or Beijing time `YYYY-MM-DD HH:MM[:SS]`" }, "unpublish_at": { "description": "as publish_at" } } },
        "ValidityBody": { "type": "object", "required": ["validity"], "properties": { "validity": { "enum": ["有效", "失效", "废止", "修订"] },
            "replaced_by": { "type": "integer", "description": "the replacing document; required for 修订" } } },
        "DocumentPatch": { "type": "object", "description": "any field of NewDocument except channel; absent fields stay; only a draft or withdrawn document can be edited; 索引号 never changes" },
        "Upload": { "type": "object", "required": ["file"], "properties": { "file": { "type": "string", "format": "binary" }, "document_id": s("integer") } },
        "NewUser": { "type": "object", "required": ["username", "password"], "properties": { "username": text, "display_name": text, "password": text,
            "platform_role": { "enum": ["admin", "security", "auditor"] }, "roles": roles } },
        "NewRoles": { "type": "object", "required": ["roles"], "properties": { "roles": roles } },
    })
}

pub async fn document() -> Json<Value> {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, body, status) in OPERATIONS {
        let mut op = json!({
            "summary": summary,
            "responses": {
                status.to_string(): { "description": "success; writes carry the applied Raft index in X-Zhanqun-Index" },
                "4XX": { "description": "refused; nothing changed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "503": { "description": "no leader right now; retry after Retry-After" },
            },
        });
        if *path != "/session" || *method != "post" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(schema) = body {
            let media = if *schema == "Upload" { "multipart/form-data" } else { "application/json" };
            op["requestBody"] = json!({ "required": true, "content": { media: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
        }
        let params: Vec<Value> = ["code", "id", "n"]
            .iter()
            .filter(|p| path.contains(&format!("{{{p}}}")))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": if *p == "code" { "string" } else { "integer" } } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        paths.entry(path.to_string()).or_insert_with(|| json!({}))[method] = op;
    }
    Json(json!({
        "openapi": "3.1.0",
        "info": { "title": "zhanqun admin API", "version": env!("CARGO_PKG_VERSION") },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": { "schemas": schemas(), "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
    }))
}
