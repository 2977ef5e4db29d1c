//! Deployments, releases and stages: what the engine is asked to do, what it
//! did, and in which order.
//!
//! A [`Deployment`] is a durable request: the API stores it, an engine worker
//! claims it with a lease, and every step it takes is written back, so that a
//! restarted server resumes or rolls back what was in flight. A [`Release`]
//! is immutable: one deploy of one service, with the image it ran and the
//! configuration it ran with; rolling back re-deploys an earlier release
//! without a rebuild.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Validation, ValidationError};
use crate::service::{ServiceSpec, ServiceType};
use crate::{Timestamp, validate};

/// What a deployment does to its services (`trigger_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentAction {
    /// Build or pull, then roll out (deploy and redeploy).
    Deploy,
    /// Stop every instance; keep volumes and releases.
    Stop,
    /// Restart the running instances of the current release.
    Restart,
    /// Remove instances, networks and volumes (uninstall / delete).
    Delete,
}

impl DeploymentAction {
    /// The state a service is in while this action runs on it.
    pub fn ongoing_state(self) -> crate::DeploymentState {
        use crate::DeploymentState as S;
        match self {
            DeploymentAction::Deploy => S::Deploying,
            DeploymentAction::Stop => S::Stopping,
            DeploymentAction::Restart => S::Restarting,
            DeploymentAction::Delete => S::Deleting,
        }
    }

    /// The state while it waits in the queue.
    pub fn queued_state(self) -> crate::DeploymentState {
        use crate::DeploymentState as S;
        match self {
            DeploymentAction::Deploy => S::DeploymentQueued,
            DeploymentAction::Stop => S::StopQueued,
            DeploymentAction::Restart => S::RestartQueued,
            DeploymentAction::Delete => S::DeleteQueued,
        }
    }

    /// The state after it succeeded.
    pub fn done_state(self) -> crate::DeploymentState {
        use crate::DeploymentState as S;
        match self {
            DeploymentAction::Deploy => S::Deployed,
            DeploymentAction::Stop => S::Stopped,
            DeploymentAction::Restart => S::Restarted,
            DeploymentAction::Delete => S::Deleted,
        }
    }

    /// The state after it failed.
    pub fn error_state(self) -> crate::DeploymentState {
        use crate::DeploymentState as S;
        match self {
            DeploymentAction::Deploy => S::DeploymentError,
            DeploymentAction::Stop => S::StopError,
            DeploymentAction::Restart => S::RestartError,
            DeploymentAction::Delete => S::DeleteError,
        }
    }

    /// The contract's `ServiceActionEnum` for it.
    pub fn service_action(self) -> crate::ServiceAction {
        match self {
            DeploymentAction::Deploy => crate::ServiceAction::Deploy,
            DeploymentAction::Stop => crate::ServiceAction::Stop,
            DeploymentAction::Restart => crate::ServiceAction::Restart,
            DeploymentAction::Delete => crate::ServiceAction::Delete,
        }
    }
}

/// Which version of a service to deploy, when not its current configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionPin {
    /// This commit of the service's repository (applications, git jobs).
    GitCommit(String),
    /// This tag of the service's image (containers, image jobs).
    ImageTag(String),
    /// Exactly this earlier release: its image and configuration, no rebuild.
    Release(Uuid),
}

impl VersionPin {
    /// Checks the pinned value's form.
    pub fn validate(&self, field: &str) -> Validation {
        match self {
            VersionPin::GitCommit(sha) => {
                let ok = (4..=64).contains(&sha.len()) && sha.chars().all(|c| c.is_ascii_hexdigit());
                if ok {
                    Ok(())
                } else {
                    Err(ValidationError::new(field, format!("must be a git commit id, got `{sha}`")))
                }
            }
            VersionPin::ImageTag(tag) => validate::image_tag(field, tag),
            VersionPin::Release(_) => Ok(()),
        }
    }
}

/// One service a deployment acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentTarget {
    /// The service.
    pub service_id: Uuid,
    /// The version to deploy, when pinned.
    #[serde(default)]
    pub version: Option<VersionPin>,
    /// Terraform services: plan only, change nothing (`TerraformDeployRequest.action: PLAN`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plan_only: bool,
}

/// Who or what asked for a deployment (`EnvironmentStatusEventOriginEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Origin {
    #[default]
    Api,
    Cli,
    Console,
    Git,
    QoveryInternal,
}

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker, which holds its lease.
    Running,
    /// Every service reached its target.
    Succeeded,
    /// A service failed; the ones already switched went back to their
    /// previous release.
    Failed,
    /// Canceled before or while running; finished work was rolled back.
    Canceled,
}

