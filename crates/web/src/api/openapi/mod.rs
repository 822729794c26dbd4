//! The OpenAPI 3.1 description of the admin API, served at
//! `/api/v1/openapi.json`. Kept beside the routes so that adding one without
//! describing it shows up in review; CI runs Schemathesis against it (see
//! `.ci/schemathesis.toml`), which fails on an answer that is not what the
//! document says, and on a request the document calls valid that the API
//! refuses as malformed.

mod schemas;

use axum::Json;
use serde_json::{Value, json};

/// One operation of the API, described.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    query: Vec<Value>,
    /// Success status and what it carries.
    status: u16,
    answer: Answer,
    public: bool,
}

enum Answer {
    /// JSON of this schema.
    Json(&'static str),
    /// JSON of this schema, or CSV when asked with `format=csv`.
    JsonOrCsv(&'static str),
    /// The file itself, whatever its type.
    File,
}

fn op(method: &'static str, path: &'static str, summary: &'static str, status: u16, answer: Answer) -> Op {
    Op { method, path, summary, body: None, query: Vec::new(), status, answer, public: false }
}

impl Op {
    fn body(mut self, schema: &'static str) -> Op {
        self.body = Some(schema);
        self
    }

    fn query(mut self, name: &str, required: bool, schema: Value, about: &str) -> Op {
        self.query.push(json!({ "name": name, "in": "query", "required": required, "schema": schema, "description": about }));
        self
    }

    fn public(mut self) -> Op {
        self.public = true;
        self
    }
}

fn string(max: usize) -> Value {
    json!({ "type": "string", "maxLength": max })
}

fn int(min: i64, max: i64) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": max })
}

fn operations() -> Vec<Op> {
    use Answer::*;
    let step = |path: &'static str, summary: &'static str| op("post", path, summary, 200, Json("Document"));
    let user_act = |path: &'static str, summary: &'static str| op("post", path, summary, 200, Json("Done"));
    let year = json!({ "type": "string", "pattern": "^(19[5-9][0-9]|[2-9][0-9]{3})$" });
    let date = json!({ "type": "string", "format": "date" });
    vec![
        op("post", "/session", "Log in; answers a bearer token. 401 for a wrong name or password; 429 login_locked (with Retry-After) after too many wrong passwords from this address", 201, Json("Session")).body("Login").public(),
        op("get", "/session", "Who this token belongs to, and whether the password must be changed first", 200, Json("Me")),
        op("delete", "/session", "Log out: the token stops working", 200, Json("Done")),
        op("put", "/session/password", "Change one's own password (403 wrong_password for a wrong current one; 422 weak_password says why a new one is refused); every other session of the account ends", 200, Json("Done")).body("NewOwnPassword"),
        op("post", "/session/totp", "A new TOTP secret (base32) and its otpauth:// address for the caller's authenticator app; nothing is stored yet", 200, Json("TotpSecret")),
        op("put", "/session/totp", "Turn the second factor on: the secret from POST and the app's current code (403 wrong_code; 409 totp_enrolled when one is on). Every later login sends `totp`", 200, Json("Done")).body("TotpEnrollment"),
        op("delete", "/users/{username}/totp", "Take a site account's second factor off, e.g. after a lost phone (安全管理员; 404 no_totp when it has none)", 200, Json("Done")),
        op("get", "/tenants", "The sites the caller holds a role in (every site for the platform and security admins)", 200, Json("Tenants")),
        op("post", "/tenants", "Create a site (系统管理员)", 201, Json("Tenant")).body("NewTenant"),
        op("get", "/tenants/{code}", "Show a site", 200, Json("Tenant")),
        op("patch", "/tenants/{code}", "Change a site's name, hosts, footer or lifecycle (系统管理员)", 200, Json("Tenant")).body("TenantPatch"),
        op("get", "/tenants/{code}/channels", "A site's columns", 200, Json("Channels")),
        op("post", "/tenants/{code}/channels", "Create a column (the site's admin, or the 系统管理员)", 201, Json("Channel")).body("NewChannel"),
        op("put", "/tenants/{code}/channels/{id}/name", "Rename a column; its path stays (the site's admin, or the 系统管理员)", 200, Json("Channel")).body("NewName"),
        op("put", "/tenants/{code}/channels/{id}/parent", "Move a column under another of the site's columns, or to the top (null); its path stays; 409 channel_cycle under itself", 200, Json("Channel")).body("NewParent"),
        op("put", "/tenants/{code}/channels/{id}/update-class", "How often the column must be updated: dynamic (动态, 2 weeks), regular (通知公告/政策文件, 6 months) or static (none)", 200, Json("Channel")).body("NewUpdateClass"),
        op("put", "/tenants/{code}/channels/order", "Order the columns under one parent (null: the top): `order` lists each of them exactly once (409 incomplete_order otherwise, e.g. after someone else added one)", 200, Json("Channels")).body("NewOrder"),
        op("delete", "/tenants/{code}/channels/{id}", "Delete a column that holds no documents and no columns (409 channel_not_empty otherwise)", 200, Json("Done")),
        op("get", "/tenants/{code}/self-inspection", "Annual self-inspection: the year's documents not 主动公开 with basis and reason; the 依申请公开 ones to reconsider (site admin, reviewers)", 200, JsonOrCsv("Inspection"))
            .query("year", true, year, "the year, e.g. 2026")
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv downloads it for Excel/WPS"),
        op("get", "/tenants/{code}/compliance", "The compliance monitors' latest findings on an online site (its daily report): each monitor's level, value and the columns or pages at fault; 409 not_ready before this node's first round, 409 not_monitored for a site not online (people of the site, 系统管理员)", 200, JsonOrCsv("ComplianceSite"))
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv downloads it for Excel/WPS"),
        op("get", "/compliance", "Every online site ranked by the compliance monitors, worst first (系统管理员)", 200, JsonOrCsv("ComplianceRound"))
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv downloads it"),
        op("get", "/tenants/{code}/documents", "A site's documents, drafts included (people of the site)", 200, Json("Documents"))
            .query("channel_id", false, schemas::id(), "one column")
            .query("state", false, json!({ "enum": ["draft", "submitted", "in_review", "secrecy_review", "approved", "scheduled", "published", "withdrawn"] }), "one state")
            .query("after", false, json!({ "type": "string", "pattern": "^-?[0-9]{1,18}\\.-?[0-9]{1,18}$" }), "the previous page's `next`: pages by key, as cheap deep as at the top (`page` is then ignored)")
            .query("page", false, int(1, 100_000), "from 1, by OFFSET (deep pages cost more; prefer `after`)")
            .query("per_page", false, int(1, 200), "default 20"),
        op("post", "/tenants/{code}/documents", "Create a draft (editor); 404 when the column does not exist; 409 for a 文号 the site's 发布机构 already used", 201, Json("Document")).body("NewDocument"),
        op("get", "/tenants/{code}/documents/{id}", "A document with its public url and attachments", 200, Json("Document")),
        op("patch", "/tenants/{code}/documents/{id}", "Edit a draft or withdrawn document (editor); 409 not_editable otherwise", 200, Json("Document")).body("DocumentPatch"),
        step("/tenants/{code}/documents/{id}/submit", "Submit a draft for review (editor); needs its 公开属性, and basis and reason unless 主动公开"),
        step("/tenants/{code}/documents/{id}/approve", "Pass the current review stage (政务公开审核员 at the disclosure stage, reviewer after)"),
        step("/tenants/{code}/documents/{id}/return", "退文: back to the editor with a reason (the current stage's reviewer)").body("ReturnBody"),
        step(
            "/tenants/{code}/documents/{id}/allow-personal-data",
            "Let the personal data the content check found stay in a draft, with the reason the audit trail keeps (site admin or reviewer); holds while the body is unchanged",
        )
        .body("AllowanceBody"),
        step("/tenants/{code}/documents/{id}/secrecy-review", "保密审查 sign-off (保密审查员 only)").body("SignOffBody"),
        step("/tenants/{code}/documents/{id}/publish", "Publish an approved document, with its policy or approved 政策解读 (reviewer or site admin)"),
        step("/tenants/{code}/documents/{id}/schedule", "Publish at publish_at / withdraw at unpublish_at, times ahead (reviewer or site admin)").body("ScheduleBody"),
        step("/tenants/{code}/documents/{id}/withdraw", "Withdraw from the public site, with its 政策解读 (reviewer or site admin)"),
        step("/tenants/{code}/documents/{id}/validity", "Set 有效性 of a published document (reviewer or site admin); 修订 names the replacing document").body("ValidityBody"),
        op("get", "/tenants/{code}/documents/{id}/audit", "Every step taken on the document, refused ones included: who, when, from where, result", 200, Json("AuditEntries")),
        op("get", "/tenants/{code}/documents/{id}/revisions", "A document's revisions (each edit keeps one), oldest first, without their content, a page at a time", 200, Json("RevisionSummaries"))
            .query("after", false, int(0, i64::MAX), "the previous page's `next` (a revision)")
            .query("per_page", false, int(1, 500), "default 100"),
        op("get", "/tenants/{code}/documents/{id}/revisions/{n}", "One revision with its content", 200, Json("Revision")),
        op("get", "/tenants/{code}/documents/{id}/revisions/{n}/diff", "What changed from revision `against` (default n-1) to n: fields and a line diff of the body", 200, Json("Diff"))
            .query("against", false, int(1, 1_000_000_000), "the earlier revision"),
        op("post", "/tenants/{code}/documents/{id}/revisions/{n}/restore", "Restore a draft to revision n (a new revision)", 200, Json("Document")),
        op("post", "/tenants/{code}/attachments", "Upload an attachment: multipart `file` (with its name), optional `document_id` (editor)", 201, Json("Attachment")).body("Upload"),
        op("get", "/tenants/{code}/attachments/{id}", "Download an attachment (people of the site)", 200, File),
        op("get", "/users", "The accounts by username, a page at a time (安全管理员)", 200, Json("Users"))
            .query("after", false, json!({ "type": "string" }), "the previous page's `next` (a username)")
            .query("per_page", false, int(1, 500), "default 100"),
        op("post", "/users", "Create a site account with roles per site (安全管理员); its owner must change the password first. Platform accounts are refused (403): the operator makes them with `zhanqun account`", 201, Json("User")).body("NewUser"),
        op("put", "/users/{username}/roles", "Replace a site account's roles; [] takes them all (安全管理员)", 200, Json("User")).body("NewRoles"),
        op("post", "/users/{username}/password", "Set a new password for a site account: its sessions end, its owner must change it (安全管理员)", 200, Json("Done")).body("NewPassword"),
        user_act("/users/{username}/disable", "Disable a site account: no login, its sessions end (安全管理员)"),
        user_act("/users/{username}/enable", "Enable a disabled site account (安全管理员)"),
        op("delete", "/users/{username}/sessions", "End every session of a site account (安全管理员)", 200, Json("Done")),
        user_act("/users/{username}/unlock", "Lift the failed-login lock of a site account on every node (安全管理员)"),
        op("get", "/settings/password-policy", "The password policy (安全管理员)", 200, Json("PasswordPolicy")),
        op("put", "/settings/password-policy", "Set the password policy (安全管理员)", 200, Json("PasswordPolicy")).body("PasswordPolicy"),
        op("get", "/audit", "The audit trail, newest first (审计管理员)", 200, JsonOrCsv("AuditEntries"))
            .query("tenant", false, schemas::code(), "one site")
            .query("target", false, int(i64::MIN, i64::MAX), "one thing acted on, by id")
            .query("before", false, int(i64::MIN, i64::MAX), "entries older than this id: the next page")
            .query("limit", false, int(1, 1000), "default 100")
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv downloads it"),
        op("get", "/audit/verify", "Recompute the audit trail's hash chain and check its end (审计管理员)", 200, Json("ChainCheck")),
        op("get", "/search", "Search the caller's sites, drafts included", 200, Json("SearchView"))
            .query("q", false, string(200), "the words")
            .query("site", false, schemas::code(), "one site")
            .query("tenant", false, schemas::code(), "older name of site")
            .query("year", false, json!({ "type": "string", "pattern": "^(19[5-9][0-9]|[2-9][0-9]{3})$" }), "publication year")
            .query("from", false, date.clone(), "published on or after")
            .query("to", false, date, "published on or before")
            .query("doc_no", false, string(100), "a 文号 or part of one")
            .query("topic", false, string(50), "主题分类")
            .query("organ", false, string(100), "发布机构, exact")
            .query("kind", false, json!({ "enum": ["list", "page", "disclosure", "interaction", "link"] }), "column kind")
            .query("validity", false, json!({ "enum": ["有效", "失效", "废止", "修订"] }), "有效性")
            .query("sort", false, json!({ "enum": ["relevance", "date"] }), "default relevance")
            .query("page", false, int(1, 100), "from 1 (results deeper than 10,000 are not served)")
            .query("per_page", false, int(1, 100), "default 20"),
        op("get", "/cluster/status", "Members, leader, term, applied index and lag of each node (系统管理员)", 200, Json("ClusterStatus")),
        op("get", "/feeds", "Feeds from above and how their polls went: last success, failing reason (系统管理员)", 200, Json("Feeds")),
        op("post", "/feeds", "Add a feed (RSS 2.0, Atom 1.0, JSON Feed 1.1) for the leader to poll; items become documents of the source site's column (系统管理员)", 201, Json("Feed")).body("NewFeed"),
        op("delete", "/feeds/{id}", "Stop polling a feed; the documents it brought stay (系统管理员)", 200, Json("Done")),
        op("post", "/feeds/{id}/poll", "立即抓取: the leader polls the feed now rather than at its interval (系统管理员)", 200, Json("Done")),
        op("put", "/tenants/{code}/channels/{id}/role", "The part a column plays, e.g. policy-repost (reposts land there); null for none; 409 role_taken (site admin or 系统管理员)", 200, Json("Channel")).body("NewRole"),
        op("get", "/tenants/{code}/certificate", "The site's HTTPS certificate: fingerprint, expiry and the hosts it is served on, never its key (系统管理员); 404 no_certificate", 200, Json("Certificate")),
        op("put", "/tenants/{code}/certificate", "Give the site an HTTPS certificate (PEM chain and key), served by SNI on every node without a restart (系统管理员); 422 invalid_certificate says why one is refused: not PEM, a key of another certificate, expired, or valid for none of the site's hosts", 200, Json("Certificate")).body("NewCertificate"),
        op("delete", "/tenants/{code}/certificate", "Take the site's certificate off: its hosts are no longer served over HTTPS (系统管理员); 404 no_certificate", 200, Json("Done")),
        op("put", "/tenants/{code}/tags", "A site's tags, replacing its old ones (系统管理员); repost rules target them", 200, Json("Tags")).body("NewTags"),
        op("get", "/tenants/{code}/repost-rules", "The repost rules a site keeps (people of the site)", 200, Json("RepostRules")),
        op("post", "/tenants/{code}/repost-rules", "A repost rule: documents published from a feed or a column go to the targets' column of `role` (editor of the site)", 201, Json("RepostRule")).body("NewRule"),
        op("delete", "/tenants/{code}/repost-rules/{id}", "Delete a repost rule; copies already placed stay", 200, Json("Done")),
        op("post", "/tenants/{code}/documents/{id}/reposts", "Repost a published document by hand to the named sites (portal editor); answers the tracking rows, `no_column` for sites lacking the role", 201, Json("Reposts")).body("NewRepost"),
        op("get", "/tenants/{code}/reposts", "The tracking board (out: what the site reposted) or inbox (in: what reached it): per site, state, deadline, overdue, proof", 200, JsonOrCsv("Reposts"))
            .query("direction", false, json!({ "enum": ["out", "in"] }), "default out")
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv for 绩效考核"),
        op("post", "/tenants/{code}/reposts/{id}/accept", "Accept an optional repost: the copy is shown (editor of the target site)", 200, Json("Done")),
        op("post", "/tenants/{code}/reposts/{id}/refuse", "Refuse an optional repost, with a reason (editor of the target site)", 200, Json("Done")).body("ReturnBody"),
        op("post", "/tenants/{code}/documents/{id}/submissions", "信息报送: offer a published document to a portal column (editor)", 201, Json("Done")).body("NewSubmission"),
        op("get", "/tenants/{code}/submissions", "信息报送 of the site (out) or to the portal (in)", 200, Json("Submissions"))
            .query("direction", false, json!({ "enum": ["out", "in"] }), "default out"),
        op("post", "/tenants/{code}/submissions/{id}/adopt", "Adopt a 信息报送: published on the portal, its origin credited and linked (portal editor)", 200, Json("Done")),
        op("post", "/tenants/{code}/submissions/{id}/return", "Return a 信息报送 with a reason (portal editor)", 200, Json("Done")).body("ReturnBody"),
        op("get", "/tenants/{code}/submission-counts", "Per site, a year's 信息报送 to this portal: submitted, adopted, returned", 200, JsonOrCsv("SubmissionCounts"))
            .query("year", true, int(2000, 2100), "the year")
            .query("format", false, json!({ "enum": ["json", "csv"] }), "csv downloads it"),
    ]
}

/// The path parameters named in `path`, described.
fn path_parameters(path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let schema = |p: &str| match p {
        "code" => schemas::code(),
        "username" => json!({ "type": "string", "pattern": r"^[A-Za-z0-9._-]{2,64}$" }),
        _ => schemas::id(),
    };
    for p in ["code", "id", "n", "username"] {
        if path.contains(&format!("{{{p}}}")) {
            out.push(json!({ "name": p, "in": "path", "required": true, "schema": schema(p) }));
        }
    }
    out
}

fn describe(o: &Op) -> Value {
    let json_of = |s: &str| json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{s}") } } });
    let content = match &o.answer {
        Answer::Json(s) => json_of(s),
        Answer::JsonOrCsv(s) => {
            let mut c = json_of(s);
            c["text/csv"] = json!({ "schema": { "type": "string" } });
            c
        }
        Answer::File => json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } }),
    };
    let error = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
    let mut op = json!({
        "summary": o.summary,
        "responses": {
            o.status.to_string(): { "description": "done; a write carries the Raft index it was applied at in X-Zhanqun-Index", "content": content },
            "default": { "description": "refused, nothing changed: 4xx with what to change; 503 when no leader can take it now (retry after Retry-After)", "content": error },
        },
    });
    if !o.public {
        op["security"] = json!([{ "bearer": [] }]);
    }
    if let Some(schema) = o.body {
        let media = if schema == "Upload" { "multipart/form-data" } else { "application/json" };
        op["requestBody"] = json!({ "required": true, "content": { media: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    }
    let mut params = path_parameters(o.path);
    params.extend(o.query.iter().cloned());
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

pub fn spec() -> Value {
    let mut paths = serde_json::Map::new();
    for o in operations() {
        paths.entry(o.path.to_string()).or_insert_with(|| json!({}))[o.method] = describe(&o);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "zhanqun admin API", "version": env!("CARGO_PKG_VERSION"),
            "description": "Every error is {\"error\":{\"code\",\"message\"}}. A request this document calls valid is refused only when what it names does not exist (404), is not the caller's (401/403), or is in the wrong state (409)." },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": { "schemas": schemas::all(), "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the router serves and what the document describes are the
    /// same set of (method, path): nothing routed goes undescribed, nothing
    /// described is missing.
    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        use std::collections::BTreeSet;
        let routed: BTreeSet<(String, String)> = super::super::endpoints().into_iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
        let documented: BTreeSet<(String, String)> = operations().into_iter().map(|o| (o.method.to_string(), o.path.to_string())).collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(undocumented.is_empty() && unrouted.is_empty(), "routed but not documented: {undocumented:?}; documented but not routed: {unrouted:?}");
        assert_eq!(routed.len(), operations().len(), "an operation is described twice");
    }

    /// Every `$ref` names a schema that exists, and every operation's path
    /// parameters are declared.
    #[test]
    fn the_document_refers_only_to_what_it_defines() {
        let spec = spec();
        let text = spec.to_string();
        let defined = spec["components"]["schemas"].as_object().unwrap();
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(defined.contains_key(name), "{name} is referred to but not defined");
        }
        for (path, ops) in spec["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|p| p.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect())
                    .unwrap_or_default();
                for name in path.split('{').skip(1).map(|s| s.split('}').next().unwrap()) {
                    assert!(declared.contains(&name), "{method} {path} does not declare {name}");
                }
            }
        }
    }
}
