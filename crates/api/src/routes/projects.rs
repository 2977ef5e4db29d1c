//! Projects and environments.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    CreateEnvironmentRequest, DeploymentStageWithServicesStatuses, EnvironmentEditRequest, EnvironmentResponse,
    EnvironmentStatus, EnvironmentStatuses, EnvironmentStatusesWithStages, ProjectRequest, ProjectResponse,
    ResultsList, ServiceResponse, Stage, StageStatus, Status,
};
use slipway_model::deployment::StepStatus;
use slipway_model::{Cluster, Environment, EnvironmentMode, Project, Role, Service, ServiceType, Uuid, new_id, now};
use slipway_store::Filter;

use crate::auth::{Actor, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ids};
use crate::openapi::{ActionErrors, ApiErrors};
use crate::routes::children;
use crate::routes::services::service_responses;
use crate::state::AppState;
use crate::status::EnvView;

type State = axum::extract::State<AppState>;

async fn project_response(state: &AppState, project: &Project) -> ApiResult<ProjectResponse> {
    let counts = state.store.count_by_parent::<Environment>(project.organization_id).await?;
    Ok(ProjectResponse::new(project, counts.get(&project.id).copied().unwrap_or(0)))
}

/// List the organization's projects.
#[utoipa::path(get, path = "/organization/{organizationId}/project", operation_id = "listProject", tag = "Projects",
    params(("organizationId" = Uuid, Path)), responses((status = 200, body = ResultsList<ProjectResponse>), ApiErrors))]
pub async fn list_projects(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<ProjectResponse>>> {
    caller.check_organization(org)?;
    let projects: Vec<Project> = state.store.list(org, Filter::default()).await?;
    let counts = state.store.count_by_parent::<Environment>(org).await?;
    let results = projects.iter().map(|p| ProjectResponse::new(p, counts.get(&p.id).copied().unwrap_or(0)));
    Ok(Json(results.collect::<Vec<_>>().into()))
}

/// Create a project. Returns 200, not 201, as the contract says.
#[utoipa::path(post, path = "/organization/{organizationId}/project", operation_id = "createProject", tag = "Projects",
    params(("organizationId" = Uuid, Path)), request_body = ProjectRequest,
    responses((status = 200, body = ProjectResponse), ApiErrors))]
pub async fn create_project(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
    Body(request): Body<ProjectRequest>,
) -> ApiResult<Json<ProjectResponse>> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "create projects")?;
    let project = Project {
        id: new_id(),
        organization_id: org,
        name: request.name,
        description: request.description,
        created_at: now(),
        updated_at: None,
    };
    project.validate()?;
    state.store.insert(&project).await?;
    Ok(Json(ProjectResponse::new(&project, 0)))
}

/// Get a project.
#[utoipa::path(get, path = "/project/{projectId}", operation_id = "getProject", tag = "Projects",
    params(("projectId" = Uuid, Path)), responses((status = 200, body = ProjectResponse), ApiErrors))]
pub async fn get_project(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Json<ProjectResponse>> {
    let project: Project = state.store.get(caller.organization_id, id).await?;
    Ok(Json(project_response(&state, &project).await?))
}

/// Rename a project or change its description.
#[utoipa::path(put, path = "/project/{projectId}", operation_id = "editProject", tag = "Projects",
    params(("projectId" = Uuid, Path)), request_body = ProjectRequest,
    responses((status = 200, body = ProjectResponse), ApiErrors))]
pub async fn edit_project(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(request): Body<ProjectRequest>,
) -> ApiResult<Json<ProjectResponse>> {
    caller.require(Role::Admin, "edit projects")?;
    let mut project: Project = state.store.get(caller.organization_id, id).await?;
    project.name = request.name;
    project.description = request.description;
    project.updated_at = Some(now());
    project.validate()?;
    state.store.update(&project).await?;
    Ok(Json(project_response(&state, &project).await?))
}

/// Delete a project with its environments and their services.
#[utoipa::path(delete, path = "/project/{projectId}", operation_id = "deleteProject", tag = "Projects",
    params(("projectId" = Uuid, Path)), responses((status = 204), ApiErrors))]
pub async fn delete_project(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin, "delete projects")?;
    state.store.delete::<Project>(caller.organization_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn environment_response(state: &AppState, env: &Environment) -> ApiResult<EnvironmentResponse> {
    let cluster: Cluster = state.store.get(env.organization_id, env.cluster_id).await?;
    Ok(EnvironmentResponse::new(env, &cluster))
}

/// List a project's environments.
#[utoipa::path(get, path = "/project/{projectId}/environment", operation_id = "listEnvironment", tag = "Environments",
    params(("projectId" = Uuid, Path)), responses((status = 200, body = ResultsList<EnvironmentResponse>), ApiErrors))]
