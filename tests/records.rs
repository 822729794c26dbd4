//! What the platform keeps about documents and people, through the API of a
//! real `zhanqun serve`: revisions with diff and restore, the annual
//! self-inspection report, and the three separate platform roles (三权分立)
//! with the audit trail only the auditor reads.

mod common;

use common::office::{message, office};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

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
    let new_user = || Some(json!({ "username": "someone", "password": INITIAL_PASSWORD, "roles": [{ "tenant": "extra", "role": "editor" }] }));
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
    let (status, _, _) = api(&o.server, &o.admin, Method::POST, "/api/v1/tenants/extra/channels", Some(json!({ "slug": "gzdt", "name": "工作动态" }))).await;
    assert_eq!(status, 201, "the 系统管理员 builds a new site's columns");
    let (status, _, sites) = api(&o.server, &o.admin, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!((status, sites["items"].as_array().unwrap().len()), (200, 2), "{sites}");
    // ... but holds no site role: no site's documents, drafts or reports (least privilege).
    for (method, path, body) in [
        (Method::GET, "/api/v1/tenants/wf/documents".to_string(), None),
        (Method::GET, format!("/api/v1/tenants/wf/documents/{id}"), None),
        (Method::GET, format!("/api/v1/tenants/wf/documents/{id}/revisions"), None),
        (Method::POST, "/api/v1/tenants/wf/documents".to_string(), Some(json!({ "channel": "zcwj", "title": "系统管理员写的" }))),
        (Method::PATCH, format!("/api/v1/tenants/wf/documents/{id}"), Some(json!({ "title": "系统管理员改的" }))),
        (Method::POST, format!("/api/v1/tenants/wf/documents/{id}/submit"), None),
        (Method::POST, format!("/api/v1/tenants/wf/documents/{id}/publish"), None),
        (Method::GET, "/api/v1/tenants/wf/self-inspection?year=2026".to_string(), None),
        (Method::GET, "/api/v1/search?q=%E6%9D%91%E5%8A%A1&site=wf".to_string(), None),
    ] {
        let (status, _, body) = api(&o.server, &o.admin, method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    // Each refusal is counted for alerting and logged with who, what and from where (never the token).
    let metrics = client().get(o.server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let refused = metrics.lines().find_map(|l| l.strip_prefix("zhanqun_api_refusals_total{status=\"403\"} ")).and_then(|v| v.trim().parse::<u64>().ok());
    assert!(refused.unwrap_or(0) >= 9, "403s counted: {refused:?}");
    let log = o.server.log();
    let line = log
        .lines()
        .find(|l| l.contains("API request refused") && l.contains(&format!("/api/v1/tenants/wf/documents/{id}/publish")))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("user=admin") && line.contains("client_ip=127.0.0.1") && line.contains("status=403"), "{line}");
    assert!(!log.contains(&o.admin), "a session token reached the log");
    let (status, _, found) = api(&o.server, &o.admin, Method::GET, "/api/v1/search?q=%E6%9D%91%E5%8A%A1", None).await; // 村务
    assert_eq!((status, found["total"].as_u64()), (200, Some(0)), "the admin search shows the 系统管理员 no drafts: {found}");
    assert_eq!(o.get(&o.editor, id).await["title"], "流程镇关于规范村级事务公开的通知", "the draft is untouched");
    // A site's own admin builds its columns, not other sites.
    let (status, _, _) = api(&o.server, &o.site_admin, Method::POST, "/api/v1/tenants/wf/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    assert_eq!(status, 201);
    for (path, body) in [("/api/v1/tenants/extra/channels", json!({ "slug": "x", "name": "x" })), ("/api/v1/tenants", new_site().unwrap())] {
        let (status, _, body) = api(&o.server, &o.site_admin, Method::POST, path, Some(body)).await;
        assert_eq!(status, 403, "{path}: {body}");
    }

    // 安全管理员: accounts yes, and the list of sites to grant roles in; sites, content and the audit trail no.
    let (status, _, _) = api(&o.server, &security, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
    let (status, _, sites) = api(&o.server, &security, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!((status, sites["items"].as_array().unwrap().len()), (200, 2), "{sites}");
    let (status, _, _) = api(&o.server, &security, Method::POST, "/api/v1/users", new_user()).await;
    assert_eq!(status, 201);
    // Roles change from the next request on, and only the 安全管理员 changes them.
    let someone = first_login(&o.server.base, "someone", INITIAL_PASSWORD).await;
    let write = || Some(json!({ "channel": "zcwj", "title": "新编辑的第一篇" }));
    let (status, _, _) = api(&o.server, &someone, Method::POST, "/api/v1/tenants/wf/documents", write()).await;
    assert_eq!(status, 403, "no role yet");
    let as_editor = || Some(json!({ "roles": [{ "tenant": "wf", "role": "editor" }] }));
    for who in [&o.admin, &o.site_admin, &someone] {
        let (status, _, body) = api(&o.server, who, Method::PUT, "/api/v1/users/someone/roles", as_editor()).await;
        assert_eq!(status, 403, "{body}");
    }
    let (status, _, body) = api(&o.server, &security, Method::PUT, "/api/v1/users/someone/roles", as_editor()).await;
    assert_eq!((status, body["grants"][0]["role"].as_str()), (200, Some("editor")), "{body}");
    let (status, _, _) = api(&o.server, &someone, Method::POST, "/api/v1/tenants/wf/documents", write()).await;
    assert_eq!(status, 201, "an editor now");
    let (status, _, _) = api(&o.server, &security, Method::PUT, "/api/v1/users/someone/roles", Some(json!({ "roles": [] }))).await;
    assert_eq!(status, 200);
    let (status, _, _) = api(&o.server, &someone, Method::POST, "/api/v1/tenants/wf/documents", write()).await;
    assert_eq!(status, 403, "roles taken away");
    // A platform account gets no site role (one person, two duties: two accounts).
    let (status, _, body) = api(&o.server, &security, Method::PUT, "/api/v1/users/admin/roles", as_editor()).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "platform_account_with_site_roles"), "{body}");
    // Nor does the 安全管理员 make platform accounts: only the operator does.
    let (status, _, body) = api(
        &o.server,
        &security,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "admin2", "password": INITIAL_PASSWORD, "platform_role": "admin", "roles": [{ "tenant": "wf", "role": "reviewer" }] })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("zhanqun account"), "{body}");
    let (status, _, body) = api(&o.server, &security, Method::PUT, "/api/v1/users/nobody/roles", as_editor()).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "user_not_found"), "{body}");
    let (status, _, body) =
        api(&o.server, &security, Method::PUT, "/api/v1/users/someone/roles", Some(json!({ "roles": [{ "tenant": "nope", "role": "editor" }] }))).await;
    assert_eq!(status, 404, "{body}");
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
    for expected in ["create_user", "set_roles", "create_tenant", "create_document", "create_session"] {
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

/// 登录失败处理: wrong passwords in a row from one address lock that address
/// out of the account for the time the 安全管理员's policy says, the right
/// password included.
#[tokio::test]
async fn wrong_passwords_in_a_row_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let security = server.security_token().await;
    let (status, _, policy) = api(&server, &security, Method::GET, "/api/v1/settings/password-policy", None).await;
    assert_eq!((status, policy["max_failed_logins"].as_u64(), policy["lockout_minutes"].as_u64()), (200, Some(5), Some(15)), "{policy}");
    let (status, _, body) = api(
        &server,
        &security,
        Method::PUT,
        "/api/v1/settings/password-policy",
        Some(json!({ "min_length": 10, "min_classes": 3, "max_failed_logins": 1, "lockout_minutes": 2 })),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (422, "invalid_policy"), "{body}");
    let policy = json!({ "min_length": 10, "min_classes": 3, "max_failed_logins": 3, "lockout_minutes": 2 });
    let (status, _, _) = api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(policy)).await;
    assert_eq!(status, 200);
    let admin = server.admin_token().await;
    let site = json!({ "code": "lk", "name": "锁定镇", "kind": "township", "organ_code": "LK", "lifecycle": "online" });
    assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
    site_account(&server.url(""), "guessed", &[("lk", "editor")]).await;

    let attempt = |username: &'static str, password: &'static str| {
        let url = server.url("/api/v1/session");
        async move {
            let r = client().post(url).json(&json!({ "username": username, "password": password })).send().await.unwrap();
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap())
        }
    };
    for _ in 0..2 {
        let (status, _, body) = attempt("guessed", "Wrong-Guess-2026").await;
        assert_eq!((status, error_code(&body).as_str()), (401, "unauthenticated"), "{body}");
    }
    let (status, retry_after, body) = attempt("guessed", "Wrong-Guess-2026").await;
    assert_eq!((status, error_code(&body).as_str(), retry_after), (429, "login_locked", Some(120)), "the third wrong password locks: {body}");
    assert!(message(&body).contains("2 more minute"), "{body}");
    let (status, retry_after, body) = attempt("guessed", STAFF_PASSWORD).await;
    assert_eq!((status, error_code(&body).as_str()), (429, "login_locked"), "the right password is refused while locked: {body}");
    assert!(retry_after.is_some_and(|s| (1..=120).contains(&s)), "{retry_after:?}");
    // Someone else is not affected; a name that does not exist locks the
    // same way, so a lock tells nothing about which accounts exist.
    assert_eq!(attempt("security", SECURITY_PASSWORD).await.0, 201);
    for expected in [401, 401, 429] {
        assert_eq!(attempt("no-such-user", "Wrong-Guess-2026").await.0, expected);
    }
    let metrics = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("zhanqun_login_lockouts_total 2"), "{}", metrics.lines().filter(|l| l.contains("lockout")).collect::<Vec<_>>().join("\n"));
    let log = server.log();
    assert!(log.contains("login locked for this address") && log.contains("guessed"), "the lock is logged with the account");
    assert!(!log.contains("Wrong-Guess-2026"), "a tried password reached the log");
}

