//! Cached pages answered before the router: the whole answer, kept ready.
//!
//! A cached page costs little to find, but the request still walks the
//! router and every layer around it (client address, security headers,
//! compression, read-your-writes, metrics), each boxing and moving its
//! future — most of what a cached page costs, measured with `perf`. So the
//! connection loop asks this memo first: once a page has been answered from
//! the page cache through the full stack, the final answer — status,
//! every header the layers set, the body in the encoding sent — is kept
//! under the request that got it (host, path and query, encoding), and the
//! same request is answered from it directly, as nginx answers a file.
//!
//! It is never staler than the page cache: an entry holds the cache's epoch
//! from before the request entered the router (so before any layer decided
//! anything, such as a redirect to HTTPS), and answers only while the epoch
//! is unchanged (any invalidation, of any site, retires every entry; the
//! next request goes through the stack and makes a new one). A document the
//! tamper checker has flagged is never answered from here. Requests that
//! ask for more than the page — conditional (`If-None-Match`), `HEAD`,
//! read-your-writes (`X-Zhanqun-Min-Index`), linearizable
//! (`X-Zhanqun-Consistency`) — always take the full stack.
//!
//! Looking a request up copies nothing out of it: entries are found by a
//! hash of the request's own bytes and then compared with them; only a miss,
//! which takes the full stack anyway, copies the host and path to keep.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use prometheus::{Histogram, IntCounter};

use crate::App;
use crate::encoding::Encoding;

/// Set by the public handler on an answer made from the page cache: the
/// cache's epoch before the lookup, the body as sent, and the document the
/// page shows, if it is a document's page.
#[derive(Clone)]
pub(crate) struct Memoizable {
    pub epoch: u64,
    pub body: Bytes,
    pub document: Option<i64>,
}

/// Entries are dropped all at once past either bound (keys come from
/// requests, so a crawler could otherwise grow it without end).
const MAX_ENTRIES: usize = 20_000;
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Where an answer is kept: the request it answers, and the page cache's
/// epoch read before that request entered the router.
pub struct Key {
    hash: u64,
    host: Bytes,
    target: String,
    encoding: Encoding,
    epoch: u64,
}

/// A request the memo holds no current answer to: its hash, and the page
/// cache's epoch read before looking.
pub(crate) struct Miss {
    hash: u64,
    epoch: u64,
}

/// What the memo can do for a request.
pub enum Lookup {
    /// Answered from the memo.
    Answered(Response<Body>),
    /// Not kept (or no longer current): once the full stack has answered,
    /// that answer may be kept under this key.
    Missed(Key),
    /// A request the memo never answers (see the module's doc).
    Never,
}

fn hash_of(host: &[u8], target: &str, encoding: Encoding) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (host, target, encoding).hash(&mut h);
    h.finish()
}

pub(crate) struct Ready {
    host: Bytes,
    target: String,
    encoding: Encoding,
    epoch: u64,
    document: Option<i64>,
    headers: HeaderMap,
    /// The same answer's status line and headers as sent on the wire, all
    /// but `Date` and the blank line that ends them (see `fast_lane`).
    head: Bytes,
    body: Bytes,
    requests: IntCounter,
    duration: Histogram,
    /// The page cache's hit counter: an answer kept ready is a hit too.
    hit: IntCounter,
}

impl Ready {
    /// Counts an answer sent from here, begun at `started`.
    pub(crate) fn served(&self, started: Instant) {
        self.requests.inc();
        self.hit.inc();
        self.duration.observe(started.elapsed().as_secs_f64());
    }

