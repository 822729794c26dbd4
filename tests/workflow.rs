//! The editorial workflow through the API of a real `zhanqun serve`: every
//! step and every refusal, with its message, as the people of one township
//! office would meet them — editor, reviewer, 政务公开 reviewer, 保密审查员.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

struct Office {
    server: Server,
    admin: String,
    editor: String,
    reviewer: String,
    disclosure: String,
    secrecy: String,
    site_admin: String,
}

async fn office(dir: &std::path::Path) -> Office {
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
        let password = format!("{name}-Pass-2026");
        let (status, _, body) = api(
            &server,
            &security,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": name, "password": password, "roles": [{ "tenant": "wf", "role": role }] })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        tokens.push(login(&server, name, &password).await);
    }
    let [editor, reviewer, disclosure, secrecy, site_admin] = tokens.try_into().unwrap();
    Office { server, admin, editor, reviewer, disclosure, secrecy, site_admin }
}

impl Office {
    async fn draft(&self, extra: Value) -> i64 {
        let mut body = json!({ "channel": "zcwj", "title": "流程镇关于规范村级事务公开的通知", "body_html": "<p>各村要按时公开村务。</p>" });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, _, doc) = api(&self.server, &self.editor, Method::POST, "/api/v1/tenants/wf/documents", Some(body)).await;
        assert_eq!(status, 201, "{doc}");
        assert_eq!(doc["state"], "draft");
        doc["id"].as_i64().unwrap()
    }

    /// POSTs a workflow step as `who`; returns status and body.
    async fn step(&self, who: &str, id: i64, step: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) = api(&self.server, who, Method::POST, &format!("/api/v1/tenants/wf/documents/{id}/{step}"), body).await;
        (status, body)
    }

    async fn get(&self, who: &str, id: i64) -> Value {
        let (status, _, body) = api(&self.server, who, Method::GET, &format!("/api/v1/tenants/wf/documents/{id}"), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_submission_needs_its_disclosure_attribute_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;

    // No 公开属性: refused with what to do, and the draft stays a draft.
    let id = o.draft(json!({})).await;
    let (status, body) = o.step(&o.editor, id, "submit", None).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "disclosure_required"), "{body}");
    assert!(message(&body).contains("公开属性"), "{body}");
    assert_eq!(o.get(&o.editor, id).await["state"], "draft");

    // 依申请公开 with a reason but no legal basis: refused, naming both fields.
    let (status, _, body) = api(
        &o.server,
        &o.editor,
        Method::PATCH,
        &format!("/api/v1/tenants/wf/documents/{id}"),
        Some(json!({ "disclosure": "依申请公开", "disclosure_reason": "涉及第三方合法权益" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = o.step(&o.editor, id, "submit", None).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "disclosure_reason_required"));
    assert!(message(&body).contains("disclosure_basis"), "{body}");

    // With its basis it goes to the 政务公开 reviewer first.
    let (status, _, _) = api(
        &o.server,
        &o.editor,
        Method::PATCH,
        &format!("/api/v1/tenants/wf/documents/{id}"),
        Some(json!({ "disclosure_basis": "《中华人民共和国政府信息公开条例》第三十二条" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = o.step(&o.editor, id, "submit", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["state"].as_str(), body["review_stage"].as_str()), (Some("submitted"), Some("disclosure")));
    // Neither the content reviewer nor the site admin may decide disclosure.
    for who in [&o.reviewer, &o.site_admin, &o.admin] {
        let (status, body) = o.step(who, id, "approve", None).await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("政务公开审核员"), "{body}");
    }
    let (status, body) = o.step(&o.disclosure, id, "approve", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["state"].as_str(), body["review_stage"].as_str()), (Some("in_review"), Some("content")));
    // Now it is the content reviewer's turn, not the 政务公开 reviewer's.
    let (status, _) = o.step(&o.disclosure, id, "approve", None).await;
    assert_eq!(status, 403);
    let (status, body) = o.step(&o.reviewer, id, "approve", None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("approved")), "{body}");
    let (status, body) = o.step(&o.reviewer, id, "publish", None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("published")), "{body}");
    // Published, but 依申请公开: never on the public site.
    assert_eq!(page(&o.server, None, &format!("/sites/wf/art/{id}.html")).await.0, 404);
}

