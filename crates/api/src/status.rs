//! Statuses, computed in one place from what the store holds: the services'
//! recorded states (written by the engine), their current releases, and the
//! environment's pending (queued or running) and latest deployments. Every
//! status endpoint and every action's response goes through [`EnvView`].
//!
//! **A service's state** is, in order:
//! 1. the state the engine recorded, when a running deployment acts on the
//!    service and already reached it (`DEPLOYING`, then `DEPLOYED`...);
//! 2. the queued state of the action (`DEPLOYMENT_QUEUED`, `STOP_QUEUED`,
//!    `RESTART_QUEUED`, `DELETE_QUEUED`) when a pending deployment acts on
//!    it but has not reached it yet;
//! 3. else its recorded state; `READY` when nothing was ever done to it.
//!
//! **An environment's state** is the state of its running deployment
//! (`DEPLOYING`..., or `CANCELING` once a cancel was asked), else the queued
//! state of its oldest queued one, else this aggregate of its services'
//! states, first rule that matches:
//! 1. any error, in this order: `DEPLOYMENT_ERROR`, `BUILD_ERROR`,
//!    `RESTART_ERROR`, `STOP_ERROR`, `DELETE_ERROR`;
//! 2. any `UNAVAILABLE` (a crash loop);
//! 3. any state in progress (left by an interrupted engine);
//! 4. any `DEPLOYED` or `RESTARTED`: `DEPLOYED` (something serves, even if
//!    other services are stopped or were never deployed);
//! 5. any `STOPPED`: `STOPPED`;
//! 6. any `DELETED` (uninstalled): `DELETED`;
//! 7. else (no service, or none ever deployed): `READY`.

use std::collections::HashMap;

use slipway_api_types::{EnvironmentStatus, Status, StatusDetails};
use slipway_model::deployment::{Deployment, DeploymentAction, DeploymentStatus, Release, ServiceState, StepStatus};
use slipway_model::{
    ActionStatus, DeploymentState, Environment, Service, ServiceDeploymentStatus, ServiceType, SubAction, Uuid,
};
use slipway_store::{Filter, StoreError};

use crate::error::ApiResult;
use crate::state::AppState;

/// The digest of the effective variables of each service whose current
/// release recorded the digest it was deployed with (databases run on their
/// own settings, not on variables).
async fn variable_digests(
    state: &AppState,
    env: &Environment,
    services: &[Service],
    states: &HashMap<Uuid, ServiceState>,
    releases: &HashMap<Uuid, Release>,
) -> ApiResult<HashMap<Uuid, String>> {
    let compared: Vec<&Service> = services
        .iter()
        .filter(|s| s.kind() != ServiceType::Database)
        .filter(|s| {
            let current = states.get(&s.id).and_then(|st| st.current_release);
            current.and_then(|id| releases.get(&id)).is_some_and(|r| r.variables_digest.is_some())
        })
        .collect();
    if compared.is_empty() {
        return Ok(HashMap::new());
    }
    let base_domain = state.engine.as_ref().map_or("localhost", |e| e.base_domain());
    let all = slipway_engine::variables::load(&state.store, &state.config.secrets, base_domain, env).await?;
    let mut out = HashMap::new();
    for service in compared {
        // Variables that no longer resolve cannot be what runs: out of date.
        let digest = match all.effective(service) {
            Ok(effective) => slipway_engine::variables::digest(&effective),
            Err(_) => String::new(),
        };
        out.insert(service.id, digest);
    }
    Ok(out)
}

/// Whether a deployment acts on a service: by its steps once planned
/// (skipped services are left alone), else by its targets.
pub(crate) fn acts_on(d: &Deployment, service_id: Uuid) -> bool {
    if d.steps.is_empty() {
        d.targets_service(service_id)
    } else {
        d.steps.iter().any(|s| s.service_id == service_id && s.status != StepStatus::Skipped)
    }
}

