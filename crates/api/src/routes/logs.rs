//! Logs and links: deployment logs (Qovery's v2 and legacy shapes, and
//! Slipway's live stream), what services print (a list, and a live stream),
//! and the URLs services answer at.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use slipway_api_types::{
    DeploymentResponse, EnvironmentLog, EnvironmentLogScope, EnvironmentLogs, EnvironmentLogsDetails,
    EnvironmentLogsError, EnvironmentLogsMessage, EnvironmentLogsStage, EnvironmentLogsTransmitter, Link, Log,
    LogStreamLine, LogsQuery, ResultsList, TailQuery,
};
use slipway_engine::LogOptions;
use slipway_model::deployment::{Deployment, DeploymentLog, DeploymentStatus, LogLevel, Release};
use slipway_model::{Environment, Service, ServiceType, Uuid, ValidationError};
use slipway_store::Filter;
use tokio::sync::{broadcast, mpsc};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ids, QueryParams, param};
use crate::openapi::ApiErrors;
use crate::routes::services::find;
use crate::state::AppState;

type State = axum::extract::State<AppState>;

/// How many lines the log lists return, at most.
const LAST_LINES: usize = 1000;

/// Names of the services a deployment's lines may name: from its steps,
/// then from the current services.
fn service_names(d: Option<&Deployment>, services: &[Service]) -> HashMap<Uuid, (String, ServiceType)> {
    let mut names: HashMap<Uuid, (String, ServiceType)> =
        services.iter().map(|s| (s.id, (s.name().to_owned(), s.kind()))).collect();
    for step in d.iter().flat_map(|d| d.steps.iter()) {
        names.entry(step.service_id).or_insert_with(|| (step.service_name.clone(), step.service_type));
    }
    names
}

fn kind_label(kind: ServiceType) -> &'static str {
    match kind {
        ServiceType::Application => "Application",
        ServiceType::Container => "Container",
        ServiceType::Database => "Database",
        ServiceType::Job => "Job",
        ServiceType::Helm => "Helm",
        ServiceType::Terraform => "Terraform",
    }
}

fn environment_logs_line(
    env: &Environment,
    names: &HashMap<Uuid, (String, ServiceType)>,
    line: &DeploymentLog,
) -> EnvironmentLogs {
    let transmitter = match line.service_id {
        Some(id) => {
            let (name, kind) = names.get(&id).map_or(("", "Service"), |(n, k)| (n.as_str(), kind_label(*k)));
            EnvironmentLogsTransmitter { id, name: name.to_owned(), kind: kind.to_owned() }
        }
        None => EnvironmentLogsTransmitter { id: env.id, name: env.name.clone(), kind: "Environment".into() },
    };
    let error = line.level == LogLevel::Error;
    EnvironmentLogs {
        kind: match line.level {
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
        .into(),
        timestamp: line.at,
        details: EnvironmentLogsDetails {
            organization_id: env.organization_id,
            cluster_id: env.cluster_id,
            execution_id: line.deployment_id,
            transmitter,
            stage: EnvironmentLogsStage { name: line.stage.clone(), step: line.step.clone() },
        },
        error: error
            .then(|| EnvironmentLogsError { tag: "DEPLOYMENT_ERROR".into(), user_log_message: line.message.clone() }),
        message: (!error)
            .then(|| EnvironmentLogsMessage { safe_message: line.message.clone(), full_details: line.message.clone() }),
    }
}

/// The last [`LAST_LINES`] lines of a deployment.
async fn last_lines(state: &AppState, deployment: Uuid) -> ApiResult<Vec<DeploymentLog>> {
    let mut kept: VecDeque<DeploymentLog> = VecDeque::with_capacity(LAST_LINES);
    let mut after = 0;
    loop {
        let batch = state.store.deployment_logs(deployment, after, LAST_LINES as u32).await?;
        let done = batch.len() < LAST_LINES;
        for line in batch {
            after = line.seq;
            if kept.len() == LAST_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
        if done {
            return Ok(kept.into());
        }
    }
}

/// The last 1000 log lines of one deployment of the environment: the one
/// named by `version` (a deployment id), else the latest one that started.
/// A bare JSON array, as the contract says.
#[utoipa::path(get, path = "/environment/{environmentId}/logs", operation_id = "listEnvironmentLogs",
    tag = "Environment Logs", params(("environmentId" = Uuid, Path), LogsQuery),
    responses((status = 200, body = Vec<EnvironmentLogs>), ApiErrors))]
