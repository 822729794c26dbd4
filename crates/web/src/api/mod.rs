//! The admin API, one module per resource.

pub(crate) mod attachments;
pub(crate) mod audit;
pub(crate) mod certificates;
pub(crate) mod channels;
pub(crate) mod cluster;
pub(crate) mod compliance;
mod csv;
pub(crate) mod documents;
pub(crate) mod inspection;
mod openapi;
pub(crate) mod reposts;
pub(crate) mod revisions;
mod search;
pub(crate) mod session;
pub(crate) mod tenants;
pub(crate) mod users;
pub(crate) mod workflow;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zhanqun_cluster::Written;
use zhanqun_model::{Applied, Proposal, Tenant};

use crate::error::{ApiError, ApiResult};
use crate::{App, WebConfig};

/// JSON bodies are capped at 2 MiB; attachments have their own limit.
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// Every endpoint of the API but the OpenAPI document itself: (method,
/// path, handler). The router is built from this list, and a test holds
/// it equal to the operations the OpenAPI document describes.
pub(super) fn endpoints() -> Vec<(&'static str, &'static str, MethodRouter<Arc<App>>)> {
    // The method is named once, so the list cannot say one and route another.
    macro_rules! endpoint {
        ($method:ident $path:literal => $handler:path) => {
            (stringify!($method), $path, axum::routing::$method($handler))
        };
    }
    vec![
        endpoint!(post "/tenants/{code}/attachments" => attachments::upload),
        endpoint!(post "/session" => session::login),
        endpoint!(get "/session" => session::whoami),
        endpoint!(delete "/session" => session::logout),
        endpoint!(put "/session/password" => session::change_password),
        endpoint!(post "/session/totp" => session::totp_secret),
        endpoint!(put "/session/totp" => session::totp_enroll),
        endpoint!(delete "/users/{username}/totp" => users::remove_totp),
        endpoint!(get "/tenants" => tenants::list),
        endpoint!(post "/tenants" => tenants::create),
        endpoint!(get "/tenants/{code}" => tenants::show),
        endpoint!(patch "/tenants/{code}" => tenants::update),
        endpoint!(get "/tenants/{code}/channels" => channels::list),
        endpoint!(post "/tenants/{code}/channels" => channels::create),
        endpoint!(put "/tenants/{code}/channels/order" => channels::reorder),
        endpoint!(delete "/tenants/{code}/channels/{id}" => channels::delete),
        endpoint!(put "/tenants/{code}/channels/{id}/name" => channels::rename),
        endpoint!(put "/tenants/{code}/channels/{id}/parent" => channels::move_to),
        endpoint!(put "/tenants/{code}/channels/{id}/update-class" => channels::set_update_class),
        endpoint!(get "/tenants/{code}/self-inspection" => inspection::report),
        endpoint!(get "/tenants/{code}/compliance" => compliance::site),
        endpoint!(get "/compliance" => compliance::ranking),
        endpoint!(get "/tenants/{code}/documents" => documents::list),
        endpoint!(post "/tenants/{code}/documents" => documents::create),
        endpoint!(get "/tenants/{code}/documents/{id}" => documents::show),
        endpoint!(patch "/tenants/{code}/documents/{id}" => documents::update),
        endpoint!(post "/tenants/{code}/documents/{id}/submit" => workflow::submit),
        endpoint!(post "/tenants/{code}/documents/{id}/approve" => workflow::approve),
        endpoint!(post "/tenants/{code}/documents/{id}/return" => workflow::send_back),
        endpoint!(post "/tenants/{code}/documents/{id}/allow-personal-data" => workflow::allow_personal_data),
        endpoint!(post "/tenants/{code}/documents/{id}/secrecy-review" => workflow::sign_off),
        endpoint!(post "/tenants/{code}/documents/{id}/publish" => workflow::publish),
        endpoint!(post "/tenants/{code}/documents/{id}/withdraw" => workflow::withdraw),
        endpoint!(post "/tenants/{code}/documents/{id}/validity" => workflow::set_validity),
        endpoint!(post "/tenants/{code}/documents/{id}/schedule" => workflow::schedule),
        endpoint!(get "/tenants/{code}/documents/{id}/audit" => workflow::audit),
        endpoint!(get "/tenants/{code}/documents/{id}/revisions" => revisions::list),
        endpoint!(get "/tenants/{code}/documents/{id}/revisions/{n}" => revisions::show),
        endpoint!(get "/tenants/{code}/documents/{id}/revisions/{n}/diff" => revisions::diff),
        endpoint!(post "/tenants/{code}/documents/{id}/revisions/{n}/restore" => revisions::restore),
        endpoint!(get "/tenants/{code}/attachments/{id}" => attachments::download),
        endpoint!(get "/users" => users::list),
        endpoint!(post "/users" => users::create),
        endpoint!(put "/users/{username}/roles" => users::set_roles),
        endpoint!(post "/users/{username}/password" => users::reset_password),
        endpoint!(post "/users/{username}/disable" => users::disable),
        endpoint!(post "/users/{username}/enable" => users::enable),
        endpoint!(delete "/users/{username}/sessions" => users::revoke_sessions),
        endpoint!(post "/users/{username}/unlock" => users::unlock),
        endpoint!(get "/cluster/status" => cluster::status),
        endpoint!(get "/search" => search::search),
        endpoint!(get "/audit" => audit::list),
        endpoint!(get "/audit/verify" => audit::verify),
        endpoint!(get "/settings/password-policy" => users::password_policy),
        endpoint!(put "/settings/password-policy" => users::set_password_policy),
        endpoint!(get "/feeds" => reposts::list_feeds),
        endpoint!(post "/feeds" => reposts::create_feed),
        endpoint!(post "/feeds/{id}/poll" => reposts::poll_now),
        endpoint!(delete "/feeds/{id}" => reposts::delete_feed),
        endpoint!(put "/tenants/{code}/channels/{id}/role" => reposts::set_channel_role),
        endpoint!(put "/tenants/{code}/tags" => reposts::set_tags),
        endpoint!(get "/tenants/{code}/certificate" => certificates::show),
        endpoint!(put "/tenants/{code}/certificate" => certificates::set),
        endpoint!(delete "/tenants/{code}/certificate" => certificates::remove),
        endpoint!(get "/tenants/{code}/repost-rules" => reposts::list_rules),
        endpoint!(post "/tenants/{code}/repost-rules" => reposts::create_rule),
        endpoint!(delete "/tenants/{code}/repost-rules/{id}" => reposts::delete_rule),
        endpoint!(post "/tenants/{code}/documents/{id}/reposts" => reposts::repost),
        endpoint!(get "/tenants/{code}/reposts" => reposts::list_reposts),
        endpoint!(post "/tenants/{code}/reposts/{id}/accept" => reposts::accept),
        endpoint!(post "/tenants/{code}/reposts/{id}/refuse" => reposts::refuse),
        endpoint!(post "/tenants/{code}/documents/{id}/submissions" => reposts::submit_upward),
        endpoint!(get "/tenants/{code}/submissions" => reposts::list_submissions),
        endpoint!(post "/tenants/{code}/submissions/{id}/adopt" => reposts::adopt),
        endpoint!(post "/tenants/{code}/submissions/{id}/return" => reposts::give_back),
        endpoint!(get "/tenants/{code}/submission-counts" => reposts::submission_counts),
    ]
}

