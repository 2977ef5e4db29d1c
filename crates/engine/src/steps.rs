//! What one deployment does to one service, by action and kind.

use slipway_model::builtin;
use slipway_model::deployment::{
    Deployment, DeploymentAction, DeploymentStatus, Release, ReleaseVariable, ServiceState,
};
use slipway_model::service::database::DatabaseCredentials;
use slipway_model::{DeploymentState, ServiceSpec, ServiceType, Uuid, naming};

use slipway_model::job::JobTrigger;

use crate::image::{self, Resolved};
use crate::rollout::{self, Ctx, Workload};
use crate::{EngineError, database, variables};
use crate::{job, scheduler};

/// What a step left behind, for the deployment's record and its rollback.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    pub release_id: Option<Uuid>,
    pub previous_release_id: Option<Uuid>,
}

/// The service's state, or a fresh one.
pub(crate) async fn state_of(ctx: &Ctx) -> Result<ServiceState, EngineError> {
    let states = ctx.inner.store.service_states(ctx.service.organization_id, Some(ctx.service.environment_id)).await?;
    Ok(states
        .into_iter()
        .find(|s| s.service_id == ctx.service.id)
        .unwrap_or_else(|| ServiceState::new(ctx.service.id, ctx.service.organization_id, ctx.service.environment_id)))
}

/// Records the service's state.
pub(crate) async fn set_state(
    ctx: &Ctx,
    deployment: &Deployment,
    state: &mut ServiceState,
    to: DeploymentState,
    status: DeploymentStatus,
) -> Result<(), EngineError> {
    state.state = to;
    state.last_deployment_id = Some(deployment.id);
    state.last_action = Some(deployment.action);
    state.last_action_status = Some(status);
    if status.is_final() {
        state.last_deployment_at = Some(slipway_model::now());
    }
    state.updated_at = slipway_model::now();
    ctx.inner.store.put_service_state(state).await?;
    Ok(())
}

/// Runs the deployment's action on the service.
pub(crate) async fn run(ctx: &Ctx, deployment: &Deployment) -> Result<Outcome, EngineError> {
    let mut state = state_of(ctx).await?;
    let previous = state.current_release;
    set_state(ctx, deployment, &mut state, deployment.action.ongoing_state(), DeploymentStatus::Running).await?;
    let result = match deployment.action {
        DeploymentAction::Deploy => deploy(ctx, deployment, &mut state).await,
        DeploymentAction::Stop => stop(ctx, deployment, &mut state).await,
        DeploymentAction::Restart => restart(ctx, &mut state).await,
        DeploymentAction::Delete => delete(ctx, deployment, &mut state).await,
    };
    match result {
        Ok(release_id) => {
            // A plan changes nothing: the service stays as it was.
            let done = if deployment.action == DeploymentAction::Deploy && deployment.plans_only(ctx.service.id) {
                if state.current_release.is_some() { DeploymentState::Deployed } else { DeploymentState::Ready }
            } else {
                deployment.action.done_state()
            };
            set_state(ctx, deployment, &mut state, done, DeploymentStatus::Succeeded).await?;
            Ok(Outcome { release_id, previous_release_id: previous })
        }
        Err(EngineError::Canceled) => {
            // Nothing was switched: the service is as it was.
            let back = if state.current_release.is_some() { DeploymentState::Deployed } else { DeploymentState::Ready };
            set_state(ctx, deployment, &mut state, back, DeploymentStatus::Canceled).await?;
            Err(EngineError::Canceled)
        }
        Err(err) => {
            state.message = Some(err.to_string());
            // A failed deploy leaves the old release serving: the service is
            // still deployed, and the error shows in its status.
            set_state(ctx, deployment, &mut state, deployment.action.error_state(), DeploymentStatus::Failed).await?;
            Err(err)
        }
    }
}

/// The number of instances to run: the autoscaler's count when it is within
/// the service's bounds, else the minimum.
fn replicas_for(state: &ServiceState, workload: &Workload) -> u32 {
    let min = workload.min_instances.max(1);
    if state.replicas >= min && state.replicas <= workload.max() { state.replicas } else { min }
}

