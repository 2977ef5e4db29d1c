//! What deployments did: environment and service histories (v1 and v2),
//! the deployment queue, a deployment request's status, one deployment, and
//! a service's releases.

use std::collections::HashMap;

use axum::Json;
use slipway_api_types::{
    ApplicationDeploymentDetails, Commit, ContainerDeploymentDetails, DeploymentHistoryAuditingData,
    DeploymentHistoryEnvironment, DeploymentHistoryEnvironmentPaginatedResponseList,
    DeploymentHistoryEnvironmentPaginatedResponseListV2, DeploymentHistoryEnvironmentV2,
    DeploymentHistoryEnvironmentV2Identifier, DeploymentHistoryService, DeploymentHistoryServiceDetails,
    DeploymentHistoryServiceIdentifier, DeploymentHistoryServicePaginatedResponseListV2, DeploymentHistoryServiceV1,
    DeploymentHistoryStage, DeploymentRequestQuery, DeploymentResponse, EnvDeploymentStatus, JobDeploymentDetails,
    JobRunResponse, OtherDeploymentDetails, PageQuery, QueuedDeploymentRequestAuditingData,
    QueuedDeploymentRequestIdentifier, QueuedDeploymentRequestWithStages, QueuedService, QueuedServiceIdentifier,
    QueuedStage, ReleaseResponse, ResultsList, StageStatus, StartIdQuery, StatusDetails, TriggerAction, iso_duration,
};
use slipway_model::deployment::{Deployment, DeploymentStage, Release, ServiceStep, StepStatus, plan_stages};
use slipway_model::job::JobRun;
use slipway_model::{
    ActionStatus, DeploymentState, Environment, Service, ServiceSpec, ServiceType, SubAction, Timestamp, Uuid,
    ValidationError,
};
use slipway_store::Filter;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ids, QueryParams, param};
use crate::openapi::ApiErrors;
use crate::routes::services::find;
use crate::routes::stages::stages_of;
use crate::state::AppState;
use crate::status::deployment_state;

type State = axum::extract::State<AppState>;

/// How many deployments are read from the store at a time while filtering.
const BATCH: u32 = 100;

/// What history entries are built from: the environment's services, stages
/// and the releases of its services.
struct Context {
    services: HashMap<Uuid, Service>,
    ordered: Vec<(Uuid, ServiceType)>,
    stages: Vec<DeploymentStage>,
    releases: HashMap<Uuid, Release>,
}

impl Context {
    async fn load(state: &AppState, env: &Environment) -> ApiResult<Context> {
        let services: Vec<Service> = state.store.list(env.organization_id, Filter::parent(env.id)).await?;
        let mut releases = HashMap::new();
        for s in &services {
            let list: Vec<Release> = state.store.list(env.organization_id, Filter::parent(s.id)).await?;
            releases.extend(list.into_iter().map(|r| (r.id, r)));
        }
        let stages = stages_of(state, env).await?;
        let ordered = services.iter().map(|s| (s.id, s.kind())).collect();
        Ok(Context { services: services.into_iter().map(|s| (s.id, s)).collect(), ordered, stages, releases })
    }

    /// The steps of a deployment: its own once planned, else the plan it
    /// will follow with the current stages.
    fn steps_of(&self, d: &Deployment) -> Vec<ServiceStep> {
        if !d.steps.is_empty() {
            return d.steps.clone();
        }
        plan_stages(&self.stages, &self.ordered, |id| d.targets_service(id))
            .into_iter()
            .flat_map(|stage| stage.services.into_iter().map(move |(id, kind)| (stage.name.clone(), id, kind)))
            .map(|(stage, id, kind)| ServiceStep {
                service_id: id,
                service_name: self.services.get(&id).map(|s| s.name().to_owned()).unwrap_or_default(),
                service_type: kind,
                stage,
                status: StepStatus::Pending,
                release_id: None,
                previous_release_id: None,
                started_at: None,
                finished_at: None,
                error: None,
            })
            .collect()
    }
}