impl DeploymentStatus {
    /// The wire name, also the column value in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Queued => "QUEUED",
            DeploymentStatus::Running => "RUNNING",
            DeploymentStatus::Succeeded => "SUCCEEDED",
            DeploymentStatus::Failed => "FAILED",
            DeploymentStatus::Canceled => "CANCELED",
        }
    }

    /// The status with this wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed, Self::Canceled]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Whether the deployment is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// The contract's `ServiceActionStatusEnum` for it.
    pub fn action_status(self) -> crate::ActionStatus {
        match self {
            DeploymentStatus::Queued => crate::ActionStatus::Queued,
            DeploymentStatus::Running => crate::ActionStatus::Ongoing,
            DeploymentStatus::Succeeded => crate::ActionStatus::Success,
            DeploymentStatus::Failed => crate::ActionStatus::Error,
            DeploymentStatus::Canceled => crate::ActionStatus::Canceled,
        }
    }
}

/// How one service fared in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    /// Not reached yet.
    Pending,
    /// Being worked on.
    Running,
    /// Reached its target.
    Done,
    /// Failed.
    Failed,
    /// Was switched, then returned to its previous release.
    RolledBack,
    /// Skipped (a skipped stage, or nothing to do).
    Skipped,
}

/// One service's progress within a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStep {
    /// The service.
    pub service_id: Uuid,
    /// Its name when the deployment started.
    pub service_name: String,
    /// Its kind.
    pub service_type: ServiceType,
    /// The stage it runs in.
    pub stage: String,
    /// Where it is.
    pub status: StepStatus,
    /// The release this deployment made or chose for it.
    #[serde(default)]
    pub release_id: Option<Uuid>,
    /// The release it ran before, to return to on rollback.
    #[serde(default)]
    pub previous_release_id: Option<Uuid>,
    /// When the step started.
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// When it ended.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// A durable request to act on an environment's services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    pub action: DeploymentAction,
    /// The services acted on; empty means every service of the environment.
    pub targets: Vec<DeploymentTarget>,
    pub origin: Origin,
    /// The token or user that asked.
    pub triggered_by: String,
    pub status: DeploymentStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Per-service progress, filled when the plan is made.
    #[serde(default)]
    pub steps: Vec<ServiceStep>,
    /// Why it failed or was canceled.
    #[serde(default)]
    pub error: Option<String>,
    /// How many times a worker took it up after another one stopped.
    #[serde(default)]
    pub resumed: u32,
    /// For `DELETE`: also delete the services' configuration (and the
    /// environment's, when it targets the whole environment) once their
    /// resources are gone. Without it, a delete is an uninstall.
    #[serde(default)]
    pub remove_config: bool,
}

impl Deployment {
    /// Whether this deployment only plans the Terraform service `service`.
    pub fn plans_only(&self, service: Uuid) -> bool {
        self.targets.iter().any(|t| t.service_id == service && t.plan_only)
    }

    /// A new queued deployment.
    pub fn new(
        organization_id: Uuid,
        project_id: Uuid,
        environment_id: Uuid,
        action: DeploymentAction,
        targets: Vec<DeploymentTarget>,
        origin: Origin,
        triggered_by: String,
    ) -> Self {
        Deployment {
            id: crate::new_id(),
            organization_id,
            project_id,
            environment_id,
            action,
            targets,
            origin,
            triggered_by,
            status: DeploymentStatus::Queued,
            created_at: crate::now(),
            started_at: None,
            finished_at: None,
            steps: Vec::new(),
            error: None,
            resumed: 0,
            remove_config: false,
        }
    }

    /// Whether this deployment acts on the service.
    pub fn targets_service(&self, service_id: Uuid) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t.service_id == service_id)
    }

    /// The version pinned for a service, if any.
    pub fn pin(&self, service_id: Uuid) -> Option<&VersionPin> {
        self.targets.iter().find(|t| t.service_id == service_id).and_then(|t| t.version.as_ref())
    }

    /// Seconds from start to end (or to now, while running).
    pub fn duration_seconds(&self) -> i64 {
        match self.started_at {
            Some(start) => (self.finished_at.unwrap_or_else(crate::now) - start).num_seconds().max(0),
            None => 0,
        }
    }
}

