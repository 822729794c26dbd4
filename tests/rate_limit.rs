//! Per-client limits on public search through a real `zhanqun serve
//! --demo` started with 2 searches a second per client: one address firing
//! 30 searches at once gets its burst of 8 answered and the rest refused
//! with 429 and Retry-After; a reader at another address searches as usual,
//! and the first one searches again after waiting.

mod common;

use std::net::IpAddr;

use common::*;

fn from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder().no_proxy().local_address(addr.parse::<IpAddr>().unwrap()).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_searching_too_fast_is_slowed_and_nobody_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--demo", "--search-rate-per-client", "2"]).await;
    let url = server.url("/sites/haicheng/search?q=通知");
    let scraper = from("127.0.0.7");
    // All at once, as a scraper would: the limit is met before the searches run.
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (c, u) = (scraper.clone(), url.clone());
            tokio::spawn(async move {
                let r = c.get(&u).send().await.unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                let text = r.text().await.unwrap();
                (status, retry, text)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for t in tasks {
        let (status, retry, text) = t.await.unwrap();
        if status == 429 {
            assert!(text.contains("搜索过于频繁"), "{text}");
            retry_after = retry;
        }
        statuses.push(status);
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    // The burst is 8; a slow machine refills a few while the 30 go out.
    assert!((8..=14).contains(&ok), "answered {ok} of 30: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().unwrap() >= 1), "429 says when to come back");
    // Another reader is not touched; pages other than search neither.
    assert_eq!(from("127.0.0.8").get(&url).send().await.unwrap().status(), 200);
    assert_eq!(scraper.get(server.url("/sites/haicheng/")).send().await.unwrap().status(), 200);
    // After a pause, the scraper's bucket has refilled.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(scraper.get(&url).send().await.unwrap().status(), 200);
}
