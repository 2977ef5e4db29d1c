//! The cron scheduler: runs each deployed cron job when its schedule comes due.
//!
//! **Where a schedule stands is in the store.** Deploying a cron job arms its schedule: a
//! [`CronState`] with the next run time, computed in the job's time zone; stopping it disarms it (the
//! schedule is suspended), and the next deploy arms it again from then on.
//!
//! **An occurrence runs once.** The run of an occurrence has an id derived from the job and the
//! occurrence's time ([`scheduled_run_id`]), and recording it is the claim: a scheduler that finds
//! the run already recorded (another server, or this one before a restart) does not start it again.
//! The run is recorded before the next run time is advanced and before its instance starts, and the
//! instance's name before it starts, so a server that stops at any point leaves either nothing done
//! or a run the next scheduler finds and finishes: one whose heartbeat went silent is taken over, its
//! instance waited for if it still runs, read if it exited, and started if it never did.
//!
//! **Runs missed while no scheduler ran** (the server was down across one or more occurrences) are
//! not replayed one by one: the schedule runs once as soon as a scheduler sees it due, and that run
//! says how many occurrences it stands for. The schedule then goes on from the current time.
//!
//! **Overlapping runs** are forbidden by default: an occurrence that comes due while the previous run
//! still runs is recorded as skipped, with the run it waited on. `concurrency_policy: ALLOW` runs
//! both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_model::deployment::Release;
use slipway_model::job::{
    CronState, JobRun, JobRunStatus, JobTrigger, next_run, occurrences_between, scheduled_run_id,
};
use slipway_model::service::job::{ConcurrencyPolicy, CronSchedule, JobSpec};
use slipway_model::{Cluster, Environment, Service, ServiceSpec, Timestamp, Uuid};
use slipway_store::{Filter, StoreError};
use tokio::sync::watch;

use crate::job::{self, Command, Occasion};
use crate::logger::{Logger, Scope};
use crate::rollout::Ctx;
use crate::{EngineError, Inner};

/// Missed occurrences counted at the most, for the message of a catch-up run.
const MISSED_CAP: usize = 10_000;

