//! Running a job to completion: a lifecycle event inside a deployment, or a cron run.
//!
//! A run is recorded in the store before its first instance starts and after its last one ends
//! ([`JobRun`]: trigger, attempts, exit code, the last log lines), so that the history survives the
//! instance, which is removed once it exited. An attempt that fails is started again while the job's
//! `max_nb_restart` allows; one that outlives `max_duration_seconds` is stopped and fails. A successful
//! run that wrote `/qovery-output/qovery-output.json` replaces the job's output: the
//! `QOVERY_OUTPUT_JOB_Z<ID8>_<KEY>` variables services of later stages are deployed with.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use slipway_model::deployment::Release;
use slipway_model::job::{self, JobOutput, JobRun, JobRunStatus, JobTrigger, OutputValue};
use slipway_model::service::job::JobSpec;
use slipway_model::variable::StoredValue;
use slipway_model::{Timestamp, Uuid, naming};
use slipway_runtime::{InstanceSpec, InstanceState, Labels, LogOptions, label};

use crate::EngineError;
use crate::rollout::{self, Ctx};

/// Seconds a job's instance gets between the stop signal and a kill.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a waiting run checks whether its deployment was canceled.
const CANCEL_POLL: Duration = Duration::from_millis(500);

/// What to run: the command of the event, or of the cron schedule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Command {
    pub arguments: Vec<String>,
    pub entrypoint: Option<String>,
}

/// Why a run was made, and when it was due.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occasion {
    pub trigger: JobTrigger,
    pub deployment_id: Option<Uuid>,
    pub scheduled_for: Option<Timestamp>,
    /// The run's id; scheduled runs derive it from their due time, so that one is never made twice.
    pub run_id: Uuid,
}

/// How one attempt ended.
enum Attempt {
    Exited(i64),
    TimedOut,
}

/// Runs `job` from `release` to completion; the run, recorded, or why it failed.
pub(crate) async fn run(
    ctx: &Ctx,
    job: &JobSpec,
    release: &Release,
    command: &Command,
    occasion: Occasion,
) -> Result<JobRun, EngineError> {
    let record = new_run(ctx, release.id, occasion, JobRunStatus::Running);
    ctx.inner.store.insert(&record).await?;
    execute(ctx, job, release, command, record).await
}

/// A run's first record: `status` is `Running` for one about to start, `Skipped` for one that will not.
pub(crate) fn new_run(ctx: &Ctx, release_id: Uuid, occasion: Occasion, status: JobRunStatus) -> JobRun {
    let now = slipway_model::now();
    JobRun {
        id: occasion.run_id,
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        trigger: occasion.trigger,
        release_id,
        deployment_id: occasion.deployment_id,
        scheduled_for: occasion.scheduled_for,
        status,
        attempts: 0,
        exit_code: None,
        message: None,
        started_at: now,
        finished_at: (status != JobRunStatus::Running).then_some(now),
        instance: None,
        logs: Vec::new(),
        owner: Some(ctx.inner.config.worker_id.clone()),
        heartbeat_at: Some(now),
    }
}

/// Runs the attempts of a recorded run, taking over the instance of the attempt it was making if it
/// has one (the server that made it stopped), and records how it ended.
pub(crate) async fn execute(
    ctx: &Ctx,
    job: &JobSpec,
    release: &Release,
    command: &Command,
    mut record: JobRun,
) -> Result<JobRun, EngineError> {
    record.owner = Some(ctx.inner.config.worker_id.clone());
    let result = attempts(ctx, job, release, command, &mut record).await;
    record.finished_at = Some(slipway_model::now());
    record.instance = None;
    match &result {
        Ok(()) => record.status = JobRunStatus::Succeeded,
        Err(error) => {
            record.status = JobRunStatus::Failed;
            record.message = Some(error.to_string());
        }
    }
    ctx.inner.store.update(&record).await?;
    ctx.inner.store.prune::<JobRun>(ctx.service.organization_id, ctx.service.id, job::RUNS_KEPT).await?;
    result.map(|()| record)
}

