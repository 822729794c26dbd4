//! The floor under a cached page: hyper answering one fixed page, with the
//! very bytes and headers zhanqun sent for it, and nothing else — no memo
//! lookup, no metrics, no timers. `benches/load.sh` runs it beside nginx
//! and zhanqun, so the table shows how much of the gap to nginx is the HTTP
//! stack itself and how much is ours.
//!
//!   bare_page <listen addr> <body file> <headers file>
//!
//! The headers file is `curl -D` output: a status line, then `Name: value`
//! lines. `BARE_PAGE_HEAD_TIMEOUT=1` adds zhanqun's deadline on the request
//! head (hyper's `header_read_timeout` with tokio's timer), to measure it.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, body, head] = args.as_slice() else {
        return Err("usage: bare_page <listen addr> <body file> <headers file>".into());
    };
    let body = Bytes::from(std::fs::read(body)?);
    let mut headers = HeaderMap::new();
    for line in std::fs::read_to_string(head)?.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else { continue };
        headers.append(HeaderName::from_bytes(name.trim().as_bytes())?, HeaderValue::from_str(value.trim())?);
    }
    headers.remove(hyper::header::DATE);
    let head_timeout = std::env::var("BARE_PAGE_HEAD_TIMEOUT").is_ok_and(|v| v == "1");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let (body, headers) = (body.clone(), headers.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let mut response = Response::new(Body::from(body.clone()));
                    *response.headers_mut() = headers.clone();
                    std::future::ready(Ok::<_, Infallible>(response))
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                if head_timeout {
                    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(20));
                }
                let _ = builder.keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