async fn deploy(ctx: &Ctx, deployment: &Deployment, state: &mut ServiceState) -> Result<Option<Uuid>, EngineError> {
    match ctx.service.kind() {
        ServiceType::Helm => {
            return Err(EngineError::failed(
                "Helm charts need a Kubernetes cluster: this environment runs on a local container engine",
            ));
        }
        ServiceType::Terraform => return crate::terraform::deploy(ctx, deployment, state).await,
        ServiceType::Database if Workload::of(&ctx.service.spec).is_none() => {
            return crate::managed::deploy(ctx, deployment, state).await;
        }
        _ => {}
    }
    let resolved = image::resolve(ctx, deployment.id, deployment.pin(ctx.service.id)).await?;
    ctx.check_canceled()?;
    let release = match resolved {
        Resolved::Earlier(release) => release,
        Resolved::New(mut release) => {
            attach_variables(ctx, &mut release).await?;
            if let Some(current) = unchanged(ctx, state, &release).await? {
                ctx.info(&format!("nothing changed: release {} keeps running", current));
                return Ok(Some(current));
            }
            ctx.inner.store.insert(&release).await?;
            release
        }
    };
    let spec =
        release.spec(ctx.service.kind()).map_err(|e| EngineError::failed(format!("release {}: {e}", release.id)))?;
    match Workload::of(&spec) {
        Some(workload) => {
            let replicas = replicas_for(state, &workload);
            rollout::roll_out(ctx, &release, &workload, replicas).await?;
            state.replicas = replicas;
        }
        // Jobs run on their events and schedules; deploying one records
        // the release they will run, and runs a lifecycle job's `on_start`.
        None => run_event(ctx, deployment, &release, &spec, JobTrigger::Start).await?,
    }
    state.current_release = Some(release.id);
    state.message = None;
    Ok(Some(release.id))
}

/// Records in `release` the variables its instances run with (sealed), and
/// their digest. A database's are its image's settings; another service's
/// are its effective variables, its own commit id being the release's.
pub(crate) async fn attach_variables(ctx: &Ctx, release: &mut Release) -> Result<(), EngineError> {
    let variables = match &ctx.service.spec {
        ServiceSpec::Database(db) => {
            let mut creds = database::credentials(ctx, db).await?;
            database::public_port(ctx, db, &mut creds).await?;
            let password = ctx
                .inner
                .secrets
                .open(&creds.password)
                .map_err(|e| EngineError::failed(format!("credentials: {e}")))?;
            database::settings(db.kind, &creds, &password)
        }
        _ => {
            let all =
                variables::load(&ctx.inner.store, &ctx.inner.secrets, &ctx.inner.config.base_domain, &ctx.environment)
                    .await?;
            ctx.logger.hide(all.secret_values());
            let mut effective = all.effective(&ctx.service).map_err(|e| EngineError::failed(e.to_string()))?;
            if let Some(commit) = &release.commit {
                let own = format!("{}_GIT_COMMIT_ID", builtin::prefix(ctx.service.kind(), ctx.service.id));
                if let Some(e) = effective.get_mut(&own) {
                    e.value = commit.id.clone();
                }
            }
            effective
                .into_values()
                .map(|e| ReleaseVariable {
                    key: e.key,
                    value: e.value,
                    is_secret: e.is_secret,
                    mount_path: e.mount_path,
                })
                .collect()
        }
    };
    ctx.logger.hide(variables.iter().filter(|v| v.is_secret).map(|v| v.value.clone()).collect());
    release.variables_digest = Some(variables::digest_of(&variables));
    let json = serde_json::to_string(&variables).map_err(|e| EngineError::failed(e.to_string()))?;
    release.variables = Some(ctx.inner.secrets.seal(&json));
    Ok(())
}

/// The current release, when `candidate` would run exactly the same thing
/// and the service is healthy: a no-op redeploy.
async fn unchanged(ctx: &Ctx, state: &ServiceState, candidate: &Release) -> Result<Option<Uuid>, EngineError> {
    let Some(current_id) = state.current_release else { return Ok(None) };
    // A lifecycle job's `on_start` runs on every deploy, changed or not.
    if let ServiceSpec::Job(job) = &ctx.service.spec
        && job.schedule.on_start.is_some()
    {
        return Ok(None);
    }
    if state.state != DeploymentState::Deployed && state.state != DeploymentState::Deploying {
        return Ok(None);
    }
    let Ok(current) = ctx.inner.store.get::<Release>(ctx.service.organization_id, current_id).await else {
        return Ok(None);
    };
    if current.image_id != candidate.image_id
        || current.spec != candidate.spec
        || current.variables_digest != candidate.variables_digest
    {
        return Ok(None);
    }
    let Some(workload) = Workload::of(&ctx.service.spec) else {
        // A cron job is unchanged only while its schedule runs that release (a stop suspended it).
        if ctx.service.kind() == ServiceType::Job && !scheduler::is_armed(ctx, current_id).await? {
            return Ok(None);
        }
        return Ok(Some(current_id));
    };
    // When the engine cannot say, roll out: a needless rollout is harmless.
    let Ok(instances) = rollout::service_instances(ctx.runtime.as_ref(), ctx.service.id).await else {
        return Ok(None);
    };
    let running = instances.into_iter().filter(|i| i.state == slipway_runtime::InstanceState::Running).count();
    Ok((running as u32 >= replicas_for(state, &workload)).then_some(current_id))
}