#[tokio::test]
async fn a_reviewer_returns_a_document_with_a_reason_the_editor_sees() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let id = o.draft(json!({ "disclosure": "主动公开" })).await;

    // Publishing a draft, or an editor approving: refused.
    let (status, body) = o.step(&o.reviewer, id, "publish", None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "not_approved"), "{body}");
    assert!(message(&body).contains("submit it for review"), "{body}");
    let (status, body) = o.step(&o.editor, id, "submit", None).await;
    assert_eq!((status, body["state"].as_str(), body["review_stage"].as_str()), (200, Some("submitted"), Some("content")));
    let (status, _) = o.step(&o.editor, id, "approve", None).await;
    assert_eq!(status, 403, "an editor does not approve their own work");
    // Under review the text is frozen.
    let (status, _, body) = api(&o.server, &o.editor, Method::PATCH, &format!("/api/v1/tenants/wf/documents/{id}"), Some(json!({ "title": "改标题" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "not_editable"), "{body}");

    // 退文 needs a reason; with one the document is the editor's again.
    let (status, body) = o.step(&o.reviewer, id, "return", Some(json!({ "reason": "  " }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "missing_field"), "{body}");
    let (status, body) = o.step(&o.reviewer, id, "return", Some(json!({ "reason": "请补充文号和成文日期" }))).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("draft")), "{body}");
    let seen = o.get(&o.editor, id).await;
    assert_eq!(seen["returned"]["reason"], "请补充文号和成文日期");
    assert_eq!(seen["returned"]["stage"], "content");
    assert!(seen["returned"]["by"].as_i64().is_some() && seen["returned"]["at"].as_i64().unwrap() > 0);

    // Fixed and resubmitted: the note is cleared, the document approved and published.
    let (status, _, _) = api(
        &o.server,
        &o.editor,
        Method::PATCH,
        &format!("/api/v1/tenants/wf/documents/{id}"),
        Some(json!({ "doc_no": "流政发[2026]3号", "written_date": "2026-11-20" })),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = o.step(&o.editor, id, "submit", None).await;
    assert!(body["returned"].is_null(), "{body}");
    let (_, body) = o.step(&o.reviewer, id, "approve", None).await;
    assert_eq!(body["state"], "approved");
    let (status, _) = o.step(&o.editor, id, "publish", None).await;
    assert_eq!(status, 403, "an editor does not publish");
    let (status, _) = o.step(&o.reviewer, id, "publish", None).await;
    assert_eq!(status, 200);
    assert_eq!(page(&o.server, None, &format!("/sites/wf/art/{id}.html")).await.0, 200);

    // The trail: every step and refusal, who, from where, with the reason.
    let (status, _, trail) = api(&o.server, &o.editor, Method::GET, &format!("/api/v1/tenants/wf/documents/{id}/audit"), None).await;
    assert_eq!(status, 200, "{trail}");
    let lines: Vec<(String, String)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["result"].as_str().unwrap().to_string()))
        .collect();
    let line = |a: &str, r: &str| (a.to_string(), r.to_string());
    assert_eq!(
        lines,
        vec![
            line("create_document", "ok"),
            line("publish_document", "not_approved"),
            line("submit_document", "ok"),
            line("approve_document", "not_your_step"),
            line("update_document", "not_editable"),
            line("return_document", "missing_field"),
            line("return_document", "ok"),
            line("update_document", "ok"),
            line("submit_document", "ok"),
            line("approve_document", "ok"),
            line("publish_document", "not_your_step"),
            line("publish_document", "ok"),
        ],
        "every attempt, refused ones included"
    );
    let returned = trail["items"].as_array().unwrap().iter().find(|e| e["action"] == "return_document").unwrap();
    assert_eq!(returned["detail"], "请补充文号和成文日期");
    assert_eq!(returned["client_ip"], "127.0.0.1");
    assert!(returned["actor"].as_i64().is_some() && returned["at"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn secrecy_review_must_be_signed_off_by_a_secrecy_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let id = o.draft(json!({ "disclosure": "主动公开", "needs_secrecy_review": true })).await;
    o.step(&o.editor, id, "submit", None).await;
    let (_, body) = o.step(&o.reviewer, id, "approve", None).await;
    assert_eq!((body["state"].as_str(), body["review_stage"].as_str()), (Some("secrecy_review"), Some("secrecy")), "{body}");

    // Not approvable, not publishable, and no one but a 保密审查员 signs off.
    let (status, body) = o.step(&o.reviewer, id, "approve", None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "secrecy_sign_off_required"), "{body}");
    let (status, _) = o.step(&o.reviewer, id, "publish", None).await;
    assert_eq!(status, 409);
    for who in [&o.reviewer, &o.site_admin, &o.admin, &o.editor] {
        let (status, body) = o.step(who, id, "secrecy-review", Some(json!({ "passed": true, "conclusion": "无涉密内容" }))).await;
        assert_eq!(status, 403, "{body}");
        assert!(message(&body).contains("保密审查员"), "{body}");
    }

    // A failed review goes back to the editor with the conclusion.
    let (status, body) = o.step(&o.secrecy, id, "secrecy-review", Some(json!({ "passed": false, "conclusion": "第二段涉及内部工作安排，请删除" }))).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("draft")), "{body}");
    assert_eq!(body["returned"]["stage"], "secrecy");
    assert_eq!(body["secrecy"]["passed"], false);

    // Resubmitted and signed off: approved, the sign-off kept with the document.
    o.step(&o.editor, id, "submit", None).await;
    o.step(&o.reviewer, id, "approve", None).await;
    let (status, body) = o.step(&o.secrecy, id, "secrecy-review", Some(json!({ "passed": true, "conclusion": "经审查，不涉及国家秘密和工作秘密" }))).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("approved")), "{body}");
    let shown = o.get(&o.site_admin, id).await;
    assert_eq!(shown["secrecy"]["passed"], true);
    assert_eq!(shown["secrecy"]["conclusion"], "经审查，不涉及国家秘密和工作秘密");
    assert!(shown["secrecy"]["by"].as_i64().is_some() && shown["secrecy"]["at"].as_i64().unwrap() > 0);
    let (status, body) = o.step(&o.reviewer, id, "publish", None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("published")));

    // Withdrawn by the reviewer; an editor may not.
    let (status, _) = o.step(&o.editor, id, "withdraw", None).await;
    assert_eq!(status, 403);
    let (status, body) = o.step(&o.reviewer, id, "withdraw", None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("withdrawn")));
    assert_eq!(page(&o.server, None, &format!("/sites/wf/art/{id}.html")).await.0, 404);
}

