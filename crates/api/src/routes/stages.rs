//! Deployment stages: the order in which an environment deployment runs its
//! services. Every environment starts with one default stage per kind
//! (databases, jobs, containers, applications, Helm, Terraform); services
//! land in their kind's default stage unless attached to another one.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    AttachServiceToDeploymentStageRequest, DeploymentStageRequest, DeploymentStageResponse,
    DeploymentStageServiceResponse, ResultsList,
};
use slipway_model::deployment::{DeploymentStage, StageService};
use slipway_model::{Environment, Role, Service, Uuid, ValidationError, new_id, now};
use slipway_store::{Filter, StoreError};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ids, MaybeBody};
use crate::openapi::ApiErrors;
use crate::state::AppState;

type State = axum::extract::State<AppState>;

/// An environment's stages in order, creating the default ones the first
/// time (through the engine when there is one, which does the same).
pub(crate) async fn stages_of(state: &AppState, env: &Environment) -> ApiResult<Vec<DeploymentStage>> {
    if let Some(engine) = &state.engine {
        return Ok(engine.stages(env).await?);
    }
    let mut stages: Vec<DeploymentStage> = state.store.list(env.organization_id, Filter::parent(env.id)).await?;
    if stages.is_empty() {
        for stage in DeploymentStage::defaults(env.organization_id, env.id) {
            match state.store.insert(&stage).await {
                Ok(()) | Err(StoreError::NameTaken { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        stages = state.store.list(env.organization_id, Filter::parent(env.id)).await?;
    }
    stages.sort_by_key(|s| s.position);
    Ok(stages)
}

/// Where each service deploys: the stage it is attached to, else its kind's
/// default stage. Returns the index of the stage in `stages`, and whether
/// the service is skipped.
pub(crate) fn placement(stages: &[DeploymentStage], service: &Service) -> Option<(usize, bool)> {
    for (i, stage) in stages.iter().enumerate() {
        if let Some(a) = stage.services.iter().find(|a| a.service_id == service.id) {
            return Some((i, a.is_skipped));
        }
    }
    stages.iter().position(|s| s.default_for == Some(service.kind())).map(|i| (i, false))
}

fn responses(stages: &[DeploymentStage], services: &[Service]) -> Vec<DeploymentStageResponse> {
    let mut out: Vec<DeploymentStageResponse> = stages
        .iter()
        .map(|s| DeploymentStageResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: s.name.clone(),
            description: s.description.clone(),
            deployment_order: s.position,
            services: Vec::new(),
        })
        .collect();
    for service in services {
        if let Some((i, is_skipped)) = placement(stages, service) {
            out[i].services.push(DeploymentStageServiceResponse {
                id: service.id,
                created_at: service.created_at,
                service_id: service.id,
                service_type: service.kind(),
                is_skipped,
            });
        }
    }
    out
}

/// The environment, its stages in order and its services.
async fn environment_stages(
    state: &AppState,
    org: Uuid,
    env_id: Uuid,
) -> ApiResult<(Environment, Vec<DeploymentStage>, Vec<Service>)> {
    let env: Environment = state.store.get(org, env_id).await?;
    let stages = stages_of(state, &env).await?;
    let services: Vec<Service> = state.store.list(org, Filter::parent(env.id)).await?;
    Ok((env, stages, services))
}

/// A stage of the caller's organization, with its environment's stages and services.
async fn stage_context(
    state: &AppState,
    caller: &Caller,
    stage_id: Uuid,
) -> ApiResult<(DeploymentStage, Vec<DeploymentStage>, Vec<Service>)> {
    let stage: DeploymentStage = state.store.get(caller.organization_id, stage_id).await?;
    let (_, stages, services) = environment_stages(state, caller.organization_id, stage.environment_id).await?;
    Ok((stage, stages, services))
}

fn list_response(stages: &[DeploymentStage], services: &[Service]) -> Json<ResultsList<DeploymentStageResponse>> {
    Json(responses(stages, services).into())
}

fn one_response(
    stages: &[DeploymentStage],
    services: &[Service],
    id: Uuid,
) -> ApiResult<Json<DeploymentStageResponse>> {
    responses(stages, services)
        .into_iter()
        .find(|s| s.id == id)
        .map(Json)
        .ok_or(ApiError::NotFound { what: "deployment stage" })
}

/// Writes the stages whose position changed after a reorder.
async fn renumber(state: &AppState, ordered: &mut [DeploymentStage]) -> ApiResult<()> {
    for (i, stage) in ordered.iter_mut().enumerate() {
        if stage.position != i as u32 {
            stage.position = i as u32;
            stage.updated_at = Some(now());
            state.store.update(stage).await?;
        }
    }
    Ok(())
}

/// An environment's deployment stages in order, with the services each one deploys.
#[utoipa::path(get, path = "/environment/{environmentId}/deploymentStage", operation_id = "listEnvironmentDeploymentStage",
    tag = "Deployment Stages", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<DeploymentStageResponse>), ApiErrors))]
