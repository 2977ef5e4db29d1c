//! The OpenAPI document: generated from the handlers' annotations, served at
//! `/openapi.json` and browsable at `/docs`.

use slipway_api_types::{ErrorBody, JobForceEvent};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

/// The refusals every endpoint can answer with, all as [`ErrorBody`].
#[derive(Debug, IntoResponses)]
#[allow(dead_code)]
pub enum ApiErrors {
    /// The input broke a rule; `field` names the offending field.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No API token, or an unknown one.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token's role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such resource in the caller's organization.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The name is taken, or the resource is still in use.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The request body is larger than the limit.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
}

/// The refusals of endpoints that act through the deployment engine.
#[derive(Debug, IntoResponses)]
#[allow(dead_code)]
pub enum ActionErrors {
    /// The input broke a rule, or there is nothing to act on.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No API token, or an unknown one.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token's role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such resource in the caller's organization.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The resource is in a state that forbids it.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The request body is larger than the limit.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// This server runs no deployment engine (`engine_unavailable`).
    #[response(status = 503)]
    EngineUnavailable(ErrorBody),
}

/// Adds the two ways to present an API token.
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ApiKeyAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <api token>`",
            ))),
        );
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("`Bearer <api token>`")).build(),
            ),
        );
    }
}

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Slipway API",
        description = "Slipway's REST API. Wire-compatible with the core of Qovery's public API: the same paths, \
                       status codes, JSON shapes and operation ids, so that Qovery's generated clients work unchanged. \
                       Fields marked as Slipway's own are additions.",
    ),
    modifiers(&Security),
    security(("ApiKeyAuth" = []), ("bearerAuth" = [])),
    components(schemas(ErrorBody, JobForceEvent)),
)]
#[derive(Debug)]
pub struct ApiDoc;
