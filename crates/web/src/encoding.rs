//! Compressed answers for cached pages.
//!
//! A cached page is sent many times and changes seldom, so compressing it
//! per request (as the router's compression layer does for everything
//! else) spends the same work again for every reader. Instead each page
//! keeps its gzip and brotli forms beside its body, made the first time a
//! reader asks for each (`CachedPage::{gzip, br}`), and sends them as they
//! are — as nginx's `gzip_static` sends a file compressed beforehand.

use axum::http::HeaderValue;
use bytes::Bytes;
use zhanqun_platform::page_cache::CachedPage;

/// How a page is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Br,
}

impl Encoding {
    /// The `Content-Encoding` value, `None` for the body as it is.
    pub fn header(self) -> Option<HeaderValue> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some(HeaderValue::from_static("gzip")),
            Encoding::Br => Some(HeaderValue::from_static("br")),
        }
    }

    /// What this form adds to the page's entity tag: each representation
    /// has its own tag, as a strong tag must.
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gz",
            Encoding::Br => "-br",
        }
    }
}

/// The encoding to send to a reader whose `Accept-Encoding` is `accept`:
/// the one with the highest weight among brotli and gzip, brotli on a tie
/// (smaller); the body as it is when neither is accepted (absent, `q=0`, or
/// a header that cannot be read).
pub fn preferred(accept: Option<&HeaderValue>) -> Encoding {
    preferred_raw(accept.map(HeaderValue::as_bytes))
}

/// [`preferred`] for the header's bytes as they came, read as
/// `HeaderValue::to_str` reads them (visible ASCII, spaces and tabs; any
/// other byte makes it unreadable).
pub fn preferred_raw(accept: Option<&[u8]>) -> Encoding {
    let readable = |v: &[u8]| v.iter().all(|&b| b == b'\t' || (32..127).contains(&b));
    let Some(accept) = accept.filter(|v| readable(v)).and_then(|v| std::str::from_utf8(v).ok()) else { return Encoding::Identity };
    let (mut br, mut gzip, mut any) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .next()
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("br") {
            br = Some(weight);
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight);
        } else if name == "*" {
            any = Some(weight);
        }
    }
    let (br, gzip) = (br.or(any).unwrap_or(0.0), gzip.or(any).unwrap_or(0.0));
    if br > 0.0 && br >= gzip {
        Encoding::Br
    } else if gzip > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Pages above this are compressed on the blocking pool rather than on
/// the async worker that serves them (a few milliseconds of work).
const COMPRESS_INLINE_UP_TO: usize = 128 * 1024;

/// The page's body in `encoding`, compressing it the first time.
pub async fn body(page: &std::sync::Arc<CachedPage>, encoding: Encoding) -> Bytes {
    type Compress = fn(&[u8]) -> Vec<u8>;
    let (slot, compress): (&std::sync::OnceLock<Bytes>, Compress) = match encoding {
        Encoding::Identity => return page.body.clone(),
        Encoding::Gzip => (&page.gzip, gzip),
        Encoding::Br => (&page.br, brotli),
    };
    if let Some(done) = slot.get() {
        return done.clone();
    }
    let compressed = if page.body.len() <= COMPRESS_INLINE_UP_TO {
        compress(&page.body)
    } else {
        let body = page.body.clone();
        match tokio::task::spawn_blocking(move || compress(&body)).await {
            Ok(c) => c,
            Err(_) => return page.body.clone(),
        }
    };
    // Two readers may both have compressed it; the first one kept wins.
    slot.get_or_init(|| Bytes::from(compressed)).clone()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::best());
    encoder.write_all(body).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn brotli(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    // Quality 9 of 11: nearly the smallest, at a fraction of 11's time;
    // it is paid once per page, not per reader.
    let mut encoder = brotli::CompressorWriter::new(Vec::with_capacity(body.len() / 3), 4096, 9, 22);
    encoder.write_all(body).expect("writing to memory");
    encoder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &'static str) -> Encoding {
        preferred(Some(&HeaderValue::from_static(v)))
    }

    #[test]
    fn the_reader_gets_the_best_encoding_it_accepts() {
        assert_eq!(preferred(None), Encoding::Identity);
        assert_eq!(accept("gzip, deflate, br, zstd"), Encoding::Br);
        assert_eq!(accept("gzip"), Encoding::Gzip);
        assert_eq!(accept("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(accept("gzip;q=1.0, br;q=0.5"), Encoding::Gzip);
        assert_eq!(accept("identity"), Encoding::Identity);
        assert_eq!(accept("gzip;q=0"), Encoding::Identity);
        assert_eq!(accept("*"), Encoding::Br);
        assert_eq!(accept("*, br;q=0"), Encoding::Gzip);
    }

    #[tokio::test]
    async fn each_form_decodes_to_the_page_and_is_made_once() {
        let html = "<!doctype html><p>海城市人民政府办公室关于做好春季防火工作的通知</p>".repeat(200);
        let page = std::sync::Arc::new(CachedPage::new(Bytes::from(html.clone()), "\"e\"".into(), "text/html; charset=utf-8"));
        let gz = body(&page, Encoding::Gzip).await;
        let br = body(&page, Encoding::Br).await;
        assert!(gz.len() < html.len() / 4 && br.len() < html.len() / 4, "gzip {} br {} of {}", gz.len(), br.len(), html.len());
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, html);
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut unbrotlied).unwrap();
        assert_eq!(unbrotlied, html.as_bytes());
        // The second reader gets the very bytes the first one made.
        assert_eq!(body(&page, Encoding::Br).await.as_ptr(), br.as_ptr());
    }
}
