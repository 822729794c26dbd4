//! The admin API, one module per resource.

mod attachments;
mod audit;
mod cluster;
mod csv;
mod documents;
mod inspection;
mod openapi;
mod revisions;
mod search;
mod session;
mod tenants;
mod users;
mod workflow;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zhanqun_cluster::Written;
use zhanqun_model::{Applied, Proposal, Tenant};

use crate::error::{ApiError, ApiResult};
use crate::{App, WebConfig};

/// JSON bodies are capped at 2 MiB; attachments have their own limit.
const JSON_LIMIT: usize = 2 * 1024 * 1024;

pub fn router(config: &WebConfig) -> Router<Arc<App>> {
    let uploads = Router::new()
        .route("/tenants/{code}/attachments", post(attachments::upload))
        // Multipart framing on top of the file itself.
        .layer(DefaultBodyLimit::max(config.max_upload_bytes + 64 * 1024));
    Router::new()
        .route("/session", post(session::login).get(session::whoami).delete(session::logout))
        .route("/session/password", put(session::change_password))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{code}", get(tenants::show).patch(tenants::update))
        .route("/tenants/{code}/channels", get(tenants::list_channels).post(tenants::create_channel))
        .route("/tenants/{code}/self-inspection", get(inspection::report))
        .route("/tenants/{code}/documents", get(documents::list).post(documents::create))
        .route("/tenants/{code}/documents/{id}", get(documents::show).patch(documents::update))
        .route("/tenants/{code}/documents/{id}/submit", post(workflow::submit))
        .route("/tenants/{code}/documents/{id}/approve", post(workflow::approve))
        .route("/tenants/{code}/documents/{id}/return", post(workflow::send_back))
        .route("/tenants/{code}/documents/{id}/secrecy-review", post(workflow::sign_off))
        .route("/tenants/{code}/documents/{id}/publish", post(workflow::publish))
        .route("/tenants/{code}/documents/{id}/withdraw", post(workflow::withdraw))
        .route("/tenants/{code}/documents/{id}/validity", post(workflow::set_validity))
        .route("/tenants/{code}/documents/{id}/schedule", post(workflow::schedule))
        .route("/tenants/{code}/documents/{id}/audit", get(workflow::audit))
        .route("/tenants/{code}/documents/{id}/revisions", get(revisions::list))
        .route("/tenants/{code}/documents/{id}/revisions/{n}", get(revisions::show))
        .route("/tenants/{code}/documents/{id}/revisions/{n}/diff", get(revisions::diff))
        .route("/tenants/{code}/documents/{id}/revisions/{n}/restore", post(revisions::restore))
        .route("/tenants/{code}/attachments/{id}", get(attachments::download))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}/roles", put(users::set_roles))
        .route("/users/{username}/password", post(users::reset_password))
        .route("/users/{username}/disable", post(users::disable))
        .route("/users/{username}/enable", post(users::enable))
        .route("/users/{username}/sessions", axum::routing::delete(users::revoke_sessions))
        .route("/users/{username}/unlock", post(users::unlock))
        .route("/cluster/status", get(cluster::status))
        .route("/search", get(search::search))
        .route("/audit", get(audit::list))
        .route("/audit/verify", get(audit::verify))
        .route("/settings/password-policy", get(users::password_policy).put(users::set_password_policy))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .merge(uploads)
        .fallback(|| async { ApiError::NotFound("no_such_endpoint".into(), "no such API endpoint; see /api/v1/openapi.json".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not take that method; see /api/v1/openapi.json for the ones it takes".into())
        })
}

/// `Json` whose refusals are API errors with a clear message.
///
/// A whole number written with a fraction of zero (`181.0`, as JavaScript
/// and many JSON libraries write some numbers) is taken as that number:
/// JSON does not tell `181` from `181.0`, and neither does the OpenAPI
/// document.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let refused = |e: JsonRejection| match e {
            JsonRejection::JsonDataError(e) => ApiError::Unprocessable("invalid_field".into(), e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType("send the body as JSON with `Content-Type: application/json`".into()),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge(format!("the JSON body is larger than {} MiB", JSON_LIMIT / 1024 / 1024))
            }
            e => ApiError::bad_request("unreadable_body", e.body_text()),
        };
        let Json(mut value) = Json::<serde_json::Value>::from_request(req, state).await.map_err(refused)?;
        whole_numbers(&mut value);
        // Through the text again, so a refusal names the field (`a.b[2]`).
        let text = serde_json::to_vec(&value).map_err(ApiError::internal)?;
        Json::<T>::from_bytes(&text).map(|Json(v)| ApiJson(v)).map_err(refused)
    }
}

