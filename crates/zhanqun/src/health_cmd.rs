//! `zhanqun health`: asks a node's `/healthz` and exits 0 when it answers
//! 200 — the container image's HEALTHCHECK, which has no shell or curl.
//! Plain HTTP/1.1 over a socket: the node's own port, on its own machine.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// The address to ask (http:// only).
    #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
    url: String,
}

pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let Some(rest) = args.url.strip_prefix("http://") else { bail!("{}: only http:// addresses are asked", args.url) };
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let address = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let asked = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.with_context(|| format!("{} does not answer", args.url))?;
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await?;
        anyhow::Ok(String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or_default().to_string())
    };
    let status = tokio::time::timeout(Duration::from_secs(3), asked).await.map_err(|_| anyhow::anyhow!("{} did not answer within 3 s", args.url))??;
    if !status.starts_with("HTTP/1.1 200") {
        bail!("{} answered {status:?}", args.url);
    }
    println!("ok");
    Ok(())
}
