//! The one table that turns every failure into `{status, code, message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slipway_api_types::ErrorBody;
use slipway_model::ValidationError;
use slipway_store::StoreError;

/// Every way an API call can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, not an object, or a path parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A field broke a rule.
    #[error("invalid request: {0}")]
    Validation(#[from] ValidationError),
    /// No token, or an unknown one.
    #[error("missing or unknown API token: send `Authorization: Token <token>` (or `Bearer <token>`)")]
    Unauthorized,
    /// The token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource in the caller's organization.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// No such route.
    #[error("no such endpoint: {0}")]
    NoRoute(String),
    /// The route exists, not with this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// The name is taken under the same parent, or the resource is in use.
    #[error("{0}")]
    Conflict(String),
    /// The body exceeds the limit.
    #[error("request body too large: the limit is {0} bytes")]
    PayloadTooLarge(usize),
    /// This server runs no deployment engine.
    #[error(
        "this server runs no deployment engine, so it cannot act on services; start `slipway server` with the engine role"
    )]
    EngineUnavailable,
    /// A fault on Slipway's side; details are logged, not returned.
    #[error("internal error; see the server log")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "validation_failed"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } | ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::EngineUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "engine_unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => ApiError::NotFound { what },
            StoreError::NameTaken { .. } => ApiError::Conflict(format!("{err}; choose another name")),
            StoreError::InUse { what } => {
                ApiError::Conflict(format!("{what} is still in use by other resources; delete or move them first"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<slipway_engine::EngineError> for ApiError {
    fn from(err: slipway_engine::EngineError) -> Self {
        match err {
            slipway_engine::EngineError::Store(e) => e.into(),
            slipway_engine::EngineError::Refused(message) => ApiError::BadRequest(message),
            slipway_engine::EngineError::Busy(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let field = match &self {
            ApiError::Validation(v) => Some(v.field.clone()),
            _ => None,
        };
        let body = ErrorBody { message: self.to_string(), code: code.to_owned(), field };
        (status, axum::Json(body)).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