/// Runs the command a lifecycle job has for `trigger`, if it has one, from `release`. Other services
/// and cron jobs have nothing to run.
async fn run_event(
    ctx: &Ctx,
    deployment: &Deployment,
    release: &Release,
    spec: &ServiceSpec,
    trigger: JobTrigger,
) -> Result<(), EngineError> {
    let ServiceSpec::Job(job) = spec else { return Ok(()) };
    if let Some(cron) = &job.schedule.cronjob {
        match trigger {
            JobTrigger::Start => {
                let next = scheduler::arm(ctx, release, cron).await?;
                ctx.info(&format!(
                    "the cron job's schedule `{}` ({}) is on: next run at {next}",
                    cron.scheduled_at, cron.timezone
                ));
            }
            JobTrigger::Stop => {
                scheduler::disarm(ctx).await?;
                ctx.info("the cron job's schedule is suspended until its next deploy");
            }
            _ => {}
        }
        return Ok(());
    }
    let event = match trigger {
        JobTrigger::Start => &job.schedule.on_start,
        JobTrigger::Stop => &job.schedule.on_stop,
        JobTrigger::Delete => &job.schedule.on_delete,
        JobTrigger::Schedule | JobTrigger::Forced => &None,
    };
    let Some(event) = event else {
        ctx.info(&format!("the job has no {} event: nothing to run", trigger_event(trigger)));
        return Ok(());
    };
    let ctx = ctx.step("job");
    job::close_interrupted(&ctx, deployment.id).await?;
    ctx.info(&format!("running its {} event", trigger_event(trigger)));
    let command = job::Command { arguments: event.arguments.clone(), entrypoint: event.entrypoint.clone() };
    let occasion =
        job::Occasion { trigger, deployment_id: Some(deployment.id), scheduled_for: None, run_id: Uuid::new_v4() };
    let run = job::run(&ctx, job, release, &command, occasion).await?;
    ctx.info(&format!("the {} event succeeded (run {})", trigger_event(trigger), run.id));
    Ok(())
}

fn trigger_event(trigger: JobTrigger) -> &'static str {
    match trigger {
        JobTrigger::Start => "on_start",
        JobTrigger::Stop => "on_stop",
        JobTrigger::Delete => "on_delete",
        JobTrigger::Schedule => "cron",
        JobTrigger::Forced => "forced",
    }
}

/// Runs a lifecycle job's `on_stop` or `on_delete` from the release it was last deployed with.
async fn run_event_of_current(
    ctx: &Ctx,
    deployment: &Deployment,
    state: &ServiceState,
    trigger: JobTrigger,
) -> Result<(), EngineError> {
    if ctx.service.kind() != ServiceType::Job {
        return Ok(());
    }
    let Some(current) = state.current_release else {
        ctx.info(&format!("the job was never deployed: its {} event does not run", trigger_event(trigger)));
        return Ok(());
    };
    let release: Release = ctx.inner.store.get(ctx.service.organization_id, current).await?;
    let spec = release.spec(ctx.service.kind()).map_err(|e| EngineError::failed(e.to_string()))?;
    run_event(ctx, deployment, &release, &spec, trigger).await
}

async fn stop(ctx: &Ctx, deployment: &Deployment, state: &mut ServiceState) -> Result<Option<Uuid>, EngineError> {
    run_event_of_current(ctx, deployment, state, JobTrigger::Stop).await?;
    let workload = Workload::of(&ctx.service.spec);
    let removed = rollout::take_down(&ctx.step("stop"), workload.as_ref()).await?;
    ctx.info(&format!("stopped ({removed} instance(s) removed; volumes kept)"));
    Ok(state.current_release)
}