/// A body of a type that is also logged in commands, refused when it holds
/// a field the type does not know. Logged types ignore unknown fields (an
/// older node must read a newer entry); the API still tells a client that
/// misspelled a field.
pub struct Strict<T>(pub T);

impl<T: DeserializeOwned + Serialize, S: Send + Sync> FromRequest<S> for Strict<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJson(value) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        let parsed: T = Json::<T>::from_bytes(&serde_json::to_vec(&value).map_err(ApiError::internal)?)
            .map(|Json(v)| v)
            .map_err(|e| ApiError::Unprocessable("invalid_field".into(), e.body_text()))?;
        // Every field the type knows comes back when it is written out.
        let known = serde_json::to_value(&parsed).map_err(ApiError::internal)?;
        if let (Some(sent), Some(known)) = (value.as_object(), known.as_object())
            && let Some(unknown) = sent.keys().find(|k| !known.contains_key(*k))
        {
            let expected: Vec<&str> = known.keys().map(String::as_str).collect();
            return Err(ApiError::Unprocessable("invalid_field".into(), format!("unknown field `{unknown}`, expected one of {}", expected.join(", "))));
        }
        Ok(Strict(parsed))
    }
}

/// Turns numbers like `7.0` into `7`, everywhere in `value`.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Exact in an f64, so nothing is rounded into a whole number.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0 {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Path parameters whose refusal is the API's JSON error (axum's own answers
/// `text/plain`): `/documents/abc` is a 400 naming what was wrong.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::bad_request("invalid_path", e.body_text())),
        }
    }
}

/// Query parameters, refused the same way as [`Path`].
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

/// A multipart upload, refused the same way as [`Path`] when the body is
/// not multipart at all.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Multipart)
            .map_err(|e| ApiError::UnsupportedMediaType(format!("send the upload as `multipart/form-data`: {}", e.body_text())))
    }
}

/// Proposes a change and turns the state machine's answer into an API result.
/// Every answer to a write carries `X-Zhanqun-Index`, refusals included.
pub async fn propose(app: &App, proposal: Proposal) -> Result<(HeaderMap, Applied), (HeaderMap, ApiError)> {
    match app.node.write(proposal).await {
        Ok(Written { outcome, index }) => {
            let headers = index_header(index);
            match outcome {
                Ok(applied) => Ok((headers, applied)),
                Err(rejection) => Err((headers, rejection.into())),
            }
        }
        Err(e) => Err((HeaderMap::new(), e.into())),
    }
}

fn index_header(index: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-zhanqun-index", HeaderValue::from(index));
    h
}

/// A write's HTTP response: status, the index header and a JSON body.
pub struct WriteResponse(pub StatusCode, pub HeaderMap, pub serde_json::Value);

impl IntoResponse for WriteResponse {
    fn into_response(self) -> Response {
        (self.0, self.1, Json(self.2)).into_response()
    }
}

/// A refused write, keeping its index header.
pub struct WriteRefused(pub HeaderMap, pub ApiError);

impl IntoResponse for WriteRefused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl From<ApiError> for WriteRefused {
    fn from(e: ApiError) -> Self {
        WriteRefused(HeaderMap::new(), e)
    }
}

impl From<(HeaderMap, ApiError)> for WriteRefused {
    fn from((h, e): (HeaderMap, ApiError)) -> Self {
        WriteRefused(h, e)
    }
}

impl From<zhanqun_store::StoreError> for WriteRefused {
    fn from(e: zhanqun_store::StoreError) -> Self {
        WriteRefused(HeaderMap::new(), e.into())
    }
}

pub type WriteResult = Result<WriteResponse, WriteRefused>;

pub fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("API types serialize")
}

/// Finds a tenant by its code, or a 404 that names it.
pub async fn tenant_by_code(app: &App, code: &str) -> ApiResult<Tenant> {
    app.derived.directory.current(&app.store).await?.by_code(code).cloned().ok_or_else(|| {
        ApiError::NotFound("unknown_tenant".into(), format!("no tenant with code `{}`", code.chars().filter(|c| !c.is_control()).take(40).collect::<String>()))
    })
}

/// Pagination parameters shared by list endpoints.
#[derive(Debug, serde::Deserialize)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Paging {
    pub fn limit_offset(&self) -> (i64, i64) {
        let per = self.per_page.unwrap_or(20).clamp(1, 200);
        let page = self.page.unwrap_or(1).max(1);
        (per, (page - 1) * per)
    }
}
