//! Fetching a feed without letting a feed URL reach what it must not:
//! every hop's host is resolved here, every address checked, and the
//! connection pinned to the checked addresses (a name that resolves to a
//! public address when checked and to 127.0.0.1 when connecting — DNS
//! rebinding — never gets through). Redirects are followed by hand, at
//! most 3, each checked the same way. The body is read up to a cap; the
//! whole fetch has a deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use zhanqun_model::repost::FeedFailure;

/// What a poll may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Which addresses a feed without `allow_private` may not reach:
    /// [`is_internal`] (a test may call one loopback address public).
    pub internal: fn(IpAddr) -> bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 5 * 1024 * 1024, timeout: Duration::from_secs(20), max_redirects: 3, internal: is_internal }
    }
}

/// A feed's answer.
#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Body { bytes: Vec<u8>, etag: Option<String>, last_modified: Option<String> },
}

pub type Failure = (FeedFailure, String);

/// Whether an address is one a feed may not reach unless its operator
/// allowed it: loopback, private, link-local (cloud metadata at
/// 169.254.169.254), shared (100.64/10), unspecified, multicast, broadcast,
/// documentation ranges, IPv6 unique-local, and IPv4 inside IPv6.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // IPv4-compatible (deprecated) and NAT64 forms carry an IPv4 inside.
                || (seg[..6] == [0, 0, 0, 0, 0, 0])
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
        }
    }
}

/// The addresses `host` stands for, each allowed; else why not.
async fn resolve(host: &str, port: u16, allow_private: bool, internal: fn(IpAddr) -> bool) -> Result<Vec<SocketAddr>, Failure> {
    let host_bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = host_bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host_bare, port))).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => return Err((FeedFailure::Dns, format!("{host}: {e}"))),
            Err(_) => return Err((FeedFailure::Dns, format!("{host}: no answer within 5 s"))),
        }
    };
    if addrs.is_empty() {
        return Err((FeedFailure::Dns, format!("{host} has no address")));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| internal(a.ip())) {
        return Err((
            FeedFailure::Blocked,
            format!("{host} is {}: a loopback, private or link-local address (allow it for this feed if it is meant)", bad.ip()),
        ));
    }
    Ok(addrs)
}

/// GETs `url` with the conditional headers of the last poll.
pub async fn fetch(url: &str, allow_private: bool, etag: Option<&str>, last_modified: Option<&str>, limits: Limits) -> Result<Fetched, Failure> {
    match tokio::time::timeout(limits.timeout, fetch_hops(url, allow_private, etag, last_modified, limits)).await {
        Ok(r) => r,
        Err(_) => Err((FeedFailure::Timeout, format!("no complete answer within {} s", limits.timeout.as_secs()))),
    }
}

async fn fetch_hops(url: &str, allow_private: bool, etag: Option<&str>, last_modified: Option<&str>, limits: Limits) -> Result<Fetched, Failure> {
    zhanqun_cluster::network::install_tls_provider();
    let mut url = reqwest::Url::parse(url).map_err(|e| (FeedFailure::Connect, format!("not a URL: {e}")))?;
    for hop in 0..=limits.max_redirects {
        if !matches!(url.scheme(), "http" | "https") {
            return Err((FeedFailure::Blocked, format!("{}: only http and https are fetched", url.scheme())));
        }
        let host = url.host_str().ok_or((FeedFailure::Connect, "a URL without a host".to_string()))?.to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = resolve(&host, port, allow_private, limits.internal).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .resolve_to_addrs(host.trim_start_matches('[').trim_end_matches(']'), &addrs)
            .user_agent(concat!("zhanqun/", env!("CARGO_PKG_VERSION"), " (feed poller)"))
            .build()
            .map_err(|e| (FeedFailure::Connect, e.to_string()))?;
        let mut request = client.get(url.clone());
        if let Some(tag) = etag {
            request = request.header("if-none-match", tag);
        }
        if let Some(lm) = last_modified {
            request = request.header("if-modified-since", lm);
        }
        let mut response = request.send().await.map_err(|e| {
            let reason = if e.is_timeout() { FeedFailure::Timeout } else { FeedFailure::Connect };
            (reason, format!("{host}: {}", short_error(&e)))
        })?;
        let status = response.status();
        if status.is_redirection() && status.as_u16() != 304 {
            let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) else {
                return Err((FeedFailure::Status, format!("{status} without a Location")));
            };
            if hop == limits.max_redirects {
                return Err((FeedFailure::Redirects, format!("more than {} redirects (last to {location})", limits.max_redirects)));
            }
            url = url.join(location).map_err(|e| (FeedFailure::Status, format!("a redirect to `{location}`: {e}")))?;
            continue;
        }
        if status.as_u16() == 304 {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err((FeedFailure::Status, format!("the feed answered {status}")));
        }
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (etag, last_modified) = (header("etag"), header("last-modified"));
        if response.content_length().is_some_and(|n| n as usize > limits.max_bytes) {
            return Err((FeedFailure::TooLarge, format!("{} bytes; at most {} are read", response.content_length().unwrap_or(0), limits.max_bytes)));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| (FeedFailure::Connect, short_error(&e)))? {
            if bytes.len() + chunk.len() > limits.max_bytes {
                return Err((FeedFailure::TooLarge, format!("more than {} bytes", limits.max_bytes)));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Fetched::Body { bytes, etag, last_modified });
    }
    unreachable!("the loop returns on its last hop")
}