/// The state a deployment stands for: queued, ongoing (or canceling), or
/// how it ended.
pub(crate) fn deployment_state(d: &Deployment, canceling: bool) -> DeploymentState {
    match d.status {
        DeploymentStatus::Queued => d.action.queued_state(),
        DeploymentStatus::Running if canceling => DeploymentState::Canceling,
        DeploymentStatus::Running => d.action.ongoing_state(),
        DeploymentStatus::Succeeded => d.action.done_state(),
        DeploymentStatus::Failed => d.action.error_state(),
        DeploymentStatus::Canceled => DeploymentState::Canceled,
    }
}

fn details(action: DeploymentAction, status: ActionStatus) -> StatusDetails {
    StatusDetails { action: action.service_action(), status, sub_action: SubAction::None }
}

/// What `d` does to a Terraform service (its plan, apply or destroy); nothing for other kinds.
fn sub_action(d: &Deployment, service: &Service) -> SubAction {
    if service.kind() != ServiceType::Terraform {
        return SubAction::None;
    }
    match d.action {
        DeploymentAction::Deploy if d.plans_only(service.id) => SubAction::TerraformPlanOnly,
        DeploymentAction::Deploy => SubAction::TerraformPlanAndApply,
        DeploymentAction::Delete => SubAction::TerraformDestroy,
        DeploymentAction::Stop | DeploymentAction::Restart => SubAction::None,
    }
}

/// The details of `d`'s action on `service`.
fn service_details(d: &Deployment, service: &Service, status: ActionStatus) -> StatusDetails {
    StatusDetails { sub_action: sub_action(d, service), ..details(d.action, status) }
}

/// An environment as the status computation sees it.
#[derive(Debug)]
pub(crate) struct EnvView {
    /// The environment.
    pub env: Environment,
    /// Its services, oldest first.
    pub services: Vec<Service>,
    states: HashMap<Uuid, ServiceState>,
    releases: HashMap<Uuid, Release>,
    /// The digest of each service's effective variables now, for services
    /// whose current release recorded one.
    digests: HashMap<Uuid, String>,
    /// Its queued and running deployments, oldest first.
    pub pending: Vec<Deployment>,
    /// Its newest deployment.
    pub latest: Option<Deployment>,
    canceling: bool,
    /// The deployment the request being answered just queued: action
    /// responses name it as their `deployment_request_id`.
    pub requested: Option<Uuid>,
}

impl EnvView {
    /// The view of environment `id` of the organization (404 if unknown).
    pub async fn load(state: &AppState, org: Uuid, id: Uuid) -> ApiResult<EnvView> {
        let env: Environment = state.store.get(org, id).await?;
        EnvView::of(state, env).await
    }