pub async fn list_environment_logs(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    QueryParams(query): QueryParams<LogsQuery>,
) -> ApiResult<Json<Vec<EnvironmentLogs>>> {
    let org = caller.organization_id;
    let env: Environment = state.store.get(org, id).await?;
    let version = param::<Uuid>("version", query.version.as_deref(), "a deployment id")?;
    let deployment = match version {
        Some(v) => match state.store.get_deployment(org, v).await {
            Ok(d) if d.environment_id == env.id => Some(d),
            Ok(_) | Err(slipway_store::StoreError::NotFound { .. }) => {
                return Err(ValidationError::new("version", format!("no deployment {v} in this environment")).into());
            }
            Err(e) => return Err(e.into()),
        },
        None => {
            let recent = state.store.list_deployments(org, env.id, 20, 0).await?;
            let started = recent.iter().position(|d| d.status != DeploymentStatus::Queued);
            started.map(|i| recent[i].clone()).or_else(|| recent.into_iter().next())
        }
    };
    let Some(d) = deployment else { return Ok(Json(Vec::new())) };
    let services: Vec<Service> = state.store.list(org, Filter::parent(env.id)).await?;
    let names = service_names(Some(&d), &services);
    let lines = last_lines(&state, d.id).await?;
    Ok(Json(lines.iter().map(|l| environment_logs_line(&env, &names, l)).collect()))
}

/// The last 1000 deployment log lines of the environment (legacy shape).
#[utoipa::path(get, path = "/environment/{environmentId}/log", operation_id = "listEnvironmentLog",
    tag = "Environment Logs", params(("environmentId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<EnvironmentLog>), ApiErrors))]
pub async fn list_environment_log(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<EnvironmentLog>>> {
    let env: Environment = state.store.get(caller.organization_id, id).await?;
    let services: Vec<Service> = state.store.list(env.organization_id, Filter::parent(env.id)).await?;
    let names = service_names(None, &services);
    let lines = state.store.environment_logs(env.id, LAST_LINES as u32).await?;
    let results = lines
        .iter()
        .map(|l| {
            let scope = match l.service_id.and_then(|id| names.get(&id).map(|n| (id, n))) {
                Some((id, (name, kind))) => EnvironmentLogScope {
                    kind: if *kind == ServiceType::Database { "DATABASE" } else { "APPLICATION" }.into(),
                    name: name.clone(),
                    id,
                },
                None => EnvironmentLogScope { kind: "ENVIRONMENT".into(), name: env.name.clone(), id: env.id },
            };
            EnvironmentLog {
                id: l.seq.to_string(),
                created_at: l.at,
                scope,
                message: Some(l.message.clone()),
                execution_id: l.deployment_id,
            }
        })
        .collect::<Vec<_>>();
    Ok(Json(results.into()))
}

/// The version a service's instances run: the commit or tag of its current
/// release, else the release id.
async fn running_version(state: &AppState, service: &Service) -> ApiResult<Option<String>> {
    let states = state.store.service_states(service.organization_id, Some(service.environment_id)).await?;
    let Some(id) = states.into_iter().find(|s| s.service_id == service.id).and_then(|s| s.current_release) else {
        return Ok(None);
    };
    Ok(match state.store.get::<Release>(service.organization_id, id).await {
        Ok(r) => Some(r.commit.map(|c| c.id).or(r.tag).unwrap_or_else(|| r.id.to_string())),
        Err(_) => Some(id.to_string()),
    })
}

pub(crate) async fn service_log(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    id: Uuid,
) -> ApiResult<Json<ResultsList<Log>>> {
    let engine = state.engine()?;
    let service = find(state, caller, kind, id).await?;
    let version = running_version(state, &service).await?;
    let options = LogOptions { follow: false, tail: Some(LAST_LINES), since: None };
    let stream = engine.service_logs(&service, options).await?;
    // A finished read ends by itself; the bound only guards a stuck engine.
    let mut lines = tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>()).await.unwrap_or_default();
    lines.sort_by_key(|(_, l)| l.timestamp);
    let skip = lines.len().saturating_sub(LAST_LINES);
    let results = lines
        .into_iter()
        .skip(skip)
        .map(|(pod, line)| Log {
            id: slipway_model::new_id().to_string(),
            created_at: line.timestamp.unwrap_or_else(slipway_model::now),
            message: line.line,
            pod_name: pod,
            version: version.clone(),
        })
        .collect::<Vec<_>>();
    Ok(Json(results.into()))
}

pub(crate) async fn links(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    id: Uuid,
) -> ApiResult<Json<ResultsList<Link>>> {
    let engine = state.engine()?;
    let service = find(state, caller, kind, id).await?;
    let links = engine
        .links(&service)
        .await
        .into_iter()
        .map(|u| Link {
            service_id: service.id,
            service_type: service.kind(),
            url: u.url,
            internal_port: u.internal_port,
            external_port: u.external_port,
            is_qovery_domain: u.generated,
            is_default: u.is_default,
        })
        .collect::<Vec<_>>();
    Ok(Json(links.into()))
}

fn sse(rx: mpsc::Receiver<Event>) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok::<Event, Infallible>(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).json_data(data).unwrap_or_else(|_| Event::default().event(name))
}

pub(crate) async fn stream_service_logs(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    id: Uuid,
    query: TailQuery,
) -> ApiResult<Response> {
    let tail = param::<usize>("tail", query.tail.as_deref(), "a number of lines from 0 to 10000")?.unwrap_or(100);
    if tail > 10_000 {
        return Err(
            ValidationError::new("tail", format!("must be a number of lines from 0 to 10000, got {tail}")).into()
        );
    }
    let engine = state.engine()?;
    let service = find(state, caller, kind, id).await?;
    let version = running_version(state, &service).await?;
    let mut lines = engine.service_logs(&service, LogOptions { follow: true, tail: Some(tail), since: None }).await?;
    let (tx, rx) = mpsc::channel::<Event>(256);
    tokio::spawn(async move {
        // Also look now and then whether the client left, so that a quiet
        // service does not keep its log stream open forever.
        let mut check = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                next = lines.next() => {
                    let Some((pod, line)) = next else { break };
                    let data = LogStreamLine {
                        created_at: line.timestamp.unwrap_or_else(slipway_model::now).timestamp_millis(),
                        message: line.line,
                        pod_name: pod,
                        version: version.clone(),
                    };
                    if tx.send(json_event("log", &data)).await.is_err() {
                        return;
                    }
                }
                _ = check.tick() => {
                    if tx.is_closed() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Event::default().event("end").data("the service's instances stopped")).await;
    });
    Ok(sse(rx))
}

/// Slipway: a deployment's log as server-sent events. Stored lines come
/// first, then live ones until the deployment ends. Events: `log` (a
/// deployment log line: `seq`, `at`, `level`, `message`, `stage`, `step`,
/// `service_id`), `deployment` (the deployment with its steps, at the start
/// and whenever it changes), and a last `end` (the final deployment).
#[utoipa::path(get, path = "/deployment/{deploymentId}/logs/stream", operation_id = "streamDeploymentLogs",
    tag = "Deployments", params(("deploymentId" = Uuid, Path)),
    responses((status = 200, content_type = "text/event-stream", body = DeploymentResponse), ApiErrors))]