pub async fn list_stages(
    state: State,
    caller: Caller,
    Ids(env): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<DeploymentStageResponse>>> {
    let (_, stages, services) = environment_stages(&state, caller.organization_id, env).await?;
    Ok(list_response(&stages, &services))
}

/// Add a stage after the existing ones. Returns 200, as the contract says.
#[utoipa::path(post, path = "/environment/{environmentId}/deploymentStage",
    operation_id = "createEnvironmentDeploymentStage", tag = "Deployment Stages",
    params(("environmentId" = Uuid, Path)), request_body = DeploymentStageRequest,
    responses((status = 200, body = DeploymentStageResponse), ApiErrors))]
pub async fn create_stage(
    state: State,
    caller: Caller,
    Ids(env_id): Ids<Uuid>,
    Body(request): Body<DeploymentStageRequest>,
) -> ApiResult<Json<DeploymentStageResponse>> {
    caller.require(Role::Developer, "create deployment stages")?;
    let (env, mut stages, services) = environment_stages(&state, caller.organization_id, env_id).await?;
    let stage = DeploymentStage {
        id: new_id(),
        organization_id: env.organization_id,
        environment_id: env.id,
        name: request.name,
        description: request.description,
        position: stages.iter().map(|s| s.position + 1).max().unwrap_or(0),
        default_for: None,
        services: Vec::new(),
        created_at: now(),
        updated_at: None,
    };
    stage.validate()?;
    state.store.insert(&stage).await?;
    let id = stage.id;
    stages.push(stage);
    one_response(&stages, &services, id)
}

/// A deployment stage.
#[utoipa::path(get, path = "/deploymentStage/{deploymentStageId}", operation_id = "getDeploymentStage",
    tag = "Deployment Stages", params(("deploymentStageId" = Uuid, Path)),
    responses((status = 200, body = DeploymentStageResponse), ApiErrors))]
pub async fn get_stage(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Json<DeploymentStageResponse>> {
    let (_, stages, services) = stage_context(&state, &caller, id).await?;
    one_response(&stages, &services, id)
}

/// Rename a stage or change its description.
#[utoipa::path(put, path = "/deploymentStage/{deploymentStageId}", operation_id = "editDeploymentStage",
    tag = "Deployment Stages", params(("deploymentStageId" = Uuid, Path)), request_body = DeploymentStageRequest,
    responses((status = 200, body = DeploymentStageResponse), ApiErrors))]
pub async fn edit_stage(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(request): Body<DeploymentStageRequest>,
) -> ApiResult<Json<DeploymentStageResponse>> {
    caller.require(Role::Developer, "edit deployment stages")?;
    let (mut stage, mut stages, services) = stage_context(&state, &caller, id).await?;
    stage.name = request.name;
    stage.description = request.description;
    stage.updated_at = Some(now());
    stage.validate()?;
    state.store.update(&stage).await?;
    if let Some(s) = stages.iter_mut().find(|s| s.id == id) {
        *s = stage;
    }
    one_response(&stages, &services, id)
}

/// Delete an empty stage. A kind's default stage stays (services of that
/// kind land there), and a stage that deploys services must be emptied
/// first: both are refused with 409.
#[utoipa::path(delete, path = "/deploymentStage/{deploymentStageId}", operation_id = "deleteDeploymentStage",
    tag = "Deployment Stages", params(("deploymentStageId" = Uuid, Path)), responses((status = 204), ApiErrors))]
pub async fn delete_stage(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<StatusCode> {
    caller.require(Role::Developer, "delete deployment stages")?;
    let (stage, mut stages, services) = stage_context(&state, &caller, id).await?;
    if let Some(kind) = stage.default_for {
        return Err(ApiError::Conflict(format!(
            "`{}` is the default stage of {} services and cannot be deleted; create stages of your own around it",
            stage.name,
            kind.path()
        )));
    }
    let held = responses(&stages, &services).into_iter().find(|s| s.id == id).map_or(0, |s| s.services.len());
    if held > 0 {
        return Err(ApiError::Conflict(format!(
            "stage `{}` still deploys {held} service(s); attach them to another stage first",
            stage.name
        )));
    }
    state.store.delete::<DeploymentStage>(caller.organization_id, id).await?;
    stages.retain(|s| s.id != id);
    renumber(&state, &mut stages).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a service to a stage (from wherever it was), skipped or not.
/// Returns the environment's stages.
#[utoipa::path(put, path = "/deploymentStage/{deploymentStageId}/service/{serviceId}",
    operation_id = "attachServiceToDeploymentStage", tag = "Deployment Stages",
    params(("deploymentStageId" = Uuid, Path), ("serviceId" = Uuid, Path)),
    request_body = Option<AttachServiceToDeploymentStageRequest>,
    responses((status = 200, body = ResultsList<DeploymentStageResponse>), ApiErrors))]
