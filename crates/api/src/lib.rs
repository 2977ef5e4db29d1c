//! Slipway's REST API: an axum router over the store, wire-compatible with
//! Qovery's public API.
//!
//! [`router`] builds the whole application from an [`AppState`], so tests
//! drive it with `oneshot` and no socket. Handlers are thin: they
//! authenticate the caller ([`auth::Caller`]), scope every lookup to the
//! caller's organization, parse bodies through the model's own rules
//! ([`extract`]), and map every failure through one table ([`error`]).
//! Paths, status codes, JSON shapes and operation ids follow the contract;
//! the OpenAPI document is generated from the same annotations.

pub mod auth;
pub mod domain_check;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;
mod state;
mod status;
mod variables;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use domain_check::DnsResolver;
pub use state::{ApiConfig, AppState, Inner};

use crate::error::ApiError;
use crate::routes::{
    environments as envs, history, legacy_variables, logs, organizations as orgs, projects, services, stages,
    variables as vars,
};

/// The document of the API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

fn api_router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(orgs::list_organizations))
        .routes(routes!(orgs::get_organization, orgs::edit_organization))
        .routes(routes!(orgs::get_account))
        .routes(routes!(orgs::list_clusters, orgs::create_cluster))
        .routes(routes!(orgs::list_cluster_statuses))
        .routes(routes!(orgs::get_cluster, orgs::edit_cluster, orgs::delete_cluster))
        .routes(routes!(orgs::get_cluster_status))
        .routes(routes!(crate::routes::database_servers::list_servers, crate::routes::database_servers::create_server))
        .routes(routes!(crate::routes::database_servers::delete_server))
        .routes(routes!(orgs::list_registries, orgs::create_registry))
        .routes(routes!(orgs::get_registry, orgs::edit_registry, orgs::delete_registry))
        .routes(routes!(orgs::list_tokens, orgs::create_token))
        .routes(routes!(orgs::delete_token))
        .routes(routes!(orgs::list_roles))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project, projects::edit_project, projects::delete_project))
        .routes(routes!(projects::list_environments, projects::create_environment))
        .routes(routes!(projects::list_environment_statuses))
        .routes(routes!(projects::get_environment, projects::edit_environment, projects::delete_environment))
        .routes(routes!(projects::get_environment_status))
        .routes(routes!(projects::get_environment_statuses))
        .routes(routes!(projects::get_environment_statuses_with_stages))
        .routes(routes!(projects::list_environment_services))
        .routes(routes!(envs::deploy))
        .routes(routes!(envs::redeploy))
        .routes(routes!(envs::stop))
        .routes(routes!(envs::uninstall))
        .routes(routes!(envs::reboot_services))
        .routes(routes!(envs::deploy_all_services))
        .routes(routes!(envs::stop_selected_services))
        .routes(routes!(envs::cancel_deployment))
        .routes(routes!(history::list_environment_history))
        .routes(routes!(history::list_environment_history_v2))
        .routes(routes!(history::get_deployment_status))
        .routes(routes!(history::list_deployment_queue))
        .routes(routes!(history::get_deployment))
        .routes(routes!(logs::list_environment_logs))
        .routes(routes!(logs::list_environment_log))
        .routes(routes!(logs::stream_deployment_logs))
        .routes(routes!(stages::list_stages, stages::create_stage))
        .routes(routes!(stages::get_stage, stages::edit_stage, stages::delete_stage))
        .routes(routes!(stages::attach_service))
        .routes(routes!(stages::move_after))
        .routes(routes!(stages::move_before))
        .routes(routes!(stages::get_service_stage))
        .routes(routes!(vars::list_variables, vars::create_variable))
        .routes(routes!(vars::edit_variable, vars::delete_variable))
        .routes(routes!(vars::create_variable_alias))
        .routes(routes!(vars::create_variable_override))
        .routes(routes!(vars::import_variables))
        .routes(routes!(vars::list_effective_variables))
        .routes(routes!(vars::get_master_credentials))
        .routes(routes!(vars::list_database_versions));
    let router = legacy_variables::routes(router);
    [
        services::application::routes,
        services::container::routes,
        services::database::routes,
        services::job::routes,
        services::helm::routes,
        services::terraform::routes,
        crate::routes::custom_domains::application::routes,
        crate::routes::custom_domains::container::routes,
        crate::routes::custom_domains::helm::routes,
    ]
    .into_iter()
    .fold(router, |router, kind| kind(router))
}

/// The whole HTTP application: the API, `/openapi.json`, the `/docs` page
/// (Swagger UI, bundled into the binary so that it works offline) and `/healthz`.
pub fn router(state: AppState) -> Router {
    let (api, document) = api_router().split_for_parts();
    let body_limit = state.config.body_limit;
    api.merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", document))
        .route("/healthz", get(|| std::future::ready(Json(serde_json::json!({"status": "ok"})))))
        .fallback(no_route)
        .method_not_allowed_fallback(|| std::future::ready(ApiError::MethodNotAllowed))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn no_route(method: Method, uri: Uri) -> impl IntoResponse {
    ApiError::NoRoute(format!("{method} {}", uri.path()))
}
