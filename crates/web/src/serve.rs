//! Accepting connections: HTTP/1.1 with deadlines on everything a client
//! controls, and a graceful stop.
//!
//! A client that sends its request head one byte a minute, stops sending a
//! body half-way, never reads its answer, or keeps a connection open and
//! silent, would otherwise hold a task, a socket and its buffers for ever;
//! a few thousand of them take a node off the network. So:
//! - the request head must arrive within `header_timeout`, counted from
//!   when the connection starts waiting for it — which is also the limit on
//!   an idle keep-alive connection;
//! - a request body may pause at most `body_timeout` between pieces;
//! - an answer may wait at most `body_timeout` for the client to take more
//!   of it.
//!
//! On shutdown the listener closes, every connection finishes the request
//! it is serving (keep-alive ends), and the stop waits for them at most
//! [`DRAIN`].
//!
//! The HTTPS listener is the same loop with a TLS handshake first (within
//! the head's deadline too), its server configuration chosen by the name
//! the client asked for (SNI); a name with no certificate ends the
//! handshake.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tower_http::timeout::TimeoutBody;

use crate::fast_lane;
use crate::ready::{Lookup, ReadyPages};
use futures::future::Either;

/// Deadlines for what clients send and take.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// For the request head, and for an idle keep-alive connection.
    pub header: Duration,
    /// Between pieces of a request body, and of an answer the client reads.
    pub body: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts { header: Duration::from_secs(20), body: Duration::from_secs(30) }
    }
}

/// How long a stopping node waits for requests in flight.
pub const DRAIN: Duration = Duration::from_secs(25);

/// The server configuration for a TLS client that asked for a host by
/// name, if any is served for it.
pub type ChooseTls =
    std::sync::Arc<dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<std::sync::Arc<rustls::ServerConfig>>> + Send>> + Send + Sync>;

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    router: Router,
    ready: Option<Arc<ReadyPages>>,
    listener: TcpListener,
    timeouts: ClientTimeouts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_on(router, ready, listener, timeouts, None, shutdown).await
}

/// [`serve`] over TLS: each connection's handshake picks its configuration
/// with `choose`.
pub async fn serve_tls(
    router: Router,
    ready: Option<Arc<ReadyPages>>,
    listener: TcpListener,
    timeouts: ClientTimeouts,
    choose: ChooseTls,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_on(router, ready, listener, timeouts, Some(choose), shutdown).await
}

/// The TLS handshake, its configuration chosen by the client's SNI.
async fn handshake(stream: TcpStream, choose: &ChooseTls) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await.ok()?;
    let Some(host) = start.client_hello().server_name().map(str::to_string) else {
        tracing::debug!("a TLS client named no host (no SNI); no certificate to offer");
        return None;
    };
    let Some(config) = choose(host.clone()).await else {
        tracing::debug!(host, "a TLS client asked for a host with no certificate");
        return None;
    };
    start.into_stream(config).await.ok()
}

async fn serve_on(
    router: Router,
    ready: Option<Arc<ReadyPages>>,
    listener: TcpListener,
    timeouts: ClientTimeouts,
    tls: Option<ChooseTls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a moment, go on.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = Served { router: router.clone(), ready: ready.clone() };
        let stop = stop_rx.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => connection(Stalling::new(stream, timeouts.body), addr, router, timeouts, stop).await,
                Some(choose) => {
                    if let Ok(Some(stream)) = tokio::time::timeout(timeouts.header, handshake(stream, &choose)).await {
                        connection(Stalling::new(stream, timeouts.body), addr, router, timeouts, stop).await
                    }
                }
            }
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = connections.len(), "requests still running after the drain time; closing them");
        connections.abort_all();
    }
    Ok(())
}

/// What a connection answers with: the router, and the answers kept
/// ready before it (see `ready`), if this listener keeps any.
#[derive(Clone)]
struct Served {
    router: Router,
    ready: Option<Arc<ReadyPages>>,
}

/// One connection served until it ends or the node stops.
async fn connection<S>(mut io: Stalling<S>, addr: std::net::SocketAddr, served: Served, timeouts: ClientTimeouts, mut stop: tokio::sync::watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Pages kept ready are answered before hyper while the client asks
    // only for them; the first other request takes hyper for the rest.
    if let Some(ready) = &served.ready {
        match fast_lane::serve(&mut io, ready, timeouts.header, &mut stop).await {
            fast_lane::Left::Closed => return,
            fast_lane::Left::Handover(read) => io.unread = read,
        }
    }
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let key = match served.ready.as_ref().map(|r| r.lookup(&req)) {
            Some(Lookup::Answered(response)) => return Either::Left(std::future::ready(Ok(response))),
            Some(Lookup::Missed(key)) => Some(key),
            Some(Lookup::Never) | None => None,
        };
        let served = served.clone();
        Either::Right(async move {
            req.extensions_mut().insert(ConnectInfo(addr));
            let req = req.map(|body| Body::new(TimeoutBody::new(timeouts.body, body)));
            let mut router = served.router;
            let response = tower::Service::call(&mut router, req).await?;
            if let (Some(ready), Some(key)) = (&served.ready, key) {
                ready.remember(key, &response);
            }
            Ok::<_, std::convert::Infallible>(response)
        })
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // The only change ever sent is the stop.
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A stream whose writes fail once the peer has taken nothing for `limit`
/// (a client that asks and never reads), and whose reads first give back
/// what the fast lane read and left to hyper.
struct Stalling<S> {
    inner: S,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    unread: bytes::BytesMut,
}

impl<S> Stalling<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Stalling { inner, limit, stalled: None, unread: bytes::BytesMut::new() }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Stalling<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.unread.is_empty() {
            let n = self.unread.len().min(buf.remaining());
            buf.put_slice(&self.unread.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S> Stalling<S> {
    /// What a write that made no progress answers: wait, or fail once the
    /// client has taken nothing for the limit.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client took nothing of the answer for too long")))
    }

    fn progressed<T>(&mut self, r: io::Result<T>) -> Poll<io::Result<T>> {
        self.stalled = None;
        Poll::Ready(r)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stalling<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => self.progressed(r),
            Poll::Pending => self.pending(cx),
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => self.progressed(r),
            Poll::Pending => self.pending(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
