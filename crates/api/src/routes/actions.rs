//! Actions on environments and services: deploy, redeploy, stop, restart,
//! uninstall, delete, roll back and cancel. Each one checks its input,
//! queues one durable [`Deployment`] through the engine, and answers with
//! the status it leads to (computed by [`crate::status`]).

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    CancelEnvironmentDeploymentRequest, ContainerDeployRequest, DatabaseDeployQuery, DeployAllRequest, DeployRequest,
    EnvironmentServiceIdsAllRequest, EnvironmentStatus, HelmDeployQuery, HelmDeployRequest, JobDeployQuery,
    JobDeployRequest, NoQuery, RebootServicesRequest, RollbackRequest, Status, TerraformAction, TerraformDeployRequest,
};
use slipway_model::deployment::{Deployment, DeploymentAction, DeploymentTarget, Release, VersionPin};
use slipway_model::{Environment, Role, Service, ServiceSpec, ServiceType, Uuid, ValidationError};
use slipway_store::StoreError;

use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::extract::param;
use crate::routes::services::find;
use crate::state::AppState;
use crate::status::EnvView;

/// The version a request asks for, before it is checked against the service.
#[derive(Debug, Default)]
pub(crate) struct AskedVersion<'a> {
    git_commit_id: Option<&'a str>,
    image_tag: Option<&'a str>,
    /// Terraform: plan only.
    plan_only: bool,
    /// Fields given that Slipway cannot honour yet.
    unsupported: Vec<&'static str>,
}

impl<'a> AskedVersion<'a> {
    fn new(git_commit_id: Option<&'a String>, image_tag: Option<&'a String>) -> Self {
        // An empty value asks for nothing in particular.
        let given = |v: Option<&'a String>| v.map(String::as_str).filter(|v| !v.is_empty());
        AskedVersion {
            git_commit_id: given(git_commit_id),
            image_tag: given(image_tag),
            plan_only: false,
            unsupported: Vec::new(),
        }
    }

    fn unsupported(mut self, field: &'static str, given: bool) -> Self {
        if given {
            self.unsupported.push(field);
        }
        self
    }

    fn is_empty(&self) -> bool {
        self.git_commit_id.is_none() && self.image_tag.is_none() && self.unsupported.is_empty()
    }
}

/// A deploy body: the version it asks for.
pub(crate) trait DeployBody {
    fn asked(&self) -> AskedVersion<'_>;
}

impl DeployBody for DeployRequest {
    fn asked(&self) -> AskedVersion<'_> {
        AskedVersion::new(self.git_commit_id.as_ref(), None)
    }
}

impl DeployBody for ContainerDeployRequest {
    fn asked(&self) -> AskedVersion<'_> {
        AskedVersion::new(None, self.image_tag.as_ref())
    }
}

impl DeployBody for JobDeployRequest {
    fn asked(&self) -> AskedVersion<'_> {
        AskedVersion::new(self.git_commit_id.as_ref(), self.image_tag.as_ref())
    }
}

impl DeployBody for HelmDeployRequest {
    fn asked(&self) -> AskedVersion<'_> {
        AskedVersion::default()
            .unsupported("chart_version", self.chart_version.as_ref().is_some_and(|v| !v.is_empty()))
            .unsupported("git_commit_id", self.git_commit_id.as_ref().is_some_and(|v| !v.is_empty()))
            .unsupported(
                "values_override_git_commit_id",
                self.values_override_git_commit_id.as_ref().is_some_and(|v| !v.is_empty()),
            )
    }
}

impl DeployBody for TerraformDeployRequest {
    fn asked(&self) -> AskedVersion<'_> {
        let mut asked = AskedVersion::default()
            .unsupported("git_commit_id", self.git_commit_id.as_ref().is_some_and(|v| !v.is_empty()))
            .unsupported("action", self.action.is_some_and(|a| a != TerraformAction::Plan));
        asked.plan_only = self.action == Some(TerraformAction::Plan);
        asked
    }
}

/// A deploy query: which action the deploy really is.
pub(crate) trait DeployEvent {
    fn action(&self) -> ApiResult<DeploymentAction>;

    /// Whether the query asks to run a cron job now rather than to deploy (`forceEvent=CRON`).
    fn runs_cron_now(&self) -> bool {
        false
    }
}