/// Makes attempts until one succeeds or none are left; keeps `record` up to date.
async fn attempts(
    ctx: &Ctx,
    job: &JobSpec,
    release: &Release,
    command: &Command,
    record: &mut JobRun,
) -> Result<(), EngineError> {
    let (env, files) = rollout::release_environment(ctx, release)?;
    let network = naming::environment_network(ctx.environment.id);
    let network_labels = Labels::from([
        (label::MANAGED.to_owned(), "true".to_owned()),
        (label::ENVIRONMENT.to_owned(), ctx.environment.id.to_string()),
    ]);
    ctx.runtime.ensure_network(&network, &network_labels).await?;
    let max_duration = Duration::from_secs(u64::from(job.max_duration_seconds));
    let total = job.max_nb_restart.saturating_add(1);
    let token = record.id.simple().to_string()[..6].to_owned();
    let mut labels = network_labels.clone();
    labels.extend([
        (label::ORGANIZATION.to_owned(), ctx.service.organization_id.to_string()),
        (label::SERVICE.to_owned(), ctx.service.id.to_string()),
        (label::RELEASE.to_owned(), release.id.to_string()),
        (label::ROLE.to_owned(), "job".to_owned()),
    ]);
    // An attempt recorded by a server that stopped: its instance may still run, or have exited.
    let mut adopted = match record.instance.clone() {
        Some(name) if record.attempts > 0 => match ctx.runtime.inspect(&name).await? {
            Some(instance) if matches!(instance.state, InstanceState::Created | InstanceState::Dead) => {
                // Made but never started (the server stopped in between): the attempt starts afresh.
                ctx.runtime.remove(&instance.id).await?;
                None
            }
            found => found,
        },
        _ => None,
    };
    loop {
        let instance_id = match adopted.take() {
            Some(instance) => {
                ctx.info(&format!("taking over attempt {} of {total} ({})", record.attempts, instance.name));
                instance.id
            }
            None => {
                // A recorded attempt whose instance never started is made again under its number.
                if record.instance.is_none() || record.attempts == 0 {
                    record.attempts += 1;
                }
                let name = naming::instance(ctx.service.id, ctx.service.name(), &token, record.attempts);
                record.instance = Some(name.clone());
                record.heartbeat_at = Some(slipway_model::now());
                // Recorded before it starts: a server that stops now leaves an instance the next one finds.
                ctx.inner.store.update(&*record).await?;
                let spec = InstanceSpec {
                    name,
                    image: if release.image_id.is_empty() { release.image.clone() } else { release.image_id.clone() },
                    network: Some(network.clone()),
                    aliases: Vec::new(),
                    env: env.clone(),
                    entrypoint: command.entrypoint.clone().filter(|e| !e.is_empty()).map(|e| vec![e]),
                    command: (!command.arguments.is_empty()).then(|| command.arguments.clone()),
                    cpu_millis: Some(job.cpu),
                    memory_mib: Some(job.memory),
                    volumes: Vec::new(),
                    published_ports: Vec::new(),
                    files: files.clone(),
                    directories: vec![job::OUTPUT_DIR.to_owned()],
                    labels: labels.clone(),
                    stop_timeout_secs: STOP_TIMEOUT.as_secs() as u32,
                };
                let instance =
                    ctx.runtime.start(&spec).await.map_err(|e| {
                        EngineError::failed(format!("cannot start the job's instance {}: {e}", spec.name))
                    })?;
                ctx.info(&format!("attempt {} of {total} started ({})", record.attempts, instance.name));
                instance.id
            }
        };
        let attempt = record.attempts;
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        let follow = follow_logs(ctx, &instance_id, Arc::clone(&lines));
        let ended = wait(ctx, &instance_id, max_duration, record).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), follow).await;
        record.logs = lines.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
        let outcome = match ended {
            Ok(Attempt::Exited(0)) => {
                let published = publish_output(ctx, &instance_id, record.id).await;
                record.exit_code = Some(0);
                let _ = ctx.runtime.remove(&instance_id).await;
                return published;
            }
            Ok(Attempt::Exited(code)) => {
                record.exit_code = Some(code);
                format!("exited with code {code}")
            }
            Ok(Attempt::TimedOut) => {
                record.exit_code = None;
                format!("ran longer than its maximum duration ({} s) and was stopped", job.max_duration_seconds)
            }
            Err(error) => {
                let _ = ctx.runtime.stop(&instance_id, STOP_TIMEOUT).await;
                let _ = ctx.runtime.remove(&instance_id).await;
                return Err(error);
            }
        };
        let _ = ctx.runtime.remove(&instance_id).await;
        if attempt < total {
            ctx.warn(&format!("attempt {attempt} of {total} {outcome}; starting it again"));
            record.instance = None;
            continue;
        }
        let last: Vec<&String> = record.logs.iter().rev().take(10).collect();
        let mut message = format!("the job {outcome} (attempt {attempt} of {total})");
        if !last.is_empty() {
            message.push_str("; its last lines:");
            for line in last.into_iter().rev() {
                message.push_str("\n  | ");
                message.push_str(line);
            }
        }
        return Err(EngineError::failed(message));
    }
}

