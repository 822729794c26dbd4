//! HTTPS served by zhanqun itself, for a cluster without an ingress: each
//! site's certificate, given by the 系统管理员 through the API, is chosen by
//! the name the client asks for (SNI) on one listener, and a new one is
//! served without a restart. A real node on loopback, a real TLS client
//! (tokio-rustls); the certificates are self-signed ones made here with
//! rcgen, so the client records what it was offered instead of trusting a
//! CA.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use reqwest::Method;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts any certificate and keeps the one offered: what SNI chose is
/// what the test checks (there is no CA to trust).
#[derive(Debug, Default)]
struct Recording(Mutex<Option<Vec<u8>>>);

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap() = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &rustls::crypto::ring::default_provider().signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &rustls::crypto::ring::default_provider().signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

/// What an HTTPS client asking for `host` on `port` was offered and got
/// for `GET /`: (the certificate's DER, the raw answer), or the handshake's
/// error. `tls12_only` holds the client to TLS 1.2.
async fn https_get(port: u16, host: &str, tls12_only: bool) -> Result<(Vec<u8>, String), String> {
    let recording = Arc::new(Recording::default());
    let versions: &[&rustls::SupportedProtocolVersion] =
        if tls12_only { &[&rustls::version::TLS12] } else { &[&rustls::version::TLS13, &rustls::version::TLS12] };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_string()).unwrap();
    let mut tls = tokio::time::timeout(std::time::Duration::from_secs(10), tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|_| "the handshake did not finish in 10 s".to_string())?
        .map_err(|e| e.to_string())?;
    tls.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    let offered = recording.0.lock().unwrap().clone().ok_or("no certificate offered")?;
    Ok((offered, String::from_utf8_lossy(&answer).into_owned()))
}

/// A self-signed certificate for `host`: (chain PEM, key PEM, DER).
fn certificate_for(host: &str) -> (String, String, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec![host.to_string()]).unwrap();
    (made.cert.pem(), made.signing_key.serialize_pem(), made.cert.der().to_vec())
}