async fn restart(ctx: &Ctx, state: &mut ServiceState) -> Result<Option<Uuid>, EngineError> {
    let Some(current) = state.current_release else {
        return Err(EngineError::failed("the service was never deployed: deploy it first"));
    };
    let release: Release = ctx.inner.store.get(ctx.service.organization_id, current).await?;
    let spec = release.spec(ctx.service.kind()).map_err(|e| EngineError::failed(e.to_string()))?;
    if let Some(workload) = Workload::of(&spec) {
        let replicas = replicas_for(state, &workload);
        rollout::roll_out(ctx, &release, &workload, replicas).await?;
    }
    Ok(Some(current))
}

async fn delete(ctx: &Ctx, deployment: &Deployment, state: &mut ServiceState) -> Result<Option<Uuid>, EngineError> {
    run_event_of_current(ctx, deployment, state, JobTrigger::Delete).await?;
    if ctx.service.kind() == ServiceType::Terraform {
        crate::terraform::destroy(&ctx.step("destroy"), deployment, state).await?;
    }
    if ctx.service.kind() == ServiceType::Job {
        scheduler::disarm(ctx).await?;
        job::forget_output(ctx).await?;
    }
    let workload = Workload::of(&ctx.service.spec);
    rollout::take_down(&ctx.step("delete"), workload.as_ref()).await?;
    if let Some(w) = &workload {
        for s in &w.storage {
            ctx.runtime.remove_volume(&naming::volume(ctx.service.id, s.id.unwrap_or_default())).await?;
        }
    }
    state.current_release = None;
    if ctx.service.kind() == ServiceType::Database {
        // The data went with the volume: the next deploy starts afresh.
        if let Some(creds) = variables::credentials_of(&ctx.inner.store, &ctx.service).await? {
            if creds.managed.is_some() {
                crate::managed::remove(ctx, &creds).await?;
            }
            ctx.inner.store.delete::<DatabaseCredentials>(ctx.service.organization_id, creds.id).await?;
        }
    }
    ctx.info("removed its instances and volumes");
    if deployment.remove_config {
        // The service goes: so do the images built for it (an uninstall
        // keeps them, for the next deploy).
        let releases: Vec<Release> =
            ctx.inner.store.list(ctx.service.organization_id, slipway_store::Filter::parent(ctx.service.id)).await?;
        let built = releases.iter().filter(|r| r.cache_key.is_some());
        let mut removed = 0;
        for release in built {
            if ctx.runtime.remove_image(&release.image).await.is_ok() {
                removed += 1;
            }
        }
        ctx.info(&format!("removed {removed} image(s) built for it"));
    }
    Ok(None)
}

/// Returns the service to `previous` (or takes it down when it had none),
/// after this deployment switched it.
pub(crate) async fn roll_back(ctx: &Ctx, deployment: &Deployment, previous: Option<Uuid>) -> Result<(), EngineError> {
    let ctx = ctx.step("rollback");
    let mut state = state_of(&ctx).await?;
    match previous {
        Some(id) => {
            let release: Release = ctx.inner.store.get(ctx.service.organization_id, id).await?;
            let spec = release.spec(ctx.service.kind()).map_err(|e| EngineError::failed(e.to_string()))?;
            if let Some(workload) = Workload::of(&spec) {
                let replicas = replicas_for(&state, &workload);
                rollout::roll_out(&ctx, &release, &workload, replicas).await?;
            }
            // A cron job's schedule runs the release it is back on.
            if let ServiceSpec::Job(job) = &spec
                && let Some(cron) = &job.schedule.cronjob
            {
                scheduler::arm(&ctx, &release, cron).await?;
            }
            state.current_release = Some(id);
            state.message = Some(format!("rolled back to release {id} by deployment {}", deployment.id));
            ctx.info(&format!("back on release {id}"));
            set_state(&ctx, deployment, &mut state, DeploymentState::Deployed, DeploymentStatus::Failed).await
        }
        None => {
            rollout::take_down(&ctx, Workload::of(&ctx.service.spec).as_ref()).await?;
            if ctx.service.kind() == ServiceType::Job {
                scheduler::disarm(&ctx).await?;
            }
            state.current_release = None;
            state.message = Some(format!("removed: deployment {} failed on its first deploy", deployment.id));
            ctx.info("removed: it had no earlier release");
            set_state(&ctx, deployment, &mut state, DeploymentState::Ready, DeploymentStatus::Failed).await
        }
    }
}
