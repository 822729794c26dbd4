//! One township editor with bad intent (or a bad paste) against a real
//! server: nothing they send may stall the node for the other sites, grow
//! its memory without bound, or reach into another site. After each attack
//! another township's cached home page must still answer within 100 ms.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// One test at a time: each measures another site's page while it loads
/// its own node, and the others' load would be measured with it.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Two township sites: the attacker's `gongji` and the bystander `pangguan`,
/// each with a column and a published page; returns the attacker's token.
async fn two_townships(server: &Server) -> String {
    let admin = server.admin_token().await;
    for (code, name) in [("gongji", "攻击镇人民政府"), ("pangguan", "旁观镇人民政府")] {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" });
        let (status, _, body) = api(server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await;
        assert_eq!(status, 201, "{body}");
        let (status, _, _) =
            api(server, &admin, Method::POST, &format!("/api/v1/tenants/{code}/channels"), Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
        assert_eq!(status, 201);
    }
    let bystander = site_account(&server.base, "pangguan-web", &[("pangguan", "admin")]).await;
    let (status, _, doc) = api(
        server,
        &bystander,
        Method::POST,
        "/api/v1/tenants/pangguan/documents",
        Some(json!({ "channel": "tzgg", "title": "旁观镇关于冬季防火的通知", "body_html": "<p>各村注意防火。</p>", "disclosure": "主动公开" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    let (status, _, body) = review_and_publish(&server.base, &bystander, "pangguan", doc["id"].as_i64().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    site_account(&server.base, "gongji-web", &[("gongji", "editor")]).await
}

/// The bystander's home page: the median of five fetches must stay under
/// 100 ms (the median, so one scheduling hiccup of a loaded CI machine does
/// not fail the test; a stalled node fails every fetch).
async fn bystander_answers_quickly(server: &Server, after: &str) {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = page(server, None, "/sites/pangguan/").await;
        times.push(started.elapsed());
        assert_eq!(status, 200, "after {after}: {body}");
    }
    times.sort();
    assert!(times[2] < Duration::from_millis(100), "after {after} the other site's page took {:?} (median of {times:?})", times[2]);
}

async fn create(server: &Server, token: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = api(server, token, Method::POST, "/api/v1/tenants/gongji/documents", Some(body)).await;
    (status, body)
}

#[tokio::test]
async fn html_that_would_stall_the_sanitizer_is_refused_and_the_other_sites_keep_answering() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let attacker = two_townships(&server).await;
    bystander_answers_quickly(&server, "the set-up").await;
    // Shapes that make the browsers' parsing algorithm quadratic: deep
    // nesting of several kinds of element, and formatting left open so the
    // parser re-opens it in every paragraph.
    let reopened: String = (0..4_000).map(|i| format!("<p><b id=x{i}></p>")).collect();
    let hostile = [
        ("divs", "<div>".repeat(100_000)),
        ("nested lists", "<ul><li>".repeat(40_000)),
        ("blockquotes", "<blockquote>".repeat(50_000)),
        ("definition lists", "<dl><dt>".repeat(40_000)),
        ("bold around divs", "<b><div>".repeat(40_000)),
        ("formatting re-opened per paragraph", reopened),
    ];
    for (name, html) in hostile {
        let started = Instant::now();
        let (status, body) = create(&server, &attacker, json!({ "channel": "tzgg", "title": name, "body_html": html })).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert!(["html_too_deep", "html_too_complex"].contains(&error_code(&body).as_str()), "{name}: {body}");
        assert!(started.elapsed() < Duration::from_secs(10), "{name} took {:?} to refuse", started.elapsed());
        bystander_answers_quickly(&server, name).await;
    }
    // The same shapes in an edit are refused the same way.
    let (status, doc) = create(&server, &attacker, json!({ "channel": "tzgg", "title": "正常草稿", "body_html": "<p>正文</p>" })).await;
    assert_eq!(status, 201, "{doc}");
    let path = format!("/api/v1/tenants/gongji/documents/{}", doc["id"]);
    let (status, _, body) = api(&server, &attacker, Method::PATCH, &path, Some(json!({ "body_html": "<section>".repeat(60_000) }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "html_too_deep"), "{body}");
    // A long but ordinary document goes through, sanitized.
    let long: String = (0..20_000).map(|i| format!("<p>第{i}段：各村（社区）做好冬季供暖保障。<script>x()</script></p>")).collect();
    let (status, body) = create(&server, &attacker, json!({ "channel": "tzgg", "title": "很长的正常文件", "body_html": long })).await;
    assert_eq!(status, 201, "{}", body.to_string().chars().take(300).collect::<String>());
    assert!(!body["body_html"].as_str().unwrap().contains("<script"), "sanitized");
    bystander_answers_quickly(&server, "a long ordinary document").await;
    // Nothing of the refused drafts was stored.
    let (_, _, list) = api(&server, &attacker, Method::GET, "/api/v1/tenants/gongji/documents", None).await;
    assert_eq!(list["total"], 2, "{}", list.to_string().chars().take(300).collect::<String>());
}

#[tokio::test]
async fn a_diff_of_two_huge_revisions_answers_in_bounded_time_and_memory() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let attacker = two_townships(&server).await;
    // 40,000 one-line paragraphs, then every other one changed: the old
    // quadratic diff needed a 40,000 × 40,000 table for this.
    let before: String = "<p>a</p>".repeat(40_000);
    let after: String = (0..40_000).map(|i| if i % 2 == 0 { "<p>a</p>".to_string() } else { format!("<li>{i}</li>") }).collect();
    let (status, doc) = create(&server, &attacker, json!({ "channel": "tzgg", "title": "大文件", "body_html": before.clone() })).await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/tenants/gongji/documents/{}", doc["id"]);
    let (status, _, _) = api(&server, &attacker, Method::PATCH, &path, Some(json!({ "body_html": after.clone() }))).await;
    assert_eq!(status, 200);
    let rss_before = rss_kib(&server);
    let started = Instant::now();
    let (status, _, diff) = api(&server, &attacker, Method::GET, &format!("{path}/revisions/2/diff"), None).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(20), "the diff took {took:?}");
    // No small diff exists here, so past its deadline the search settles
    // for a coarser one: still a true diff, which rebuilds both sides.
    let lines = diff["body"].as_array().unwrap();
    let side = |skip: &str| lines.iter().filter(|l| l["op"] != skip).map(|l| l["text"].as_str().unwrap()).collect::<Vec<_>>().concat();
    assert_eq!((side("+"), side("-")), (before.clone(), after.clone()), "the diff rebuilds both revisions");
    let grew = rss_kib(&server).saturating_sub(rss_before);
    assert!(grew < 400 * 1024, "the diff grew the node by {grew} KiB");
    bystander_answers_quickly(&server, "the huge diff").await;
    // A few paragraphs changed in the same huge text: the exact diff.
    let mut edited: Vec<String> = (0..40_000).map(|i| if i % 2 == 0 { "<p>a</p>".to_string() } else { format!("<li>{i}</li>") }).collect();
    for i in [7, 20_001, 39_998] {
        edited[i] = format!("<p>改动{i}</p>");
    }
    let (status, _, _) = api(&server, &attacker, Method::PATCH, &path, Some(json!({ "body_html": edited.concat() }))).await;
    assert_eq!(status, 200);
    let (status, _, diff) = api(&server, &attacker, Method::GET, &format!("{path}/revisions/3/diff"), None).await;
    assert_eq!(status, 200);
    let changed: Vec<(&str, &str)> =
        diff["body"].as_array().unwrap().iter().filter(|l| l["op"] != " ").map(|l| (l["op"].as_str().unwrap(), l["text"].as_str().unwrap())).collect();
    assert_eq!(changed.len(), 6, "{changed:?}");
    assert!(changed.contains(&("-", "<li>7</li>")) && changed.contains(&("+", "<p>改动39998</p>")), "{changed:?}");
    // The revision list does not carry the bodies.
    let (status, _, list) = api(&server, &attacker, Method::GET, &format!("{path}/revisions"), None).await;
    assert_eq!(status, 200);
    assert!(list.to_string().len() < 2_000, "{list}");
}

/// Resident memory of the server process, from /proc.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn another_sites_doc_no_is_neither_blocked_nor_revealed() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let attacker = two_townships(&server).await;
    let bystander = server_login_staff(&server, "pangguan-web").await;
    // The bystander's own unpublished draft with its 文号.
    let (status, _, draft) = api(
        &server,
        &bystander,
        Method::POST,
        "/api/v1/tenants/pangguan/documents",
        Some(json!({ "channel": "tzgg", "title": "旁观镇未发布的文件", "doc_no": "旁政发〔2026〕7号", "issuing_organ": "旁观镇人民政府" })),
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    // The attacker claims the bystander's organ and number, in other bracket spellings.
    for (n, spelling) in ["旁政发〔2026〕7号", "旁政发[2026]7号", "旁政发(2026)7号"].iter().enumerate() {
        let (status, body) =
            create(&server, &attacker, json!({ "channel": "tzgg", "title": format!("冒用{n}"), "doc_no": spelling, "issuing_organ": "旁观镇人民政府" })).await;
        if n == 0 {
            assert_eq!(status, 201, "another site's number is not taken in this site: {body}");
        } else {
            // Within the attacker's own site the number is unique, and the
            // answer names only the attacker's own document.
            assert_eq!((status, error_code(&body).as_str()), (409, "duplicate_doc_no"), "{body}");
            assert!(!body.to_string().contains(&draft["id"].to_string()), "the other site's draft was named: {body}");
        }
    }
    // The bystander's next number is not blocked by the attacker's claim.
    let (status, _, body) = api(
        &server,
        &bystander,
        Method::POST,
        "/api/v1/tenants/pangguan/documents",
        Some(json!({ "channel": "tzgg", "title": "旁观镇下一个文件", "doc_no": "旁政发〔2026〕8号", "issuing_organ": "旁观镇人民政府" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn server_login_staff(server: &Server, username: &str) -> String {
    login_at(&server.base, username, STAFF_PASSWORD).await
}

#[tokio::test]
async fn other_spellings_of_a_page_are_not_pages_and_the_cache_stays_within_its_budget() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // A small budget, so that the test can fill it.
    let server = Server::start(&dir.path().join("node"), &["--page-cache-mb", "4"]).await;
    two_townships(&server).await;
    let bystander = server_login_staff(&server, "pangguan-web").await;
    let (_, _, list) = api(&server, &bystander, Method::GET, "/api/v1/tenants/pangguan/documents", None).await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let (status, _) = page(&server, None, &format!("/sites/pangguan/art/{id}.html")).await;
    assert_eq!(status, 200);
    for spelling in
        [format!("/sites/pangguan/art/0{id}.html"), format!("/sites/pangguan/art/{}{id}.html", "0".repeat(200)), format!("/sites/pangguan/art/+{id}.html")]
    {
        let (status, _) = page(&server, None, &spelling).await;
        assert_eq!(status, 404, "{spelling}");
    }
    let cached_before = metric(&server, "zhanqun_page_cache_bytes").await;
    for i in 1..200 {
        let (status, _) = page(&server, None, &format!("/sites/pangguan/art/{}{id}.html", "0".repeat(i))).await;
        assert_eq!(status, 404);
        let (status, _) = page(&server, None, &format!("/sites/pangguan/index.html?v={i}")).await;
        assert_eq!(status, 200);
    }
    let cached_after = metric(&server, "zhanqun_page_cache_bytes").await;
    assert!(cached_after <= cached_before + 64.0 * 1024.0, "400 spellings grew the cache from {cached_before} to {cached_after} bytes");
    assert!(cached_after <= 4.0 * 1024.0 * 1024.0);
    bystander_answers_quickly(&server, "400 other spellings").await;
}

/// A gauge's value on `/metrics`.
pub async fn metric(server: &Server, name: &str) -> f64 {
    let text = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).unwrap_or_else(|| panic!("{name} not on /metrics"))
}

#[tokio::test]
async fn exports_show_formulas_as_text() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let o = common::office::office(dir.path()).await;
    let formulas = ["=HYPERLINK(\"http://evil.example\",\"点此\")", "+1+2", "-3+4", "@SUM(A1)", "\t=1+1"];
    for (n, f) in formulas.iter().enumerate() {
        // Titles are one line (no tab); the basis and the reason may hold one.
        let title = format!("{}{n}", f.trim_start());
        let id = o.draft(json!({ "title": title, "disclosure": "依申请公开", "disclosure_basis": f, "disclosure_reason": "涉及第三方权益" })).await;
        let (status, _) = o.step(&o.editor, id, "submit", None).await;
        assert_eq!(status, 200);
        let (status, body) = o.step(&o.disclosure, id, "return", Some(json!({ "reason": format!("{f} 请补充") }))).await;
        assert_eq!(status, 200, "{body}");
    }
    let year = chrono_year();
    let r = client().get(o.server.url(&format!("/api/v1/tenants/wf/self-inspection?year={year}&format=csv"))).bearer_auth(&o.reviewer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let report = r.text().await.unwrap();
    let auditor = o.server.auditor_token().await;
    let r = client().get(o.server.url("/api/v1/audit?format=csv&limit=1000")).bearer_auth(&auditor).send().await.unwrap();
    let trail = r.text().await.unwrap();
    for csv in [&report, &trail] {
        for cell in csv_cells(csv) {
            let first = cell.trim_start_matches(['\t', '\r', ' ']).chars().next();
            assert!(!matches!(first, Some('=' | '+' | '-' | '@')) || cell.starts_with('\''), "a cell a spreadsheet would run: {cell:?}");
        }
    }
    assert!(report.contains("'=HYPERLINK") && trail.contains("'+1+2 请补充"), "{report}\n{trail}");
}

/// The current year in Beijing time (the report is per 索引号 year).
fn chrono_year() -> i32 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + 8 * 3600;
    // Days to civil year (Howard Hinnant's algorithm, year only).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    (yoe + era * 400 + i64::from(mp >= 10)) as i32
}

/// The cells of a CSV text (quoted cells unquoted).
fn csv_cells(csv: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let (mut cell, mut quoted, mut chars) = (String::new(), false, csv.trim_start_matches('\u{feff}').chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',' | '\n', false) => cells.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[tokio::test]
async fn free_text_has_limits_and_refuses_invisible_and_control_characters() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let attacker = two_townships(&server).await;
    let cases = [
        ("summary", json!("摘".repeat(1_001)), "too_long"),
        ("topic", json!("类".repeat(51)), "too_long"),
        ("disclosure_basis", json!("依".repeat(501)), "too_long"),
        ("source", json!("新华社\u{7}"), "invalid_text"),
        ("author", json!("张三\n李四"), "invalid_text"),
        ("title", json!("关于\u{202e}知通的"), "invalid_text"),
        ("title", json!("通知\u{200b}"), "invalid_text"),
        ("source", json!("来源\u{2066}隐藏\u{2069}"), "invalid_text"),
    ];
    for (field, value, code) in cases {
        let mut body = json!({ "channel": "tzgg", "title": "正常标题" });
        body[field] = value.clone();
        let (status, refused) = create(&server, &attacker, body).await;
        assert_eq!((status, error_code(&refused).as_str()), (422, code), "{field} = {value}: {refused}");
    }
    // A reason may run over several lines.
    let (status, body) =
        create(&server, &attacker, json!({ "channel": "tzgg", "title": "依申请公开的文件", "disclosure": "依申请公开", "disclosure_basis": "《条例》第十五条", "disclosure_reason": "涉及第三方；\n已征求意见。" }))
            .await;
    assert_eq!(status, 201, "{body}");
    // A file whose name hides its real extension behind a right-to-left override.
    let part = reqwest::multipart::Part::bytes(b"MZ not really".to_vec()).file_name("\u{5934}\u{50cf}\u{202e}gnp.exe");
    let r = client()
        .post(server.url("/api/v1/tenants/gongji/attachments"))
        .bearer_auth(&attacker)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_text", "{body}");
    bystander_answers_quickly(&server, "the refused fields").await;
}