/// Runs the scheduler until `shutdown`.
pub(crate) async fn run(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let mut last_takeover: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if last_takeover.is_none_or(|at| at.elapsed() >= inner.config.heartbeat) {
            if let Err(error) = take_over_interrupted(&inner).await {
                tracing::warn!(%error, "cannot look for interrupted job runs");
            }
            last_takeover = Some(Instant::now());
        }
        if let Err(error) = tick(&inner).await {
            tracing::warn!(%error, "the cron scheduler could not look at its schedules");
        }
        tokio::select! {
            () = tokio::time::sleep(inner.config.scheduler_tick) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Starts the runs that are due.
async fn tick(inner: &Arc<Inner>) -> Result<(), EngineError> {
    let now = slipway_model::now();
    for org in inner.store.list_organizations().await? {
        let armed: Vec<CronState> =
            inner.store.list(org.id, Filter { parent: None, kind: Some(CronState::ARMED) }).await?;
        for state in armed.into_iter().filter(|s| s.next_run_at.is_some_and(|at| at <= now)) {
            let job = state.service_id;
            if let Err(error) = fire(inner, state).await {
                tracing::warn!(%job, %error, "a cron job's run could not start");
            }
        }
    }
    Ok(())
}

/// A cron job, the release it runs and its schedule in that release.
struct Scheduled {
    service: Service,
    release: Release,
    spec: JobSpec,
    cron: CronSchedule,
}

async fn scheduled(
    inner: &Inner,
    organization_id: Uuid,
    job_id: Uuid,
    release_id: Uuid,
) -> Result<Scheduled, EngineError> {
    let service: Service = inner.store.get(organization_id, job_id).await?;
    let release: Release = inner.store.get(organization_id, release_id).await?;
    let spec = release.spec(service.kind()).map_err(|e| EngineError::failed(format!("release {}: {e}", release.id)))?;
    let ServiceSpec::Job(spec) = spec else {
        return Err(EngineError::failed(format!("service {job_id} is not a job")));
    };
    let Some(cron) = spec.schedule.cronjob.clone() else {
        return Err(EngineError::failed(format!("job {job_id} has no cron schedule")));
    };
    Ok(Scheduled { service, release, spec, cron })
}

/// Claims and starts the run of the occurrence `state` is due for, and moves the schedule on.
async fn fire(inner: &Arc<Inner>, state: CronState) -> Result<(), EngineError> {
    let Some(due) = state.next_run_at else { return Ok(()) };
    let job = match scheduled(inner, state.organization_id, state.service_id, state.release_id).await {
        Ok(job) => job,
        // The job went away: its schedule goes with it.
        Err(EngineError::Store(StoreError::NotFound { .. })) => return Ok(()),
        Err(error) => return Err(error),
    };
    let now = slipway_model::now();
    let next = next_run(&job.cron.scheduled_at, &job.cron.timezone, now).map_err(EngineError::failed)?;
    let missed = occurrences_between(&job.cron.scheduled_at, &job.cron.timezone, due, now, MISSED_CAP);
    let ctx = ctx_for(inner, &job.service).await?;
    let occasion = Occasion {
        trigger: JobTrigger::Schedule,
        deployment_id: None,
        scheduled_for: Some(due),
        run_id: scheduled_run_id(job.service.id, due),
    };
    let running = if job.cron.concurrency_policy == ConcurrencyPolicy::Forbid {
        running_run(inner, &job.service).await?
    } else {
        None
    };
    let status = if running.is_some() { JobRunStatus::Skipped } else { JobRunStatus::Running };
    let mut record = job::new_run(&ctx, job.release.id, occasion, status);
    record.message = match (&running, missed) {
        (Some(other), _) => Some(format!("skipped: the previous run ({}) was still running", other.id)),
        (None, 0) => None,
        (None, n) => Some(format!("also stands for {n} later occurrence(s) missed while no scheduler ran")),
    };
    let claimed = match inner.store.insert(&record).await {
        Ok(()) => true,
        Err(StoreError::NameTaken { .. }) => false,
        Err(error) => return Err(error.into()),
    };
    advance(inner, &state, due, next).await?;
    if !claimed {
        tracing::debug!(job = %job.service.id, %due, "this occurrence was already run");
        return Ok(());
    }
    if running.is_some() {
        tracing::info!(job = %job.service.id, %due, "occurrence skipped: the previous run still runs");
        return Ok(());
    }
    spawn_run(ctx, job, record);
    Ok(())
}

/// Moves the schedule from `due` to `next`, unless it changed meanwhile (stopped, or redeployed).
async fn advance(inner: &Inner, state: &CronState, due: Timestamp, next: Timestamp) -> Result<(), EngineError> {
    let mut current: CronState = match inner.store.get(state.organization_id, state.id).await {
        Ok(current) => current,
        Err(StoreError::NotFound { .. }) => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    if current.next_run_at != Some(due) {
        return Ok(());
    }
    current.next_run_at = Some(next);
    current.updated_at = slipway_model::now();
    inner.store.update(&current).await?;
    Ok(())
}

fn spawn_run(ctx: Ctx, job: Scheduled, record: JobRun) {
    let command = Command { arguments: job.cron.arguments.clone(), entrypoint: job.cron.entrypoint.clone() };
    tokio::spawn(async move {
        let id = record.id;
        match job::execute(&ctx, &job.spec, &job.release, &command, record).await {
            Ok(_) => tracing::info!(job = %job.service.id, run = %id, "cron run succeeded"),
            Err(error) => tracing::warn!(job = %job.service.id, run = %id, %error, "cron run failed"),
        }
    });
}

/// The run of `service` still running, if any.
async fn running_run(inner: &Inner, service: &Service) -> Result<Option<JobRun>, EngineError> {
    let runs: Vec<JobRun> = inner
        .store
        .list(service.organization_id, Filter { parent: Some(service.id), kind: Some(JobRun::RUNNING) })
        .await?;
    Ok(runs.into_iter().next())
}

/// What a run of `service` needs, outside any deployment: its lines go to the server's log, and to
/// the run's history.
async fn ctx_for(inner: &Arc<Inner>, service: &Service) -> Result<Ctx, EngineError> {
    let environment: Environment = inner.store.get(service.organization_id, service.environment_id).await?;
    let cluster: Cluster = inner.store.get(service.organization_id, environment.cluster_id).await?;
    let runtime = inner.runtimes.runtime(&cluster).await?;
    Ok(Ctx {
        inner: Arc::clone(inner),
        runtime,
        logger: Logger::detached(environment.id),
        environment,
        service: service.clone(),
        scope: Scope { service: Some(service.id), stage: None, step: Some("cron") },
        canceled: Arc::default(),
    })
}

/// Finishes the cron and forced runs whose server stopped: their heartbeat is older than a lease.
async fn take_over_interrupted(inner: &Arc<Inner>) -> Result<(), EngineError> {
    let stale_before = slipway_model::now() - chrono::Duration::from_std(inner.config.lease).unwrap_or_default();
    for org in inner.store.list_organizations().await? {
        let running: Vec<JobRun> =
            inner.store.list(org.id, Filter { parent: None, kind: Some(JobRun::RUNNING) }).await?;
        let interrupted = running.into_iter().filter(|r| {
            matches!(r.trigger, JobTrigger::Schedule | JobTrigger::Forced)
                && r.heartbeat_at.is_none_or(|at| at < stale_before)
        });
        for mut run in interrupted {
            let job = match scheduled(inner, run.organization_id, run.service_id, run.release_id).await {
                Ok(job) => job,
                Err(error) => {
                    run.status = JobRunStatus::Failed;
                    run.finished_at = Some(slipway_model::now());
                    run.message = Some(format!("interrupted, and cannot be taken over: {error}"));
                    inner.store.update(&run).await?;
                    continue;
                }
            };
            tracing::info!(job = %run.service_id, run = %run.id, owner = ?run.owner, "taking over an interrupted run");
            run.owner = Some(inner.config.worker_id.clone());
            run.heartbeat_at = Some(slipway_model::now());
            inner.store.update(&run).await?;
            let ctx = ctx_for(inner, &job.service).await?;
            spawn_run(ctx, job, run);
        }
    }
    Ok(())
}

/// Arms the schedule of a cron job deployed at `release`: its next run, from now.
pub(crate) async fn arm(ctx: &Ctx, release: &Release, cron: &CronSchedule) -> Result<Timestamp, EngineError> {
    let next = next_run(&cron.scheduled_at, &cron.timezone, slipway_model::now()).map_err(EngineError::failed)?;
    let state = CronState {
        id: ctx.service.id,
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        release_id: release.id,
        next_run_at: Some(next),
        updated_at: slipway_model::now(),
    };
    ctx.inner.store.upsert(&state).await?;
    Ok(next)
}

/// Whether the job's schedule is on, running `release`. Lifecycle jobs have none: always true.
pub(crate) async fn is_armed(ctx: &Ctx, release: Uuid) -> Result<bool, EngineError> {
    let ServiceSpec::Job(job) = &ctx.service.spec else { return Ok(true) };
    if job.schedule.cronjob.is_none() {
        return Ok(true);
    }
    match ctx.inner.store.get::<CronState>(ctx.service.organization_id, ctx.service.id).await {
        Ok(state) => Ok(state.next_run_at.is_some() && state.release_id == release),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Suspends the schedule of a cron job (it stopped); a run in progress finishes.
pub(crate) async fn disarm(ctx: &Ctx) -> Result<(), EngineError> {
    match ctx.inner.store.get::<CronState>(ctx.service.organization_id, ctx.service.id).await {
        Ok(mut state) => {
            state.next_run_at = None;
            state.updated_at = slipway_model::now();
            ctx.inner.store.update(&state).await?;
            Ok(())
        }
        Err(StoreError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Runs a deployed cron job now, at the release its schedule runs (`forceEvent=CRON`).
pub(crate) async fn force_run(inner: &Arc<Inner>, service: &Service) -> Result<JobRun, EngineError> {
    let state: CronState = match inner.store.get(service.organization_id, service.id).await {
        Ok(state) => state,
        Err(StoreError::NotFound { .. }) => {
            return Err(EngineError::Refused(format!(
                "cron job `{}` was never deployed: deploy it, then run it",
                service.name()
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let job = scheduled(inner, state.organization_id, state.service_id, state.release_id).await?;
    if job.cron.concurrency_policy == ConcurrencyPolicy::Forbid
        && let Some(other) = running_run(inner, service).await?
    {
        return Err(EngineError::Busy(format!(
            "cron job `{}` is running now (run {}) and forbids overlapping runs; try again once it ended",
            service.name(),
            other.id
        )));
    }
    let ctx = ctx_for(inner, &job.service).await?;
    let occasion =
        Occasion { trigger: JobTrigger::Forced, deployment_id: None, scheduled_for: None, run_id: Uuid::new_v4() };
    let record = job::new_run(&ctx, job.release.id, occasion, JobRunStatus::Running);
    inner.store.insert(&record).await?;
    spawn_run(ctx, job, record.clone());
    Ok(record)
}

/// How long the scheduler waits between looks at its schedules, by default.
pub(crate) const DEFAULT_TICK: Duration = Duration::from_secs(1);