impl DeployEvent for NoQuery {
    fn action(&self) -> ApiResult<DeploymentAction> {
        Ok(DeploymentAction::Deploy)
    }
}

impl DeployEvent for DatabaseDeployQuery {
    fn action(&self) -> ApiResult<DeploymentAction> {
        param::<bool>("applyImmediately", self.apply_immediately.as_deref(), "true or false")?;
        Ok(DeploymentAction::Deploy)
    }
}

impl DeployEvent for JobDeployQuery {
    fn action(&self) -> ApiResult<DeploymentAction> {
        match self.force_event.as_deref() {
            None | Some("") | Some("START") => Ok(DeploymentAction::Deploy),
            Some("STOP") => Ok(DeploymentAction::Stop),
            Some("DELETE") => Ok(DeploymentAction::Delete),
            // Not a deployment: see `runs_cron_now`.
            Some("CRON") => Ok(DeploymentAction::Deploy),
            Some(other) => {
                Err(ValidationError::new("forceEvent", format!("must be START, STOP, DELETE or CRON, got `{other}`"))
                    .into())
            }
        }
    }

    fn runs_cron_now(&self) -> bool {
        self.force_event.as_deref() == Some("CRON")
    }
}

impl DeployEvent for HelmDeployQuery {
    fn action(&self) -> ApiResult<DeploymentAction> {
        match self.force_event.as_deref() {
            None | Some("") => Ok(DeploymentAction::Deploy),
            Some(other) => Err(ValidationError::new(
                "forceEvent",
                format!("`{other}` is not supported: Slipway has no Helm dry run (DIFF) yet; leave it out"),
            )
            .into()),
        }
    }
}

/// The pin for deploying `service` at the asked version; `prefix` is the
/// path of the entry in the body (`applications[0]`), empty at the top.
pub(crate) fn pin_for(service: &Service, prefix: &str, asked: &AskedVersion<'_>) -> ApiResult<Option<VersionPin>> {
    let field = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    let refuse = |name: &str, why: String| -> ApiResult<Option<VersionPin>> {
        Err(ValidationError::new(field(name), why).into())
    };
    let kind = service.kind().path();
    if let Some(name) = asked.unsupported.first() {
        return refuse(name, format!("Slipway cannot deploy {kind} services at a chosen version yet; leave it out"));
    }
    let checked = |pin: VersionPin, name: &str| -> ApiResult<Option<VersionPin>> {
        pin.validate(&field(name))?;
        Ok(Some(pin))
    };
    let built_from_git = match &service.spec {
        ServiceSpec::Application(_) => true,
        ServiceSpec::Container(_) => false,
        ServiceSpec::Job(job) => job.source.image.is_none(),
        _ => {
            return match (asked.git_commit_id, asked.image_tag) {
                (None, None) => Ok(None),
                (Some(_), _) => refuse("git_commit_id", format!("{kind} services cannot be pinned to a commit")),
                (None, Some(_)) => refuse("image_tag", format!("{kind} services cannot be pinned to an image tag")),
            };
        }
    };
    match (asked.git_commit_id, asked.image_tag) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => refuse("image_tag", "give git_commit_id or image_tag, not both".into()),
        (Some(sha), None) if built_from_git => checked(VersionPin::GitCommit(sha.to_owned()), "git_commit_id"),
        (None, Some(tag)) if !built_from_git => checked(VersionPin::ImageTag(tag.to_owned()), "image_tag"),
        (Some(_), None) => {
            refuse("git_commit_id", format!("this {kind} runs an image, not a git build: give image_tag instead"))
        }
        (None, Some(_)) => refuse("image_tag", format!("this {kind} is built from git: give git_commit_id instead")),
    }
}

/// The pin of a redeploy: services built from git keep the commit they
/// run (the configuration may change, the version does not); the others
/// deploy their configuration.
fn redeploy_pin(view: &EnvView, service: &Service) -> Option<VersionPin> {
    let from_git = match &service.spec {
        ServiceSpec::Application(_) => true,
        ServiceSpec::Job(job) => job.source.image.is_none(),
        _ => false,
    };
    let commit = view.current_release(service.id)?.commit.as_ref()?;
    from_git.then(|| VersionPin::GitCommit(commit.id.clone()))
}