/// The state of one service in a deployment.
fn step_state(d: &Deployment, step: &ServiceStep) -> DeploymentState {
    match step.status {
        StepStatus::Pending if d.status.is_final() => DeploymentState::Canceled,
        StepStatus::Pending => d.action.queued_state(),
        StepStatus::Running => d.action.ongoing_state(),
        StepStatus::Done | StepStatus::Skipped => d.action.done_state(),
        StepStatus::Failed => d.action.error_state(),
        // It was switched, then returned to its previous release.
        StepStatus::RolledBack => DeploymentState::Canceled,
    }
}

fn step_action_status(d: &Deployment, step: &ServiceStep) -> ActionStatus {
    match step.status {
        StepStatus::Pending if d.status.is_final() => ActionStatus::Canceled,
        StepStatus::Pending => ActionStatus::Queued,
        StepStatus::Running => ActionStatus::Ongoing,
        StepStatus::Done | StepStatus::Skipped => ActionStatus::Success,
        StepStatus::Failed => ActionStatus::Error,
        StepStatus::RolledBack => ActionStatus::Canceled,
    }
}

pub(crate) fn step_stage_status(d: &Deployment, step: &ServiceStep) -> StageStatus {
    match step.status {
        StepStatus::Pending if d.status.is_final() => StageStatus::Canceled,
        StepStatus::Pending => StageStatus::Queued,
        StepStatus::Running => StageStatus::Ongoing,
        StepStatus::Done => StageStatus::Done,
        StepStatus::Skipped => StageStatus::Skipped,
        StepStatus::Failed => StageStatus::Error,
        StepStatus::RolledBack => StageStatus::Canceled,
    }
}

/// A stage's status from its services'.
pub(crate) fn stage_status(statuses: &[StageStatus]) -> StageStatus {
    use StageStatus as S;
    if statuses.contains(&S::Error) {
        S::Error
    } else if statuses.contains(&S::Ongoing)
        || (statuses.contains(&S::Queued) && statuses.iter().any(|s| matches!(s, S::Done | S::Skipped)))
    {
        S::Ongoing
    } else if statuses.contains(&S::Canceled) {
        S::Canceled
    } else if statuses.contains(&S::Queued) {
        S::Queued
    } else if !statuses.is_empty() && statuses.iter().all(|s| *s == S::Skipped) {
        S::Skipped
    } else {
        S::Done
    }
}

/// Steps grouped by stage, in order.
pub(crate) fn by_stage(steps: Vec<ServiceStep>) -> Vec<(String, Vec<ServiceStep>)> {
    let mut stages: Vec<(String, Vec<ServiceStep>)> = Vec::new();
    for step in steps {
        match stages.iter_mut().find(|(name, _)| *name == step.stage) {
            Some((_, list)) => list.push(step),
            None => stages.push((step.stage.clone(), vec![step])),
        }
    }
    stages
}

fn seconds_between(start: Option<Timestamp>, end: Option<Timestamp>) -> i64 {
    match start {
        Some(start) => (end.unwrap_or_else(slipway_model::now) - start).num_seconds().max(0),
        None => 0,
    }
}

fn auditing(d: &Deployment) -> DeploymentHistoryAuditingData {
    DeploymentHistoryAuditingData {
        created_at: d.created_at,
        updated_at: d.finished_at.or(d.started_at).unwrap_or(d.created_at),
        triggered_by: d.triggered_by.clone(),
        origin: Some(d.origin.into()),
    }
}

pub(crate) fn icon_uri(spec: &ServiceSpec) -> String {
    match spec {
        ServiceSpec::Application(s) => s.icon_uri.clone(),
        ServiceSpec::Container(s) => s.icon_uri.clone(),
        ServiceSpec::Database(s) => s.icon_uri.clone(),
        ServiceSpec::Job(s) => s.icon_uri.clone(),
        ServiceSpec::Helm(s) => s.icon_uri.clone(),
        ServiceSpec::Terraform(s) => s.icon_uri.clone(),
    }
}