/// Pages a list by key from `path` (which has its query started), returning
/// every item's `field` in the order served and the number of pages.
async fn walk(server: &Server, token: &str, path: &str, field: &str) -> (Vec<String>, usize) {
    let (mut seen, mut pages, mut after) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &after {
            Some(a) => format!("{path}&after={}", a.replace(' ', "%20")),
            None => path.to_string(),
        };
        let (status, _, page) = api(server, token, Method::GET, &url, None).await;
        assert_eq!(status, 200, "{url}: {page}");
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i[field].as_str().map_or_else(|| i[field].to_string(), String::from)));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return (seen, pages),
        }
        assert!(pages < 100, "{path} does not end");
    }
}

#[tokio::test]
async fn lists_that_grow_are_paged_by_key_and_every_item_comes_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path()).await;
    let mut titles = Vec::new();
    let mut first = 0;
    for i in 0..5 {
        let id = o.draft(json!({ "title": format!("分页测试文档 {i}") })).await;
        first = if i == 0 { id } else { first };
        titles.push(format!("分页测试文档 {i}"));
    }
    // Documents, newest change first, two a page by key.
    let (served, pages) = walk(&o.server, &o.editor, "/api/v1/tenants/wf/documents?per_page=2", "title").await;
    let mine: Vec<String> = served.iter().filter(|t| t.starts_with("分页测试文档")).cloned().collect();
    titles.reverse();
    assert_eq!(mine, titles, "each document once, newest first");
    assert_eq!(pages, served.len().div_ceil(2), "two a page, and no empty page at the end");
    let (_, _, top) = api(&o.server, &o.editor, Method::GET, "/api/v1/tenants/wf/documents?per_page=2", None).await;
    assert_eq!(top["total"].as_u64(), Some(served.len() as u64));
    let (status, _, body) = api(&o.server, &o.editor, Method::GET, "/api/v1/tenants/wf/documents?after=yesterday", None).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_cursor"), "{body}");

    // A document's revisions, one a page.
    for n in 0..2 {
        let (status, _, _) =
            api(&o.server, &o.editor, Method::PATCH, &format!("/api/v1/tenants/wf/documents/{first}"), Some(json!({ "summary": format!("第 {n} 次修改") })))
                .await;
        assert_eq!(status, 200);
    }
    let (revisions, pages) = walk(&o.server, &o.editor, &format!("/api/v1/tenants/wf/documents/{first}/revisions?per_page=1"), "revision").await;
    assert_eq!((revisions, pages), (vec!["1".to_string(), "2".into(), "3".into()], 3));

    // Accounts, by username, one a page.
    let security = o.server.security_token().await;
    let (users, _) = walk(&o.server, &security, "/api/v1/users?per_page=1", "username").await;
    let mut sorted = users.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(users, sorted, "by username, each once");
    assert!(users.len() >= 6 && users.contains(&"security".to_string()), "{users:?}");
}
