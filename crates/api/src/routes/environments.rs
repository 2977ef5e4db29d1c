//! Environment actions: deploy, redeploy, stop, restart, deploy or stop
//! some services, cancel and uninstall. The work is in [`super::actions`].

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    CancelEnvironmentDeploymentRequest, DeployAllRequest, EnvironmentServiceIdsAllRequest, EnvironmentStatus,
    RebootServicesRequest, Status,
};
use slipway_model::Uuid;
use slipway_model::deployment::DeploymentAction;

use crate::auth::Actor;
use crate::error::ApiResult;
use crate::extract::{Body, Ids, MaybeBody};
use crate::openapi::ActionErrors;
use crate::routes::actions;
use crate::state::AppState;

type State = axum::extract::State<AppState>;

/// Deploy every service of the environment, stage by stage. Answers the
/// environment's status in the shape of a `Status` (as the contract does).
#[utoipa::path(post, path = "/environment/{environmentId}/deploy", operation_id = "deployEnvironment",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    responses((status = 202, body = Status), ActionErrors))]
pub async fn deploy(state: State, actor: Actor, Ids(id): Ids<Uuid>) -> ApiResult<(StatusCode, Json<Status>)> {
    actions::deploy_environment(&state, &actor, id).await
}

/// Deploy every service again at the version it runs (services built from
/// git keep their commit; configuration changes apply).
#[utoipa::path(post, path = "/environment/{environmentId}/redeploy", operation_id = "redeployEnvironment",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    responses((status = 202, body = EnvironmentStatus), ActionErrors))]
pub async fn redeploy(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actions::redeploy_environment(&state, &actor, id).await
}

/// Stop every service of the environment (volumes and releases are kept).
#[utoipa::path(post, path = "/environment/{environmentId}/stop", operation_id = "stopEnvironment",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    responses((status = 202, body = EnvironmentStatus), ActionErrors))]
pub async fn stop(state: State, actor: Actor, Ids(id): Ids<Uuid>) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    let view = actions::environment_action(&state, &actor, id, DeploymentAction::Stop).await?;
    Ok((StatusCode::ACCEPTED, Json(view.environment_status())))
}

/// Remove what runs (instances, networks, volumes); keep the configuration.
#[utoipa::path(post, path = "/environment/{environmentId}/uninstall", operation_id = "uninstallEnvironment",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    responses((status = 202, body = EnvironmentStatus), ActionErrors))]
pub async fn uninstall(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    let view = actions::environment_action(&state, &actor, id, DeploymentAction::Delete).await?;
    Ok((StatusCode::ACCEPTED, Json(view.environment_status())))
}

/// Restart some services; without ids, every deployed application,
/// container and database of the environment.
#[utoipa::path(post, path = "/environment/{environmentId}/service/restart-service", operation_id = "rebootServices",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    request_body = Option<RebootServicesRequest>, responses((status = 202, body = Status), ActionErrors))]
pub async fn reboot_services(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
    MaybeBody(body): MaybeBody<RebootServicesRequest>,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actions::reboot_services(&state, &actor, id, body).await
}

/// Deploy some services, each at a version when given: the CLI's deploy
/// path, and how to roll back (deploy an earlier commit or tag).
#[utoipa::path(post, path = "/environment/{environmentId}/service/deploy", operation_id = "deployAllServices",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)), request_body = DeployAllRequest,
    responses((status = 202, body = EnvironmentStatus), ActionErrors))]
pub async fn deploy_all_services(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
    Body(body): Body<DeployAllRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actions::deploy_all_services(&state, &actor, id, body).await
}

/// Stop some services. Answers 200, as the contract says.
#[utoipa::path(post, path = "/environment/{environmentId}/service/stop", operation_id = "stopSelectedServices",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    request_body = EnvironmentServiceIdsAllRequest, responses((status = 200, body = EnvironmentStatus), ActionErrors))]
pub async fn stop_selected_services(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
    Body(body): Body<EnvironmentServiceIdsAllRequest>,
) -> ApiResult<Json<EnvironmentStatus>> {
    actions::stop_selected_services(&state, &actor, id, body).await
}

/// Cancel the environment's queued deployments and stop its running one
/// (what it already switched returns to its previous release).
#[utoipa::path(post, path = "/environment/{environmentId}/cancelDeployment", operation_id = "cancelEnvironmentDeployment",
    tag = "Environment Actions", params(("environmentId" = Uuid, Path)),
    request_body = Option<CancelEnvironmentDeploymentRequest>,
    responses((status = 202, body = EnvironmentStatus), ActionErrors))]
pub async fn cancel_deployment(
    state: State,
    actor: Actor,
    Ids(id): Ids<Uuid>,
    MaybeBody(body): MaybeBody<CancelEnvironmentDeploymentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actions::cancel_environment_deployment(&state, &actor, id, body).await
}
