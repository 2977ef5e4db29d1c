//! The monitor: keeps deployed services healthy between deployments.
//!
//! Every few seconds, for each deployed service of an environment with no
//! deployment running: removes instances no release accounts for (left by a
//! crash mid-deploy), restarts exited instances with exponential backoff and
//! reports crash loops with their last log lines, runs liveness probes and
//! restarts instances that fail them, starts missing replicas, scales between
//! the service's min and max instances on CPU, and points the edge's routes
//! at the running instances of the current release (so a restarted server
//! serves again without a deploy).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_model::deployment::{Release, ServiceState};
use slipway_model::{Cluster, DeploymentState, Environment, Service, Uuid};
use slipway_runtime::{Instance, InstanceState, Labels, Runtime, label};
use tokio::sync::watch;

use crate::logger::{Logger, Scope};
use crate::rollout::{self, Ctx, Workload};
use crate::{EngineError, Inner, probe};

/// What the monitor remembers between ticks (in memory: after a restart it
/// starts afresh, which only resets backoffs and load history).
#[derive(Debug, Default)]
pub(crate) struct MonitorState {
    inner: std::sync::Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    /// Restarts per instance: count and when the last one happened.
    restarts: HashMap<String, (u32, Instant)>,
    /// Consecutive liveness failures per instance, and when it was last probed.
    liveness: HashMap<String, (u32, Instant)>,
    /// Ticks in a row each service was under the scale-in threshold.
    idle_ticks: HashMap<Uuid, u32>,
    /// Instances a rollout is draining and stopping: not strays.
    retiring: HashSet<String>,
}

impl MonitorState {
    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks instances as being retired by a rollout (or no longer).
    pub(crate) fn retiring(&self, ids: impl IntoIterator<Item = String>, on: bool) {
        let mut memory = self.memory();
        for id in ids {
            if on {
                memory.retiring.insert(id);
            } else {
                memory.retiring.remove(&id);
            }
        }
    }

    fn is_retiring(&self, id: &str) -> bool {
        self.memory().retiring.contains(id)
    }
}

/// CPU use (share of the limit) above which a service scales out.
const SCALE_OUT_AT: f64 = 0.6;
/// CPU use below which it scales in (after a few quiet ticks).
const SCALE_IN_AT: f64 = 0.2;
const QUIET_TICKS_BEFORE_SCALE_IN: u32 = 3;
/// How long an instance must run without a restart before its crash report clears.
const STABLE_AFTER: Duration = Duration::from_secs(60);

