//! Uploading and downloading attachments.
//!
//! The bytes go to the object store first, under their SHA-256; only then is
//! the command proposed, so every node that applies it can find the blob.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::BytesMut;
use sha2::{Digest, Sha256};
use zhanqun_model::policy::{Need, WRITERS};
use zhanqun_model::urls::{Page, preview_url};
use zhanqun_model::{Attachment, Command};

use super::{Multipart, Path, WriteResponse, WriteResult, propose, tenant_by_code, to_json};
use crate::auth::Caller;
use crate::blobs::serve;
use crate::error::{ApiError, ApiResult};
use crate::{App, new_id, now_ms};

/// Keeps the last path component of an uploaded name, without control
/// characters or separators: `../../etc/passwd` becomes `passwd`.
fn clean_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | ':' | '*' | '?')).take(200).collect();
    let name = name.trim().trim_start_matches('.').to_string();
    (!name.is_empty()).then_some(name)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the upload is larger than the attachment size limit".into())
    } else {
        ApiError::bad_request("bad_multipart", format!("could not read the multipart upload: {}", e.body_text()))
    }
}

pub async fn upload(State(app): State<Arc<App>>, caller: Caller, Path(code): Path<String>, Multipart(mut form): Multipart) -> WriteResult {
    let t = tenant_by_code(&app, &code).await?;
    caller.may(Need::SiteRole(t.id, WRITERS))?;
    let limit = app.config.max_upload_bytes;
    let mut file: Option<(String, Option<String>, bytes::Bytes)> = None;
    let mut document_id: Option<i64> = None;
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let name = field
                    .file_name()
                    .and_then(clean_file_name)
                    .ok_or_else(|| ApiError::bad_request("missing_file_name", "the `file` part needs a file name"))?;
                let declared = field.content_type().map(str::to_string);
                let mut buf = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if buf.len() + chunk.len() > limit {
                        return Err(ApiError::TooLarge(format!("the file is larger than the {} MiB attachment limit", limit / 1024 / 1024)).into());
                    }
                    buf.extend_from_slice(&chunk);
                }
                file = Some((name, declared, buf.freeze()));
            }
            Some("document_id") => {
                let text = field.text().await.map_err(multipart_error)?;
                document_id =
                    Some(text.trim().parse().map_err(|_| ApiError::bad_request("invalid_document_id", "document_id must be a document id (a number)"))?);
            }
            _ => {}
        }
    }
    let (file_name, declared, data) = file.ok_or_else(|| ApiError::bad_request("missing_file", "send the file as the multipart part named `file`"))?;
    // A right-to-left override makes `a\u{202e}gnp.exe` look like a picture.
    zhanqun_model::rules::limits::FILE_NAME.required(&file_name).map_err(ApiError::from)?;
    if let Some(doc) = document_id {
        app.store
            .document(t.id, doc)
            .await?
            .ok_or_else(|| ApiError::NotFound("unknown_document".into(), format!("this site has no document with id {doc}")))?;
    }
    // The name decides the type we serve; a browser-declared type is only a fallback.
    let content_type = mime_guess::from_path(&file_name).first_raw().map(str::to_string).or(declared).unwrap_or_else(|| "application/octet-stream".into());
    // Hashing 100 MiB takes a few hundred milliseconds: the heavy pool.
    let (sha256, data) = app.content_work.run(move || (hex::encode(Sha256::digest(&data)), data)).await?;
    let size = data.len() as i64;
    app.blobs.put(&sha256, data).await.map_err(ApiError::internal)?;
    let attachment = Attachment {
        id: new_id(),
        tenant_id: t.id,
        document_id,
        sha256,
        size,
        content_type,
        file_name,
        created_at: now_ms(),
        created_by: Some(caller.user.id),
    };
    let (headers, _) = propose(&app, caller.propose(Command::AddAttachment { attachment: attachment.clone() })).await?;
    let url = preview_url(&t, &Page::Attachment { id: attachment.id });
    let mut body = to_json(&attachment);
    body["url"] = url.into();
    Ok(WriteResponse(StatusCode::CREATED, headers, body))
}

pub async fn download(State(app): State<Arc<App>>, caller: Caller, Path((code, id)): Path<(String, i64)>, headers: HeaderMap) -> ApiResult<Response> {
    let t = tenant_by_code(&app, &code).await?;
    if !caller.user.belongs_to(t.id) {
        return Err(ApiError::forbidden());
    }
    let a = app.store.attachment(t.id, id).await?.ok_or_else(|| ApiError::not_found("attachment"))?;
    serve(&app.blobs, &a, &headers).await.map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::clean_file_name;

    #[test]
    fn uploaded_names_lose_their_paths() {
        assert_eq!(clean_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_file_name("C:\\Users\\a\\通知.pdf").as_deref(), Some("通知.pdf"));
        assert_eq!(clean_file_name("..").as_deref(), None);
        assert_eq!(clean_file_name("a\u{0}b.txt").as_deref(), Some("ab.txt"));
    }
}