    /// The status line and headers, without `Date` and the final blank line.
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Headers whose presence asks for more than the page kept ready.
pub(crate) const ASKS_MORE: [&str; 3] = ["if-none-match", "x-zhanqun-min-index", "x-zhanqun-consistency"];

/// An answer's head as hyper would write it for a body of `length` bytes,
/// without `Date` (the sender adds the current one) and the blank line.
fn wire_head(headers: &HeaderMap, length: usize) -> Bytes {
    let mut head = Vec::with_capacity(64 + headers.len() * 48);
    head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::DATE || name == header::TRANSFER_ENCODING {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    Bytes::from(head)
}

#[derive(Default)]
struct Memo {
    /// By [`hash_of`] the request; a collision only replaces an entry.
    entries: HashMap<u64, Arc<Ready>>,
    bytes: usize,
}

/// The memo of one listener (answers differ by listener: HTTPS ones carry
/// `Strict-Transport-Security`).
pub struct ReadyPages {
    app: Arc<App>,
    memo: RwLock<Memo>,
}

impl ReadyPages {
    pub fn new(app: Arc<App>) -> ReadyPages {
        ReadyPages { app, memo: RwLock::default() }
    }

    /// Answers `req` from the memo if it holds a current answer to it.
    pub fn lookup<B>(&self, req: &Request<B>) -> Lookup {
        let started = Instant::now();
        let h = req.headers();
        let asks_more = ASKS_MORE.iter().any(|name| h.contains_key(*name));
        let (Some(host), Some(target)) = (h.get(header::HOST), req.uri().path_and_query()) else { return Lookup::Never };
        if req.method() != Method::GET || asks_more {
            return Lookup::Never;
        }
        let encoding = crate::encoding::preferred(h.get(header::ACCEPT_ENCODING));
        let (host, target) = (host.as_bytes(), target.as_str());
        match self.find(host, target, encoding) {
            Ok(ready) => {
                let mut response = Response::new(Body::from(ready.body.clone()));
                *response.headers_mut() = ready.headers.clone();
                ready.served(started);
                Lookup::Answered(response)
            }
            Err(Miss { hash, epoch }) => Lookup::Missed(Key { hash, host: Bytes::copy_from_slice(host), target: target.to_string(), encoding, epoch }),
        }
    }

    /// The current answer to a GET of `target` on `host` in `encoding`;
    /// on a miss, what a key to keep one under is made from (only the full
    /// stack's path copies the host and target into one).
    pub(crate) fn find(&self, host: &[u8], target: &str, encoding: Encoding) -> Result<Arc<Ready>, Miss> {
        let hash = hash_of(host, target, encoding);
        let epoch = self.app.derived.cache.epoch();
        let found = self.memo.read().expect("memo lock").entries.get(&hash).cloned();
        match found.filter(|r| r.epoch == epoch && r.host == host && r.target == target && r.encoding == encoding) {
            Some(ready) if !ready.document.is_some_and(|d| self.app.derived.tampered.contains(d)) => Ok(ready),
            _ => Err(Miss { hash, epoch }),
        }
    }

    /// Keeps `response` for `key` if the public handler marked it as a
    /// cached page's answer and nothing was invalidated since.
    pub fn remember(&self, key: Key, response: &Response<Body>) {
        let Some(page) = response.extensions().get::<Memoizable>() else { return };
        // Nothing invalidated since the request entered the router, nor
        // since the page was looked up.
        if response.status() != StatusCode::OK || page.epoch != key.epoch || page.epoch != self.app.derived.cache.epoch() {
            return;
        }
        let labels = response.extensions().get::<crate::http_metrics::PublicLabels>();
        let tenant = labels.and_then(|l| l.tenant.as_deref()).unwrap_or("-");
        let route = labels.map_or("public/unknown", |l| l.route);
        let (requests, duration) = self.app.http_metrics.handles(tenant, route, StatusCode::OK);
        let ready = Arc::new(Ready {
            host: key.host,
            target: key.target,
            encoding: key.encoding,
            epoch: page.epoch,
            document: page.document,
            headers: response.headers().clone(),
            head: wire_head(response.headers(), page.body.len()),
            body: page.body.clone(),
            requests,
            duration,
            hit: self.app.http_metrics.cache.with_label_values(&["hit"]),
        });
        let mut memo = self.memo.write().expect("memo lock");
        if memo.entries.len() >= MAX_ENTRIES || memo.bytes + ready.body.len() > MAX_BYTES {
            *memo = Memo::default();
        }
        memo.bytes += ready.body.len();
        if let Some(old) = memo.entries.insert(key.hash, ready) {
            memo.bytes -= old.body.len();
        }
    }
}