/// What the service ran in the step: from its release, else from its
/// current configuration.
fn details(ctx: &Context, step: &ServiceStep) -> DeploymentHistoryServiceDetails {
    let release = step.release_id.and_then(|id| ctx.releases.get(&id));
    let spec = release
        .and_then(|r| r.spec(step.service_type).ok())
        .or_else(|| ctx.services.get(&step.service_id).map(|s| s.spec.clone()));
    let commit = release.and_then(Commit::of);
    match (step.service_type, spec) {
        (ServiceType::Application, _) => DeploymentHistoryServiceDetails::Application(ApplicationDeploymentDetails {
            commit,
            build_pod_name: release.map(|r| r.image.clone()).unwrap_or_default(),
        }),
        (ServiceType::Container, Some(ServiceSpec::Container(c))) => {
            DeploymentHistoryServiceDetails::Container(ContainerDeploymentDetails {
                image_name: c.image_name,
                tag: release.and_then(|r| r.tag.clone()).unwrap_or(c.tag),
                arguments: c.arguments,
                entrypoint: c.entrypoint,
            })
        }
        (ServiceType::Job, Some(ServiceSpec::Job(j))) => {
            let (image_name, tag) = match &j.source.image {
                Some(image) => (image.image_name.clone(), image.tag.clone()),
                None => (release.map(|r| r.image.clone()).unwrap_or_default(), String::new()),
            };
            DeploymentHistoryServiceDetails::Job(JobDeploymentDetails {
                image_name,
                tag: release.and_then(|r| r.tag.clone()).unwrap_or(tag),
                commit,
                job_type: j.job_type(),
            })
        }
        _ => DeploymentHistoryServiceDetails::Other(OtherDeploymentDetails { commit }),
    }
}

fn history_service(ctx: &Context, d: &Deployment, step: &ServiceStep) -> DeploymentHistoryService {
    let service = ctx.services.get(&step.service_id);
    DeploymentHistoryService {
        identifier: DeploymentHistoryServiceIdentifier {
            name: service.map_or_else(|| step.service_name.clone(), |s| s.name().to_owned()),
            service_id: step.service_id,
            service_type: step.service_type,
            execution_id: Some(d.id),
        },
        status: step_state(d, step),
        auditing_data: auditing(d),
        details: details(ctx, step),
        status_details: StatusDetails {
            action: d.action.service_action(),
            status: step_action_status(d, step),
            sub_action: SubAction::None,
        },
        icon_uri: service.map(|s| icon_uri(&s.spec)).unwrap_or_default(),
        total_duration: step.started_at.map(|s| iso_duration(seconds_between(Some(s), step.finished_at))),
    }
}

fn environment_item(ctx: &Context, d: &Deployment) -> DeploymentHistoryEnvironmentV2 {
    let stages = by_stage(ctx.steps_of(d))
        .into_iter()
        .map(|(name, steps)| {
            let statuses: Vec<StageStatus> = steps.iter().map(|s| step_stage_status(d, s)).collect();
            let start = steps.iter().filter_map(|s| s.started_at).min();
            let end = steps.iter().map(|s| s.finished_at).collect::<Option<Vec<_>>>().and_then(|e| e.into_iter().max());
            DeploymentHistoryStage {
                name,
                status: stage_status(&statuses),
                duration: iso_duration(seconds_between(start, end.or(d.finished_at))),
                services: steps.iter().map(|s| history_service(ctx, d, s)).collect(),
            }
        })
        .collect();
    DeploymentHistoryEnvironmentV2 {
        identifier: DeploymentHistoryEnvironmentV2Identifier { execution_id: d.id, environment_id: d.environment_id },
        auditing_data: auditing(d),
        status: deployment_state(d, false),
        trigger_action: TriggerAction::of(d.action, d.remove_config),
        total_duration: iso_duration(d.duration_seconds()),
        stages,
        action_status: d.status.action_status(),
    }
}