pub async fn attach_service(
    state: State,
    caller: Caller,
    Ids((id, service_id)): Ids<(Uuid, Uuid)>,
    MaybeBody(body): MaybeBody<AttachServiceToDeploymentStageRequest>,
) -> ApiResult<Json<ResultsList<DeploymentStageResponse>>> {
    caller.require(Role::Developer, "attach services to deployment stages")?;
    let (stage, mut stages, services) = stage_context(&state, &caller, id).await?;
    if !services.iter().any(|s| s.id == service_id) {
        return Err(ApiError::NotFound { what: "service in the stage's environment" });
    }
    let is_skipped = body.and_then(|b| b.is_skipped).unwrap_or(false);
    for s in stages.iter_mut() {
        let before = s.services.len();
        s.services.retain(|a| a.service_id != service_id);
        let removed = s.services.len() != before;
        if s.id == stage.id {
            s.services.push(StageService { service_id, is_skipped });
        }
        if removed || s.id == stage.id {
            s.updated_at = Some(now());
            state.store.update(s).await?;
        }
    }
    Ok(list_response(&stages, &services))
}

async fn move_stage(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    other: Uuid,
    after: bool,
) -> ApiResult<Json<ResultsList<DeploymentStageResponse>>> {
    caller.require(Role::Developer, "reorder deployment stages")?;
    let (_, mut stages, services) = stage_context(state, caller, id).await?;
    if other == id {
        return Err(ValidationError::new("stageId", "a stage cannot move relative to itself").into());
    }
    if !stages.iter().any(|s| s.id == other) {
        return Err(ValidationError::new("stageId", format!("no stage {other} in this stage's environment")).into());
    }
    let from = stages.iter().position(|s| s.id == id).ok_or(ApiError::NotFound { what: "deployment stage" })?;
    let moved = stages.remove(from);
    let at = stages.iter().position(|s| s.id == other).unwrap_or(stages.len());
    stages.insert(if after { at + 1 } else { at }, moved);
    renumber(state, &mut stages).await?;
    Ok(list_response(&stages, &services))
}

/// Move a stage right after another one. Returns the environment's stages.
#[utoipa::path(put, path = "/deploymentStage/{deploymentStageId}/moveAfter/{stageId}",
    operation_id = "moveAfterDeploymentStage", tag = "Deployment Stages",
    params(("deploymentStageId" = Uuid, Path), ("stageId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<DeploymentStageResponse>), ApiErrors))]
pub async fn move_after(
    state: State,
    caller: Caller,
    Ids((id, other)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ResultsList<DeploymentStageResponse>>> {
    move_stage(&state, &caller, id, other, true).await
}

/// Move a stage right before another one. Returns the environment's stages.
#[utoipa::path(put, path = "/deploymentStage/{deploymentStageId}/moveBefore/{stageId}",
    operation_id = "moveBeforeDeploymentStage", tag = "Deployment Stages",
    params(("deploymentStageId" = Uuid, Path), ("stageId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<DeploymentStageResponse>), ApiErrors))]
pub async fn move_before(
    state: State,
    caller: Caller,
    Ids((id, other)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ResultsList<DeploymentStageResponse>>> {
    move_stage(&state, &caller, id, other, false).await
}

/// The stage a service deploys in.
#[utoipa::path(get, path = "/service/{serviceId}/deploymentStage", operation_id = "getServiceDeploymentStage",
    tag = "Deployment Stages", params(("serviceId" = Uuid, Path)),
    responses((status = 200, body = DeploymentStageResponse), ApiErrors))]
pub async fn get_service_stage(
    state: State,
    caller: Caller,
    Ids(service_id): Ids<Uuid>,
) -> ApiResult<Json<DeploymentStageResponse>> {
    let service: Service = state.store.get(caller.organization_id, service_id).await?;
    let (_, stages, services) = environment_stages(&state, caller.organization_id, service.environment_id).await?;
    let (i, _) = placement(&stages, &service).ok_or(ApiError::NotFound { what: "deployment stage of the service" })?;
    one_response(&stages, &services, stages[i].id)
}
