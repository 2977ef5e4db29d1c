//! Extractors that refuse bad input in the API's own error shape.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON object body, not yet typed. Malformed JSON is a 400, an oversized
/// body a 413.
#[derive(Debug)]
pub struct JsonObject(pub Value);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| bytes_rejection(e, state))?;
        if bytes.is_empty() {
            return Err(ApiError::BadRequest("the request needs a JSON object body".into()));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::BadRequest("the request body must be a JSON object".into()));
        }
        Ok(JsonObject(value))
    }
}

/// The refusal of an unreadable or oversized body.
pub(crate) fn bytes_rejection(err: BytesRejection, state: &AppState) -> ApiError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(state.config.body_limit)
    } else {
        ApiError::BadRequest(format!("cannot read the request body: {err}"))
    }
}

/// A JSON body deserialized into `T`; refusals name the offending field.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let JsonObject(value) = JsonObject::from_request(req, state).await?;
        Ok(Body(slipway_model::validate::parse(value)?))
    }
}

/// Path parameters; a malformed id is a 400 that names the parameter.
#[derive(Debug)]
pub struct Ids<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(ids)) => Ok(Ids(ids)),
            Err(err) => Err(ApiError::BadRequest(format!("invalid path parameter: {}", err.body_text()))),
        }
    }
}

/// An optional JSON body: no body (or `null`) is `None`; anything else must
/// be a JSON object that deserializes into `T`.
#[derive(Debug)]
pub struct MaybeBody<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for MaybeBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| bytes_rejection(e, state))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeBody(None));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
        match value {
            Value::Null => Ok(MaybeBody(None)),
            Value::Object(_) => Ok(MaybeBody(Some(slipway_model::validate::parse(value)?))),
            _ => Err(ApiError::BadRequest("the request body must be a JSON object".into())),
        }
    }
}

/// Query parameters. Their fields are strings, checked by the handlers
/// with [`param`] so that refusals name the parameter.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(q)) => Ok(QueryParams(q)),
            Err(err) => Err(ApiError::BadRequest(format!("invalid query string: {}", err.body_text()))),
        }
    }
}

/// Parses an optional query parameter; a refusal names it and says what it expects.
pub fn param<T: std::str::FromStr>(name: &str, value: Option<&str>, expected: &str) -> Result<Option<T>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| slipway_model::ValidationError::new(name, format!("must be {expected}, got `{v}`")).into()),
    }
}