/// reqwest's error with its causes, on one line.
fn short_error(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A feed server written for these tests: answers each request by its
    /// path and request head (`None`: never answers).
    async fn test_feed_server(addr: &str, answer: fn(&str, &str) -> Option<Vec<u8>>) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let bound = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    match answer(&path, &head) {
                        Some(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(60)).await,
                    }
                });
            }
        });
        bound
    }

    fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        out
    }

    /// 127.0.0.2 stands for a public address in these tests; the rest of
    /// 127/8 stays loopback.
    fn all_but_127_0_0_2(ip: IpAddr) -> bool {
        ip != IpAddr::from([127, 0, 0, 2]) && is_internal(ip)
    }

    fn limits() -> Limits {
        Limits { timeout: Duration::from_secs(2), max_bytes: 64 * 1024, internal: all_but_127_0_0_2, ..Limits::default() }
    }

    #[tokio::test]
    async fn redirects_are_checked_hop_by_hop_and_bounded() {
        let inside = test_feed_server("127.0.0.1:0", |_, _| Some(response("200 OK", "", b"<rss/>"))).await;
        static INSIDE: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
        INSIDE.set(inside).unwrap();
        let public = test_feed_server("127.0.0.2:0", |path, _| match path {
            "/to-loopback" => Some(response("302 Found", &format!("location: http://{}/feed.xml\r\n", INSIDE.get().unwrap()), b"")),
            "/loop" => Some(response("302 Found", "location: /loop\r\n", b"")),
            "/feed.xml" => Some(response("200 OK", "etag: \"v1\"\r\n", b"<rss/>")),
            _ => Some(response("404 Not Found", "", b"")),
        })
        .await;
        let ok = fetch(&format!("http://{public}/feed.xml"), false, None, None, limits()).await.unwrap();
        assert!(matches!(ok, Fetched::Body { ref etag, .. } if etag.as_deref() == Some("\"v1\"")), "{ok:?}");

        let (reason, detail) = fetch(&format!("http://{public}/to-loopback"), false, None, None, limits()).await.unwrap_err();
        assert_eq!(reason, FeedFailure::Blocked, "{detail}");
        assert!(detail.contains("127.0.0.1"), "{detail}");
        let (reason, _) = fetch(&format!("http://{public}/loop"), false, None, None, limits()).await.unwrap_err();
        assert_eq!(reason, FeedFailure::Redirects);
        // The same feed, allowed inside: the redirect is followed.
        assert!(fetch(&format!("http://{public}/to-loopback"), true, None, None, limits()).await.is_ok());
    }

    #[tokio::test]
    async fn the_internal_list_is_refused_before_connecting() {
        for url in ["http://127.0.0.1:9/", "http://[::1]:9/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://localhost:9/feed"] {
            let (reason, detail) = fetch(url, false, None, None, limits()).await.unwrap_err();
            assert_eq!(reason, FeedFailure::Blocked, "{url}: {detail}");
        }
        let (reason, _) = fetch("file:///etc/passwd", false, None, None, limits()).await.unwrap_err();
        assert_eq!(reason, FeedFailure::Blocked);
    }

    #[tokio::test]
    async fn huge_hanging_and_conditional_answers() {
        let server = test_feed_server("127.0.0.2:0", |path, head| match path {
            "/huge" => Some(response("200 OK", "", &vec![b'x'; 100 * 1024])),
            "/hang" => None,
            "/cond" if head.to_ascii_lowercase().contains("if-none-match: \"v7\"") => Some(response("304 Not Modified", "", b"")),
            "/cond" => Some(response("200 OK", "etag: \"v7\"\r\n", b"<rss/>")),
            "/gone" => Some(response("410 Gone", "", b"")),
            _ => Some(response("404 Not Found", "", b"")),
        })
        .await;
        let url = |p: &str| format!("http://{server}{p}");
        assert_eq!(fetch(&url("/huge"), false, None, None, limits()).await.unwrap_err().0, FeedFailure::TooLarge);
        let started = std::time::Instant::now();
        assert_eq!(fetch(&url("/hang"), false, None, None, limits()).await.unwrap_err().0, FeedFailure::Timeout);
        assert!(started.elapsed() < Duration::from_secs(10), "the deadline holds");
        assert_eq!(fetch(&url("/gone"), false, None, None, limits()).await.unwrap_err().0, FeedFailure::Status);
        assert!(matches!(fetch(&url("/cond"), false, None, None, limits()).await.unwrap(), Fetched::Body { .. }));
        assert!(matches!(fetch(&url("/cond"), false, Some("\"v7\""), None, limits()).await.unwrap(), Fetched::NotModified));
    }

    #[test]
    fn internal_addresses_are_named_as_such() {
        for ip in [
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::ffff:127.0.0.1",
            "fd00::1",
            "fe80::1",
            "::",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in ["202.108.22.5", "8.8.8.8", "2400:da00::6666"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
