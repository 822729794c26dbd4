//! One error type for the API, mapped to HTTP in one place.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zhanqun_model::{Rejection, RejectionKind};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("{1}")]
    Unprocessable(String, String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// 403 with a code of its own (a wrong proof in a well-formed request).
    #[error("{1}")]
    Denied(&'static str, String),
    /// The 安全管理员 set this account's password: its owner changes it first.
    #[error("the 安全管理员 set this account's password; change it first: PUT /api/v1/session/password {{\"current_password\", \"new_password\"}}")]
    PasswordChangeRequired,
    #[error("{1}")]
    NotFound(String, String),
    #[error("{1}")]
    Conflict(String, String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed logins: the account is locked for `retry_after`.
    #[error("{message}")]
    LoginLocked { message: String, retry_after: std::time::Duration },
    #[error("{0}")]
    Unavailable(String),
    /// A rolling upgrade is under way and this change needs the new
    /// version on every member: nothing was applied; retry after it.
    #[error("{0}")]
    Upgrading(String),
    /// The write may or may not have been applied (503 as well, with its
    /// own code so a client knows a blind retry may apply it twice).
    #[error("{0}")]
    OutcomeUnknown(String),
    /// Something broke inside; the details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest(code, message.into())
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound("not_found".into(), format!("{what} not found"))
    }
    pub fn forbidden() -> Self {
        ApiError::Forbidden("your account may not do this here".into())
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    /// The stable code a client can act on (`error.code` in the JSON).
    pub fn code(&self) -> &str {
        self.parts().1
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &str) {
        match self {
            ApiError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, code),
            ApiError::Unprocessable(code, _) => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Denied(code, _) => (StatusCode::FORBIDDEN, code),
            ApiError::PasswordChangeRequired => (StatusCode::FORBIDDEN, "password_change_required"),
            ApiError::NotFound(code, _) => (StatusCode::NOT_FOUND, code),
            ApiError::Conflict(code, _) => (StatusCode::CONFLICT, code),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::LoginLocked { .. } => (StatusCode::TOO_MANY_REQUESTS, "login_locked"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::OutcomeUnknown(_) => (StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown"),
            ApiError::Upgrading(_) => (StatusCode::SERVICE_UNAVAILABLE, "cluster_upgrading"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        match r.kind {
            RejectionKind::NotFound => ApiError::NotFound(r.code, r.message),
            RejectionKind::Conflict => ApiError::Conflict(r.code, r.message),
            RejectionKind::Invalid => ApiError::Unprocessable(r.code, r.message),
            RejectionKind::Forbidden if r.code == "password_change_required" => ApiError::PasswordChangeRequired,
            RejectionKind::Forbidden => ApiError::Forbidden(r.message),
        }
    }
}

impl From<zhanqun_store::StoreError> for ApiError {
    fn from(e: zhanqun_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<zhanqun_cluster::WriteError> for ApiError {
    fn from(e: zhanqun_cluster::WriteError) -> Self {
        match e {
            zhanqun_cluster::WriteError::Unavailable => ApiError::Unavailable(e.to_string()),
            zhanqun_cluster::WriteError::OutcomeUnknown(_) => ApiError::OutcomeUnknown(e.to_string()),
            zhanqun_cluster::WriteError::Upgrading(_) => ApiError::Upgrading(e.to_string()),
            zhanqun_cluster::WriteError::Fatal(_) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let body = Json(json!({ "error": { "code": code, "message": self.to_string() } }));
        let mut resp = (status, body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // An upgrade lasts as long as pods take to restart, not an election.
            let seconds = if matches!(self, ApiError::Upgrading(_)) { "30" } else { "1" };
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        if matches!(self, ApiError::TooLarge(_)) {
            // Refused before the body was read to its end, so the rest of it
            // is still on the connection: say it closes, or a client sends
            // its next request there and meets a reset instead of an answer.
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let ApiError::LoginLocked { retry_after, .. } = &self {
            // Whole seconds, rounded up, so a client that waits is not early.
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
