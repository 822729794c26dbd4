//! A connection's first stretch: requests for pages kept ready, answered
//! without hyper.
//!
//! With every layer of the router out of the way (`ready`), what a cached
//! page still cost was hyper's own work per request: parsing the head into
//! a `Request` with its `HeaderMap`, copying the kept headers into a
//! `Response`, writing them out again one by one, and a timer set and
//! cleared for the head's deadline. nginx does none of that for a file. So
//! a connection starts here: each request head is parsed in place
//! (`httparse`, what hyper parses with), and a plain `GET` whose answer is
//! kept ready is sent as it was stored — head, `Date`, body — in one
//! vectored write.
//!
//! Anything else hands the connection to hyper for good, the bytes read so
//! far included: a request whose answer is not kept (the full stack answers
//! it, and may keep it for the next reader), one that asks for more than
//! the page (conditional, read-your-writes, linearizable), `HEAD`, a body,
//! `Connection` other than keep-alive, HTTP/1.0, a head hyper would refuse
//! (it refuses it). This lane answers nothing hyper would answer
//! differently, except that it needs no `Request` to do it.
//!
//! The deadlines are the same as hyper's here: a request head must arrive
//! within the header deadline, counted from when the connection starts
//! waiting for it (so an idle keep-alive connection closes after it), and
//! writes go through the same `Stalling` stream. One timer serves the whole
//! connection: it is pushed later after each answer, which costs tokio an
//! atomic update, not a new timer. On shutdown a connection waiting here
//! has no request in flight and is closed.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::ready::{ASKS_MORE, Ready, ReadyPages};

/// A head not complete by this many bytes goes to hyper, which has its own
/// limit and answers past it.
const MAX_HEAD: usize = 8 * 1024;

/// Request headers parsed in place; a head with more goes to hyper.
const MAX_HEADERS: usize = 32;

/// How a connection left the lane.
pub(crate) enum Left {
    /// Closed: by the client, a deadline, a failed write, or the stop.
    Closed,
    /// For hyper, with what was read of its next request.
    Handover(BytesMut),
}

/// Answers `io`'s requests while they are for pages kept in `ready`.
pub(crate) async fn serve<S>(io: &mut S, ready: &ReadyPages, header_timeout: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) -> Left
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(4096);
    let deadline = tokio::time::sleep(header_timeout);
    tokio::pin!(deadline);
    let stopped = stop.changed();
    tokio::pin!(stopped);
    loop {
        loop {
            match next(&buf, ready) {
                Next::Partial if buf.len() < MAX_HEAD => break,
                Next::Partial | Next::Other => return Left::Handover(buf),
                Next::Kept { answer, length, started } => {
                    buf.advance(length);
                    let date = date_line();
                    let mut out = Buf::chain(Buf::chain(answer.head(), &date[..]), answer.body());
                    if io.write_all_buf(&mut out).await.is_err() || io.flush().await.is_err() {
                        return Left::Closed;
                    }
                    answer.served(started);
                    // The next head's deadline counts from now.
                    deadline.as_mut().reset((Instant::now() + header_timeout).into());
                }
            }
        }
        tokio::select! {
            biased;
            read = io.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return Left::Closed,
                Ok(_) => {}
            },
            () = &mut deadline => return Left::Closed,
            _ = &mut stopped => return Left::Closed,
        }
    }
}

/// What the buffer holds next.
enum Next {
    /// Not a whole request head yet.
    Partial,
    /// A request this lane does not answer.
    Other,
    /// A request answered by `answer`, its head `length` bytes long.
    Kept { answer: std::sync::Arc<Ready>, length: usize, started: Instant },
}

fn next(buf: &[u8], ready: &ReadyPages) -> Next {
    if buf.is_empty() {
        return Next::Partial;
    }
    let started = Instant::now();
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Next::Partial,
        Err(_) => return Next::Other,
    };
    let (Some("GET"), Some(1), Some(target)) = (request.method, request.version, request.path) else { return Next::Other };
    if !target.starts_with('/') {
        return Next::Other;
    }
    let (mut host, mut accept) = (None, None);
    for header in request.headers.iter() {
        let name = header.name;
        let fine = if name.eq_ignore_ascii_case("host") {
            seen_first(&mut host, header.value)
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            seen_first(&mut accept, header.value)
        } else if name.eq_ignore_ascii_case("connection") {
            header.value.eq_ignore_ascii_case(b"keep-alive")
        } else {
            // A body, an upgrade, an expectation, or more than the page.
            !["content-length", "transfer-encoding", "upgrade", "expect", "te"].iter().chain(ASKS_MORE.iter()).any(|n| name.eq_ignore_ascii_case(n))
        };
        if !fine {
            return Next::Other;
        }
    }
    let Some(host) = host else { return Next::Other };
    match ready.find(host, target, crate::encoding::preferred_raw(accept)) {
        Ok(answer) => Next::Kept { answer, length, started },
        Err(_) => Next::Other,
    }
}

/// Keeps `value` in `seen`; false if a value was there already (a header
/// sent twice goes to hyper, which decides what it means).
fn seen_first<'a>(seen: &mut Option<&'a [u8]>, value: &'a [u8]) -> bool {
    seen.replace(value).is_none()
}

/// `date: <now>` and the blank line that ends the head; the date is
/// formatted once a second per thread, as hyper does.
fn date_line() -> [u8; 39] {
    thread_local! {
        static LINE: RefCell<(u64, [u8; 39])> = const { RefCell::new((u64::MAX, [0; 39])) };
    }
    let now = SystemTime::now();
    let second = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LINE.with_borrow_mut(|(at, line)| {
        if *at != second {
            let text = format!("date: {}\r\n\r\n", httpdate::fmt_http_date(now));
            line.copy_from_slice(text.as_bytes());
            *at = second;
        }
        *line
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_line_is_an_http_date_ending_the_head() {
        let line = date_line();
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.starts_with("date: ") && text.ends_with(" GMT\r\n\r\n"), "{text:?}");
        let when = httpdate::parse_http_date(text.trim_start_matches("date: ").trim_end()).unwrap();
        let off = SystemTime::now().duration_since(when).unwrap_or_default();
        assert!(off < Duration::from_secs(5), "the date is {off:?} old");
    }
}