/// Queues a deployment through the engine.
async fn submit(
    state: &AppState,
    actor: &Actor,
    env: &Environment,
    action: DeploymentAction,
    targets: Vec<DeploymentTarget>,
    remove_config: bool,
) -> ApiResult<Deployment> {
    let engine = state.engine()?;
    let mut d = Deployment::new(
        env.organization_id,
        env.project_id,
        env.id,
        action,
        targets,
        actor.origin,
        actor.token_name.clone(),
    );
    d.remove_config = remove_config;
    engine.submit(&d).await?;
    Ok(d)
}

fn target(service_id: Uuid, version: Option<VersionPin>) -> DeploymentTarget {
    DeploymentTarget { service_id, version, plan_only: false }
}

fn nothing_to_act_on(message: &str) -> ApiError {
    ApiError::BadRequest(message.to_owned())
}

// ---------------------------------------------------------------- environments

/// Ids from a body, checked against the environment: each must be one of
/// its services of `kind`, and appear once.
fn check_ids(
    view: &EnvView,
    field: &str,
    kind: ServiceType,
    ids: &[Uuid],
    seen: &mut Vec<Uuid>,
) -> ApiResult<Vec<Uuid>> {
    for (i, id) in ids.iter().enumerate() {
        let name = format!("{field}[{i}]");
        match view.service(*id) {
            Some(s) if s.kind() == kind => {}
            Some(s) => {
                return Err(ValidationError::new(
                    name,
                    format!("{id} is a {} service, not a {}", s.kind().path(), kind.path()),
                )
                .into());
            }
            None => {
                return Err(ValidationError::new(name, format!("no {} {id} in this environment", kind.path())).into());
            }
        }
        if seen.contains(id) {
            return Err(ValidationError::new(name, format!("{id} is listed twice")).into());
        }
        seen.push(*id);
    }
    Ok(ids.to_vec())
}

/// The view again after queuing `queued`, which the response names.
async fn reloaded(state: &AppState, view: EnvView, queued: &Deployment) -> ApiResult<EnvView> {
    let mut view = EnvView::of(state, view.env).await?;
    view.requested = Some(queued.id);
    Ok(view)
}

pub(crate) async fn deploy_environment(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, "deploy environments")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    if view.services.is_empty() {
        return Err(nothing_to_act_on("the environment has no services to deploy: create one first"));
    }
    let queued = submit(state, actor, &view.env, DeploymentAction::Deploy, Vec::new(), false).await?;
    Ok((StatusCode::ACCEPTED, Json(reloaded(state, view, &queued).await?.environment_as_status())))
}

pub(crate) async fn redeploy_environment(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actor.require(Role::Developer, "redeploy environments")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    if view.services.is_empty() {
        return Err(nothing_to_act_on("the environment has no services to redeploy: create one first"));
    }
    let targets = view.services.iter().map(|s| target(s.id, redeploy_pin(&view, s))).collect();
    let queued = submit(state, actor, &view.env, DeploymentAction::Deploy, targets, false).await?;
    Ok((StatusCode::ACCEPTED, Json(reloaded(state, view, &queued).await?.environment_status())))
}

/// Stop, restart or uninstall every service of an environment.
pub(crate) async fn environment_action(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: DeploymentAction,
) -> ApiResult<EnvView> {
    let verb = match action {
        DeploymentAction::Stop => "stop",
        DeploymentAction::Restart => "restart",
        _ => "uninstall",
    };
    actor.require(Role::Developer, &format!("{verb} environments"))?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    if !view.anything_deployed_or_pending() {
        return Err(nothing_to_act_on(&format!(
            "nothing of this environment was deployed, so there is nothing to {verb}: deploy it first"
        )));
    }
    let queued = submit(state, actor, &view.env, action, Vec::new(), false).await?;
    reloaded(state, view, &queued).await
}

