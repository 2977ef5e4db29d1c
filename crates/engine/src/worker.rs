//! Workers: claim deployments from the store's queue, run them stage by
//! stage, and roll back what a failed or canceled deployment switched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use slipway_model::deployment::{
    Deployment, DeploymentAction, DeploymentStage, DeploymentStatus, ServiceStep, StepStatus, plan_stages,
};
use slipway_model::{Cluster, Environment, Service};
use slipway_store::{Filter, StoreError};
use tokio::sync::{Mutex, Semaphore, watch};

use crate::logger::{Logger, Scope};
use crate::rollout::Ctx;
use crate::{EngineError, Inner, steps};

/// Claims and runs deployments until shutdown.
pub(crate) async fn run(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(inner.config.max_deployments.max(1)));
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let lease_until = slipway_model::now() + chrono::Duration::from_std(inner.config.lease).unwrap_or_default();
        match inner.store.claim_deployment(&inner.config.worker_id, lease_until).await {
            Ok(Some(deployment)) => {
                let inner = inner.clone();
                tokio::spawn(async move {
                    execute(inner, deployment).await;
                    drop(permit);
                });
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(%err, "cannot claim a deployment"),
        }
        drop(permit);
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(inner.config.poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Flags a running deployment raises for its tasks.
#[derive(Debug, Default)]
struct Flags {
    canceled: Arc<AtomicBool>,
    lease_lost: AtomicBool,
}

impl Flags {
    fn check(&self) -> Result<(), EngineError> {
        if self.lease_lost.load(Ordering::Relaxed) {
            Err(EngineError::LeaseLost)
        } else if self.canceled.load(Ordering::Relaxed) {
            Err(EngineError::Canceled)
        } else {
            Ok(())
        }
    }
}

/// A running deployment shared by its service tasks; every change is written
/// to the store through [`Shared::save`].
struct Shared {
    inner: Arc<Inner>,
    deployment: Mutex<Deployment>,
    flags: Arc<Flags>,
}

impl Shared {
    async fn save(&self) -> Result<(), EngineError> {
        let d = self.deployment.lock().await;
        if self.inner.store.save_deployment(&d, &self.inner.config.worker_id).await? {
            Ok(())
        } else {
            self.flags.lease_lost.store(true, Ordering::Relaxed);
            Err(EngineError::LeaseLost)
        }
    }

    async fn update_step(
        &self,
        service: slipway_model::Uuid,
        f: impl FnOnce(&mut ServiceStep),
    ) -> Result<(), EngineError> {
        {
            let mut d = self.deployment.lock().await;
            if let Some(step) = d.steps.iter_mut().find(|s| s.service_id == service) {
                f(step);
            }
        }
        self.save().await
    }
}

async fn execute(inner: Arc<Inner>, mut deployment: Deployment) {
    let logger = Logger::new(inner.clone(), deployment.id, deployment.environment_id);
    let scope = Scope::default();
    if deployment.started_at.is_some() {
        deployment.resumed += 1;
        logger.warn(&scope, &format!("resumed by {} after the previous worker stopped", inner.config.worker_id));
    } else {
        deployment.started_at = Some(slipway_model::now());
        logger.info(&scope, &format!("{:?} started by {}", deployment.action, inner.config.worker_id));
    }
    let flags = Arc::new(Flags::default());
    let shared = Arc::new(Shared { inner: inner.clone(), deployment: Mutex::new(deployment), flags: flags.clone() });
    let heartbeat = tokio::spawn(heartbeat(shared.clone()));
    let result = match shared.save().await {
        Ok(()) => run_deployment(&shared, &logger).await,
        Err(e) => Err(e),
    };
    heartbeat.abort();
    if matches!(result, Err(EngineError::LeaseLost)) {
        // Another worker owns it now; it will finish it.
        tracing::warn!("lost a deployment's lease; leaving it to its new owner");
        return;
    }
    let mut d = shared.deployment.lock().await.clone();
    d.finished_at = Some(slipway_model::now());
    match &result {
        Ok(()) => {
            d.status = DeploymentStatus::Succeeded;
            logger.info(&scope, &format!("succeeded in {} s", d.duration_seconds()));
        }
        Err(EngineError::Canceled) => {
            d.status = DeploymentStatus::Canceled;
            d.error = Some("canceled".into());
            logger.warn(&scope, "canceled; what it had switched is back on its previous release");
        }
        Err(err) => {
            d.status = DeploymentStatus::Failed;
            d.error = Some(err.to_string());
            logger.error(&scope, &format!("failed: {err}"));
        }
    }
    logger.flush().await;
    if let Err(err) = inner.store.save_deployment(&d, &inner.config.worker_id).await {
        tracing::error!(%err, "cannot record the end of a deployment");
    }
    if d.status == DeploymentStatus::Succeeded
        && d.action == DeploymentAction::Delete
        && d.remove_config
        && let Err(err) = remove_config(&inner, &d).await
    {
        tracing::error!(%err, "cannot remove the configuration of deleted services");
    }
}

/// Renews the lease and watches for cancel requests while the deployment runs.
async fn heartbeat(shared: Arc<Shared>) {
    let inner = &shared.inner;
    let id = shared.deployment.lock().await.id;
    loop {
        tokio::time::sleep(inner.config.heartbeat.min(std::time::Duration::from_secs(2))).await;
        let until = slipway_model::now() + chrono::Duration::from_std(inner.config.lease).unwrap_or_default();
        match inner.store.renew_lease(id, &inner.config.worker_id, until).await {
            Ok(true) => {}
            Ok(false) => shared.flags.lease_lost.store(true, Ordering::Relaxed),
            Err(err) => tracing::warn!(%err, "cannot renew a deployment's lease"),
        }
        if inner.store.cancel_requested(id).await.unwrap_or(false) {
            shared.flags.canceled.store(true, Ordering::Relaxed);
        }
    }
}

/// The environment's stages, creating the default ones the first time.
pub(crate) async fn stages_of(inner: &Inner, env: &Environment) -> Result<Vec<DeploymentStage>, EngineError> {
    let stages: Vec<DeploymentStage> = inner.store.list(env.organization_id, Filter::parent(env.id)).await?;
    if !stages.is_empty() {
        return Ok(stages);
    }
    let defaults = DeploymentStage::defaults(env.organization_id, env.id);
    for stage in &defaults {
        match inner.store.insert(stage).await {
            Ok(()) | Err(StoreError::NameTaken { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(inner.store.list(env.organization_id, Filter::parent(env.id)).await?)
}

async fn run_deployment(shared: &Arc<Shared>, logger: &Logger) -> Result<(), EngineError> {
    let inner = &shared.inner;
    let d = shared.deployment.lock().await.clone();
    let env: Environment = inner.store.get(d.organization_id, d.environment_id).await?;
    let cluster: Cluster = inner.store.get(d.organization_id, env.cluster_id).await?;
    let runtime = inner.runtimes.runtime(&cluster).await?;
    let services: Vec<Service> = inner.store.list(d.organization_id, Filter::parent(env.id)).await?;
    let stages = stages_of(inner, &env).await?;
    let kinds: Vec<_> = services.iter().map(|s| (s.id, s.kind())).collect();
    let plan = plan_stages(&stages, &kinds, |id| d.targets_service(id));
    if d.steps.is_empty() {
        let mut steps = Vec::new();
        for stage in &plan {
            for (id, kind) in &stage.services {
                let name = services.iter().find(|s| s.id == *id).map(|s| s.name().to_owned()).unwrap_or_default();
                steps.push(ServiceStep {
                    service_id: *id,
                    service_name: name,
                    service_type: *kind,
                    stage: stage.name.clone(),
                    status: StepStatus::Pending,
                    release_id: None,
                    previous_release_id: None,
                    started_at: None,
                    finished_at: None,
                    error: None,
                });
            }
        }
        shared.deployment.lock().await.steps = steps;
        shared.save().await?;
    }
    logger.info(
        &Scope::default(),
        &format!("{} service(s) in {} stage(s) on cluster `{}`", kinds_count(&plan), plan.len(), cluster.spec.name),
    );
    let limit = Arc::new(Semaphore::new(inner.config.max_parallel_services.max(1)));
    for stage in &plan {
        if let Err(err) = shared.flags.check() {
            return abort(shared, logger, &env, runtime.clone(), &services, err).await;
        }
        logger.info(&Scope { stage: Some(stage.name.clone()), ..Scope::default() }, "stage started");
        let mut tasks = Vec::new();
        for (id, _) in &stage.services {
            let Some(service) = services.iter().find(|s| s.id == *id) else { continue };
            let ctx = Ctx {
                inner: inner.clone(),
                runtime: runtime.clone(),
                environment: env.clone(),
                service: service.clone(),
                logger: logger.clone(),
                scope: Scope { service: Some(service.id), stage: Some(stage.name.clone()), step: None },
                canceled: shared.flags.canceled.clone(),
            };
            let shared = shared.clone();
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                let _slot = limit.acquire_owned().await;
                run_service(&shared, &ctx).await
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results
                .push(task.await.unwrap_or_else(|e| Err(EngineError::failed(format!("a service task failed: {e}")))));
        }
        if let Some(err) = results.into_iter().find_map(Result::err) {
            return abort(shared, logger, &env, runtime.clone(), &services, err).await;
        }
    }
    Ok(())
}

fn kinds_count(plan: &[slipway_model::deployment::PlannedStage]) -> usize {
    plan.iter().map(|s| s.services.len()).sum()
}

/// Runs one service's step, unless a previous run of this deployment already did.
async fn run_service(shared: &Arc<Shared>, ctx: &Ctx) -> Result<(), EngineError> {
    let done = shared
        .deployment
        .lock()
        .await
        .steps
        .iter()
        .any(|s| s.service_id == ctx.service.id && matches!(s.status, StepStatus::Done | StepStatus::Skipped));
    if done {
        return Ok(());
    }
    shared.flags.check()?;
    shared
        .update_step(ctx.service.id, |s| {
            s.status = StepStatus::Running;
            s.started_at = Some(slipway_model::now());
        })
        .await?;
    let deployment = shared.deployment.lock().await.clone();
    ctx.info(&format!("{:?} {} `{}`", deployment.action, ctx.service.kind().path(), ctx.service.name()));
    let result = steps::run(ctx, &deployment).await;
    match result {
        Ok(outcome) => {
            shared
                .update_step(ctx.service.id, |s| {
                    s.status = StepStatus::Done;
                    s.finished_at = Some(slipway_model::now());
                    s.release_id = outcome.release_id;
                    if s.previous_release_id.is_none() {
                        s.previous_release_id = outcome.previous_release_id;
                    }
                })
                .await?;
            ctx.info("done");
            Ok(())
        }
        Err(err) => {
            let canceled = matches!(err, EngineError::Canceled);
            let message = if canceled { "canceled while in progress".to_owned() } else { err.to_string() };
            ctx.logger.error(&ctx.scope, &message);
            shared
                .update_step(ctx.service.id, |s| {
                    s.status = StepStatus::Failed;
                    s.finished_at = Some(slipway_model::now());
                    s.error = Some(message.clone());
                })
                .await?;
            if canceled {
                return Err(EngineError::Canceled);
            }
            Err(EngineError::failed(format!("{} `{}`: {message}", ctx.service.kind().path(), ctx.service.name())))
        }
    }
}

/// A deploy failed or was canceled: every service this deployment switched
/// returns to the release it ran before.
async fn abort(
    shared: &Arc<Shared>,
    logger: &Logger,
    env: &Environment,
    runtime: Arc<dyn slipway_runtime::Runtime>,
    services: &[Service],
    cause: EngineError,
) -> Result<(), EngineError> {
    if matches!(cause, EngineError::LeaseLost) {
        return Err(cause);
    }
    let d = shared.deployment.lock().await.clone();
    if d.action != DeploymentAction::Deploy {
        return Err(cause);
    }
    let switched: Vec<ServiceStep> = d
        .steps
        .iter()
        .rev()
        .filter(|s| s.status == StepStatus::Done && s.release_id != s.previous_release_id)
        .cloned()
        .collect();
    if !switched.is_empty() {
        logger.warn(&Scope::default(), &format!("rolling back {} service(s) this deployment switched", switched.len()));
    }
    for step in switched {
        let Some(service) = services.iter().find(|s| s.id == step.service_id) else { continue };
        // A rollback is never canceled: it is what a cancel asks for.
        let ctx = Ctx {
            inner: shared.inner.clone(),
            runtime: runtime.clone(),
            environment: env.clone(),
            service: service.clone(),
            logger: logger.clone(),
            scope: Scope { service: Some(service.id), stage: Some(step.stage.clone()), step: None },
            canceled: Arc::default(),
        };
        match steps::roll_back(&ctx, &d, step.previous_release_id).await {
            Ok(()) => shared.update_step(service.id, |s| s.status = StepStatus::RolledBack).await?,
            Err(err) => ctx.logger.error(&ctx.scope, &format!("rollback failed: {err}")),
        }
    }
    Err(cause)
}

/// After a delete that removes configuration: the services' rows, and the
/// environment's when the whole environment was deleted.
async fn remove_config(inner: &Inner, d: &Deployment) -> Result<(), EngineError> {
    if d.targets.is_empty() {
        let env: Environment = inner.store.get(d.organization_id, d.environment_id).await?;
        let cluster: Cluster = inner.store.get(d.organization_id, env.cluster_id).await?;
        if let Ok(runtime) = inner.runtimes.runtime(&cluster).await {
            let _ = runtime.remove_network(&slipway_model::naming::environment_network(env.id)).await;
        }
        inner.store.delete::<Environment>(d.organization_id, d.environment_id).await?;
    } else {
        for target in &d.targets {
            match inner.store.delete::<Service>(d.organization_id, target.service_id).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
