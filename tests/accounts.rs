//! Accounts through a real server: who may make which account, the life of
//! an account (its own password, a forced change, disabling, ending
//! sessions), the login lock that protects an account without locking its
//! owner out, and passwords and names that are too easy to guess or to
//! confuse. Every change is in the audit trail.

mod common;

use std::net::IpAddr;
use std::process::Command;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

const SECRET: &str = "accounts-test-cluster-secret";

async fn server(dir: &std::path::Path, extra: &[&str]) -> Server {
    let server = Server::start_with_env(&dir.join("node"), free_port(), extra, &[("ZHANQUN_CLUSTER_SECRET", SECRET)]).await;
    let admin = server.admin_token().await;
    let site = json!({ "code": "zh", "name": "账户镇人民政府", "kind": "township", "organ_code": "ZH", "lifecycle": "online" });
    assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
    server
}

/// `zhanqun account …` against the node, as the operator runs it.
fn operator(server: &Server, args: &[&str], password: Option<&str>, secret: &str) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhanqun"));
    cmd.arg("account").arg("--node").arg(&server.base).args(args).env("ZHANQUN_CLUSTER_SECRET", secret).env_remove("ZHANQUN_ACCOUNT_PASSWORD");
    if let Some(p) = password {
        cmd.env("ZHANQUN_ACCOUNT_PASSWORD", p);
    }
    let out = cmd.output().expect("the zhanqun binary runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Logs in from a chosen loopback address (every 127.x.y.z reaches the
/// node), as a person at another desk would.
async fn login_from(server: &Server, from: &str, username: &str, password: &str) -> (u16, Value) {
    let c = reqwest::Client::builder().no_proxy().local_address(from.parse::<IpAddr>().unwrap()).build().unwrap();
    let r = c.post(server.url("/api/v1/session")).json(&json!({ "username": username, "password": password })).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn trail_actions(server: &Server) -> Vec<Value> {
    let auditor = server.auditor_token().await;
    let (status, _, trail) = api(server, &auditor, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert_eq!(status, 200, "{trail}");
    trail["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_the_operator_with_the_cluster_secret_makes_platform_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[]).await;
    let security = server.security_token().await;
    for role in ["admin", "security", "auditor"] {
        let (status, _, body) = api(
            &server,
            &security,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": format!("second-{role}"), "password": INITIAL_PASSWORD, "platform_role": role })),
        )
        .await;
        assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"), "{role}: {body}");
    }
    // Nor can the 安全管理员 reset, disable or unlock a platform account.
    for (method, path, body) in [
        (Method::POST, "/api/v1/users/auditor/password", Some(json!({ "password": "Quite-Fresh-Key-77" }))),
        (Method::POST, "/api/v1/users/admin/disable", None),
        (Method::DELETE, "/api/v1/users/auditor/sessions", None),
        (Method::POST, "/api/v1/users/security/unlock", None),
    ] {
        let (status, _, body) = api(&server, &security, method, path, body).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    // A wrong secret changes nothing.
    let (ok, out) = operator(&server, &["create", "--username", "auditor2", "--role", "auditor"], Some("Second-Auditor-Key-9"), "not-the-secret-at-all");
    assert!(!ok && out.contains("secret"), "{out}");
    // The operator makes a second 审计管理员, who reads the trail.
    let (ok, out) = operator(&server, &["create", "--username", "auditor2", "--role", "auditor"], Some("Second-Auditor-Key-9"), SECRET);
    assert!(ok, "{out}");
    let auditor2 = login(&server, "auditor2", "Second-Auditor-Key-9").await;
    let (status, _, _) = api(&server, &auditor2, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, 200);
    // A weak password is refused by the node, saying why.
    let (ok, out) = operator(&server, &["create", "--username", "auditor3", "--role", "auditor"], Some("Auditor@2026"), SECRET);
    assert!(!ok && out.contains("too easy to guess"), "{out}");
    // --generate prints a strong one once.
    let (ok, out) = operator(&server, &["create", "--username", "ops-admin", "--role", "admin", "--generate"], None, SECRET);
    assert!(ok, "{out}");
    let generated = out.lines().find_map(|l| l.strip_prefix("password: ")).unwrap_or_else(|| panic!("{out}")).trim().to_string();
    login(&server, "ops-admin", &generated).await;
    // In the trail: made by the system (no actor), from the operator's address.
    let made: Vec<Value> = trail_actions(&server).await.into_iter().filter(|l| l["action"] == "create_user" && l["result"] == "ok").collect();
    let by_operator = made.iter().filter(|l| l["actor"].is_null() && l["client_ip"] == "127.0.0.1").count();
    assert_eq!(by_operator, 2, "{made:?}");
}

#[tokio::test]
async fn the_lock_stops_a_guessing_script_without_locking_the_owner_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[]).await;
    let security = server.security_token().await;
    let policy = json!({ "min_length": 10, "min_classes": 3, "max_failed_logins": 3, "lockout_minutes": 10 });
    assert_eq!(api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(policy)).await.0, 200);
    site_account(&server.base, "zh-web", &[("zh", "editor")]).await;
    const SCRIPT: &str = "127.0.0.66";
    const OWNER: &str = "127.0.0.2";
    // The script's wrong guesses: the second and third are held back.
    let started = std::time::Instant::now();
    for expected in [401, 401, 429] {
        assert_eq!(login_from(&server, SCRIPT, "zh-web", "Wrong-Guess-2026").await.0, expected);
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(3), "failures are slowed down: {:?}", started.elapsed());
    assert_eq!(login_from(&server, SCRIPT, "zh-web", STAFF_PASSWORD).await.0, 429, "the script's address stays locked, right password or not");
    // The owner, at another desk, logs in.
    assert_eq!(login_from(&server, OWNER, "zh-web", STAFF_PASSWORD).await.0, 201, "the owner is not locked out");
    // The 安全管理员 lifts the lock everywhere.
    let (status, _, body) = api(&server, &security, Method::POST, "/api/v1/users/zh-web/unlock", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(login_from(&server, SCRIPT, "zh-web", STAFF_PASSWORD).await.0, 201);
    // The same lock on the 安全管理员 itself is lifted by the operator.
    for _ in 0..3 {
        login_from(&server, SCRIPT, "security", "Wrong-Guess-2026").await;
    }
    assert_eq!(login_from(&server, SCRIPT, "security", SECURITY_PASSWORD).await.0, 429);
    let (ok, out) = operator(&server, &["unlock", "--username", "security"], None, SECRET);
    assert!(ok, "{out}");
    assert_eq!(login_from(&server, SCRIPT, "security", SECURITY_PASSWORD).await.0, 201);
    let actions: Vec<String> = trail_actions(&server).await.iter().map(|l| format!("{} {}", l["action"], l["detail"])).collect();
    assert_eq!(actions.iter().filter(|a| a.starts_with("\"unlock_account\"")).count(), 2, "{actions:?}");
}

#[tokio::test]
async fn an_account_lives_changes_its_password_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[]).await;
    let security = server.security_token().await;
    let (status, _, made) = api(
        &server,
        &security,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "username": "li-ming", "password": INITIAL_PASSWORD, "roles": [{ "tenant": "zh", "role": "editor" }] })),
    )
    .await;
    assert_eq!((status, made["must_change_password"].as_bool()), (201, Some(true)), "{made}");
    // Until the given password is changed, nothing but the change works.
    let first = login(&server, "li-ming", INITIAL_PASSWORD).await;
    let write = || Some(json!({ "channel": "tzgg", "title": "x" }));
    let (status, _, body) = api(&server, &first, Method::GET, "/api/v1/tenants/zh/documents", None).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "password_change_required"), "{body}");
    let (status, _, me) = api(&server, &first, Method::GET, "/api/v1/session", None).await;
    assert_eq!((status, me["must_change_password"].as_bool()), (200, Some(true)), "{me}");
    let change = |current: &str, new: &str| Some(json!({ "current_password": current, "new_password": new }));
    for (current, new, status_code) in [
        ("Not-The-Password-1", "Spring-Rain-2026", (403, "wrong_password")),
        (INITIAL_PASSWORD, "Password12", (422, "weak_password")),
        (INITIAL_PASSWORD, "Li-Ming-2026x", (422, "weak_password")),
        (INITIAL_PASSWORD, INITIAL_PASSWORD, (422, "same_password")),
    ] {
        let (status, _, body) = api(&server, &first, Method::PUT, "/api/v1/session/password", change(current, new)).await;
        assert_eq!((status, error_code(&body).as_str()), status_code, "{new}: {body}");
    }
    let second = login(&server, "li-ming", INITIAL_PASSWORD).await;
    let (status, _, body) = api(&server, &first, Method::PUT, "/api/v1/session/password", change(INITIAL_PASSWORD, "Spring-Rain-2026")).await;
    assert_eq!(status, 200, "{body}");
    // The session that changed it goes on; the other one ended; the old password is gone.
    let (status, _, _) = api(&server, &first, Method::GET, "/api/v1/tenants/zh/documents", None).await;
    assert_eq!(status, 200);
    let (status, _, _) = api(&server, &second, Method::GET, "/api/v1/tenants/zh/documents", None).await;
    assert_eq!(status, 401, "the other session ended with the change");
    assert_eq!(login_from(&server, "127.0.0.3", "li-ming", INITIAL_PASSWORD).await.0, 401);
    let token = login(&server, "li-ming", "Spring-Rain-2026").await;

    // The 安全管理员 ends every session.
    let (status, _, _) = api(&server, &security, Method::DELETE, "/api/v1/users/li-ming/sessions", None).await;
    assert_eq!(status, 200);
    for t in [&first, &token] {
        assert_eq!(api(&server, t, Method::GET, "/api/v1/tenants/zh/documents", None).await.0, 401);
    }
    // A reset: sessions end, and the owner must change the password again.
    let token = login(&server, "li-ming", "Spring-Rain-2026").await;
    let (status, _, body) = api(&server, &security, Method::POST, "/api/v1/users/li-ming/password", Some(json!({ "password": "Reset-Given-Key-31" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api(&server, &token, Method::GET, "/api/v1/tenants/zh/documents", None).await.0, 401);
    let token = login(&server, "li-ming", "Reset-Given-Key-31").await;
    let (status, _, body) = api(&server, &token, Method::POST, "/api/v1/tenants/zh/documents", write()).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "password_change_required"));
    let (status, _, _) = api(&server, &token, Method::PUT, "/api/v1/session/password", change("Reset-Given-Key-31", "Autumn-Wind-2026")).await;
    assert_eq!(status, 200);

    // Disabled: the session ends and no login works, the right password included.
    let (status, _, _) = api(&server, &security, Method::POST, "/api/v1/users/li-ming/disable", None).await;
    assert_eq!(status, 200);
    assert_eq!(api(&server, &token, Method::GET, "/api/v1/tenants/zh/documents", None).await.0, 401);
    let (status, body) = login_from(&server, "127.0.0.3", "li-ming", "Autumn-Wind-2026").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("disabled"), "{body}");
    let (status, _, _) = api(&server, &security, Method::POST, "/api/v1/users/li-ming/enable", None).await;
    assert_eq!(status, 200);
    let token = login(&server, "li-ming", "Autumn-Wind-2026").await;
    // Stripped of every role, an account has nothing to log in for.
    let (status, _, _) = api(&server, &security, Method::PUT, "/api/v1/users/li-ming/roles", Some(json!({ "roles": [] }))).await;
    assert_eq!(status, 200);
    assert_eq!(api(&server, &token, Method::POST, "/api/v1/tenants/zh/documents", write()).await.0, 403);
    let (status, body) = login_from(&server, "127.0.0.3", "li-ming", "Autumn-Wind-2026").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no role"), "{body}");
    // An administrator cannot disable themselves; each act is in the trail.
    let (status, _, body) = api(&server, &security, Method::POST, "/api/v1/users/security/disable", None).await;
    assert_eq!(status, 403, "{body}");
    let actions: Vec<String> = trail_actions(&server).await.iter().map(|l| l["action"].as_str().unwrap().to_string()).collect();
    for expected in ["change_password", "revoke_sessions", "reset_password", "disable_account", "enable_account", "set_roles"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} not in the trail: {actions:?}");
    }
    let log = server.log();
    for secret in ["Spring-Rain-2026", "Autumn-Wind-2026", "Reset-Given-Key-31", INITIAL_PASSWORD] {
        assert!(!log.contains(secret), "a password reached the log");
    }
}