#[tokio::test]
async fn a_policy_and_its_interpretation_are_published_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let approve = |id: i64| {
        let o = &o;
        async move {
            let (status, body) = o.step(&o.editor, id, "submit", None).await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = o.step(&o.reviewer, id, "approve", None).await;
            assert_eq!((status, body["state"].as_str()), (200, Some("approved")), "{body}");
        }
    };
    let policy = o.draft(json!({ "title": "流程镇村级事务公开办法", "disclosure": "主动公开", "needs_interpretation": true })).await;
    approve(policy).await;
    let (status, body) = o.step(&o.reviewer, policy, "publish", None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "interpretation_required"), "{body}");
    assert!(message(&body).contains("政策解读"), "{body}");

    // An interpretation must say what it explains, and how.
    let (status, _, body) = api(
        &o.server,
        &o.editor,
        Method::POST,
        "/api/v1/tenants/wf/documents",
        Some(json!({ "channel": "zcjd", "title": "x", "interprets": 999, "interpretation_kind": "图解" })),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) =
        api(&o.server, &o.editor, Method::POST, "/api/v1/tenants/wf/documents", Some(json!({ "channel": "zcjd", "title": "一图读懂", "interprets": policy })))
            .await;
    assert_eq!((status, error_code(&body).as_str()), (422, "missing_field"), "{body}");

    let interpretation =
        o.draft(json!({ "title": "一图读懂《流程镇村级事务公开办法》", "disclosure": "主动公开", "interprets": policy, "interpretation_kind": "图解" })).await;
    // Still a draft: the policy waits.
    let (status, _) = o.step(&o.reviewer, policy, "publish", None).await;
    assert_eq!(status, 409);

    // A second policy still in review: its approved interpretation cannot go first.
    let other = o.draft(json!({ "title": "流程镇集体资产管理规定", "disclosure": "主动公开", "needs_interpretation": true })).await;
    o.step(&o.editor, other, "submit", None).await;
    let early = o
        .draft(json!({ "title": "《流程镇集体资产管理规定》政策解读", "disclosure": "主动公开", "interprets": other, "interpretation_kind": "文字解读" }))
        .await;
    approve(early).await;
    let (status, body) = o.step(&o.reviewer, early, "publish", None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "policy_not_approved"), "{body}");
    for id in [other, early] {
        assert_ne!(o.get(&o.reviewer, id).await["state"], "published", "a failure in either publishes neither");
    }

    // Approved, then publishing the interpretation publishes both in one command.
    approve(interpretation).await;
    let (status, headers, body) = api(&o.server, &o.reviewer, Method::POST, &format!("/api/v1/tenants/wf/documents/{interpretation}/publish"), None).await;
    assert_eq!(status, 200, "{body}");
    let index = headers["x-zhanqun-index"].to_str().unwrap().to_string();
    for id in [policy, interpretation] {
        let d = o.get(&o.reviewer, id).await;
        assert_eq!(d["state"], "published");
    }
    let trail = |id: i64| {
        let o = &o;
        async move { api(&o.server, &o.reviewer, Method::GET, &format!("/api/v1/tenants/wf/documents/{id}/audit"), None).await.2 }
    };
    let policy_trail = trail(policy).await;
    assert!(
        policy_trail["items"].as_array().unwrap().iter().all(|e| e["action"] != "publish_document" || e["result"] != "ok"),
        "the policy was published by the interpretation's command, not one of its own: {policy_trail}"
    );
    // Both became visible at the same log index (one command).
    for id in [policy, interpretation] {
        let r = client().get(o.server.url(&format!("/sites/wf/art/{id}.html"))).header("x-zhanqun-min-index", &index).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    // The public pages link both ways.
    let (status, html) = page(&o.server, None, &format!("/sites/wf/art/{policy}.html")).await;
    assert_eq!(status, 200);
    assert!(html.contains("相关解读") && html.contains(&format!("/sites/wf/art/{interpretation}.html")) && html.contains("【图解】"), "{html}");
    let (_, html) = page(&o.server, None, &format!("/sites/wf/art/{interpretation}.html")).await;
    assert!(html.contains("本文解读") && html.contains(&format!("/sites/wf/art/{policy}.html")), "{html}");

    // The portal's 政策解读 column lists interpretations of every site.
    let (status, _, _) = api(
        &o.server,
        &o.admin,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({ "code": "city", "name": "某市人民政府", "kind": "portal", "organ_code": "CITY", "lifecycle": "online" })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, html) = page(&o.server, None, "/sites/city/zcjd/").await;
    assert_eq!(status, 200);
    assert!(html.contains("一图读懂《流程镇村级事务公开办法》") && html.contains(&format!("/sites/wf/art/{interpretation}.html")), "{html}");
    assert!(!html.contains("集体资产管理规定》政策解读"), "unpublished interpretations stay out");

    // Withdrawing the policy withdraws its interpretation.
    let (status, _) = o.step(&o.reviewer, policy, "withdraw", None).await;
    assert_eq!(status, 200);
    assert_eq!(o.get(&o.reviewer, interpretation).await["state"], "withdrawn");
    assert_eq!(page(&o.server, None, &format!("/sites/wf/art/{interpretation}.html")).await.0, 404);
}