/// Restart some services (all deployed ones when the body names none).
pub(crate) async fn reboot_services(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: Option<RebootServicesRequest>,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, "restart services")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    let body = body.unwrap_or_default();
    let mut seen = Vec::new();
    check_ids(&view, "application_ids", ServiceType::Application, &body.application_ids, &mut seen)?;
    check_ids(&view, "database_ids", ServiceType::Database, &body.database_ids, &mut seen)?;
    check_ids(&view, "container_ids", ServiceType::Container, &body.container_ids, &mut seen)?;
    if seen.is_empty() {
        seen = view
            .services
            .iter()
            .filter(|s| matches!(s.kind(), ServiceType::Application | ServiceType::Container | ServiceType::Database))
            .map(|s| s.id)
            .collect();
    }
    if !seen.iter().any(|id| view.is_deployed_or_pending(*id)) {
        return Err(nothing_to_act_on("none of these services was deployed, so there is nothing to restart"));
    }
    let targets = seen.into_iter().map(|id| target(id, None)).collect();
    let queued = submit(state, actor, &view.env, DeploymentAction::Restart, targets, false).await?;
    Ok((StatusCode::ACCEPTED, Json(reloaded(state, view, &queued).await?.environment_as_status())))
}

pub(crate) async fn deploy_all_services(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: DeployAllRequest,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actor.require(Role::Developer, "deploy services")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    let mut seen = Vec::new();
    let mut targets = Vec::new();
    // `entry` is the item's path in the body, `id_field` the path of its id.
    let mut add = |entry: String, id_field: String, kind: ServiceType, id: Option<Uuid>, asked: AskedVersion<'_>| {
        let id = id.ok_or_else(|| ValidationError::new(id_field.clone(), "is required"))?;
        let checked = check_ids(&view, &id_field, kind, &[id], &mut seen);
        // check_ids names `<field>[0]`; name the id's own field instead.
        checked.map_err(|e| match e {
            ApiError::Validation(v) => ApiError::from(ValidationError::new(id_field.clone(), v.rule)),
            other => other,
        })?;
        let service = view.service(id).ok_or(ApiError::NotFound { what: "service" })?;
        targets.push(target(id, pin_for(service, &entry, &asked)?));
        ApiResult::Ok(())
    };
    for (i, a) in body.applications.iter().enumerate() {
        let (entry, asked) = (format!("applications[{i}]"), AskedVersion::new(a.git_commit_id.as_ref(), None));
        add(entry.clone(), format!("{entry}.application_id"), ServiceType::Application, Some(a.application_id), asked)?;
    }
    for (i, d) in body.databases.iter().enumerate() {
        let entry = format!("databases[{i}]");
        add(entry.clone(), entry, ServiceType::Database, Some(*d), AskedVersion::default())?;
    }
    for (i, c) in body.containers.iter().enumerate() {
        let (entry, asked) = (format!("containers[{i}]"), AskedVersion::new(None, c.image_tag.as_ref()));
        add(entry.clone(), format!("{entry}.id"), ServiceType::Container, Some(c.id), asked)?;
    }
    for (i, j) in body.jobs.iter().enumerate() {
        let (entry, asked) = (format!("jobs[{i}]"), AskedVersion::new(j.git_commit_id.as_ref(), j.image_tag.as_ref()));
        add(entry.clone(), format!("{entry}.id"), ServiceType::Job, j.id, asked)?;
    }
    for (i, h) in body.helms.iter().enumerate() {
        let request = HelmDeployRequest {
            chart_version: h.chart_version.clone(),
            git_commit_id: h.git_commit_id.clone(),
            values_override_git_commit_id: h.values_override_git_commit_id.clone(),
        };
        let entry = format!("helms[{i}]");
        add(entry.clone(), format!("{entry}.id"), ServiceType::Helm, h.id, request.asked())?;
    }
    for (i, t) in body.terraforms.iter().enumerate() {
        let entry = format!("terraforms[{i}]");
        add(entry.clone(), format!("{entry}.id"), ServiceType::Terraform, t.id, t.asked())?;
    }
    if targets.is_empty() {
        return Err(nothing_to_act_on(
            "name at least one service to deploy (applications, containers, databases, jobs, helms or terraforms)",
        ));
    }
    let queued = submit(state, actor, &view.env, DeploymentAction::Deploy, targets, false).await?;
    Ok((StatusCode::ACCEPTED, Json(reloaded(state, view, &queued).await?.environment_status())))
}

