//! What an anonymous client meets at the door of a real server: security
//! headers on every answer, only GET and HEAD on public pages, JSON errors
//! for every bad API request, a landing page that lists only online sites
//! (or nothing), `/metrics` behind a token or on its own address, and
//! deadlines for clients that send slowly, stall or just sit there.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::json;

async fn with_sites(extra: &[&str], env: &[(&str, &str)]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(&dir.path().join("node"), free_port(), extra, env).await;
    let admin = server.admin_token().await;
    for (code, name, lifecycle) in
        [("kaifang", "开放镇人民政府", "online"), ("jianshe", "建设中镇人民政府", "building"), ("guanting", "关停镇人民政府", "closed")]
    {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": lifecycle, "hosts": [format!("{code}.example.gov.cn")] });
        assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
    }
    (dir, server)
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_for_what_it_is() {
    let (_dir, server) = with_sites(&[], &[]).await;
    // The start-up line names the address really listened on.
    let hint = format!("is serving on http://127.0.0.1:{}/", server.port);
    assert!(server.log().contains(&hint), "{}", server.log());
    let c = client();
    let page = c.get(server.url("/sites/kaifang/")).send().await.unwrap();
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'self'") && csp.contains("object-src 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert_eq!(h["x-frame-options"], "SAMEORIGIN");
    assert!(h["cache-control"].to_str().unwrap().starts_with("public"), "public pages may be cached");
    let login = c.post(server.url("/api/v1/session")).json(&json!({ "username": "admin", "password": ADMIN_PASSWORD })).send().await.unwrap();
    assert_eq!(login.status(), 201);
    let h = login.headers();
    assert_eq!(h["cache-control"], "no-store", "a login answer holds a token");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let err = c.get(server.url("/api/v1/tenants")).send().await.unwrap();
    assert_eq!((err.status().as_u16(), err.headers()["cache-control"].to_str().unwrap()), (401, "no-store"));
}

#[tokio::test]
async fn public_pages_answer_only_get_and_head_and_bad_api_requests_get_json() {
    let (_dir, server) = with_sites(&[], &[]).await;
    let c = client();
    for method in ["POST", "PUT", "DELETE", "TRACE", "FOO", "PATCH"] {
        let r = c.request(Method::from_bytes(method.as_bytes()).unwrap(), server.url("/sites/kaifang/")).send().await.unwrap();
        assert_eq!(r.status(), 405, "{method}");
        assert_eq!(r.headers()["allow"], "GET, HEAD", "{method}");
    }
    let head = c.head(server.url("/sites/kaifang/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let token = server.admin_token().await;
    // Each answer is the JSON error, whatever went wrong where.
    for (method, path, status, code) in [
        (Method::GET, "/api/v1/tenants/kaifang/documents/not-a-number", 400, "invalid_path"),
        (Method::GET, "/api/v1/tenants/kaifang/documents/99999999999999999999999", 400, "invalid_path"),
        (Method::GET, "/api/v1/audit?limit=lots", 400, "invalid_query"),
        (Method::GET, "/api/v1/tenants/kaifang/documents?state=lost", 400, "invalid_query"),
        (Method::DELETE, "/api/v1/tenants", 405, "method_not_allowed"),
        (Method::from_bytes(b"TRACE").unwrap(), "/api/v1/session", 405, "method_not_allowed"),
        (Method::GET, "/api/v1/no/such/thing", 404, "no_such_endpoint"),
    ] {
        let r = c.request(method.clone(), server.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(&body), code, "{method} {path}: {body}");
    }
    // Types that are also logged ignore unknown fields in the log, but the
    // API still refuses a misspelled one.
    let r = c.patch(server.url("/api/v1/tenants/kaifang")).bearer_auth(&token).json(&json!({ "nmae": "错字" })).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(error_code(&body) == "invalid_field" && body["error"]["message"].as_str().unwrap().contains("nmae"), "{body}");
    let r = c.post(server.url("/api/v1/tenants/kaifang/attachments")).bearer_auth(&token).body("not multipart").send().await.unwrap();
    assert_eq!(r.status(), 415);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
}

#[tokio::test]
async fn strangers_learn_only_what_is_public() {
    // The landing page of an unknown host: online sites only.
    let (_dir, server) = with_sites(&[], &[]).await;
    let (status, landing) = page(&server, Some("203.0.113.9"), "/").await;
    assert_eq!(status, 200);
    assert!(landing.contains("开放镇人民政府") && landing.contains("kaifang.example.gov.cn"), "{landing}");
    for hidden in ["建设中镇", "jianshe.example.gov.cn", "关停镇", "guanting", "openapi"] {
        assert!(!landing.contains(hidden), "{hidden} on the landing page");
    }
    // /metrics is open on this node (no token set).
    assert_eq!(client().get(server.url("/metrics")).send().await.unwrap().status(), 200);
    drop(server);

    // Landing off, metrics behind a token.
    let token = "metrics-token-for-the-test-2026";
    let (_dir, server) = with_sites(&["--landing", "none"], &[("ZHANQUN_METRICS_TOKEN", token)]).await;
    let (status, landing) = page(&server, Some("203.0.113.9"), "/").await;
    assert_eq!(status, 404);
    assert!(!landing.contains("开放镇"), "{landing}");
    let c = client();
    assert_eq!(c.get(server.url("/metrics")).send().await.unwrap().status(), 401);
    assert_eq!(c.get(server.url("/metrics")).bearer_auth("wrong-token").send().await.unwrap().status(), 401);
    let r = c.get(server.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("zhanqun_raft_term"));
    drop(server);

    // Metrics on their own address: none on the public one.
    let metrics_port = free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let (_dir, server) = with_sites(&["--metrics-listen", &listen], &[]).await;
    assert_eq!(c.get(server.url("/metrics")).send().await.unwrap().status(), 404);
    let r = c.get(format!("http://{listen}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("zhanqun_raft_term"));
}

/// Waits for the server to close `stream`, at most `limit`; returns how long
/// it took, or `None` if it was still open.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[tokio::test]
async fn clients_that_trickle_stall_or_idle_are_dropped() {
    // Short deadlines so the test does not wait for the defaults (20 s, 30 s).
    let (_dir, server) = with_sites(&["--header-timeout-secs", "2", "--body-timeout-secs", "2"], &[]).await;
    let addr = format!("127.0.0.1:{}", server.port);
    let limit = Duration::from_secs(15);
    let opened = Instant::now();
    let check = move |what: &str, stream: &mut TcpStream| {
        closed_within(stream, limit).unwrap_or_else(|| panic!("{what}: still open after {limit:?}"));
        // Closed by the deadline, not by an error straight away.
        assert!(opened.elapsed() >= Duration::from_millis(1500), "{what}: closed too early ({:?})", opened.elapsed());
    };
    // Silent: connects and sends nothing.
    let mut idle = TcpStream::connect(&addr).unwrap();
    // Trickling: a byte of the request head every half second, for ever.
    let mut trickle = TcpStream::connect(&addr).unwrap();
    let trickler = {
        let mut s = trickle.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in
                b"GET /sites/kaifang/ HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().chain(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter())
            {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    // Stalling: announces a body and sends half of it.
    let mut stall = TcpStream::connect(&addr).unwrap();
    stall.write_all(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":").unwrap();
    // Kept alive after one answer, then silent.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 64];
    let n = kept.read(&mut first).unwrap();
    assert!(std::str::from_utf8(&first[..n]).unwrap().starts_with("HTTP/1.1 200"));
    // Kept alive after pages answered from memory (before hyper), then silent.
    let mut kept_page = TcpStream::connect(&addr).unwrap();
    let mut pending = Vec::new();
    for _ in 0..3 {
        kept_page.write_all(b"GET /sites/kaifang/ HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_answer(&mut kept_page, &mut pending, false).status, "HTTP/1.1 200 OK");
    }

    let blocking = tokio::task::spawn_blocking(move || {
        check("silent", &mut idle);
        check("trickling head", &mut trickle);
        check("stalled body", &mut stall);
        check("idle keep-alive", &mut kept);
        check("idle keep-alive after pages from memory", &mut kept_page);
    });
    blocking.await.unwrap();
    trickler.join().unwrap();
    // The node still serves everyone else.
    let (status, _) = page(&server, None, "/sites/kaifang/").await;
    assert_eq!(status, 200);
}

/// The container image has no shell or curl: its HEALTHCHECK is
/// `zhanqun health`, which must say yes to a live node and no to a dead one.
#[tokio::test]
async fn the_image_health_check_answers_yes_for_a_live_node_and_no_for_a_closed_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let health = |url: String| std::process::Command::new(env!("CARGO_BIN_EXE_zhanqun")).args(["health", "--url", &url]).output().unwrap();
    let live = health(server.url("/healthz"));
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    let closed = health(format!("http://127.0.0.1:{}/healthz", free_port()));
    assert!(!closed.status.success());
    assert!(String::from_utf8_lossy(&closed.stderr).contains("does not answer"), "{}", String::from_utf8_lossy(&closed.stderr));
    let missing = health(server.url("/no-such-page"));
    assert!(!missing.status.success(), "a 404 is not healthy");
}

/// One HTTP/1.1 answer read off a raw connection: its status line and
/// headers (lower-cased names, in the order sent) and its body.
struct Answer {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The headers, sorted, without `date` (which moves every second).
    fn headers_but_date(&self) -> Vec<(String, String)> {
        let mut h: Vec<_> = self.headers.iter().filter(|(n, _)| n != "date").cloned().collect();
        h.sort();
        h
    }
}

/// Reads the next answer from `stream` (bytes of later answers stay in
/// `pending`); `head_only` for the answer to a HEAD request.
fn read_answer(stream: &mut TcpStream, pending: &mut Vec<u8>, head_only: bool) -> Answer {
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut chunk = [0u8; 16 * 1024];
    let end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).expect("an answer within 20 s");
        assert!(n > 0, "the server closed the connection before answering; got {:?}", String::from_utf8_lossy(pending));
        pending.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(pending.drain(..end).collect()).unwrap();
    let mut lines = head.trim_end().split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> =
        lines.map(|l| l.split_once(':').unwrap()).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let length = if head_only { 0 } else { headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap()) };
    while pending.len() < length {
        let n = stream.read(&mut chunk).expect("the whole body within 20 s");
        assert!(n > 0, "the server closed the connection in the middle of a body");
        pending.extend_from_slice(&chunk[..n]);
    }
    let body = pending.drain(..length).collect();
    Answer { status, headers, body }
}

#[tokio::test]
async fn a_page_answered_from_memory_is_byte_for_byte_what_the_full_stack_sent_and_anything_else_on_that_connection_still_works() {
    let (_dir, server) = with_sites(&[], &[]).await;
    let addr = format!("127.0.0.1:{}", server.port);
    let get = |extra: &str| format!("GET /sites/kaifang/ HTTP/1.1\r\nHost: kaifang.example.gov.cn\r\n{extra}\r\n");
    tokio::task::spawn_blocking(move || {
        // First ever: the page is rendered and goes through every layer.
        let mut first = TcpStream::connect(&addr).unwrap();
        let mut pending = Vec::new();
        first.write_all(get("").as_bytes()).unwrap();
        let rendered = read_answer(&mut first, &mut pending, false);
        assert_eq!(rendered.status, "HTTP/1.1 200 OK");
        assert!(String::from_utf8_lossy(&rendered.body).contains("开放镇人民政府"));
        assert!(rendered.header("date").is_some() && rendered.header("etag").is_some() && rendered.header("content-security-policy").is_some());

        // A new connection asks for it three times in one write (pipelined),
        // then for something never kept, then the page once more: answers
        // in order, the page each time exactly as it was first sent.
        let mut reader = TcpStream::connect(&addr).unwrap();
        let mut pending = Vec::new();
        let asked = [get(""), get("Connection: keep-alive\r\n"), get(""), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), get("")].concat();
        reader.write_all(asked.as_bytes()).unwrap();
        for i in 0..3 {
            let again = read_answer(&mut reader, &mut pending, false);
            assert_eq!(again.status, "HTTP/1.1 200 OK", "answer {i}");
            assert_eq!(again.headers_but_date(), rendered.headers_but_date(), "answer {i}'s headers");
            assert!(again.header("date").is_some(), "answer {i} is dated");
            assert!(again.body == rendered.body, "answer {i}'s body differs");
        }
        let health = read_answer(&mut reader, &mut pending, false);
        assert_eq!((health.status.as_str(), health.body.as_slice()), ("HTTP/1.1 200 OK", &b"ok"[..]));
        let last = read_answer(&mut reader, &mut pending, false);
        assert_eq!(last.headers_but_date(), rendered.headers_but_date());
        assert!(last.body == rendered.body);

        // What asks for more than the page gets more, kept or not.
        let mut other = TcpStream::connect(&addr).unwrap();
        let mut pending = Vec::new();
        let etag = rendered.header("etag").unwrap().to_string();
        other.write_all(get(&format!("If-None-Match: {etag}\r\n")).as_bytes()).unwrap();
        assert_eq!(read_answer(&mut other, &mut pending, false).status, "HTTP/1.1 304 Not Modified");
        other.write_all(b"HEAD /sites/kaifang/ HTTP/1.1\r\nHost: kaifang.example.gov.cn\r\n\r\n").unwrap();
        let head = read_answer(&mut other, &mut pending, true);
        assert_eq!(head.status, "HTTP/1.1 200 OK");
        assert_eq!(head.header("etag"), Some(etag.as_str()));
        // Compressed when asked, on a connection that started with the page.
        let mut zipped = TcpStream::connect(&addr).unwrap();
        let mut pending = Vec::new();
        zipped.write_all([get(""), get("Accept-Encoding: gzip\r\n"), get("Accept-Encoding: gzip\r\n")].concat().as_bytes()).unwrap();
        assert!(read_answer(&mut zipped, &mut pending, false).body == rendered.body);
        for _ in 0..2 {
            let gz = read_answer(&mut zipped, &mut pending, false);
            assert_eq!(gz.header("content-encoding"), Some("gzip"));
            let mut text = String::new();
            flate2::read::GzDecoder::new(gz.body.as_slice()).read_to_string(&mut text).unwrap();
            assert!(text.as_bytes() == rendered.body.as_slice(), "the gzip form is the same page");
        }
        // The connection that started with the page ends on `Connection: close`.
        zipped.write_all(get("Connection: close\r\n").as_bytes()).unwrap();
        assert!(read_answer(&mut zipped, &mut pending, false).body == rendered.body);
        assert!(closed_within(&mut zipped, Duration::from_secs(10)).is_some(), "still open after Connection: close");
    })
    .await
    .unwrap();
}