/// Where the image of a release came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub id: String,
    /// First line of its message.
    pub message: String,
    /// Its author.
    pub author_name: String,
    /// When it was committed.
    pub committed_at: Timestamp,
}

/// One deploy of one service: immutable. "What is running" is a release id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub service_id: Uuid,
    /// The deployment that made it.
    pub deployment_id: Uuid,
    pub created_at: Timestamp,
    /// The image reference instances run (pinned by content).
    pub image: String,
    /// The engine's content id of that image.
    pub image_id: String,
    /// The registry digest, when pushed or pulled.
    #[serde(default)]
    pub digest: Option<String>,
    /// The image tag (containers, image jobs).
    #[serde(default)]
    pub tag: Option<String>,
    /// The commit it was built from (applications, git jobs).
    #[serde(default)]
    pub commit: Option<CommitInfo>,
    /// The build cache key, for built images.
    #[serde(default)]
    pub cache_key: Option<String>,
    /// The service's configuration as deployed.
    pub spec: serde_json::Value,
    /// The service's effective variables as deployed, sealed by the
    /// server's secret box (JSON of [`ReleaseVariable`]s).
    #[serde(default)]
    pub variables: Option<String>,
    /// A digest of those variables: when the current one differs, the
    /// service is out of date.
    #[serde(default)]
    pub variables_digest: Option<String>,
}

/// One variable a release runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseVariable {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub is_secret: bool,
    /// Set for file variables.
    #[serde(default)]
    pub mount_path: Option<String>,
}

impl Release {
    /// The configuration this release runs with.
    pub fn spec(&self, kind: ServiceType) -> Result<ServiceSpec, ValidationError> {
        ServiceSpec::from_json(kind, self.spec.clone())
    }
}

/// What runs for one service, kept by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub service_id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    /// The service's state (`StateEnum`).
    pub state: crate::DeploymentState,
    /// The release its instances run, if it was ever deployed.
    #[serde(default)]
    pub current_release: Option<Uuid>,
    /// How many instances should run now (the autoscaler moves it between
    /// the service's min and max).
    #[serde(default)]
    pub replicas: u32,
    /// The deployment that last acted on it.
    #[serde(default)]
    pub last_deployment_id: Option<Uuid>,
    /// What that deployment did.
    #[serde(default)]
    pub last_action: Option<DeploymentAction>,
    /// How that went.
    #[serde(default)]
    pub last_action_status: Option<DeploymentStatus>,
    /// When it last finished a deployment.
    #[serde(default)]
    pub last_deployment_at: Option<Timestamp>,
    /// Why it is unhealthy, with the last lines it printed.
    #[serde(default)]
    pub message: Option<String>,
    pub updated_at: Timestamp,
}

impl ServiceState {
    /// The state of a service nothing was done to yet.
    pub fn new(service_id: Uuid, organization_id: Uuid, environment_id: Uuid) -> Self {
        ServiceState {
            service_id,
            organization_id,
            environment_id,
            state: crate::DeploymentState::Ready,
            current_release: None,
            replicas: 0,
            last_deployment_id: None,
            last_action: None,
            last_action_status: None,
            last_deployment_at: None,
            message: None,
            updated_at: crate::now(),
        }
    }
}

/// How serious a deployment log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

/// One line of a deployment's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentLog {
    /// Position in the store, increasing; 0 before it is stored.
    #[serde(default)]
    pub seq: i64,
    pub deployment_id: Uuid,
    pub environment_id: Uuid,
    #[serde(default)]
    pub service_id: Option<Uuid>,
    pub at: Timestamp,
    /// The stage it belongs to.
    #[serde(default)]
    pub stage: Option<String>,
    /// The step within the service (`build`, `rollout`, `health`, ...).
    #[serde(default)]
    pub step: Option<String>,
    pub level: LogLevel,
    pub message: String,
}

/// A user-defined or default deployment stage of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStage {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Order among the environment's stages, from 0.
    pub position: u32,
    /// The kind whose services land here unless attached elsewhere.
    #[serde(default)]
    pub default_for: Option<ServiceType>,
    /// Services attached explicitly.
    #[serde(default)]
    pub services: Vec<StageService>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// A service attached to a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageService {
    /// The service.
    pub service_id: Uuid,
    /// Skipped services are left alone by environment deployments.
    #[serde(default)]
    pub is_skipped: bool,
}