#[tokio::test]
async fn passwords_easy_to_guess_and_names_easy_to_confuse_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &[]).await;
    let security = server.security_token().await;
    let create = |username: &str, password: &str| Some(json!({ "username": username, "password": password, "roles": [{ "tenant": "zh", "role": "editor" }] }));
    for (username, password) in [
        ("wang-fang", "Password12"),
        ("wang-fang", "Qwerty1234"),
        ("wang-fang", "P@ssw0rd2026!"),
        ("wang-fang", "Wang-Fang2026"),
        ("wang-fang", "gnaf-gnaw#2026"),
        ("wang-fang", "Woaini@1314"),
        ("wang-fang", "1qaz@WSX3edc"),
    ] {
        let (status, _, body) = api(&server, &security, Method::POST, "/api/v1/users", create(username, password)).await;
        assert_eq!((status, error_code(&body).as_str()), (422, "weak_password"), "{password}: {body}");
    }
    let (status, _, _) = api(&server, &security, Method::POST, "/api/v1/users", create("na-editor", INITIAL_PASSWORD)).await;
    assert_eq!(status, 201);
    for look_alike in ["NA-EDITOR", "Na-Editor"] {
        let (status, _, body) = api(&server, &security, Method::POST, "/api/v1/users", create(look_alike, INITIAL_PASSWORD)).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "duplicate_username"), "{look_alike}: {body}");
    }
    // The name is the account's whatever the case it is typed in.
    let token = first_login(&server.base, "NA-Editor", INITIAL_PASSWORD).await;
    let (_, _, me) = api(&server, &token, Method::GET, "/api/v1/session", None).await;
    assert_eq!(me["username"], "na-editor");
}

