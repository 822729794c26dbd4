//! Attachment bytes, content-addressed in an object store.
//!
//! The key of a blob is its SHA-256, so uploading the same file twice stores
//! it once, and a key can never be a path chosen by a user.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// Blobs in a local directory (one node, or a shared volume).
    pub fn local(dir: &Path) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(dir)?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(std::io::Error::other)?;
        Ok(Blobs { store: Arc::new(fs) })
    }

    /// Blobs in an S3-compatible bucket shared by every node. Settings come
    /// from the usual AWS variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`, …); `endpoint`
    /// (MinIO, Ceph, a cloud's S3 service) overrides `AWS_ENDPOINT`, and
    /// path-style addressing is used because most on-premises servers need it.
    pub fn s3(bucket: &str, endpoint: Option<&str>) -> object_store::Result<Blobs> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_virtual_hosted_style_request(false);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
            if endpoint.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
        }
        Ok(Blobs { store: Arc::new(builder.build()?) })
    }

    /// Checks that the store answers (a missing bucket or wrong credentials
    /// fail at start, not at the first upload).
    pub async fn check(&self) -> object_store::Result<()> {
        match self.store.head(&ObjectPath::from("zhanqun-probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn key(sha256: &str) -> ObjectPath {
        ObjectPath::from(format!("sha256/{}/{}", &sha256[..2], sha256))
    }

    /// Stores `data` under its hash (which the caller computed).
    pub async fn put(&self, sha256: &str, data: Bytes) -> object_store::Result<()> {
        if self.store.head(&Self::key(sha256)).await.is_ok() {
            return Ok(());
        }
        self.store.put(&Self::key(sha256), PutPayload::from_bytes(data)).await.map(|_| ())
    }

    pub async fn get(&self, sha256: &str) -> object_store::Result<Bytes> {
        self.store.get(&Self::key(sha256)).await?.bytes().await
    }
}

/// Backups read attachments from here and put lost ones back.
impl zhanqun_platform::backup::AttachmentBlobs for Blobs {
    fn get(&self, sha256: &str) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>, String>> + Send + '_>> {
        let sha256 = sha256.to_string();
        Box::pin(async move {
            match Blobs::get(self, &sha256).await {
                Ok(bytes) => Ok(Some(bytes.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(format!("cannot read attachment {sha256}: {e}")),
            }
        })
    }

    fn put(&self, sha256: &str, bytes: Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        let sha256 = sha256.to_string();
        // Not `Blobs::put`, which keeps what is there: an altered blob is replaced.
        Box::pin(async move {
            self.store.put(&Self::key(&sha256), PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| format!("cannot write attachment {sha256}: {e}"))
        })
    }
}

/// Archived audit lines go to the same store, under `audit/` (a prefix no
/// attachment key has).
impl zhanqun_platform::audit_archive::ArchiveStore for Blobs {
    fn put(&self, key: &str, bytes: Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        let path = ObjectPath::from(key);
        Box::pin(async move { self.store.put(&path, PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| format!("cannot write {path}: {e}")) })
    }

    fn get(&self, key: &str) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + '_>> {
        let path = ObjectPath::from(key);
        Box::pin(async move {
            let read = async { self.store.get(&path).await?.bytes().await };
            read.await.map(|b| b.to_vec()).map_err(|e| format!("cannot read {path} back: {e}"))
        })
    }
}

/// Answers with an attachment's bytes: its type, its original (possibly
/// Chinese) name for saving, and its hash as a strong ETag.
pub async fn serve(blobs: &Blobs, a: &zhanqun_model::Attachment, request: &axum::http::HeaderMap) -> object_store::Result<axum::response::Response> {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;

    let etag = format!("\"{}\"", a.sha256);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, HeaderValue::from_str(&etag).expect("hex etag")), cache]).into_response());
    }
    let data = blobs.get(&a.sha256).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(&a.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"))),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&content_disposition(&a.file_name)).expect("disposition is ASCII")),
        (header::ETAG, HeaderValue::from_str(&etag).expect("hex etag")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        cache,
    ];
    Ok((headers, data).into_response())
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`
/// (RFC 6266): every current browser saves the file under its Chinese name.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn disposition_carries_the_chinese_name() {
        assert_eq!(super::content_disposition("通知.pdf"), "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E9%80%9A%E7%9F%A5.pdf");
    }

    /// Old audit lines exported into a blobs directory land as a file under
    /// `audit/`, beside (never among) the attachments.
    #[tokio::test]
    async fn archived_audit_lines_are_a_file_under_audit_in_the_blobs_directory() {
        use zhanqun_model::{Command, Proposal, Tenant, TenantKind};
        let dir = tempfile::tempdir().unwrap();
        let store = zhanqun_store::Store::open(&dir.path().join("content.db")).await.unwrap();
        for n in 1..=3 {
            let t = Tenant::new(n, format!("s{n}"), format!("镇{n}"), TenantKind::Township, format!("ORG{n}"), 0);
            store
                .apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&Proposal::new(n, None, None, Command::CreateTenant { tenant: t })))
                .await
                .unwrap()
                .0
                .unwrap();
        }
        let blobs = super::Blobs::local(&dir.path().join("blobs")).unwrap();
        let e = zhanqun_platform::audit_archive::export_next(&store, &blobs, i64::MAX).await.unwrap().unwrap();
        let on_disk = std::fs::read_to_string(dir.path().join("blobs").join(&e.object_key)).unwrap();
        assert_eq!(on_disk.lines().count(), 2, "two lines archived, the newest kept: {on_disk}");
        assert!(on_disk.contains("\"action\":\"create_tenant\""), "{on_disk}");
    }
}