impl DeploymentStage {
    /// The stages every environment starts with, in the default order
    /// (databases, jobs, containers, applications, Helm, Terraform).
    pub fn defaults(organization_id: Uuid, environment_id: Uuid) -> Vec<DeploymentStage> {
        ServiceType::ALL
            .into_iter()
            .enumerate()
            .map(|(i, kind)| DeploymentStage {
                id: crate::new_id(),
                organization_id,
                environment_id,
                name: format!("{} DEFAULT", kind.as_str()),
                description: Some(format!("Default stage for {} services", kind.path())),
                position: i as u32,
                default_for: Some(kind),
                services: Vec::new(),
                created_at: crate::now(),
                updated_at: None,
            })
            .collect()
    }

    /// Checks the user-given fields.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }
}

/// A planned stage: its name and the services it runs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStage {
    /// The stage's name.
    pub name: String,
    /// The services to act on, with their kinds.
    pub services: Vec<(Uuid, ServiceType)>,
}

/// Orders services into stages: each service goes to the stage it is
/// attached to, else to its kind's default stage; skipped services and
/// services a deployment does not target are left out; empty stages are
/// dropped. Stages run in `position` order.
pub fn plan_stages(
    stages: &[DeploymentStage],
    services: &[(Uuid, ServiceType)],
    include: impl Fn(Uuid) -> bool,
) -> Vec<PlannedStage> {
    let mut ordered: Vec<&DeploymentStage> = stages.iter().collect();
    ordered.sort_by_key(|s| s.position);
    let mut planned: Vec<PlannedStage> =
        ordered.iter().map(|s| PlannedStage { name: s.name.clone(), services: Vec::new() }).collect();
    for &(id, kind) in services {
        if !include(id) {
            continue;
        }
        let attached = ordered.iter().position(|s| s.services.iter().any(|a| a.service_id == id));
        let index = match attached {
            Some(i) if ordered[i].services.iter().any(|a| a.service_id == id && a.is_skipped) => continue,
            Some(i) => Some(i),
            None => ordered.iter().position(|s| s.default_for == Some(kind)),
        };
        match index {
            Some(i) => planned[i].services.push((id, kind)),
            // An environment always has a default stage per kind; without
            // one, the service runs last rather than not at all.
            None => {
                planned.push(PlannedStage { name: format!("{} DEFAULT", kind.as_str()), services: vec![(id, kind)] })
            }
        }
    }
    planned.retain(|s| !s.services.is_empty());
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| crate::new_id()).collect()
    }

    #[test]
    fn default_stages_run_databases_then_jobs_then_containers_then_applications() {
        let org = crate::new_id();
        let env = crate::new_id();
        let stages = DeploymentStage::defaults(org, env);
        let s = ids(4);
        let services = vec![
            (s[0], ServiceType::Application),
            (s[1], ServiceType::Container),
            (s[2], ServiceType::Database),
            (s[3], ServiceType::Job),
        ];
        let plan = plan_stages(&stages, &services, |_| true);
        let order: Vec<Uuid> = plan.iter().flat_map(|p| p.services.iter().map(|(id, _)| *id)).collect();
        assert_eq!(order, vec![s[2], s[3], s[1], s[0]]);
        assert_eq!(plan[0].name, "DATABASE DEFAULT");
    }

    #[test]
    fn attachments_move_services_and_skips_leave_them_out() {
        let mut stages = DeploymentStage::defaults(crate::new_id(), crate::new_id());
        let s = ids(3);
        // Put an application before the databases, and skip another.
        stages[0].services.push(StageService { service_id: s[0], is_skipped: false });
        stages[3].services.push(StageService { service_id: s[1], is_skipped: true });
        let services =
            vec![(s[0], ServiceType::Application), (s[1], ServiceType::Application), (s[2], ServiceType::Database)];
        let plan = plan_stages(&stages, &services, |_| true);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].services, vec![(s[0], ServiceType::Application), (s[2], ServiceType::Database)]);
        let only = plan_stages(&stages, &services, |id| id == s[2]);
        assert_eq!(only[0].services, vec![(s[2], ServiceType::Database)]);
    }

    #[test]
    fn version_pins_are_checked() {
        assert!(VersionPin::GitCommit("a1b2c3d".into()).validate("git_commit_id").is_ok());
        assert!(VersionPin::GitCommit("main".into()).validate("git_commit_id").is_err());
        assert!(VersionPin::ImageTag("1.2.3".into()).validate("image_tag").is_ok());
        assert!(VersionPin::ImageTag("bad tag".into()).validate("image_tag").is_err());
    }
}