#[tokio::test]
async fn a_recent_password_cannot_come_back_and_an_old_one_must_be_changed_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "pw", "密码镇").await;
    // `staff` chose STAFF_PASSWORD at first login, after the one the 安全管理员 gave.
    let staff = server.staff_token(&["pw"]).await;
    let change = |from: &'static str, to: &'static str| {
        let (server, staff) = (&server, staff.clone());
        async move {
            let (status, _, body) =
                api(server, &staff, Method::PUT, "/api/v1/session/password", Some(json!({ "current_password": from, "new_password": to }))).await;
            (status, body)
        }
    };
    let (status, body) = change(STAFF_PASSWORD, "Spring-Field-2027").await;
    assert_eq!(status, 200, "{body}");
    // Back to the one before, or the very first: both among the last five.
    for old in [STAFF_PASSWORD, INITIAL_PASSWORD] {
        let (status, body) = change("Spring-Field-2027", old).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("password_reused")), "{old}: {body}");
    }

    // --- Passwords expire after max_age_days: the policy says 30.
    let security = server.security_token().await;
    // Every field may be sent at its default value; a misspelled one is named.
    let defaults = json!({ "min_length": 10, "min_classes": 3, "idle_timeout_minutes": 30, "max_age_days": 0, "history": 5, "totp_for_platform": false });
    let (status, _, body) = api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(defaults)).await;
    assert_eq!(status, 200, "{body}");
    let typo = json!({ "min_length": 10, "min_classes": 3, "max_agedays": 30 });
    let (status, _, body) = api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(typo)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_field")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("`max_agedays`"), "{body}");
    let (_, _, mut policy) = api(&server, &security, Method::GET, "/api/v1/settings/password-policy", None).await;
    policy["max_age_days"] = json!(30);
    let (status, _, body) = api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(policy)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = api(&server, &staff, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(status, 200, "a password set today has not expired");
    // Simulated passage of time: the row says the password was set 31 days ago.
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("content.db").display())).await.unwrap();
    let month_ago = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 31 * 86_400_000;
    sqlx::query("UPDATE users SET password_changed_at = ? WHERE username = 'staff'").bind(month_ago).execute(&mut db).await.unwrap();
    let (status, _, body) = api(&server, &staff, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("password_change_required")), "{body}");
    let (status, body) = change("Spring-Field-2027", "Autumn-River-2027").await;
    assert_eq!(status, 200, "changing it is what is left to do: {body}");
    let (status, _, _) = api(&server, &staff, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(status, 200);
}