pub(crate) async fn stop_selected_services(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: EnvironmentServiceIdsAllRequest,
) -> ApiResult<Json<EnvironmentStatus>> {
    actor.require(Role::Developer, "stop services")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    let mut seen = Vec::new();
    check_ids(&view, "application_ids", ServiceType::Application, &body.application_ids, &mut seen)?;
    check_ids(&view, "container_ids", ServiceType::Container, &body.container_ids, &mut seen)?;
    check_ids(&view, "database_ids", ServiceType::Database, &body.database_ids, &mut seen)?;
    check_ids(&view, "job_ids", ServiceType::Job, &body.job_ids, &mut seen)?;
    check_ids(&view, "helm_ids", ServiceType::Helm, &body.helm_ids, &mut seen)?;
    check_ids(&view, "terraform_ids", ServiceType::Terraform, &body.terraform_ids, &mut seen)?;
    if seen.is_empty() {
        return Err(nothing_to_act_on("name at least one service to stop"));
    }
    if !seen.iter().any(|id| view.is_deployed_or_pending(*id)) {
        return Err(nothing_to_act_on("none of these services was deployed, so there is nothing to stop"));
    }
    let targets = seen.into_iter().map(|id| target(id, None)).collect();
    let queued = submit(state, actor, &view.env, DeploymentAction::Stop, targets, false).await?;
    Ok(Json(reloaded(state, view, &queued).await?.environment_status()))
}