pub async fn list_environments(
    state: State,
    caller: Caller,
    Ids(project): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<EnvironmentResponse>>> {
    let org = caller.organization_id;
    let envs = children::<Environment, Project>(&state, org, project, None).await?;
    let clusters: Vec<Cluster> = state.store.list(org, Filter::default()).await?;
    let results = envs
        .iter()
        .filter_map(|e| clusters.iter().find(|c| c.id == e.cluster_id).map(|c| EnvironmentResponse::new(e, c)))
        .collect::<Vec<_>>();
    Ok(Json(results.into()))
}

/// Create an environment, on the organization's default cluster unless `cluster` names one.
#[utoipa::path(post, path = "/project/{projectId}/environment", operation_id = "createEnvironment", tag = "Environments",
    params(("projectId" = Uuid, Path)), request_body = CreateEnvironmentRequest,
    responses((status = 201, body = EnvironmentResponse), ApiErrors))]
pub async fn create_environment(
    state: State,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    Body(request): Body<CreateEnvironmentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentResponse>)> {
    caller.require(Role::Developer, "create environments")?;
    let org = caller.organization_id;
    let project: Project = state.store.get(org, project_id).await?;
    let clusters: Vec<Cluster> = state.store.list(org, Filter::default()).await?;
    let cluster = match request.cluster {
        Some(id) => clusters.iter().find(|c| c.id == id).ok_or_else(|| {
            slipway_model::ValidationError::new("cluster", format!("no cluster {id} in this organization"))
        })?,
        None => clusters.iter().find(|c| c.is_default).ok_or_else(|| {
            slipway_model::ValidationError::new("cluster", "is required: the organization has no default cluster")
        })?,
    };
    let env = Environment {
        id: new_id(),
        organization_id: org,
        project_id: project.id,
        cluster_id: cluster.id,
        name: request.name,
        mode: request.mode.map(EnvironmentMode::from).unwrap_or_default(),
        created_at: now(),
        updated_at: None,
    };
    env.validate()?;
    state.store.insert(&env).await?;
    Ok((StatusCode::CREATED, Json(EnvironmentResponse::new(&env, cluster))))
}

/// The status of every environment of a project.
#[utoipa::path(get, path = "/project/{projectId}/environment/status", operation_id = "getProjectEnvironmentsStatus",
    tag = "Environments", params(("projectId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<EnvironmentStatus>), ApiErrors))]
pub async fn list_environment_statuses(
    state: State,
    caller: Caller,
    Ids(project): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<EnvironmentStatus>>> {
    let envs = children::<Environment, Project>(&state, caller.organization_id, project, None).await?;
    let mut statuses = Vec::with_capacity(envs.len());
    for env in envs {
        statuses.push(EnvView::of(&state, env).await?.environment_status());
    }
    Ok(Json(statuses.into()))
}

/// Get an environment.
#[utoipa::path(get, path = "/environment/{environmentId}", operation_id = "getEnvironment", tag = "Environments",
    params(("environmentId" = Uuid, Path)), responses((status = 200, body = EnvironmentResponse), ApiErrors))]
pub async fn get_environment(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Json<EnvironmentResponse>> {
    let env: Environment = state.store.get(caller.organization_id, id).await?;
    Ok(Json(environment_response(&state, &env).await?))
}

/// Rename an environment or change its mode.
#[utoipa::path(put, path = "/environment/{environmentId}", operation_id = "editEnvironment", tag = "Environments",
    params(("environmentId" = Uuid, Path)), request_body = EnvironmentEditRequest,
    responses((status = 200, body = EnvironmentResponse), ApiErrors))]
pub async fn edit_environment(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(request): Body<EnvironmentEditRequest>,
) -> ApiResult<Json<EnvironmentResponse>> {
    caller.require(Role::Developer, "edit environments")?;
    let mut env: Environment = state.store.get(caller.organization_id, id).await?;
    if let Some(name) = request.name {
        env.name = name;
    }
    if let Some(mode) = request.mode {
        if env.mode == EnvironmentMode::Preview {
            return Err(ApiError::Conflict("a preview environment keeps the PREVIEW mode".into()));
        }
        env.mode = mode.into();
    }
    env.updated_at = Some(now());
    env.validate()?;
    state.store.update(&env).await?;
    Ok(Json(environment_response(&state, &env).await?))
}

/// Delete an environment and its services: at once when nothing of it was
/// ever deployed; else through a delete deployment that removes what runs,
/// then the configuration (its status shows `DELETE_QUEUED`, `DELETING`).
#[utoipa::path(delete, path = "/environment/{environmentId}", operation_id = "deleteEnvironment", tag = "Environments",
    params(("environmentId" = Uuid, Path)), responses((status = 204), ActionErrors))]
