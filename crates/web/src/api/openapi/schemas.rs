//! The schemas of the OpenAPI document: request bodies with every limit the
//! API enforces (so a request the schema calls valid is one the API takes,
//! unless what it names does not exist or is in the wrong state), and the
//! answers as the API serializes them.

use serde_json::{Value, json};
use zhanqun_model::rules::{Limit, limits};

/// Characters no free-text field may hold: control characters, and those
/// that change how text is shown without being seen (`rules::is_deceptive`).
const HIDDEN: &str = r"\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff";
const CONTROLS: &str = r"\u0000-\u001f\u007f-\u009f";
/// Controls other than tab, line feed and carriage return.
const CONTROLS_BUT_LINES: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";

/// A free-text field as its [`Limit`] says: length in characters, no hidden
/// characters, no controls (tabs and line breaks allowed where the limit
/// allows lines), and — when `required` — at least one visible character.
pub fn text(limit: Limit<'_>, required: bool) -> Value {
    let bad = format!("{}{HIDDEN}", if limit.lines { CONTROLS_BUT_LINES } else { CONTROLS });
    let pattern = if required { format!(r"^[^{bad}]*[^{bad}\s][^{bad}]*$") } else { format!("^[^{bad}]*$") };
    let mut s = json!({ "type": "string", "maxLength": limit.max_chars, "pattern": pattern });
    if required {
        s["minLength"] = json!(1);
    }
    s
}

/// An absolute http(s) URL with a plain host (`rules::check_link_url`) or a
/// path on the site, without spaces, controls or hidden characters (the API
/// refuses those as it refuses them in text).
fn link_url_pattern() -> String {
    let bad = format!(r"\s{CONTROLS}{HIDDEN}");
    let label = r"[A-Za-z0-9\u4e00-\u9fff-]+";
    format!(r"^(https?://{label}(\.{label})*\.?(:[0-9]{{1,5}})?([/?#][^{bad}]*)?|/[^/{bad}][^{bad}]*)$")
}

fn nullable(mut schema: Value) -> Value {
    let t = schema["type"].clone();
    if let Some(t) = t.as_str() {
        schema["type"] = json!([t, "null"]);
    }
    schema
}

const ROLES: [&str; 5] = ["admin", "editor", "reviewer", "disclosure_reviewer", "secrecy_reviewer"];
const DISCLOSURE: [&str; 3] = ["主动公开", "依申请公开", "不予公开"];
const VALIDITY: [&str; 4] = ["有效", "失效", "废止", "修订"];
const KINDS: [&str; 4] = ["文字解读", "图解", "视频解读", "新闻发布会"];
const LIFECYCLE: [&str; 5] = ["planned", "building", "online", "suspended", "closed"];

/// An id: what the API's ids are (positive, exact in JavaScript).
pub fn id() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991_i64 })
}

/// A 文号 in any of the bracket spellings editors type; stored as 〔〕.
fn doc_no() -> Value {
    json!({
        "type": "string",
        "pattern": r"^[\u4e00-\u9fff\u3400-\u4dbfA-Za-z0-9]{1,20}[\[(（【〔［][0-9]{4}[\])）】〕］][0-9]{1,6}号$",
        "example": "海政办发〔2017〕37号",
    })
}

/// A site or column code.
/// A column role, e.g. `policy-repost`; `null` where it may be none.
pub fn role() -> Value {
    json!({ "type": ["string", "null"], "pattern": "^[a-z0-9-]{1,40}$" })
}

fn role_required() -> Value {
    json!({ "type": "string", "pattern": "^[a-z0-9-]{1,40}$" })
}

pub fn code() -> Value {
    json!({ "type": "string", "pattern": "^[a-z][a-z0-9-]{1,31}$" })
}