/// Waits for the instance to exit, at most `max_duration` from when the attempt started; a canceled
/// deployment stops it. Renews the run's heartbeat meanwhile.
async fn wait(ctx: &Ctx, id: &str, max_duration: Duration, record: &mut JobRun) -> Result<Attempt, EngineError> {
    let started = match ctx.runtime.inspect(id).await? {
        Some(instance) => instance.started_at.unwrap_or_else(slipway_model::now),
        None => slipway_model::now(),
    };
    let ran = (slipway_model::now() - started).to_std().unwrap_or_default();
    let exited = ctx.runtime.wait(id);
    tokio::pin!(exited);
    let deadline = tokio::time::sleep(max_duration.saturating_sub(ran));
    tokio::pin!(deadline);
    let mut beat = tokio::time::interval(ctx.inner.config.heartbeat);
    loop {
        tokio::select! {
            code = &mut exited => return Ok(Attempt::Exited(code?)),
            () = &mut deadline => {
                ctx.runtime.stop(id, STOP_TIMEOUT).await?;
                return Ok(Attempt::TimedOut);
            }
            _ = beat.tick() => {
                record.heartbeat_at = Some(slipway_model::now());
                if let Err(error) = ctx.inner.store.update(&*record).await {
                    tracing::warn!(run = %record.id, %error, "cannot renew a job run's heartbeat");
                }
            }
            () = tokio::time::sleep(CANCEL_POLL) => {
                if ctx.check_canceled().is_err() {
                    ctx.runtime.stop(id, STOP_TIMEOUT).await?;
                    return Err(EngineError::Canceled);
                }
            }
        }
    }
}

/// Streams the instance's output into the deployment's log (secrets masked) and keeps the last lines
/// for the run's history; ends when the instance does.
fn follow_logs(ctx: &Ctx, id: &str, kept: Arc<Mutex<VecDeque<String>>>) -> tokio::task::JoinHandle<()> {
    let (ctx, id) = (ctx.clone(), id.to_owned());
    tokio::spawn(async move {
        let options = LogOptions { follow: true, tail: None, since: None };
        let Ok(mut stream) = ctx.runtime.logs(&id, options).await else { return };
        while let Some(Ok(line)) = stream.next().await {
            let masked = ctx.logger.mask(&line.line);
            ctx.info(&format!("| {masked}"));
            let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() == job::RUN_LOG_LINES {
                kept.pop_front();
            }
            kept.push_back(masked);
        }
    })
}

/// Reads the output file of a successful attempt and makes it the job's output; an invalid file fails
/// the run, saying what is wrong with it.
async fn publish_output(ctx: &Ctx, instance: &str, run_id: Uuid) -> Result<(), EngineError> {
    let read = ctx.runtime.read_file(instance, job::OUTPUT_FILE, job::MAX_OUTPUT_LEN).await;
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            ctx.info("the job wrote no output file; its output variables are unchanged");
            return Ok(());
        }
        Err(error) => return Err(EngineError::failed(format!("cannot read the job's output: {error}"))),
    };
    let entries = job::parse_output(&bytes).map_err(|why| EngineError::failed(format!("invalid job output: {why}")))?;
    let secrets: Vec<String> =
        entries.iter().filter(|(_, _, sensitive)| *sensitive).map(|(_, v, _)| v.clone()).collect();
    ctx.logger.hide(secrets);
    let values = entries
        .into_iter()
        .map(|(key, value, sensitive)| OutputValue {
            key,
            value: if sensitive {
                StoredValue::Sealed(ctx.inner.secrets.seal(&value))
            } else {
                StoredValue::Plain(value)
            },
            sensitive,
        })
        .collect::<Vec<_>>();
    let names: Vec<String> = values.iter().map(|v| job::output_variable(ctx.service.id, &v.key)).collect();
    let output = JobOutput {
        id: ctx.service.id,
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        run_id,
        values,
        updated_at: slipway_model::now(),
    };
    ctx.inner.store.upsert(&output).await?;
    if names.is_empty() {
        ctx.info("the job's output is empty");
    } else {
        ctx.info(&format!("output published: {}", names.join(", ")));
    }
    Ok(())
}

/// Ends the runs of this job that `deployment` made before a server running it stopped: the
/// deployment runs the event again, so their instances are removed and they are recorded as failed.
pub(crate) async fn close_interrupted(ctx: &Ctx, deployment: Uuid) -> Result<(), EngineError> {
    let filter = slipway_store::Filter { parent: Some(ctx.service.id), kind: Some(JobRun::RUNNING) };
    let running: Vec<JobRun> = ctx.inner.store.list(ctx.service.organization_id, filter).await?;
    for mut run in running.into_iter().filter(|r| r.deployment_id == Some(deployment)) {
        if let Some(name) = &run.instance {
            let _ = ctx.runtime.remove(name).await;
        }
        run.status = JobRunStatus::Failed;
        run.finished_at = Some(slipway_model::now());
        run.instance = None;
        run.message = Some("interrupted: the server running it stopped; the deployment ran the event again".into());
        ctx.inner.store.update(&run).await?;
        ctx.warn(&format!("run {} was interrupted by a server stop; running the event again", run.id));
    }
    Ok(())
}

/// Forgets a job's output (the job is deleted).
pub(crate) async fn forget_output(ctx: &Ctx) -> Result<(), EngineError> {
    match ctx.inner.store.delete::<JobOutput>(ctx.service.organization_id, ctx.service.id).await {
        Ok(()) | Err(slipway_store::StoreError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