pub async fn delete_environment(state: State, actor: Actor, Ids(id): Ids<Uuid>) -> ApiResult<StatusCode> {
    crate::routes::actions::delete_environment(&state, &actor, id).await
}

/// The status of an environment.
#[utoipa::path(get, path = "/environment/{environmentId}/status", operation_id = "getEnvironmentStatus",
    tag = "Environments", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = EnvironmentStatus), ApiErrors))]
pub async fn get_environment_status(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<EnvironmentStatus>> {
    Ok(Json(EnvView::load(&state, caller.organization_id, id).await?.environment_status()))
}

/// The status of an environment and of each of its services, by kind.
#[utoipa::path(get, path = "/environment/{environmentId}/statuses", operation_id = "getEnvironmentStatuses",
    tag = "Environments", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = EnvironmentStatuses), ApiErrors))]
pub async fn get_environment_statuses(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<EnvironmentStatuses>> {
    let view = EnvView::load(&state, caller.organization_id, id).await?;
    Ok(Json(EnvironmentStatuses {
        environment: view.environment_status(),
        applications: view.statuses(ServiceType::Application),
        containers: view.statuses(ServiceType::Container),
        jobs: view.statuses(ServiceType::Job),
        databases: view.statuses(ServiceType::Database),
        helms: view.statuses(ServiceType::Helm),
        terraforms: view.statuses(ServiceType::Terraform),
    }))
}

/// The environment's status and its services' statuses, stage by stage, in
/// deployment order; each stage with how it went in the last deployment.
#[utoipa::path(get, path = "/environment/{environmentId}/statusesWithStages",
    operation_id = "getEnvironmentStatusesWithStages", tag = "Environments", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = EnvironmentStatusesWithStages), ApiErrors))]
pub async fn get_environment_statuses_with_stages(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<EnvironmentStatusesWithStages>> {
    let view = EnvView::load(&state, caller.organization_id, id).await?;
    let stages = crate::routes::stages::stages_of(&state, &view.env).await?;
    let mut groups: Vec<Vec<&Service>> = vec![Vec::new(); stages.len()];
    for service in &view.services {
        if let Some((i, _)) = crate::routes::stages::placement(&stages, service) {
            groups[i].push(service);
        }
    }
    let last_steps = view.latest.as_ref().map(|d| d.steps.as_slice()).unwrap_or_default();
    let results = stages
        .iter()
        .zip(groups)
        .map(|(stage, members)| {
            let of = |kind: ServiceType| -> Vec<Status> {
                members.iter().filter(|s| s.kind() == kind).map(|s| view.service_status(s)).collect()
            };
            let steps: Vec<StepStatus> =
                last_steps.iter().filter(|s| s.stage == stage.name).map(|s| s.status).collect();
            DeploymentStageWithServicesStatuses {
                stage: Stage {
                    id: stage.id,
                    name: stage.name.clone(),
                    description: stage.description.clone().unwrap_or_default(),
                    status: stage_status(&steps),
                },
                applications: of(ServiceType::Application),
                containers: of(ServiceType::Container),
                jobs: of(ServiceType::Job),
                databases: of(ServiceType::Database),
                helms: of(ServiceType::Helm),
                terraforms: of(ServiceType::Terraform),
            }
        })
        .collect();
    Ok(Json(EnvironmentStatusesWithStages { environment: view.environment_status(), stages: results }))
}

/// How a stage went, from the steps of its services in one deployment.
fn stage_status(steps: &[StepStatus]) -> Option<StageStatus> {
    if steps.is_empty() {
        return None;
    }
    let any = |s: StepStatus| steps.contains(&s);
    Some(if any(StepStatus::Failed) || any(StepStatus::RolledBack) {
        StageStatus::Error
    } else if any(StepStatus::Running) {
        StageStatus::Ongoing
    } else if steps.iter().all(|s| *s == StepStatus::Skipped) {
        StageStatus::Skipped
    } else if any(StepStatus::Pending) {
        StageStatus::Queued
    } else {
        StageStatus::Done
    })
}

/// Every service of an environment, whatever its kind.
#[utoipa::path(get, path = "/environment/{environmentId}/services", operation_id = "listServicesByEnvironmentId",
    tag = "Environments", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<ServiceResponse>), ApiErrors))]
pub async fn list_environment_services(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<ServiceResponse>>> {
    let org = caller.organization_id;
    let services = children::<Service, Environment>(&state, org, id, None).await?;
    Ok(Json(service_responses(&state, org, &services).await?.into()))
}