/// Cancels the environment's queued deployments and asks its running one
/// to stop. Works without an engine: it only writes to the store.
pub(crate) async fn cancel_environment_deployment(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    _body: Option<CancelEnvironmentDeploymentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentStatus>)> {
    actor.require(Role::Developer, "cancel deployments")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    if view.pending.is_empty() {
        return Err(nothing_to_act_on("no deployment of this environment is queued or running"));
    }
    for d in &view.pending {
        match state.store.cancel_deployment(actor.organization_id, d.id).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((StatusCode::ACCEPTED, Json(EnvView::of(state, view.env).await?.environment_status())))
}

/// Deletes an environment: at once when nothing of it was ever deployed,
/// else through a delete deployment that removes what runs, then the
/// configuration (its status shows `DELETE_QUEUED`, then `DELETING`).
pub(crate) async fn delete_environment(state: &AppState, actor: &Actor, id: Uuid) -> ApiResult<StatusCode> {
    actor.require(Role::Developer, "delete environments")?;
    let view = EnvView::load(state, actor.organization_id, id).await?;
    if !view.anything_deployed_or_pending() {
        state.store.delete::<Environment>(actor.organization_id, id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let queued =
        view.pending.iter().any(|d| d.action == DeploymentAction::Delete && d.remove_config && d.targets.is_empty());
    if !queued {
        submit(state, actor, &view.env, DeploymentAction::Delete, Vec::new(), true).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

// -------------------------------------------------------------------- services

/// The service and the view of its environment.
async fn service_and_view(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
) -> ApiResult<(Service, EnvView)> {
    let service = find(state, actor, kind, id).await?;
    let view = EnvView::load(state, actor.organization_id, service.environment_id).await?;
    Ok((service, view))
}

async fn queue_for_service(
    state: &AppState,
    actor: &Actor,
    service: &Service,
    view: EnvView,
    action: DeploymentAction,
    target: DeploymentTarget,
) -> ApiResult<(StatusCode, Json<Status>)> {
    let queued = submit(state, actor, &view.env, action, vec![target], false).await?;
    let view = reloaded(state, view, &queued).await?;
    Ok((StatusCode::ACCEPTED, Json(view.service_status(service))))
}

/// Deploy (or, for job events, stop or delete) a service at the asked version.
pub(crate) async fn deploy_service(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
    action: DeploymentAction,
    asked: AskedVersion<'_>,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, &format!("deploy {} services", kind.path()))?;
    let (service, view) = service_and_view(state, actor, kind, id).await?;
    let pin = if action == DeploymentAction::Deploy {
        pin_for(&service, "", &asked)?
    } else if asked.is_empty() {
        None
    } else {
        return Err(ApiError::BadRequest(
            "a version only goes with a START event (a deploy); leave the body out".into(),
        ));
    };
    let target = DeploymentTarget { plan_only: asked.plan_only, ..target(service.id, pin) };
    queue_for_service(state, actor, &service, view, action, target).await
}

/// Runs a deployed cron job now, at the release its schedule runs (`forceEvent=CRON`); a run in
/// progress of a job that forbids overlaps is a conflict.
pub(crate) async fn run_cron_now(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    asked: AskedVersion<'_>,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, "run jobs")?;
    let (service, view) = service_and_view(state, actor, ServiceType::Job, id).await?;
    let ServiceSpec::Job(job) = &service.spec else {
        return Err(ApiError::Internal(format!("service {id} is listed as a job but is not one")));
    };
    if job.schedule.cronjob.is_none() {
        return Err(ValidationError::new(
            "forceEvent",
            format!("`{}` is a lifecycle job: CRON runs cron jobs; use START, STOP or DELETE", job.name),
        )
        .into());
    }
    if !asked.is_empty() {
        return Err(ApiError::BadRequest(
            "CRON runs the release the job's schedule runs; deploy a version first (START), then run it".into(),
        ));
    }
    state.engine()?.force_run(&service).await?;
    Ok((StatusCode::ACCEPTED, Json(view.service_status(&service))))
}

/// Redeploy a service at the version it runs (see [`redeploy_pin`]).
pub(crate) async fn redeploy_service(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
    action: DeploymentAction,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, &format!("redeploy {} services", kind.path()))?;
    let (service, view) = service_and_view(state, actor, kind, id).await?;
    let pin = if action == DeploymentAction::Deploy { redeploy_pin(&view, &service) } else { None };
    queue_for_service(state, actor, &service, view, action, target(service.id, pin)).await
}

/// Stop, restart or uninstall a service that was deployed.
pub(crate) async fn service_action(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
    action: DeploymentAction,
) -> ApiResult<(StatusCode, Json<Status>)> {
    let verb = match action {
        DeploymentAction::Stop => "stop",
        DeploymentAction::Restart => "restart",
        DeploymentAction::Delete => "uninstall",
        DeploymentAction::Deploy => "deploy",
    };
    actor.require(Role::Developer, &format!("{verb} {} services", kind.path()))?;
    let (service, view) = service_and_view(state, actor, kind, id).await?;
    if !view.is_deployed_or_pending(service.id) {
        return Err(nothing_to_act_on(&format!(
            "this {} was never deployed, so there is nothing to {verb}: deploy it first",
            kind.path()
        )));
    }
    queue_for_service(state, actor, &service, view, action, target(service.id, None)).await
}

/// Deletes a service: at once when it was never deployed, else through a
/// delete deployment that removes what runs, then the configuration.
pub(crate) async fn delete_service(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
) -> ApiResult<StatusCode> {
    actor.require(Role::Developer, &format!("delete {} services", kind.path()))?;
    let (service, view) = service_and_view(state, actor, kind, id).await?;
    if !view.is_deployed_or_pending(service.id) {
        state.store.delete::<Service>(service.organization_id, service.id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let queued = view.pending.iter().any(|d| {
        d.action == DeploymentAction::Delete && d.remove_config && d.targets.iter().any(|t| t.service_id == service.id)
    });
    if !queued {
        submit(state, actor, &view.env, DeploymentAction::Delete, vec![target(service.id, None)], true).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deploys exactly an earlier release of the service: its image and its
/// configuration, without a rebuild.
pub(crate) async fn rollback_service(
    state: &AppState,
    actor: &Actor,
    kind: ServiceType,
    id: Uuid,
    body: RollbackRequest,
) -> ApiResult<(StatusCode, Json<Status>)> {
    actor.require(Role::Developer, &format!("roll back {} services", kind.path()))?;
    let (service, view) = service_and_view(state, actor, kind, id).await?;
    let not_ours = || -> ApiError {
        ValidationError::new(
            "release_id",
            format!(
                "{} is not a release of this {}; list them at /{}/{}/release",
                body.release_id,
                kind.path(),
                kind.path(),
                id
            ),
        )
        .into()
    };
    match state.store.get::<Release>(actor.organization_id, body.release_id).await {
        Ok(r) if r.service_id == service.id => {}
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(not_ours()),
        Err(e) => return Err(e.into()),
    }
    let pin = Some(VersionPin::Release(body.release_id));
    queue_for_service(state, actor, &service, view, DeploymentAction::Deploy, target(service.id, pin)).await
}