    /// The view of `env`.
    pub async fn of(state: &AppState, env: Environment) -> ApiResult<EnvView> {
        let org = env.organization_id;
        let services: Vec<Service> = state.store.list(org, Filter::parent(env.id)).await?;
        let states: HashMap<Uuid, ServiceState> =
            state.store.service_states(org, Some(env.id)).await?.into_iter().map(|s| (s.service_id, s)).collect();
        let mut releases = HashMap::new();
        for id in states.values().filter_map(|s| s.current_release) {
            match state.store.get::<Release>(org, id).await {
                Ok(r) => {
                    releases.insert(id, r);
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let digests = variable_digests(state, &env, &services, &states, &releases).await?;
        let pending = state.store.pending_deployments(Some(env.id)).await?;
        let latest = state.store.list_deployments(org, env.id, 1, 0).await?.into_iter().next();
        let canceling = match pending.iter().find(|d| d.status == DeploymentStatus::Running) {
            Some(d) => state.store.cancel_requested(d.id).await?,
            None => false,
        };
        Ok(EnvView { env, services, states, releases, digests, pending, latest, canceling, requested: None })
    }

    /// The service of this environment with this id.
    pub fn service(&self, id: Uuid) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The release a service runs now.
    pub fn current_release(&self, service_id: Uuid) -> Option<&Release> {
        self.states.get(&service_id).and_then(|s| s.current_release).and_then(|id| self.releases.get(&id))
    }

    /// The id of the release a service runs now.
    pub fn current_release_id(&self, service_id: Uuid) -> Option<Uuid> {
        self.states.get(&service_id).and_then(|s| s.current_release)
    }

    /// Whether something runs (or may run) for the service: it has a
    /// current release, or a pending deployment acts on it.
    pub fn is_deployed_or_pending(&self, service_id: Uuid) -> bool {
        self.current_release_id(service_id).is_some() || self.pending.iter().any(|d| acts_on(d, service_id))
    }

    /// Whether anything of the environment runs or is about to.
    pub fn anything_deployed_or_pending(&self) -> bool {
        !self.pending.is_empty() || self.services.iter().any(|s| self.current_release_id(s.id).is_some())
    }

    /// The deployment that drives the environment's state: the running one,
    /// else the oldest queued one.
    fn driving(&self) -> Option<&Deployment> {
        self.pending
            .iter()
            .find(|d| d.status == DeploymentStatus::Running)
            .or_else(|| self.pending.iter().find(|d| d.status == DeploymentStatus::Queued))
    }

    fn service_deployment_status(&self, service: &Service) -> ServiceDeploymentStatus {
        if self.current_release_id(service.id).is_none() {
            return ServiceDeploymentStatus::NeverDeployed;
        }
        let Some(release) = self.current_release(service.id) else { return ServiceDeploymentStatus::OutOfDate };
        let variables_changed = match (&release.variables_digest, self.digests.get(&service.id)) {
            (Some(deployed), Some(now)) => deployed != now,
            _ => false,
        };
        if release.spec == service.spec.to_json() && !variables_changed {
            ServiceDeploymentStatus::UpToDate
        } else {
            ServiceDeploymentStatus::OutOfDate
        }
    }

    /// The status of one of the environment's services.
    pub fn service_status(&self, service: &Service) -> Status {
        let recorded = self.states.get(&service.id);
        let acting: Vec<&Deployment> = self.pending.iter().filter(|d| acts_on(d, service.id)).collect();
        let running = acting.iter().copied().find(|d| d.status == DeploymentStatus::Running);
        let queued = acting.iter().copied().find(|d| d.status == DeploymentStatus::Queued);
        let reached = running.filter(|d| recorded.is_some_and(|s| s.last_deployment_id == Some(d.id)));
        let (state, status_details, request) = if let (Some(d), Some(rec)) = (reached, recorded) {
            let status = match rec.last_action_status {
                Some(s) if s.is_final() => s.action_status(),
                _ => ActionStatus::Ongoing,
            };
            (rec.state, service_details(d, service, status), Some(d.id))
        } else if let Some(d) = running.or(queued) {
            (d.action.queued_state(), service_details(d, service, ActionStatus::Queued), Some(d.id))
        } else {
            let state = recorded.map_or(DeploymentState::Ready, |s| s.state);
            let details = StatusDetails {
                action: recorded
                    .and_then(|s| s.last_action)
                    .map_or(slipway_model::ServiceAction::Unknown, |a| a.service_action()),
                status: recorded.and_then(|s| s.last_action_status).map_or(ActionStatus::Never, |s| s.action_status()),
                sub_action: SubAction::None,
            };
            (state, details, None)
        };
        Status {
            id: service.id,
            state,
            service_deployment_status: self.service_deployment_status(service),
            last_deployment_date: recorded.and_then(|s| s.last_deployment_at),
            is_part_last_deployment: self.latest.as_ref().is_some_and(|d| acts_on(d, service.id)),
            status_details,
            deployment_request_id: self.requested.filter(|id| acting.iter().any(|d| d.id == *id)).or(request),
            deployment_requests_count: acting.len() as u32,
            message: recorded.and_then(|s| s.message.clone()),
        }
    }

    /// The statuses of the environment's services of one kind.
    pub fn statuses(&self, kind: ServiceType) -> Vec<Status> {
        self.services.iter().filter(|s| s.kind() == kind).map(|s| self.service_status(s)).collect()
    }

    /// The aggregate of the services' states (see the module's rules).
    fn aggregate(&self) -> DeploymentState {
        use DeploymentState as S;
        let states: Vec<S> =
            self.services.iter().map(|s| self.states.get(&s.id).map_or(S::Ready, |r| r.state)).collect();
        for error in [S::DeploymentError, S::BuildError, S::RestartError, S::StopError, S::DeleteError] {
            if states.contains(&error) {
                return error;
            }
        }
        if states.contains(&S::Unavailable) {
            return S::Unavailable;
        }
        let settled = |s: &S| {
            matches!(s, S::Ready | S::Deployed | S::Restarted | S::Stopped | S::Deleted | S::Canceled | S::Recap)
        };
        if let Some(in_progress) = states.iter().find(|s| !settled(s)) {
            return *in_progress;
        }
        if states.iter().any(|s| matches!(s, S::Deployed | S::Restarted)) {
            S::Deployed
        } else if states.contains(&S::Stopped) {
            S::Stopped
        } else if states.contains(&S::Deleted) {
            S::Deleted
        } else {
            S::Ready
        }
    }

    /// Whether what runs matches the configuration: never deployed when no
    /// service runs a release; out of date when a service runs an older
    /// configuration or a service was never deployed beside deployed ones.
    fn environment_deployment_status(&self) -> ServiceDeploymentStatus {
        let all: Vec<ServiceDeploymentStatus> =
            self.services.iter().map(|s| self.service_deployment_status(s)).collect();
        if all.iter().all(|s| *s == ServiceDeploymentStatus::NeverDeployed) {
            ServiceDeploymentStatus::NeverDeployed
        } else if all.iter().any(|s| *s != ServiceDeploymentStatus::UpToDate) {
            ServiceDeploymentStatus::OutOfDate
        } else {
            ServiceDeploymentStatus::UpToDate
        }
    }

    fn state(&self) -> DeploymentState {
        match self.driving() {
            Some(d) => deployment_state(d, self.canceling && d.status == DeploymentStatus::Running),
            None => self.aggregate(),
        }
    }

    /// The status of the environment.
    pub fn environment_status(&self) -> EnvironmentStatus {
        let latest = self.latest.as_ref();
        let canceling = |d: &Deployment| self.canceling && d.status == DeploymentStatus::Running;
        EnvironmentStatus {
            id: self.env.id,
            state: self.state(),
            last_deployment_state: latest.map_or(DeploymentState::Ready, |d| deployment_state(d, canceling(d))),
            last_deployment_date: latest.map(|d| d.finished_at.or(d.started_at).unwrap_or(d.created_at)),
            last_deployment_id: latest.map(|d| d.id),
            total_deployment_duration_in_seconds: latest
                .filter(|d| d.started_at.is_some())
                .map(Deployment::duration_seconds),
            origin: latest.map(|d| d.origin.into()),
            triggered_by: latest.map(|d| d.triggered_by.clone()),
            deployment_status: Some(self.environment_deployment_status().into()),
            deployment_request_id: self.requested.or_else(|| self.driving().map(|d| d.id)),
        }
    }

    /// The environment's status in the shape of a service's `Status` (what
    /// `deployEnvironment` and `rebootServices` answer), with the
    /// environment's id.
    pub fn environment_as_status(&self) -> Status {
        let driving = self.driving();
        let latest = self.latest.as_ref();
        let status_details = match (driving, latest) {
            (Some(d), _) => details(
                d.action,
                if d.status == DeploymentStatus::Running { ActionStatus::Ongoing } else { ActionStatus::Queued },
            ),
            (None, Some(d)) => details(d.action, d.status.action_status()),
            (None, None) => StatusDetails::never(),
        };
        Status {
            id: self.env.id,
            state: self.state(),
            service_deployment_status: self.environment_deployment_status(),
            last_deployment_date: latest.map(|d| d.finished_at.or(d.started_at).unwrap_or(d.created_at)),
            is_part_last_deployment: latest.is_some(),
            status_details,
            deployment_request_id: self.requested.or_else(|| driving.map(|d| d.id)),
            deployment_requests_count: self.pending.len() as u32,
            message: None,
        }
    }
}
