//! The second factor (TOTP) against a real `zhanqun serve`: the 安全管理员
//! enrolls an authenticator, then a script that knows the password guesses
//! codes — every wrong code is refused and kept in the audit trail, the
//! right code opens one session and never a second one, and the guessing
//! ends in the login lock. When the policy asks it of platform accounts,
//! one without a second factor can do nothing but enroll.
//!
//! The codes are computed here the way an authenticator app does
//! (`zhanqun_platform::totp`, checked against RFC 6238's test vectors).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhanqun_platform::totp;

async fn login(server: &Server, username: &str, password: &str, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "username": username, "password": password });
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    let r = client().post(server.url("/api/v1/session")).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Six digits that are not the secret's code for any step near now.
fn wrong_codes(secret: &[u8], n: usize) -> Vec<String> {
    let step = totp::step_at(now_ms());
    let near: Vec<String> = (step - 3..=step + 3).map(|s| totp::code(secret, s)).collect();
    (0..).map(|i| format!("{:06}", 100_003 * (i + 1) % 1_000_000)).filter(|c| !near.contains(c)).take(n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_refused_and_audited_the_right_one_works_once_and_guessing_ends_locked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    let security = server.security_token().await;

    // --- Enroll: a new secret, shown once; the app's code turns it on.
    let (status, _, new) = api(&server, &security, Method::POST, "/api/v1/session/totp", None).await;
    assert_eq!(status, 200, "{new}");
    let secret_text = new["secret"].as_str().unwrap().to_string();
    assert!(new["uri"].as_str().unwrap().starts_with("otpauth://totp/zhanqun:security?secret="), "{new}");
    let secret = totp::decode(&secret_text).unwrap();
    let (status, _, body) =
        api(&server, &security, Method::PUT, "/api/v1/session/totp", Some(json!({ "secret": secret_text, "code": wrong_codes(&secret, 1)[0] }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("wrong_code")), "a wrong code enrolls nothing: {body}");
    let enrolled_step = totp::step_at(now_ms());
    let (status, _, body) =
        api(&server, &security, Method::PUT, "/api/v1/session/totp", Some(json!({ "secret": secret_text, "code": totp::code(&secret, enrolled_step) }))).await;
    assert_eq!(status, 200, "{body}");

    // --- The password alone no longer logs in.
    let (status, body) = login(&server, "security", SECURITY_PASSWORD, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("second factor"), "{body}");

    // --- Two wrong guesses, then the right code (the next step's: the
    // enrolling code's step is spent): one session.
    for code in wrong_codes(&secret, 2) {
        let (status, body) = login(&server, "security", SECURITY_PASSWORD, Some(&code)).await;
        assert_eq!((status, body["error"]["message"].as_str()), (401, Some("wrong second-factor code")), "{code}");
    }
    let right = totp::code(&secret, enrolled_step + 1);
    let (status, body) = login(&server, "security", SECURITY_PASSWORD, Some(&right)).await;
    assert_eq!(status, 201, "{body}");
    // The same code again — someone who watched it typed — is refused.
    let (status, body) = login(&server, "security", SECURITY_PASSWORD, Some(&right)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("used already"), "{body}");

    // --- Guessing on ends in the lock (5 failures in a row by default).
    let mut last = (0, Value::Null);
    for code in wrong_codes(&secret, 4) {
        last = login(&server, "security", SECURITY_PASSWORD, Some(&code)).await;
    }
    assert_eq!((last.0, last.1["error"]["code"].as_str()), (429, Some("login_locked")), "{}", last.1);

    // --- Every wrong or replayed code is in the audit trail, with the account.
    let auditor = server.auditor_token().await;
    let (status, _, trail) = api(&server, &auditor, Method::GET, "/api/v1/audit?limit=200", None).await;
    assert_eq!(status, 200, "{trail}");
    let wrong: Vec<&Value> = trail["items"].as_array().unwrap().iter().filter(|e| e["action"] == "wrong_totp_code").collect();
    assert_eq!(wrong.len(), 7, "2 wrong, 1 replayed, 4 wrong: {trail}");
    let text = trail.to_string();
    assert!(!text.contains(&secret_text), "the secret never reaches the audit trail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_policy_asks_it_a_platform_account_without_a_second_factor_can_only_enroll() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "zz", "测试镇").await;
    let staff = server.staff_token(&["zz"]).await;
    let security = server.security_token().await;
    let (status, _, policy) = api(&server, &security, Method::GET, "/api/v1/settings/password-policy", None).await;
    assert_eq!(status, 200);
    let mut policy = policy.clone();
    policy["totp_for_platform"] = json!(true);
    let (status, _, body) = api(&server, &security, Method::PUT, "/api/v1/settings/password-policy", Some(policy)).await;
    assert_eq!(status, 200, "{body}");

    // Every platform account, the 安全管理员 who set it included, is held at enrollment.
    for token in [&admin, &security] {
        let (status, _, body) = api(&server, token, Method::GET, "/api/v1/tenants", None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("totp_enrollment_required")), "{body}");
    }
    let (_, _, new) = api(&server, &admin, Method::POST, "/api/v1/session/totp", None).await;
    let secret = totp::decode(new["secret"].as_str().unwrap()).unwrap();
    let code = totp::code(&secret, totp::step_at(now_ms()));
    let (status, _, body) = api(&server, &admin, Method::PUT, "/api/v1/session/totp", Some(json!({ "secret": new["secret"], "code": code }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = api(&server, &admin, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(status, 200, "enrolled, the same session works: {body}");
    // A site account is not asked.
    let (status, _, body) = api(&server, &staff, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(status, 200, "{body}");
}
