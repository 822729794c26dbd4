//! The editorial workflow through the API of a real `zhanqun serve`: every
//! step and every refusal, with its message, as the people of one township
//! office would meet them — editor, reviewer, 政务公开 reviewer, 保密审查员.

mod common;

use common::office::{message, office};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_submission_needs_its_disclosure_attribute_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;

    // No 公开属性: refused with what to do, and the draft stays a draft.
    let id = o.draft(json!({})).await;
    let (status, body) = o.step(&o.editor, id, "submit", None).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "disclosure_required"), "{body}");
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
    assert_eq!((status, error_code(&body).as_str()), (409, "disclosure_reason_required"));
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
    // Neither the content reviewer nor the site admin may decide disclosure
    // (the 系统管理员 sees no site's documents at all).
    let (status, _) = o.step(&o.admin, id, "approve", None).await;
    assert_eq!(status, 403);
    for who in [&o.reviewer, &o.site_admin] {
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
    for who in [&o.reviewer, &o.site_admin, &o.editor] {
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
    assert_eq!((status, error_code(&body).as_str()), (409, "written_after_publication"), "{body}");
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