fn environment_item_v1(ctx: &Context, d: &Deployment) -> DeploymentHistoryEnvironment {
    let mut item = DeploymentHistoryEnvironment {
        id: d.id,
        created_at: d.created_at,
        updated_at: d.finished_at.or(d.started_at),
        status: deployment_state(d, false),
        origin: d.origin.into(),
        triggered_by: d.triggered_by.clone(),
        applications: Vec::new(),
        containers: Vec::new(),
        databases: Vec::new(),
        jobs: Vec::new(),
        helms: Vec::new(),
    };
    for step in ctx.steps_of(d) {
        let mut entry = DeploymentHistoryServiceV1 {
            id: step.service_id,
            created_at: step.started_at.unwrap_or(d.created_at),
            updated_at: step.finished_at,
            name: ctx.services.get(&step.service_id).map_or_else(|| step.service_name.clone(), |s| s.name().to_owned()),
            status: step_state(d, &step),
            commit: None,
            image_name: None,
            tag: None,
            arguments: None,
            entrypoint: None,
        };
        match details(ctx, &step) {
            DeploymentHistoryServiceDetails::Application(a) => entry.commit = a.commit,
            DeploymentHistoryServiceDetails::Container(c) => {
                (entry.image_name, entry.tag, entry.arguments, entry.entrypoint) =
                    (Some(c.image_name), Some(c.tag), Some(c.arguments), c.entrypoint);
            }
            DeploymentHistoryServiceDetails::Job(j) => {
                (entry.image_name, entry.tag, entry.commit) = (Some(j.image_name), Some(j.tag), j.commit);
            }
            DeploymentHistoryServiceDetails::Other(o) => entry.commit = o.commit,
        }
        match step.service_type {
            ServiceType::Application => item.applications.push(entry),
            ServiceType::Container => item.containers.push(entry),
            ServiceType::Database => item.databases.push(entry),
            ServiceType::Job => item.jobs.push(entry),
            // v1 has no Terraform list.
            ServiceType::Helm | ServiceType::Terraform => item.helms.push(entry),
        }
    }
    item
}

/// `(page, page_size)` from the query: page from 1, size 1 to 100 (20 by default).
fn page_of(q: &PageQuery) -> ApiResult<(u32, u32)> {
    let size = param::<u32>("pageSize", q.page_size.as_deref(), "a number from 1 to 100")?.unwrap_or(20);
    if !(1..=100).contains(&size) {
        return Err(ValidationError::new("pageSize", format!("must be a number from 1 to 100, got {size}")).into());
    }
    let page = param::<u32>("page", q.page.as_deref(), "a page number from 1")?.unwrap_or(1);
    if page == 0 {
        return Err(ValidationError::new("page", "must be a page number from 1, got 0").into());
    }
    Ok((page, size))
}

/// The deployments of an environment that `keep`, newest first, skipping
/// `skip` of them and returning at most `take`.
async fn filtered_deployments(
    state: &AppState,
    env: &Environment,
    skip: usize,
    take: usize,
    keep: impl Fn(&Deployment) -> bool,
) -> ApiResult<Vec<Deployment>> {
    let mut found = Vec::new();
    let mut skipped = 0;
    let mut offset = 0;
    loop {
        let batch = state.store.list_deployments(env.organization_id, env.id, BATCH, offset).await?;
        let done = batch.len() < BATCH as usize;
        for d in batch.into_iter().filter(|d| keep(d)) {
            if skipped < skip {
                skipped += 1;
            } else if found.len() < take {
                found.push(d);
            }
        }
        if done || found.len() >= take {
            return Ok(found);
        }
        offset += BATCH;
    }
}

pub(crate) async fn service_history(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    id: Uuid,
    query: PageQuery,
) -> ApiResult<Json<DeploymentHistoryServicePaginatedResponseListV2>> {
    let (page, size) = page_of(&query)?;
    let service = find(state, caller, kind, id).await?;
    let env: Environment = state.store.get(caller.organization_id, service.environment_id).await?;
    let skip = ((page - 1) * size) as usize;
    let deployments = filtered_deployments(state, &env, skip, size as usize, |d| {
        if d.steps.is_empty() { d.targets_service(id) } else { d.steps.iter().any(|s| s.service_id == id) }
    })
    .await?;
    let ctx = Context::load(state, &env).await?;
    let results = deployments
        .iter()
        .filter_map(|d| ctx.steps_of(d).into_iter().find(|s| s.service_id == id).map(|s| history_service(&ctx, d, &s)))
        .collect();
    Ok(Json(DeploymentHistoryServicePaginatedResponseListV2 { page, page_size: size, results }))
}