fn give(chain: &str, key: &str) -> serde_json::Value {
    json!({ "chain_pem": chain, "private_key_pem": key })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_site_host_is_served_its_own_certificate_and_a_new_one_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tls_port = free_port();
    let tls_listen = format!("127.0.0.1:{tls_port}");
    let server = Server::start(&dir.path().join("data"), &["--tls-listen", &tls_listen, "--tls-redirect-http"]).await;
    let admin = server.admin_token().await;
    let sites =
        [("nz", "牛庄镇人民政府", "nz.haicheng.gov.cn"), ("xl", "析木镇人民政府", "xm.haicheng.gov.cn"), ("gt", "感王镇人民政府", "gw.haicheng.gov.cn")];
    let no_follow = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut given = Vec::new();
    for (code, name, host) in sites {
        server.online_township(&admin, code, name).await;
        let (status, _, body) = api(&server, &admin, Method::PATCH, &format!("/api/v1/tenants/{code}"), Some(json!({ "hosts": [host] }))).await;
        assert_eq!(status, 200, "{body}");
        // Before it has a certificate the site is served over plain HTTP
        // (twice: the second answer is the one kept ready) …
        for _ in 0..2 {
            let r = no_follow.get(server.url("/")).header("host", host).send().await.unwrap();
            assert_eq!(r.status(), 200, "{host} before its certificate");
        }
        let (chain, key, der) = certificate_for(host);
        let (status, _, body) = api(&server, &admin, Method::PUT, &format!("/api/v1/tenants/{code}/certificate"), Some(give(&chain, &key))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["hosts"], json!([host]), "{body}");
        assert!(body.get("private_key_pem").is_none(), "the key never comes back: {body}");
        given.push(der);
        // … and once it has one, plain HTTP is sent to HTTPS: the answer
        // kept ready went with the page cache's epoch.
        let r = no_follow.get(server.url("/")).header("host", host).send().await.unwrap();
        assert_eq!(r.status(), 308, "{host}: a page kept from before its certificate was served over plain HTTP");
    }

    // One listener, three names: each gets its own certificate and its own
    // site's home page, with HSTS; TLS 1.2 alone works too.
    for ((_, name, host), der) in sites.iter().zip(&given) {
        let (offered, answer) = https_get(tls_port, host, false).await.unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(&offered, der, "{host} was offered another site's certificate");
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {}", &answer[..answer.len().min(300)]);
        assert!(answer.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{host}: no HSTS");
        assert!(answer.contains(name), "{host} did not answer with {name}'s home page");
        let (offered, _) = https_get(tls_port, host, true).await.unwrap_or_else(|e| panic!("{host} over TLS 1.2: {e}"));
        assert_eq!(&offered, der);
    }
    // A name no site has a certificate for gets no handshake.
    assert!(https_get(tls_port, "unknown.haicheng.gov.cn", false).await.is_err(), "a certificate was offered for a host without one");

    // A renewed certificate is served at once, no restart.
    let (chain, key, renewed) = certificate_for("xm.haicheng.gov.cn");
    let (status, _, body) = api(&server, &admin, Method::PUT, "/api/v1/tenants/xl/certificate", Some(give(&chain, &key))).await;
    assert_eq!(status, 200, "{body}");
    let (offered, _) = https_get(tls_port, "xm.haicheng.gov.cn", false).await.unwrap();
    assert_eq!(offered, renewed, "the old certificate is still served after the new one was given");
    let (offered, _) = https_get(tls_port, "nz.haicheng.gov.cn", false).await.unwrap();
    assert_eq!(offered, given[0], "renewing one site's certificate changed another's");

    // Plain HTTP on a host with a certificate is sent to HTTPS; the node's
    // own address (peers, probes) is not.
    let r = no_follow.get(server.url("/col/tzgg/?page=2")).header("host", "nz.haicheng.gov.cn").send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "https://nz.haicheng.gov.cn/col/tzgg/?page=2");
    let r = no_follow.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Its expiry is a gauge per site.
    let metrics = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for (code, _, _) in sites {
        assert!(metrics.contains(&format!("zhanqun_tls_cert_expiry_seconds{{tenant=\"{code}\"}}")), "no expiry gauge for {code}");
    }

    // Taken off, the host is no longer served over HTTPS nor redirected.
    let (status, _, body) = api(&server, &admin, Method::DELETE, "/api/v1/tenants/gt/certificate", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(https_get(tls_port, "gw.haicheng.gov.cn", false).await.is_err());
    let r = no_follow.get(server.url("/")).header("host", "gw.haicheng.gov.cn").send().await.unwrap();
    assert_eq!(r.status(), 200);

    // The audit trail names each certificate by fingerprint, never its key.
    let auditor = server.auditor_token().await;
    let (status, _, trail) = api(&server, &auditor, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert_eq!(status, 200);
    let text = trail.to_string();
    assert_eq!(text.matches("set_certificate").count(), 5, "three given, one renewed, one taken off: {text}");
    assert!(!text.contains("PRIVATE KEY"), "a key reached the audit trail");
    assert!(!server.log().contains("PRIVATE KEY"), "a key reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_cannot_serve_the_site_is_refused_with_the_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    let admin = server.admin_token().await;
    server.online_township(&admin, "nz", "牛庄镇人民政府").await;
    let (status, _, _) = api(&server, &admin, Method::PATCH, "/api/v1/tenants/nz", Some(json!({ "hosts": ["nz.haicheng.gov.cn"] }))).await;
    assert_eq!(status, 200);
    let put = |body: serde_json::Value| {
        let (server, admin) = (&server, &admin);
        async move { api(server, admin, Method::PUT, "/api/v1/tenants/nz/certificate", Some(body)).await }
    };

    let (chain, key, _) = certificate_for("www.other-city.gov.cn");
    let (status, _, body) = put(give(&chain, &key)).await;
    assert_eq!((status, error_code(&body)), (422, "invalid_certificate".into()), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("none of the site's hosts (nz.haicheng.gov.cn)"), "{body}");

    let (chain, _, _) = certificate_for("nz.haicheng.gov.cn");
    let (_, other_key, _) = certificate_for("nz.haicheng.gov.cn");
    let (status, _, body) = put(give(&chain, &other_key)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("does not belong to the certificate"), "{body}");

    let mut params = rcgen::CertificateParams::new(vec!["nz.haicheng.gov.cn".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired_key = rcgen::KeyPair::generate().unwrap();
    let expired = params.self_signed(&expired_key).unwrap();
    let (status, _, body) = put(give(&expired.pem(), &expired_key.serialize_pem())).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expired on 2021-01-01"), "{body}");

    let (status, _, body) = put(give("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", &key)).await;
    assert_eq!(status, 422, "{body}");

    // A site's own admin may not give its certificate.
    let staff = server.staff_token(&["nz"]).await;
    let (chain, key, _) = certificate_for("nz.haicheng.gov.cn");
    let (status, _, _) = api(&server, &staff, Method::PUT, "/api/v1/tenants/nz/certificate", Some(give(&chain, &key))).await;
    assert_eq!(status, 403);

    // Nothing was stored by any of these.
    let (status, _, body) = api(&server, &admin, Method::GET, "/api/v1/tenants/nz/certificate", None).await;
    assert_eq!((status, error_code(&body)), (404, "no_certificate".into()), "{body}");
}

/// Nobody needs curl: the 系统管理员 pastes the certificate and key into the
/// site's settings in the workbench (a real Chromium), sees its expiry and
/// fingerprint but never the key again, and the site is served with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_admin_gives_a_site_its_certificate_in_the_workbench() {
    use common::browser::{DEMO_PASSWORD, Driver, shoot};
    let dir = tempfile::tempdir().unwrap();
    let tls_port = free_port();
    let tls_listen = format!("127.0.0.1:{tls_port}");
    let server =
        Server::start_with_env(&dir.path().join("data"), free_port(), &["--demo", "--tls-listen", &tls_listen], &[("ZHANQUN_DEMO_PASSWORD", DEMO_PASSWORD)])
            .await;
    let host = "niuzhuang.haicheng.gov.cn";
    let (chain, key, der) = certificate_for(host);

    let driver = Driver::start().await;
    let b = driver.browser(1024, 768).await;
    b.goto(&server.url("/admin/")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click_through("button[type=submit]").await;
    b.wait_text("我的待办").await;
    b.goto(&server.url("/admin/platform/sites/niuzhuang")).await;
    b.wait_text("尚未上传证书").await;

    // A key of another certificate: refused, with the reason on the page.
    let (_, other_key, _) = certificate_for(host);
    b.fill("#chain_pem", &chain).await;
    b.fill("#private_key_pem", &other_key).await;
    b.click_through("form[action='/admin/platform/site-certificate'] button[type=submit]").await;
    b.wait_text("does not belong to the certificate").await;

    b.goto(&server.url("/admin/platform/sites/niuzhuang")).await;
    b.fill("#chain_pem", &chain).await;
    b.fill("#private_key_pem", &key).await;
    b.click_through("form[action='/admin/platform/site-certificate'] button[type=submit]").await;
    b.wait_text("当前证书有效期至").await;
    let shown = b.text(".certificate-now").await;
    assert!(shown.contains(host), "{shown}");
    let html = b.run("return document.documentElement.outerHTML;", json!([])).await.as_str().unwrap_or_default().to_string();
    assert!(!html.contains("PRIVATE KEY"), "the key is shown again on the page");
    b.run("document.getElementById('certificate').scrollIntoView();", json!([])).await;
    shoot(&b, "40-site-certificate").await;

    let (offered, answer) = https_get(tls_port, host, false).await.unwrap();
    assert_eq!(offered, der, "the site is not served with the certificate given in the workbench");
    assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(200)]);
}