#[tokio::test]
async fn metadata_rules_hold_from_draft_to_publication() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let publish = |id: i64| {
        let o = &o;
        async move {
            o.step(&o.editor, id, "submit", None).await;
            o.step(&o.reviewer, id, "approve", None).await;
            o.step(&o.reviewer, id, "publish", None).await
        }
    };
    let patch = |id: i64, body: Value| {
        let o = &o;
        async move { api(&o.server, &o.editor, Method::PATCH, &format!("/api/v1/tenants/wf/documents/{id}"), Some(body)).await }
    };

    // 索引号 is assigned, and no request can change it.
    let first = o.draft(json!({ "disclosure": "主动公开", "doc_no": "流政发[2026]1号" })).await;
    let index_no = o.get(&o.editor, first).await["meta"]["index_no"].as_str().unwrap().to_string();
    assert!(index_no.starts_with("WF001/"), "{index_no}");
    let (status, _, body) = patch(first, json!({ "index_no": "WF001/2026-99999" })).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    assert!(body.to_string().contains("index_no"), "the refusal names the field: {body}");
    let (status, _) = publish(first).await;
    assert_eq!(status, 200);
    assert_eq!(o.get(&o.editor, first).await["meta"]["index_no"], index_no.as_str());

    // 文号 is unique per 发布机构, in any bracket spelling.
    let (status, _, body) = api(
        &o.server,
        &o.editor,
        Method::POST,
        "/api/v1/tenants/wf/documents",
        Some(json!({ "channel": "zcwj", "title": "重号", "doc_no": "流政发（2026）1号" })),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (409, "duplicate_doc_no"), "{body}");
    assert!(message(&body).contains("流政发〔2026〕1号"), "{body}");
    let (status, _, body) = api(
        &o.server,
        &o.editor,
        Method::POST,
        "/api/v1/tenants/wf/documents",
        Some(json!({ "channel": "zcwj", "title": "另一机关同号", "doc_no": "流政发〔2026〕1号", "issuing_organ": "流程镇党政综合办公室" })),
    )
    .await;
    assert_eq!(status, 201, "another 发布机构 may use the same number: {body}");

    // 成文日期 after the 发布日期: publication refused, nothing published.
    let late = o.draft(json!({ "disclosure": "主动公开", "written_date": "2099-01-01", "title": "未来成文的文件" })).await;
    let (status, body) = publish(late).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "written_after_publication"), "{body}");
    assert!(message(&body).contains("2099-01-01"), "{body}");
    assert_eq!(o.get(&o.editor, late).await["state"], "approved");

    // 有效性: 修订 names its revision; the page says so; search can filter it.
    let revision = o.draft(json!({ "disclosure": "主动公开", "title": "流程镇村级事务公开办法（2026年修订）" })).await;
    publish(revision).await;
    let set = |who: &str, body: Value| {
        let (o, who) = (&o, who.to_string());
        async move { o.step(&who, first, "validity", Some(body)).await }
    };
    let (status, _) = set(&o.editor, json!({ "validity": "废止" })).await;
    assert_eq!(status, 403, "an editor does not change 有效性 of a published document");
    let (status, body) = set(&o.reviewer, json!({ "validity": "修订" })).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "missing_field"), "{body}");
    let (status, body) = set(&o.reviewer, json!({ "validity": "修订", "replaced_by": revision })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["meta"]["validity"].as_str(), body["replaced_by"].as_i64()), (Some("修订"), Some(revision)));
    let (_, html) = page(&o.server, None, &format!("/sites/wf/art/{first}.html")).await;
    assert!(html.contains("本文件已被修订") && html.contains(&format!("/sites/wf/art/{revision}.html")), "{html}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let (_, _, found) = api(&o.server, &o.reviewer, Method::GET, "/api/v1/search?validity=%E4%BF%AE%E8%AE%A2", None).await;
        if found["total"] == 1 && found["hits"][0]["id"] == first {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "修订 documents are not searchable by 有效性: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = set(&o.reviewer, json!({ "validity": "有效" })).await;
    assert_eq!((status, body["replaced_by"].is_null()), (200, true), "{body}");
    let (_, html) = page(&o.server, None, &format!("/sites/wf/art/{first}.html")).await;
    assert!(!html.contains("本文件已"), "the banner goes with the change");
}

#[tokio::test]
async fn every_edit_keeps_a_revision_that_can_be_diffed_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let id = o.draft(json!({ "body_html": "<p>一、总体要求。</p><p>二、工作任务。</p>", "summary": "初稿摘要", "disclosure": "主动公开" })).await;
    let base = format!("/api/v1/tenants/wf/documents/{id}");
    let edit = |body: Value| {
        let (o, base) = (&o, base.clone());
        async move { api(&o.server, &o.editor, Method::PATCH, &base, Some(body)).await }
    };
    let (status, _, _) = edit(
        json!({ "title": "流程镇关于规范村级事务公开的通知（修改稿）", "body_html": "<p>一、总体要求。</p><p>二、重点工作任务。</p><p>三、保障措施。</p>" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = edit(json!({ "doc_no": "流政发[2026]9号" })).await;
    assert_eq!(status, 200);

    let (status, _, list) = api(&o.server, &o.editor, Method::GET, &format!("{base}/revisions"), None).await;
    assert_eq!(status, 200, "{list}");
    let numbers: Vec<i64> = list["items"].as_array().unwrap().iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![1, 2, 3], "create + two edits");

    // The diff of revision 2: the title field and the body's paragraphs.
    let (status, _, diff) = api(&o.server, &o.editor, Method::GET, &format!("{base}/revisions/2/diff"), None).await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["fields"].as_array().unwrap().len(), 1, "{diff}");
    assert_eq!(diff["fields"][0]["field"], "标题");
    assert_eq!(diff["fields"][0]["after"], "流程镇关于规范村级事务公开的通知（修改稿）");
    let lines: Vec<(String, String)> =
        diff["body"].as_array().unwrap().iter().map(|l| (l["op"].as_str().unwrap().into(), l["text"].as_str().unwrap().into())).collect();
    assert!(lines.contains(&("-".into(), "<p>二、工作任务。</p>".into())) && lines.contains(&("+".into(), "<p>三、保障措施。</p>".into())), "{lines:?}");
    let (_, _, against) = api(&o.server, &o.editor, Method::GET, &format!("{base}/revisions/3/diff?against=1"), None).await;
    let fields: Vec<&str> = against["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["标题", "文号"], "{against}");
    let (status, _, body) = api(&o.server, &o.editor, Method::GET, &format!("{base}/revisions/9/diff"), None).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unknown_revision"));

    // Restoring revision 1 brings back its exact content as revision 4 (the
    // 文号 added later goes, the 索引号 stays).
    let index_no = o.get(&o.editor, id).await["meta"]["index_no"].clone();
    let (status, _, restored) = api(&o.server, &o.editor, Method::POST, &format!("{base}/revisions/1/restore"), None).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["title"], "流程镇关于规范村级事务公开的通知");
    assert_eq!(restored["body_html"], "<p>一、总体要求。</p><p>二、工作任务。</p>");
    assert!(restored["meta"]["doc_no"].is_null(), "{restored}");
    assert_eq!(restored["meta"]["index_no"], index_no);
    let (_, _, list) = api(&o.server, &o.editor, Method::GET, &format!("{base}/revisions"), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);

    // Under review nothing is restored; other sites see nothing.
    o.step(&o.editor, id, "submit", None).await;
    let (status, _, body) = api(&o.server, &o.editor, Method::POST, &format!("{base}/revisions/2/restore"), None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "not_editable"), "{body}");
}