/// The path that takes uploads, with their own body limit.
const UPLOAD_PATH: &str = "/tenants/{code}/attachments";

pub fn router(config: &WebConfig) -> Router<Arc<App>> {
    let mut json = Router::new().route("/openapi.json", get(openapi::document));
    let mut uploads = Router::new();
    for (method, path, handler) in endpoints() {
        if path == UPLOAD_PATH && method == "post" {
            uploads = uploads.route(path, handler);
        } else {
            json = json.route(path, handler);
        }
    }
    // Multipart framing on top of the file itself.
    let uploads = uploads.layer(DefaultBodyLimit::max(config.max_upload_bytes + 64 * 1024));
    json.layer(DefaultBodyLimit::max(JSON_LIMIT))
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
        // The fields the type knows: those it declares to serde, and those
        // that come back when it is written out (a flattened part declares
        // none). A field at its default may be left out when written, so
        // writing alone would call it unknown.
        let written = serde_json::to_value(&parsed).map_err(ApiError::internal)?;
        let declared = declared_fields::<T>();
        let mut known: Vec<&str> = declared.to_vec();
        if let Some(w) = written.as_object() {
            known.extend(w.keys().map(String::as_str).filter(|k| !declared.contains(k)));
        }
        if let Some(sent) = value.as_object()
            && let Some(unknown) = sent.keys().find(|k| !known.contains(&k.as_str()))
        {
            return Err(ApiError::Unprocessable("invalid_field".into(), format!("unknown field `{unknown}`, expected one of {}", known.join(", "))));
        }
        Ok(Strict(parsed))
    }
}

/// The field names a struct declares to serde: a deserializer that only
/// listens to what `deserialize_struct` is told, then stops.
fn declared_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("field probe"))
        }
        fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], _: V) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("field probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
            newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
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

/// Lists that grow are paged by key: a page is read one row longer than
/// asked, and when that row exists the last row kept names where the next
/// page starts (`next`, sent back as `after`). Page 5,000 then costs what
/// page 1 does.
pub fn next_key<T>(rows: &mut Vec<T>, per_page: i64, key: impl Fn(&T) -> String) -> Option<String> {
    if rows.len() as i64 <= per_page {
        return None;
    }
    rows.truncate(per_page as usize);
    rows.last().map(key)
}

impl Paging {
    pub fn limit_offset(&self) -> (i64, i64) {
        let per = self.per_page.unwrap_or(20).clamp(1, 200);
        let page = self.page.unwrap_or(1).max(1);
        (per, (page - 1) * per)
    }
}