pub(crate) async fn list_releases(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    id: Uuid,
) -> ApiResult<Json<ResultsList<ReleaseResponse>>> {
    let service = find(state, caller, kind, id).await?;
    let mut releases: Vec<Release> = state.store.list(caller.organization_id, Filter::parent(service.id)).await?;
    releases.reverse();
    let current = state
        .store
        .service_states(caller.organization_id, Some(service.environment_id))
        .await?
        .into_iter()
        .find(|s| s.service_id == service.id)
        .and_then(|s| s.current_release);
    Ok(Json(releases.iter().map(|r| ReleaseResponse::new(r, Some(r.id) == current)).collect::<Vec<_>>().into()))
}

/// An environment's deployments, newest first, 20 at a time; `startId`
/// returns the ones after (older than) that deployment.
#[utoipa::path(get, path = "/environment/{environmentId}/deploymentHistory",
    operation_id = "listEnvironmentDeploymentHistory", tag = "Environment Deployment History",
    params(("environmentId" = Uuid, Path), StartIdQuery),
    responses((status = 200, body = DeploymentHistoryEnvironmentPaginatedResponseList), ApiErrors))]
pub async fn list_environment_history(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    QueryParams(query): QueryParams<StartIdQuery>,
) -> ApiResult<Json<DeploymentHistoryEnvironmentPaginatedResponseList>> {
    const PAGE_SIZE: u32 = 20;
    let start = param::<Uuid>("startId", query.start_id.as_deref(), "a deployment id")?;
    let env: Environment = state.store.get(caller.organization_id, id).await?;
    let mut skip = 0;
    if let Some(start) = start {
        let mut offset = 0;
        loop {
            let batch = state.store.list_deployments(env.organization_id, env.id, BATCH, offset).await?;
            if let Some(i) = batch.iter().position(|d| d.id == start) {
                skip = offset as usize + i + 1;
                break;
            }
            if batch.len() < BATCH as usize {
                return Err(
                    ValidationError::new("startId", format!("no deployment {start} in this environment")).into()
                );
            }
            offset += BATCH;
        }
    }
    let deployments = filtered_deployments(&state, &env, skip, PAGE_SIZE as usize, |_| true).await?;
    let ctx = Context::load(&state, &env).await?;
    Ok(Json(DeploymentHistoryEnvironmentPaginatedResponseList {
        page: skip as u32 / PAGE_SIZE + 1,
        page_size: PAGE_SIZE,
        results: deployments.iter().map(|d| environment_item_v1(&ctx, d)).collect(),
    }))
}

/// An environment's deployments with their stages and services, newest first.
#[utoipa::path(get, path = "/environment/{environmentId}/deploymentHistoryV2",
    operation_id = "listEnvironmentDeploymentHistoryV2", tag = "Environment Deployment History",
    params(("environmentId" = Uuid, Path), PageQuery),
    responses((status = 200, body = DeploymentHistoryEnvironmentPaginatedResponseListV2), ApiErrors))]
pub async fn list_environment_history_v2(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<DeploymentHistoryEnvironmentPaginatedResponseListV2>> {
    let (page, size) = page_of(&query)?;
    let env: Environment = state.store.get(caller.organization_id, id).await?;
    let deployments = state.store.list_deployments(env.organization_id, env.id, size, (page - 1) * size).await?;
    let ctx = Context::load(&state, &env).await?;
    Ok(Json(DeploymentHistoryEnvironmentPaginatedResponseListV2 {
        page,
        page_size: size,
        results: deployments.iter().map(|d| environment_item(&ctx, d)).collect(),
    }))
}

/// Where a deployment request is.
#[utoipa::path(get, path = "/environment/deploymentStatus", operation_id = "getDeploymentStatusByDeploymentRequestId",
    tag = "Environment Deployment History", params(DeploymentRequestQuery),
    responses((status = 200, body = EnvDeploymentStatus), ApiErrors))]
pub async fn get_deployment_status(
    state: State,
    caller: Caller,
    QueryParams(query): QueryParams<DeploymentRequestQuery>,
) -> ApiResult<Json<EnvDeploymentStatus>> {
    let id = param::<Uuid>("deploymentRequestId", query.deployment_request_id.as_deref(), "a deployment request id")?
        .ok_or_else(|| ValidationError::new("deploymentRequestId", "is required"))?;
    let d = deployment(&state, &caller, id).await?;
    let canceling =
        d.status == slipway_model::deployment::DeploymentStatus::Running && state.store.cancel_requested(d.id).await?;
    Ok(Json(EnvDeploymentStatus {
        deployment_request_id: d.id,
        environment_id: d.environment_id,
        status: deployment_state(&d, canceling),
    }))
}