pub(crate) async fn run(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    if let Err(err) = restore_routes(&inner).await {
        tracing::warn!(%err, "cannot restore the edge's routes");
    }
    loop {
        if let Err(err) = tick(&inner).await {
            tracing::warn!(%err, "monitor tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(inner.config.monitor_interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// At start, before anything else: routes every deployed service's public
/// hosts to the running instances of its current release, so that a
/// restarted server serves at once, even where a deployment is to resume.
pub(crate) async fn restore_routes(inner: &Arc<Inner>) -> Result<(), EngineError> {
    let mut runtimes: HashMap<Uuid, Arc<dyn Runtime>> = HashMap::new();
    for state in inner.store.all_service_states().await? {
        let Some(current) = state.current_release else { continue };
        let org = state.organization_id;
        let (Ok(service), Ok(release), Ok(environment)) = (
            inner.store.get::<Service>(org, state.service_id).await,
            inner.store.get::<Release>(org, current).await,
            inner.store.get::<Environment>(org, state.environment_id).await,
        ) else {
            continue;
        };
        let Some(workload) = release.spec(service.kind()).ok().as_ref().and_then(Workload::of) else { continue };
        let runtime = match runtimes.get(&environment.cluster_id) {
            Some(r) => r.clone(),
            None => {
                let cluster: Cluster = inner.store.get(org, environment.cluster_id).await?;
                let Ok(r) = inner.runtimes.runtime(&cluster).await else { continue };
                runtimes.insert(cluster.id, r.clone());
                r
            }
        };
        let label = current.to_string();
        let running: Vec<Instance> = rollout::service_instances(runtime.as_ref(), service.id)
            .await?
            .into_iter()
            .filter(|i| i.state == InstanceState::Running && i.labels.get(label::RELEASE) == Some(&label))
            .collect();
        let extras = rollout::route_extras(&inner.store, &service).await;
        for route in rollout::public_routes(&service, &workload, &inner.config.base_domain, &extras) {
            inner.traffic.route(&route.entry, rollout::addresses(&running, route.port));
        }
    }
    Ok(())
}

async fn tick(inner: &Arc<Inner>) -> Result<(), EngineError> {
    let busy: HashSet<Uuid> = inner
        .store
        .pending_deployments(None)
        .await?
        .iter()
        .filter(|d| d.status == slipway_model::deployment::DeploymentStatus::Running)
        .map(|d| d.environment_id)
        .collect();
    let states = inner.store.all_service_states().await?;
    let known: HashSet<Uuid> = states.iter().map(|s| s.service_id).collect();
    let mut runtimes: HashMap<Uuid, Arc<dyn Runtime>> = HashMap::new();
    let mut environments: HashMap<Uuid, Environment> = HashMap::new();
    for state in states {
        if busy.contains(&state.environment_id) {
            continue;
        }
        if let Err(err) = watch_service(inner, state, &mut runtimes, &mut environments).await {
            tracing::debug!(%err, "monitor skipped a service");
        }
    }
    for runtime in runtimes.values() {
        remove_orphans(inner, runtime.as_ref(), &known, &busy).await?;
    }
    Ok(())
}

/// Removes service instances whose service Slipway no longer knows (left
/// behind by a crash between removing a service's instances and its row),
/// among the organizations of this store.
async fn remove_orphans(
    inner: &Inner,
    runtime: &dyn Runtime,
    known: &HashSet<Uuid>,
    busy: &HashSet<Uuid>,
) -> Result<(), EngineError> {
    let id_label = |i: &Instance, key: &str| i.labels.get(key).and_then(|v| v.parse::<Uuid>().ok());
    // Another Slipway server (with its own store) may share this engine:
    // only instances of organizations this store holds are ours to judge.
    let mut ours: HashMap<Uuid, bool> = HashMap::new();
    for instance in managed_instances(runtime).await? {
        if instance.labels.get(label::ROLE).map(String::as_str) != Some("service") {
            continue;
        }
        let (Some(service), Some(org), Some(env)) = (
            id_label(&instance, label::SERVICE),
            id_label(&instance, label::ORGANIZATION),
            id_label(&instance, label::ENVIRONMENT),
        ) else {
            continue;
        };
        if known.contains(&service) || busy.contains(&env) {
            continue;
        }
        let mine = match ours.get(&org) {
            Some(mine) => *mine,
            None => {
                let mine = inner.store.get_organization(org).await.is_ok();
                ours.insert(org, mine);
                mine
            }
        };
        if !mine {
            continue;
        }
        if let Err(slipway_store::StoreError::NotFound { .. }) = inner.store.get::<Service>(org, service).await {
            tracing::info!(instance = %instance.name, "removing an instance of a service that no longer exists");
            rollout::remove_all(runtime, std::slice::from_ref(&instance)).await;
        }
    }
    Ok(())
}

async fn watch_service(
    inner: &Arc<Inner>,
    mut state: ServiceState,
    runtimes: &mut HashMap<Uuid, Arc<dyn Runtime>>,
    environments: &mut HashMap<Uuid, Environment>,
) -> Result<(), EngineError> {
    let org = state.organization_id;
    let Some(current) = state.current_release else { return Ok(()) };
    if !matches!(state.state, DeploymentState::Deployed | DeploymentState::Restarted | DeploymentState::Unavailable) {
        return Ok(());
    }
    let environment = match environments.get(&state.environment_id) {
        Some(e) => e.clone(),
        None => {
            let e: Environment = inner.store.get(org, state.environment_id).await?;
            environments.insert(e.id, e.clone());
            e
        }
    };
    let runtime = match runtimes.get(&environment.cluster_id) {
        Some(r) => r.clone(),
        None => {
            let cluster: Cluster = inner.store.get(org, environment.cluster_id).await?;
            let r = inner.runtimes.runtime(&cluster).await?;
            runtimes.insert(cluster.id, r.clone());
            r
        }
    };
    let service: Service = inner.store.get(org, state.service_id).await?;
    let release: Release = inner.store.get(org, current).await?;
    let Ok(spec) = release.spec(service.kind()) else { return Ok(()) };
    let Some(workload) = Workload::of(&spec) else { return Ok(()) };
    let ctx = Ctx {
        inner: inner.clone(),
        runtime: runtime.clone(),
        environment: environment.clone(),
        service: service.clone(),
        logger: Logger::detached(environment.id),
        scope: Scope { service: Some(service.id), stage: None, step: Some("monitor") },
        canceled: Arc::default(),
    };
    // Crash reports quote the service's output: mask its secrets there.
    rollout::open_variables(&ctx, &release)?;
    let all = rollout::service_instances(runtime.as_ref(), service.id).await?;
    // A deployment may have started since this tick began: it claims its
    // deployment before it creates instances, so checking after the listing
    // never mistakes a rollout's new instances for strays.
    let running = inner.store.pending_deployments(Some(environment.id)).await?;
    if running.iter().any(|d| d.status == slipway_model::deployment::DeploymentStatus::Running) {
        return Ok(());
    }
    let current_label = current.to_string();
    let (mine, stray): (Vec<Instance>, Vec<Instance>) = all
        .into_iter()
        .filter(|i| !inner.monitor.is_retiring(&i.id))
        .partition(|i| i.labels.get(label::RELEASE) == Some(&current_label));
    if !stray.is_empty() {
        tracing::info!(service = %service.id, count = stray.len(), "removing instances of no current release");
        rollout::remove_all(runtime.as_ref(), &stray).await;
    }
    let mut recorded = (state.state, state.message.clone(), state.replicas);
    let (running, restarting) = heal(&ctx, &workload, &mine, &mut state).await;
    // Report what heal found before the slower work below.
    save_if_changed(inner, &mut state, &mut recorded).await?;
    let running = keep_replicas(&ctx, &release, &workload, running, restarting, &mut state).await;
    let extras = rollout::route_extras(&inner.store, &service).await;
    for route in rollout::public_routes(&service, &workload, &inner.config.base_domain, &extras) {
        inner.traffic.route(&route.entry, rollout::addresses(&running, route.port));
    }
    save_if_changed(inner, &mut state, &mut recorded).await
}

async fn save_if_changed(
    inner: &Inner,
    state: &mut ServiceState,
    recorded: &mut (DeploymentState, Option<String>, u32),
) -> Result<(), EngineError> {
    let now = (state.state, state.message.clone(), state.replicas);
    if now != *recorded {
        state.updated_at = slipway_model::now();
        inner.store.put_service_state(state).await?;
        *recorded = now;
    }
    Ok(())
}

/// Restarts exited instances (with backoff) and instances failing liveness;
/// returns the instances running now, and how many are being restarted.
async fn heal(
    ctx: &Ctx,
    workload: &Workload,
    instances: &[Instance],
    state: &mut ServiceState,
) -> (Vec<Instance>, usize) {
    let runtime = ctx.runtime.as_ref();
    let mut running = Vec::new();
    let mut crashing = Vec::new();
    for instance in instances {
        if instance.state == InstanceState::Running {
            if liveness_failed(ctx, workload, instance).await {
                tracing::warn!(instance = %instance.name, "liveness probe failed; restarting");
                restart_with_backoff(ctx, instance).await;
                crashing.push((instance.clone(), "failed its liveness probe".to_owned()));
            } else {
                running.push(instance.clone());
            }
            continue;
        }
        let code = match instance.state {
            InstanceState::Exited { code } => format!("exited with code {code}"),
            other => format!("is {other:?}"),
        };
        let restarts = restart_with_backoff(ctx, instance).await;
        crashing.push((instance.clone(), format!("{code} (restarted {restarts} times)")));
    }
    if let Some((instance, why)) = crashing.first() {
        let lines = rollout::last_lines(runtime, &instance.id, 10).await;
        let mut message = format!("crash loop: {} {why}", instance.name);
        if !lines.is_empty() {
            message.push_str("; last lines:\n");
            message.push_str(&lines.join("\n"));
        }
        state.message = Some(ctx.logger.mask(&message));
        if running.is_empty() {
            state.state = DeploymentState::Unavailable;
        }
    } else {
        // Healthy now; the crash report stays until the service has been
        // stable for a while, so that a loop that recovers between ticks
        // still shows.
        let recent = {
            let memory = ctx.inner.monitor.memory();
            instances.iter().any(|i| memory.restarts.get(&i.id).is_some_and(|(_, at)| at.elapsed() < STABLE_AFTER))
        };
        if !recent {
            if state.state == DeploymentState::Unavailable {
                state.state = DeploymentState::Deployed;
            }
            if state.message.as_deref().is_some_and(|m| m.starts_with("crash loop")) {
                state.message = None;
            }
        }
    }
    let restarting = crashing.len();
    (running, restarting)
}

/// Restarts an instance unless its backoff has not elapsed; returns its restart count.
async fn restart_with_backoff(ctx: &Ctx, instance: &Instance) -> u32 {
    let now = Instant::now();
    let (count, last) =
        ctx.inner.monitor.memory().restarts.get(&instance.id).copied().unwrap_or((0, now - Duration::from_secs(3600)));
    let backoff = Duration::from_secs(1u64 << count.min(6)).min(Duration::from_secs(60));
    if now.duration_since(last) < backoff {
        return count;
    }
    if let Err(err) = ctx.runtime.restart(&instance.id, Duration::from_secs(5)).await {
        tracing::warn!(instance = %instance.name, %err, "cannot restart an instance");
    }
    ctx.inner.monitor.memory().restarts.insert(instance.id.clone(), (count + 1, now));
    count + 1
}

/// Runs the liveness probe when its period has elapsed; true when it has
/// now failed `failure_threshold` times in a row.
async fn liveness_failed(ctx: &Ctx, workload: &Workload, instance: &Instance) -> bool {
    let Some(probe) = &workload.healthchecks.liveness_probe else { return false };
    let now = Instant::now();
    let period = Duration::from_secs(u64::from(probe.period_seconds.max(1)));
    let started = instance.started_at.map(|t| (slipway_model::now() - t).num_seconds()).unwrap_or(i64::MAX);
    if started < i64::from(probe.initial_delay_seconds) {
        return false;
    }
    let (failures, last) = ctx.inner.monitor.memory().liveness.get(&instance.id).copied().unwrap_or((0, now - period));
    if now.duration_since(last) < period {
        return false;
    }
    let failures = match probe::check(ctx.runtime.as_ref(), instance, probe).await {
        Ok(()) => 0,
        Err(why) => {
            tracing::info!(instance = %instance.name, %why, "liveness probe failed");
            failures + 1
        }
    };
    let failed = failures >= probe.failure_threshold.max(1);
    ctx.inner.monitor.memory().liveness.insert(instance.id.clone(), (if failed { 0 } else { failures }, now));
    failed
}

/// Starts missing replicas, and scales between min and max on CPU use.
async fn keep_replicas(
    ctx: &Ctx,
    release: &Release,
    workload: &Workload,
    mut running: Vec<Instance>,
    restarting: usize,
    state: &mut ServiceState,
) -> Vec<Instance> {
    let min = workload.min_instances.max(1);
    let max = workload.max();
    let mut want = state.replicas.clamp(min, max);
    if max > min && !running.is_empty() {
        let load = cpu_load(ctx.runtime.as_ref(), &running, workload.cpu).await;
        let mut memory = ctx.inner.monitor.memory();
        let quiet = memory.idle_ticks.entry(ctx.service.id).or_insert(0);
        if load > SCALE_OUT_AT && want < max {
            want += 1;
            *quiet = 0;
            tracing::info!(service = %ctx.service.id, load, want, "scaling out");
        } else if load < SCALE_IN_AT && want > min {
            *quiet += 1;
            if *quiet >= QUIET_TICKS_BEFORE_SCALE_IN {
                want -= 1;
                *quiet = 0;
                tracing::info!(service = %ctx.service.id, load, want, "scaling in");
            }
        } else {
            *quiet = 0;
        }
    }
    // Instances being restarted count: they come back on their own.
    let have = (running.len() + restarting) as u32;
    if have < want {
        let next =
            running.iter().filter_map(|i| i.labels.get(label::REPLICA)?.parse::<u32>().ok()).max().map_or(0, |m| m + 1);
        match rollout::start_revision(ctx, release, workload, want - have, next).await {
            Ok(started) => running.extend(started),
            Err(err) => tracing::warn!(service = %ctx.service.id, %err, "cannot start missing instances"),
        }
    } else if running.len() as u32 > want {
        // Scale in: the newest instances leave the routes first, are drained, then stop.
        running.sort_by_key(|i| i.labels.get(label::REPLICA).and_then(|r| r.parse::<u32>().ok()).unwrap_or(0));
        let extra = running.split_off(want as usize);
        rollout::switch_traffic(ctx, workload, &running).await;
        rollout::retire(ctx, workload, &extra).await;
    }
    state.replicas = want;
    running
}

/// Average CPU use of the instances as a share of the service's CPU limit.
async fn cpu_load(runtime: &dyn Runtime, instances: &[Instance], cpu_millis: u32) -> f64 {
    let mut total = 0.0;
    let mut n = 0.0;
    for i in instances {
        if let Ok(usage) = runtime.usage(&i.id).await {
            total += usage.cpu_millis;
            n += 1.0;
        }
    }
    if n == 0.0 || cpu_millis == 0 { 0.0 } else { total / n / f64::from(cpu_millis) }
}

/// Every managed instance on a runtime, by service id.
pub(crate) async fn managed_instances(runtime: &dyn Runtime) -> Result<Vec<Instance>, EngineError> {
    let filter = Labels::from([(label::MANAGED.to_owned(), "true".to_owned())]);
    Ok(runtime.list(&filter).await?)
}