pub async fn stream_deployment_logs(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Response> {
    let d = state.store.get_deployment(caller.organization_id, id).await.map_err(|e| match e {
        slipway_store::StoreError::NotFound { .. } => ApiError::NotFound { what: "deployment" },
        other => other.into(),
    })?;
    // Subscribe before reading what is stored, so that no line falls between.
    let live = state.engine.as_ref().map(|e| e.subscribe());
    let (tx, rx) = mpsc::channel::<Event>(256);
    tokio::spawn(follow_deployment(state.0.clone(), d, live, tx));
    Ok(sse(rx))
}

/// Sends a deployment's stored lines after `*after`; `false` once the client left.
async fn catch_up(state: &AppState, id: Uuid, after: &mut i64, tx: &mpsc::Sender<Event>) -> bool {
    loop {
        let Ok(batch) = state.store.deployment_logs(id, *after, 500).await else { return true };
        let done = batch.len() < 500;
        for line in batch {
            *after = line.seq;
            if tx.send(json_event("log", &line)).await.is_err() {
                return false;
            }
        }
        if done {
            return true;
        }
    }
}

async fn follow_deployment(
    state: AppState,
    mut d: Deployment,
    mut live: Option<broadcast::Receiver<DeploymentLog>>,
    tx: mpsc::Sender<Event>,
) {
    let id = d.id;
    let mut after = 0i64;
    if tx.send(json_event("deployment", &DeploymentResponse::from(&d))).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        if !catch_up(&state, id, &mut after, &tx).await {
            return;
        }
        if d.status.is_final() {
            let _ = tx.send(json_event("end", &DeploymentResponse::from(&d))).await;
            return;
        }
        // Live lines until the next look at the deployment.
        loop {
            let next = async {
                match live.as_mut() {
                    Some(rx) => Some(rx.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = next => match received {
                    Some(Ok(line)) if line.deployment_id == id && (line.seq == 0 || line.seq > after) => {
                        after = after.max(line.seq);
                        if tx.send(json_event("log", &line)).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    // Missed lines are read back from the store.
                    Some(Err(broadcast::error::RecvError::Lagged(_))) => break,
                    Some(Err(broadcast::error::RecvError::Closed)) | None => {
                        live = None;
                        break;
                    }
                },
                _ = tick.tick() => break,
            }
        }
        if tx.is_closed() {
            return;
        }
        match state.store.get_deployment(d.organization_id, id).await {
            Ok(now) => {
                if now.status != d.status || now.steps != d.steps {
                    d = now;
                    if tx.send(json_event("deployment", &DeploymentResponse::from(&d))).await.is_err() {
                        return;
                    }
                } else {
                    d = now;
                }
            }
            // The deployment is gone (its environment was deleted with it).
            Err(_) => {
                let _ = tx.send(json_event("end", &DeploymentResponse::from(&d))).await;
                return;
            }
        }
    }
}