fn host() -> Value {
    json!({ "type": "string", "maxLength": 253, "pattern": r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$" })
}

/// Where a repost rule sends documents: every site, sites of a kind, with
/// a tag, or a list of sites.
fn repost_targets() -> Value {
    let closed =
        |required: &[&str], properties: Value| json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties });
    json!({ "oneOf": [
        closed(&["type"], json!({ "type": { "const": "all" } })),
        closed(&["type", "kind"], json!({ "type": { "const": "kind" }, "kind": { "enum": ["portal", "township", "department", "special"] } })),
        closed(&["type", "tag"], json!({ "type": { "const": "tag" }, "tag": text(zhanqun_model::rules::limits::TAG, true) })),
        closed(&["type", "sites"], json!({ "type": { "const": "list" }, "sites": { "type": "array", "minItems": 1, "maxItems": 1000, "items": code() } })),
    ] })
}

/// A time in a request: milliseconds since the epoch, or Beijing time.
fn when() -> Value {
    json!({
        "description": "milliseconds since the epoch, or Beijing time `YYYY-MM-DD HH:MM[:SS]`; must lie ahead",
        "oneOf": [
            { "type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991_i64 },
            { "type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$" },
        ],
    })
}

/// The fields an editor writes, with their limits; `patch` leaves every
/// field optional.
fn document_fields() -> serde_json::Map<String, Value> {
    use limits::*;
    let props = json!({
        "title": text(TITLE, true),
        "body_html": { "type": "string", "maxLength": 100_000, "description": "rich text; sanitized on the way in; refused when nested more than 200 deep or past 200,000 tags" },
        "summary": text(SUMMARY, false),
        "source": text(SOURCE, false),
        "author": text(AUTHOR, false),
        "doc_no": doc_no(),
        "issuing_organ": text(ISSUING_ORGAN, true),
        "written_date": { "type": "string", "format": "date", "description": "成文日期, YYYY-MM-DD" },
        "topic": text(TOPIC, false),
        "disclosure": { "enum": DISCLOSURE },
        "disclosure_basis": text(DISCLOSURE_BASIS, true),
        "disclosure_reason": text(DISCLOSURE_REASON, true),
        "validity": { "enum": VALIDITY },
        "needs_secrecy_review": { "type": "boolean" },
        "needs_interpretation": { "type": "boolean" },
        "interprets": { "allOf": [id()], "description": "the policy this 政策解读 explains (same site); needs interpretation_kind" },
        "interpretation_kind": { "enum": KINDS },
        "attachment_ids": { "type": "array", "maxItems": 50, "items": id() },
    });
    props.as_object().expect("an object").clone()
}

/// What a document needs besides its fields: a reason when not 主动公开,
/// and a 政策解读's policy and kind together.
fn document_rules() -> Value {
    json!({
        "dependentRequired": { "interprets": ["interpretation_kind"], "interpretation_kind": ["interprets"] },
        "if": { "required": ["disclosure"], "properties": { "disclosure": { "enum": ["依申请公开", "不予公开"] } } },
        "then": { "required": ["disclosure_reason"] },
    })
}

pub fn all() -> Value {
    use limits::*;
    let closed =
        |required: &[&str], properties: Value| json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties });
    let grants = json!({ "type": "array", "maxItems": 100, "items": closed(&["tenant", "role"], json!({ "tenant": code(), "role": { "enum": ROLES } })) });
    let password = json!({ "type": "string", "minLength": 1, "maxLength": 128 });

    let mut new_document = document_fields();
    new_document.insert("channel_id".into(), id());
    new_document.insert("channel".into(), code());
    let mut new_document = json!({ "type": "object", "additionalProperties": false, "required": ["title"], "properties": new_document,
        "description": "a draft; name its column by `channel` (slug) or `channel_id`" });
    let rules = document_rules();
    new_document["anyOf"] = json!([{ "required": ["channel"] }, { "required": ["channel_id"] }]);
    for k in ["dependentRequired", "if", "then"] {
        new_document[k] = rules[k].clone();
    }
    let mut patch = document_fields();
    patch.insert("channel_id".into(), id());
    let mut document_patch = json!({ "type": "object", "additionalProperties": false, "properties": patch,
        "description": "absent fields stay; only a draft or a withdrawn document is edited; the 索引号 never changes" });
    for k in ["dependentRequired", "if", "then"] {
        document_patch[k] = rules[k].clone();
    }

    let tenant_fields = json!({
        "name": text(SITE_NAME, true),
        "hosts": { "type": "array", "maxItems": 20, "uniqueItems": true, "items": host() },
        "mount_under_parent": { "type": "boolean" },
        "site_id_code": text(REGISTRATION, false),
        "icp": text(REGISTRATION, false),
        "police_record": text(REGISTRATION, false),
        "conac_id": { "type": ["string", "null"], "pattern": "^[A-Za-z0-9]{0,64}$", "description": "党政机关网站标识 number; empty clears it" },
        "mailbox": text(MAILBOX, false),
        "lifecycle": { "enum": LIFECYCLE },
    });
    let mut new_tenant = tenant_fields.as_object().expect("an object").clone();
    new_tenant.insert("code".into(), code());
    new_tenant.insert("kind".into(), json!({ "enum": ["portal", "township", "department", "special"] }));
    new_tenant.insert("parent".into(), code());
    new_tenant.insert("organ_code".into(), json!({ "type": "string", "pattern": "^[A-Za-z0-9-]{1,40}$" }));

    let string = json!({ "type": "string" });
    let opt_string = json!({ "type": ["string", "null"] });
    let opt_int = json!({ "type": ["integer", "null"] });
    // Where the next page starts (send it back as `after`); null on the last.
    let next_key = json!({ "type": ["string", "null"] });
    let tenant = json!({ "type": "object", "required": ["id", "code", "name", "kind", "hosts", "lifecycle", "organ_code"], "properties": {
        "id": { "type": "integer" }, "code": string, "name": string, "kind": string, "parent_id": opt_int, "hosts": { "type": "array", "items": string },
        "mount_under_parent": { "type": "boolean" }, "site_id_code": opt_string, "icp": opt_string, "police_record": opt_string,
        "conac_id": opt_string, "organ_code": string, "mailbox": opt_string, "lifecycle": { "enum": LIFECYCLE }, "created_at": { "type": "integer" }, "updated_at": { "type": "integer" } } });
    let channel = json!({ "type": "object", "required": ["id", "tenant_id", "slug", "name", "kind"], "properties": {
        "id": { "type": "integer" }, "tenant_id": { "type": "integer" }, "parent_id": opt_int, "slug": string, "name": string,
        "kind": { "enum": ["list", "page", "link", "disclosure", "interaction"] }, "update_class": { "enum": ["dynamic", "regular", "static"] },
        "position": { "type": "integer" }, "link_url": opt_string, "role": opt_string } });
    let attachment = json!({ "type": "object", "required": ["id", "tenant_id", "sha256", "size", "content_type", "file_name"], "properties": {
        "id": { "type": "integer" }, "tenant_id": { "type": "integer" }, "document_id": opt_int, "sha256": string, "size": { "type": "integer" },
        "content_type": string, "file_name": string, "created_at": { "type": "integer" }, "created_by": opt_int, "url": string } });
    let document = json!({ "type": "object", "required": ["id", "tenant_id", "channel_id", "title", "body_html", "state", "meta", "url", "attachments"],
        "properties": {
            "id": { "type": "integer" }, "tenant_id": { "type": "integer" }, "channel_id": { "type": "integer" }, "title": string, "body_html": string,
            "summary": opt_string, "source": opt_string, "author": opt_string,
            "state": { "enum": ["draft", "submitted", "in_review", "secrecy_review", "approved", "scheduled", "published", "withdrawn"] },
            "created_at": { "type": "integer" }, "updated_at": { "type": "integer" }, "published_at": opt_int,
            "meta": { "type": "object", "required": ["index_no", "issuing_organ", "validity"], "properties": {
                "index_no": string, "doc_no": opt_string, "issuing_organ": string, "written_date": opt_string, "topic": opt_string,
                "disclosure": { "enum": ["主动公开", "依申请公开", "不予公开", null] }, "disclosure_basis": opt_string, "disclosure_reason": opt_string,
                "validity": { "enum": VALIDITY } } },
            "created_by": opt_int, "needs_secrecy_review": { "type": "boolean" }, "review_stage": opt_string,
            "returned": { "type": ["object", "null"] }, "secrecy": { "type": ["object", "null"] }, "needs_interpretation": { "type": "boolean" },
            "interprets": opt_int, "interpretation_kind": nullable(json!({ "type": "string" })), "replaced_by": opt_int,
            "publish_at": opt_int, "unpublish_at": opt_int,
            "url": { "type": "string", "description": "where the public sees it once published" },
            "attachments": { "type": "array", "items": { "$ref": "#/components/schemas/Attachment" } } } });
    let user = json!({ "type": "object", "required": ["id", "username", "display_name", "grants"], "properties": {
        "id": { "type": "integer" }, "username": string, "display_name": string,
        "platform_role": { "enum": ["admin", "security", "auditor", null] },
        "grants": { "type": "array", "items": { "type": "object", "required": ["tenant_id", "role"], "properties": { "tenant_id": { "type": "integer" }, "role": { "enum": ROLES } } } },
        "created_at": { "type": "integer" }, "disabled_at": opt_int, "must_change_password": { "type": "boolean" } } });
    let items = |r: &str| json!({ "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{r}") } } } });
    let done = json!({ "type": "object", "description": "what was done, and to whom" });
    let audit_entry = json!({ "type": "object", "required": ["id", "at", "action", "result", "hash"], "properties": {
        "id": { "type": "integer" }, "at": { "type": "integer" }, "actor": opt_int, "client_ip": opt_string, "tenant_id": opt_int, "target_id": opt_int,
        "action": string, "result": string, "detail": opt_string, "hash": string } });
    let facet = json!({ "type": "array", "items": { "type": "object", "required": ["value", "label", "count"], "properties": {
        "value": string, "label": string, "count": { "type": "integer" } } } });

    json!({
        "Error": closed(&["error"], json!({ "error": closed(&["code", "message"], json!({ "code": string, "message": string })) })),
        "Login": closed(&["username", "password"], json!({ "username": { "type": "string", "maxLength": 200 }, "password": { "type": "string", "maxLength": 1000 },
            "totp": { "type": "string", "maxLength": 20, "description": "the authenticator app's 6-digit code, for an account with a second factor" } })),
        "Session": { "type": "object", "required": ["token", "expires_at", "username", "must_change_password"], "properties": {
            "token": string, "expires_at": { "type": "integer" }, "username": string, "must_change_password": { "type": "boolean" } } },
        "Me": { "type": "object", "required": ["username", "grants", "must_change_password"], "properties": {
            "username": string, "display_name": string, "platform_role": { "enum": ["admin", "security", "auditor", null] },
            "grants": { "type": "array" }, "must_change_password": { "type": "boolean" } } },
        "NewOwnPassword": closed(&["current_password", "new_password"], json!({ "current_password": password, "new_password": password })),
        "NewTenant": { "type": "object", "additionalProperties": false, "required": ["code", "name", "kind", "organ_code"], "properties": new_tenant },
        "TenantPatch": { "type": "object", "additionalProperties": false, "properties": tenant_fields },
        "NewChannel": closed(&["slug", "name"], json!({
            "slug": code(), "name": text(CHANNEL_NAME, true),
            "kind": { "enum": ["list", "page", "link", "disclosure", "interaction"] }, "update_class": { "enum": ["dynamic", "regular", "static"] },
            "parent_id": id(), "position": { "type": "integer", "minimum": -1_000_000, "maximum": 1_000_000 },
            "link_url": { "type": "string", "maxLength": LINK_URL.max_chars, "pattern": link_url_pattern() },
            "role": role() })),
        "NewName": closed(&["name"], json!({ "name": text(CHANNEL_NAME, true) })),
        "NewParent": closed(&["parent_id"], json!({ "parent_id": { "type": ["integer", "null"], "minimum": 1, "maximum": 9_007_199_254_740_991_i64 } })),
        "NewUpdateClass": closed(&["update_class"], json!({ "update_class": { "enum": ["dynamic", "regular", "static"] } })),
        "NewOrder": closed(&["parent_id", "order"], json!({
            "parent_id": { "type": ["integer", "null"], "minimum": 1, "maximum": 9_007_199_254_740_991_i64 },
            "order": { "type": "array", "maxItems": 1000, "items": id() } })),
        "NewDocument": new_document,
        "DocumentPatch": document_patch,
        "PasswordPolicy": closed(&["min_length", "min_classes"], json!({
            "min_length": { "type": "integer", "minimum": 8, "maximum": 64 }, "min_classes": { "type": "integer", "minimum": 1, "maximum": 4 },
            "max_failed_logins": { "type": "integer", "minimum": 3, "maximum": 10 }, "lockout_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 },
            "idle_timeout_minutes": { "type": "integer", "minimum": 1, "maximum": 480, "description": "a browser (workbench) session left alone this long ends; default 30" },
            "totp_for_platform": { "type": "boolean", "description": "the three platform accounts must log in with a TOTP code; one not enrolled can only enroll" },
            "max_age_days": { "type": "integer", "minimum": 0, "maximum": 3650, "description": "a password older than this must be changed first (0: never)" },
            "history": { "type": "integer", "minimum": 1, "maximum": 24, "description": "a new password may not be any of the account's last this many; default 5" } })),
        "ReturnBody": closed(&["reason"], json!({ "reason": text(RETURN_REASON, true) })),
        "AllowanceBody": closed(&["reason"], json!({ "reason": text(ALLOWANCE_REASON, true) })),
        "SignOffBody": closed(&["passed", "conclusion"], json!({ "passed": { "type": "boolean" }, "conclusion": text(CONCLUSION, true) })),
        "ScheduleBody": { "type": "object", "additionalProperties": false, "minProperties": 1,
            "properties": { "publish_at": when(), "unpublish_at": when() } },
        "ValidityBody": { "type": "object", "additionalProperties": false, "required": ["validity"],
            "properties": { "validity": { "enum": VALIDITY }, "replaced_by": { "allOf": [id()], "description": "the replacing document; required for 修订" } },
            "if": { "properties": { "validity": { "const": "修订" } } }, "then": { "required": ["replaced_by"] } },
        "Upload": { "type": "object", "additionalProperties": false, "required": ["file"], "properties": {
            "file": { "type": "string", "format": "binary", "description": "the file, with its name (at most 200 characters, no hidden characters)" },
            "document_id": id() } },
        "NewFeed": closed(&["name", "url", "site", "channel_id"], json!({
            "name": text(FEED_NAME, true), "url": { "type": "string", "maxLength": LINK_URL.max_chars, "pattern": "^https?://[!-~]+$" },
            "site": code(), "channel_id": id(), "poll_seconds": { "type": "integer", "minimum": 60, "maximum": 86_400, "description": "default 900" },
            "allow_private": { "type": "boolean", "description": "let the poller reach loopback, link-local and private addresses (a feed inside the government network)" } })),
        "NewRole": closed(&["role"], json!({ "role": role() })),
        "NewCertificate": closed(&["chain_pem", "private_key_pem"], json!({
            "chain_pem": { "type": "string", "maxLength": 65536, "description": "the certificate, then its intermediates, in PEM" },
            "private_key_pem": { "type": "string", "maxLength": 16384, "description": "PKCS#8, RSA or EC private key in PEM" },
        })),
        "Certificate": { "type": "object", "required": ["sha256", "not_after", "hosts"], "properties": {
            "sha256": string, "not_after": { "type": "integer", "description": "epoch milliseconds" }, "hosts": { "type": "array", "items": string } } },
        "NewTags": closed(&["tags"], json!({ "tags": { "type": "array", "maxItems": 20, "items": text(TAG, true) } })),
        "NewRule": closed(&["name", "source", "targets", "role", "mode"], json!({
            "name": text(RULE_NAME, true),
            "source": { "oneOf": [
                closed(&["type", "feed_id"], json!({ "type": { "const": "feed" }, "feed_id": id() })),
                closed(&["type", "site", "channel_id"], json!({ "type": { "const": "column" }, "site": code(), "channel_id": id() })) ] },
            "topics": { "type": "array", "maxItems": 20, "items": text(FILTER_WORD, true), "description": "主题分类: any of these" },
            "keywords": { "type": "array", "maxItems": 20, "items": text(FILTER_WORD, true), "description": "any of these in the title or summary" },
            "targets": repost_targets(),
            "role": role_required(), "mode": { "enum": ["mandatory", "optional"] },
            "deadline_hours": { "type": ["integer", "null"], "minimum": 1, "maximum": 720, "description": "default 24" } })),
        "NewRepost": closed(&["sites", "role", "mode"], json!({
            "sites": { "type": "array", "minItems": 1, "maxItems": 1000, "items": code() },
            "role": role_required(), "mode": { "enum": ["mandatory", "optional"] },
            "deadline_hours": { "type": ["integer", "null"], "minimum": 1, "maximum": 720, "description": "default 24" } })),
        "NewSubmission": closed(&["portal", "channel_id"], json!({ "portal": code(), "channel_id": id() })),
        "Feeds": { "type": "object", "required": ["items"], "properties": { "items": { "type": "array" } } },
        "Feed": { "type": "object", "required": ["id", "name", "url", "tenant_id", "channel_id", "poll_seconds"] },
        "Tags": { "type": "object", "required": ["tags"], "properties": { "tags": { "type": "array", "items": string } } },
        "RepostRule": { "type": "object", "required": ["id", "tenant_id", "name", "source", "targets", "role", "mode", "deadline_ms"] },
        "RepostRules": items("RepostRule"),
        "Reposts": { "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": { "type": "object",
            "required": ["id", "source_id", "tenant_id", "site_code", "mode", "state", "deadline_at", "overdue"] } } } },
        "Submissions": { "type": "object", "required": ["items"], "properties": { "items": { "type": "array" } } },
        "SubmissionCounts": { "type": "object", "required": ["year", "items"], "properties": { "year": { "type": "integer" }, "items": { "type": "array", "items": {
            "type": "object", "required": ["tenant_id", "site_name", "submitted", "adopted", "returned"] } } } },
        "NewUser": closed(&["username", "password"], json!({
            "username": { "type": "string", "pattern": r"^[A-Za-z0-9._-]{2,64}$" }, "display_name": text(DISPLAY_NAME, true), "password": password,
            "platform_role": { "enum": ["admin", "security", "auditor"], "description": "refused: platform accounts come from the operator" },
            "roles": grants })),
        "NewRoles": closed(&["roles"], json!({ "roles": grants })),
        "NewPassword": closed(&["password"], json!({ "password": password })),
        "Tenant": tenant,
        "Tenants": items("Tenant"),
        "Channel": channel,
        "Channels": items("Channel"),
        "Attachment": attachment,
        "Document": document,
        "Documents": { "type": "object", "required": ["items", "total", "next"], "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/Document" } }, "total": { "type": "integer" }, "next": next_key } },
        "User": user,
        "Users": { "type": "object", "required": ["items", "next"], "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/User" } }, "next": next_key } },
        "Done": done,
        "AuditEntry": audit_entry,
        "AuditEntries": items("AuditEntry"),
        "ChainCheck": { "type": "object", "required": ["entries", "intact", "tail_cut"], "properties": {
            "entries": { "type": "integer" }, "intact": { "type": "boolean" }, "first_broken_id": opt_int, "tail_cut": { "type": "boolean" } } },
        "RevisionSummaries": { "type": "object", "required": ["items", "next"], "properties": { "next": next_key, "items": { "type": "array", "items": {
            "type": "object", "required": ["revision", "at", "title"], "properties": { "revision": { "type": "integer" }, "at": { "type": "integer" }, "actor": opt_int, "title": string } } } } },
        "Revision": { "type": "object", "required": ["revision", "at", "content"], "properties": {
            "revision": { "type": "integer" }, "at": { "type": "integer" }, "actor": opt_int, "content": { "type": "object" } } },
        "Diff": { "type": "object", "required": ["from", "to", "fields", "body_changed", "body"], "properties": {
            "from": { "type": "integer" }, "to": { "type": "integer" },
            "fields": { "type": "array", "items": { "type": "object", "required": ["field", "before", "after"] } },
            "body_changed": { "type": "boolean" },
            "body": { "type": "array", "items": { "type": "object", "required": ["op", "text"], "properties": { "op": { "enum": [" ", "-", "+"] }, "text": string } } } } },
        "Inspection": { "type": "object", "required": ["site", "year", "documents", "proactive", "not_proactive", "reconsider"], "properties": {
            "site": string, "year": { "type": "integer" }, "documents": { "type": "integer" }, "proactive": { "type": "integer" },
            "not_proactive": { "type": "array" }, "reconsider": { "type": "array" } } },
        "ComplianceReport": { "type": "object", "required": ["tenant_id", "code", "name", "kind", "level", "red", "warn", "findings"], "properties": {
            "tenant_id": { "type": "integer" }, "code": string, "name": string, "kind": string, "level": { "enum": ["ok", "warn", "red"] },
            "red": { "type": "integer" }, "warn": { "type": "integer" },
            "findings": { "type": "array", "items": { "type": "object", "required": ["monitor", "level", "value", "summary", "faults"], "properties": {
                "monitor": string, "level": { "enum": ["ok", "warn", "red"] }, "value": { "type": "number" }, "summary": string,
                "faults": { "type": "array", "items": { "type": "object", "required": ["what"], "properties": { "what": string, "url": opt_string } } } } } } } },
        "ComplianceSite": { "type": "object", "required": ["at", "site"], "properties": {
            "at": { "type": "integer" }, "site": { "$ref": "#/components/schemas/ComplianceReport" } } },
        "ComplianceRound": { "type": "object", "required": ["at", "took_ms", "sites"], "properties": {
            "at": { "type": "integer" }, "took_ms": { "type": "integer" }, "sites": { "type": "array", "items": { "$ref": "#/components/schemas/ComplianceReport" } } } },
        "TotpSecret": { "type": "object", "required": ["secret", "uri"], "properties": { "secret": string, "uri": string } },
        "TotpEnrollment": closed(&["secret", "code"], json!({
            "secret": { "type": "string", "pattern": "^[A-Za-z2-7]{16,128}$" }, "code": { "type": "string", "pattern": "^[0-9]{6}$" } })),
        "SearchView": { "type": "object", "required": ["q", "total", "page", "per_page", "pages", "hits", "facets"], "properties": {
            "q": string, "total": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" }, "pages": { "type": "integer" },
            "hits": { "type": "array", "items": { "type": "object", "required": ["id", "site", "url", "title_html", "snippet_html"], "properties": {
                "id": { "type": "integer" }, "site": string, "site_name": string, "url": string, "title_html": string, "snippet_html": string,
                "published_at": string, "doc_no": opt_string, "issuing_organ": string, "validity": string, "copies": { "type": "integer" }, "score": { "type": "number" } } } },
            "facets": { "type": "object", "properties": { "sites": facet, "years": facet, "channel_kinds": facet, "organs": facet } } } },
        "ClusterStatus": { "type": "object", "required": ["node_id", "term", "members"], "properties": {
            "node_id": { "type": "integer" }, "leader": opt_int, "term": { "type": "integer" }, "last_log_index": { "type": "integer" },
            "applied_index": { "type": "integer" }, "membership_changing": { "type": "boolean" }, "members": { "type": "array" } } },
    })
}
