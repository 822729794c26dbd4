//! A feed server written for the tests (simulated: it plays the central
//! government's portal). It answers over real TCP on loopback, keeps an
//! ETag, answers 304 to a matching `If-None-Match`, and has the bad
//! answers a real feed can give: a hang, a huge body, a redirect loop, a
//! page that is no feed. It also plays another website for the link
//! checker: a `robots.txt`, and every path asked for is kept.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server serves at `/feed.xml`, and what it has seen.
#[derive(Default)]
pub struct FeedState {
    pub rss: String,
    pub etag: String,
    /// Requests for `/feed.xml` that came with the current ETag.
    pub conditional_hits: usize,
    pub requests: usize,
    /// Every path asked for, in order.
    pub paths: Vec<String>,
}

#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FeedState>>,
}

impl FeedServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `rss` from now on, under a new ETag.
    pub fn set(&self, rss: String) {
        let mut s = self.state.lock().unwrap();
        s.etag = format!("\"v{}\"", s.requests + rss.len());
        s.rss = rss;
    }

    pub async fn start() -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(FeedState { rss: rss(&[]), etag: "\"v0\"".into(), ..Default::default() }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 2048];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    state.lock().unwrap().paths.push(path.clone());
                    let answer = match path.as_str() {
                        "/feed.xml" => {
                            let mut s = state.lock().unwrap();
                            s.requests += 1;
                            if head.contains(&format!("if-none-match: {}", s.etag)) {
                                s.conditional_hits += 1;
                                response("304 Not Modified", "", b"")
                            } else {
                                response("200 OK", &format!("content-type: application/rss+xml\r\netag: {}\r\n", s.etag), s.rss.as_bytes())
                            }
                        }
                        "/hang" => {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            return;
                        }
                        "/huge" => response("200 OK", "content-type: application/rss+xml\r\n", &vec![b' '; 6 * 1024 * 1024]),
                        "/loop" => response("302 Found", "location: /loop\r\n", b""),
                        "/text" => response("200 OK", "content-type: text/plain\r\n", "您好，这里不是订阅源。".as_bytes()),
                        // As another website's: its robots.txt keeps crawlers out of /private/.
                        "/robots.txt" => response("200 OK", "content-type: text/plain\r\n", b"User-agent: *\nDisallow: /private/\n"),
                        _ => response("404 Not Found", "", b""),
                    };
                    let _ = socket.write_all(&answer).await;
                });
            }
        });
        FeedServer { addr, state }
    }
}

fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// One item of the test feed: (guid, title, 文号).
pub type Item<'a> = (&'a str, &'a str, &'a str);

/// An RSS 2.0 document with the government fields, a script and a
/// tracking pixel in each body, and one item without GUID or link.
pub fn rss(items: &[Item]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:gov="urn:example:gov"><channel><title>国务院政策文件（测试源）</title>"#,
    );
    for (guid, title, doc_no) in items {
        out.push_str(&format!(
            r#"<item><title>{title}</title><link>https://www.gov.cn/zhengce/content/{guid}.htm</link><guid>{guid}</guid>
<pubDate>周五, 01 Mar 2024 08:00:00 +0800</pubDate>
<description><![CDATA[<p>{title}的正文。</p><script>alert(1)</script><img src="https://tracker.example/p.gif" width="1" height="1">]]></description>
<gov:docNo>{doc_no}</gov:docNo><dc:publisher>国务院</dc:publisher><gov:writtenDate>2024年2月28日</gov:writtenDate><dc:subject>国民经济管理</dc:subject></item>"#
        ));
    }
    out.push_str("<item><title>没有标识的条目</title><description>无 GUID、无链接</description></item>");
    out.push_str("</channel></rss>");
    out
}