async fn deployment(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Deployment> {
    state.store.get_deployment(caller.organization_id, id).await.map_err(|e| match e {
        slipway_store::StoreError::NotFound { .. } => ApiError::NotFound { what: "deployment request" },
        other => other.into(),
    })
}

/// The environment's queued and running deployments, oldest first, with
/// the stages they run.
#[utoipa::path(get, path = "/environment/{environmentId}/deploymentQueue",
    operation_id = "listDeploymentRequestByEnvironmentId", tag = "Environment Deployment History",
    params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<QueuedDeploymentRequestWithStages>), ApiErrors))]
pub async fn list_deployment_queue(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<QueuedDeploymentRequestWithStages>>> {
    let env: Environment = state.store.get(caller.organization_id, id).await?;
    let pending = state.store.pending_deployments(Some(env.id)).await?;
    if pending.is_empty() {
        return Ok(Json(Vec::new().into()));
    }
    let ctx = Context::load(&state, &env).await?;
    let results = pending
        .iter()
        .map(|d| QueuedDeploymentRequestWithStages {
            identifier: QueuedDeploymentRequestIdentifier { deployment_request_id: d.id, environment_id: env.id },
            auditing_data: QueuedDeploymentRequestAuditingData {
                triggered_by: d.triggered_by.clone(),
                origin: Some(d.origin.into()),
            },
            trigger_action: TriggerAction::of(d.action, d.remove_config),
            stages: by_stage(ctx.steps_of(d))
                .into_iter()
                .map(|(name, steps)| {
                    let services: Vec<QueuedService> = steps
                        .iter()
                        .map(|s| QueuedService {
                            identifier: QueuedServiceIdentifier {
                                service_id: s.service_id,
                                service_type: s.service_type,
                                name: s.service_name.clone(),
                            },
                            status: step_stage_status(d, s),
                            icon_uri: ctx.services.get(&s.service_id).map(|x| icon_uri(&x.spec)),
                        })
                        .collect();
                    let statuses: Vec<StageStatus> = services.iter().map(|s| s.status).collect();
                    QueuedStage { name, status: stage_status(&statuses), services }
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    Ok(Json(results.into()))
}

/// Slipway: one deployment with its steps.
#[utoipa::path(get, path = "/deployment/{deploymentId}", operation_id = "getDeployment", tag = "Deployments",
    params(("deploymentId" = Uuid, Path)), responses((status = 200, body = DeploymentResponse), ApiErrors))]
pub async fn get_deployment(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Json<DeploymentResponse>> {
    let d = deployment(&state, &caller, id).await?;
    Ok(Json(DeploymentResponse::from(&d)))
}

/// The runs of a job, newest first: one page of `pageSize`.
pub(crate) async fn list_job_runs(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    page: PageQuery,
) -> ApiResult<Json<ResultsList<JobRunResponse>>> {
    let (page, size) = page_of(&page)?;
    let job = find(state, caller, ServiceType::Job, id).await?;
    let mut runs: Vec<JobRun> = state.store.list(caller.organization_id, Filter::parent(job.id)).await?;
    runs.reverse();
    let skip = (page.saturating_sub(1) as usize).saturating_mul(size as usize);
    let results = runs.iter().skip(skip).take(size as usize).map(|r| JobRunResponse::new(r, false)).collect::<Vec<_>>();
    Ok(Json(results.into()))
}

/// One run of a job, with its log lines.
pub(crate) async fn get_job_run(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    run: Uuid,
) -> ApiResult<Json<JobRunResponse>> {
    let job = find(state, caller, ServiceType::Job, id).await?;
    let run: JobRun = state.store.get(caller.organization_id, run).await?;
    if run.service_id != job.id {
        return Err(slipway_store::StoreError::NotFound { what: "job run" }.into());
    }
    Ok(Json(JobRunResponse::new(&run, true)))
}