#[tokio::test]
async fn the_annual_self_inspection_lists_what_was_not_proactively_disclosed() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let year = "2026";
    o.draft(json!({ "title": "主动公开的通知", "disclosure": "主动公开", "written_date": "2026-03-01" })).await;
    o.draft(json!({
        "title": "涉及第三方的批复, 含逗号", "disclosure": "依申请公开", "written_date": "2026-04-01",
        "disclosure_basis": "《条例》第三十二条", "disclosure_reason": "涉及第三方合法权益，需征求意见"
    }))
    .await;
    o.draft(json!({
        "title": "内部管理信息", "disclosure": "不予公开", "written_date": "2026-05-01",
        "disclosure_basis": "《条例》第十六条", "disclosure_reason": "内部事务信息"
    }))
    .await;
    o.draft(json!({ "title": "尚未选择公开属性的草稿", "written_date": "2026-06-01" })).await;
    o.draft(
        json!({ "title": "去年的依申请公开文件", "disclosure": "依申请公开", "written_date": "2025-06-01", "disclosure_basis": "x", "disclosure_reason": "y" }),
    )
    .await;

    let path = format!("/api/v1/tenants/wf/self-inspection?year={year}");
    let (status, _, report) = api(&o.server, &o.reviewer, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["documents"].as_u64(), report["proactive"].as_u64()), (Some(4), Some(1)), "{report}");
    let titles = |k: &str| report[k].as_array().unwrap().iter().map(|l| l["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(titles("not_proactive"), vec!["涉及第三方的批复, 含逗号", "内部管理信息", "尚未选择公开属性的草稿"]);
    assert_eq!(titles("reconsider"), vec!["涉及第三方的批复, 含逗号"]);
    assert_eq!(report["not_proactive"][1]["disclosure_reason"], "内部事务信息");
    assert_eq!(report["not_proactive"][2]["disclosure"], "未选择");

    // CSV for the spreadsheet; a comma in a title stays inside its cell.
    let r = client().get(o.server.url(&format!("{path}&format=csv"))).bearer_auth(&o.reviewer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 1 + 3 + 1, "{text}");
    assert!(lines[0].starts_with("清单,索引号,标题"));
    assert!(lines.iter().any(|l| l.contains("\"涉及第三方的批复, 含逗号\"") && l.starts_with("可转为主动公开")), "{text}");

    // An editor does not read it; a bad year is a clear 400.
    let (status, _, _) = api(&o.server, &o.editor, Method::GET, &path, None).await;
    assert_eq!(status, 403);
    let (status, _, body) = api(&o.server, &o.reviewer, Method::GET, "/api/v1/tenants/wf/self-inspection?year=twenty", None).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_year"));
}

#[tokio::test]
async fn the_three_platform_roles_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let security = o.server.security_token().await;
    let auditor = o.server.auditor_token().await;
    let id = o.draft(json!({ "disclosure": "主动公开" })).await;
    let new_user = || Some(json!({ "username": "someone", "password": "Someone-Pass-2026" }));
    let new_site = || Some(json!({ "code": "extra", "name": "附加镇", "kind": "township", "organ_code": "EX" }));

    // 系统管理员: sites yes; accounts and the audit trail no.
    let (status, _, body) = api(&o.server, &o.admin, Method::POST, "/api/v1/users", new_user()).await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("安全管理员"), "{body}");
    for path in ["/api/v1/audit".to_string(), format!("/api/v1/tenants/wf/documents/{id}/audit")] {
        let (status, _, body) = api(&o.server, &o.admin, Method::GET, &path, None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, _, _) = api(&o.server, &o.admin, Method::POST, "/api/v1/tenants", new_site()).await;
    assert_eq!(status, 201);

    // 安全管理员: accounts yes; sites, content and the audit trail no.
    let (status, _, _) = api(&o.server, &security, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
    let (status, _, _) = api(&o.server, &security, Method::POST, "/api/v1/users", new_user()).await;
    assert_eq!(status, 201);
    let (status, _, _) = api(&o.server, &security, Method::POST, "/api/v1/tenants", new_site()).await;
    assert_eq!(status, 403);
    for (method, path) in [(Method::GET, format!("/api/v1/tenants/wf/documents/{id}")), (Method::GET, "/api/v1/audit".to_string())] {
        let (status, _, _) = api(&o.server, &security, method, &path, None).await;
        assert_eq!(status, 403, "{path}");
    }

    // 审计管理员: reads and exports the trail, including the failed attempts above; changes nothing.
    let (status, _, trail) = api(&o.server, &auditor, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert_eq!(status, 200, "{trail}");
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["create_user", "create_tenant", "create_document", "create_session"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let (status, _, chain) = api(&o.server, &auditor, Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!((status, chain["intact"].as_bool()), (200, Some(true)), "{chain}");
    assert!(chain["entries"].as_u64().unwrap() >= actions.len() as u64);
    let (status, _, doc_trail) = api(&o.server, &auditor, Method::GET, &format!("/api/v1/tenants/wf/documents/{id}/audit"), None).await;
    assert_eq!((status, doc_trail["items"][0]["action"].as_str()), (200, Some("create_document")));
    let r = client().get(o.server.url("/api/v1/audit?format=csv&tenant=wf")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(csv.trim_start_matches('\u{feff}').starts_with("id,time,actor,client_ip") && csv.contains("create_document"), "{csv}");
    assert!(!csv.contains("$argon2") && !trail.to_string().contains("$argon2"), "no password hash in the trail");
    // The password policy is the 安全管理员's too.
    let (status, _, _) = api(&o.server, &o.admin, Method::PUT, "/api/v1/settings/password-policy", Some(json!({ "min_length": 14, "min_classes": 3 }))).await;
    assert_eq!(status, 403);
    let (status, _, body) =
        api(&o.server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(json!({ "min_length": 3, "min_classes": 3 }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "invalid_policy"), "{body}");
    let (status, _, _) = api(&o.server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(json!({ "min_length": 14, "min_classes": 3 }))).await;
    assert_eq!(status, 200);
    let (status, _, body) =
        api(&o.server, &security, Method::POST, "/api/v1/users", Some(json!({ "username": "shortpass", "password": "Short-Pass-1" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "weak_password"), "{body}");
    assert!(message(&body).contains("14 characters"), "{body}");
    let (status, _, _) =
        api(&o.server, &security, Method::POST, "/api/v1/users", Some(json!({ "username": "longpass", "password": "Long-Enough-Pass-1" }))).await;
    assert_eq!(status, 201);

    for (method, path, body) in [
        (Method::POST, "/api/v1/users".to_string(), new_user()),
        (Method::PUT, "/api/v1/settings/password-policy".to_string(), Some(json!({ "min_length": 8, "min_classes": 1 }))),
        (Method::POST, "/api/v1/tenants".to_string(), new_site()),
        (Method::POST, "/api/v1/tenants/wf/documents".to_string(), Some(json!({ "channel": "zcwj", "title": "审计员写的" }))),
        (Method::POST, format!("/api/v1/tenants/wf/documents/{id}/submit"), None),
    ] {
        let (status, _, body) = api(&o.server, &auditor, method, &path, body).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
}
