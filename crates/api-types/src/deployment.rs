//! Action request bodies, deployments as Slipway shows them, and releases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::ServiceType;
use slipway_model::deployment::{
    Deployment, DeploymentAction, DeploymentStatus, DeploymentTarget, Origin, Release, ServiceStep, StepStatus,
    VersionPin,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{Commit, EventOrigin};

/// Deploy an application, at a commit when given (`DeployRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeployRequest {
    /// The commit to build; the branch's head when absent (Slipway accepts
    /// no body at all, too).
    #[serde(default)]
    pub git_commit_id: Option<String>,
}

/// Deploy a container, with another tag when given (`ContainerDeployRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContainerDeployRequest {
    /// The tag to run; the configured one when absent.
    #[serde(default)]
    pub image_tag: Option<String>,
}

/// Deploy a job at a version (`JobDeployRequest`): `image_tag` for image
/// jobs, `git_commit_id` for jobs built from git.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct JobDeployRequest {
    #[serde(default)]
    pub image_tag: Option<String>,
    #[serde(default)]
    pub git_commit_id: Option<String>,
}

/// Deploy a Helm chart (`HelmDeployRequest`). Slipway cannot pin chart
/// versions yet and refuses a body that asks for one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmDeployRequest {
    #[serde(default)]
    pub chart_version: Option<String>,
    #[serde(default)]
    pub git_commit_id: Option<String>,
    #[serde(default)]
    pub values_override_git_commit_id: Option<String>,
}

/// A Terraform action (`TerraformDeployRequestActionEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = TerraformDeployRequestActionEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum TerraformAction {
    Plan,
    ForceUnlock,
    MigrateState,
}

/// Deploy a Terraform service (`TerraformDeployRequest`). Slipway cannot
/// pin commits nor run the special actions yet and refuses them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TerraformDeployRequest {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub git_commit_id: Option<String>,
    #[serde(default)]
    pub action: Option<TerraformAction>,
}

/// An application to deploy, at a commit when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeployAllRequestApplicationsInner)]
#[allow(missing_docs)]
pub struct DeployAllApplication {
    pub application_id: Uuid,
    #[serde(default)]
    pub git_commit_id: Option<String>,
}

/// A container to deploy, with another tag when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeployAllRequestContainersInner)]
#[allow(missing_docs)]
pub struct DeployAllContainer {
    pub id: Uuid,
    #[serde(default)]
    pub image_tag: Option<String>,
}

/// A job to deploy, at a version when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeployAllRequestJobsInner)]
#[allow(missing_docs)]
pub struct DeployAllJob {
    /// Optional in the contract's schema; Slipway requires it.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub image_tag: Option<String>,
    #[serde(default)]
    pub git_commit_id: Option<String>,
}

/// A Helm chart to deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeployAllRequestHelmsInner)]
#[allow(missing_docs)]
pub struct DeployAllHelm {
    /// Optional in the contract's schema; Slipway requires it.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub chart_version: Option<String>,
    #[serde(default)]
    pub git_commit_id: Option<String>,
    #[serde(default)]
    pub values_override_git_commit_id: Option<String>,
}

/// Deploy some services of an environment, each at a version when given
/// (`DeployAllRequest`): the CLI's deploy path, and how to roll back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeployAllRequest {
    #[serde(default)]
    pub applications: Vec<DeployAllApplication>,
    #[serde(default)]
    pub databases: Vec<Uuid>,
    #[serde(default)]
    pub containers: Vec<DeployAllContainer>,
    #[serde(default)]
    pub jobs: Vec<DeployAllJob>,
    #[serde(default)]
    pub helms: Vec<DeployAllHelm>,
    #[serde(default)]
    pub terraforms: Vec<TerraformDeployRequest>,
}

/// Restart some services of an environment (`RebootServicesRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct RebootServicesRequest {
    #[serde(default)]
    pub application_ids: Vec<Uuid>,
    #[serde(default)]
    pub database_ids: Vec<Uuid>,
    #[serde(default)]
    pub container_ids: Vec<Uuid>,
}

/// Some services of an environment, by kind (`EnvironmentServiceIdsAllRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentServiceIdsAllRequest {
    #[serde(default)]
    pub application_ids: Vec<Uuid>,
    #[serde(default)]
    pub container_ids: Vec<Uuid>,
    #[serde(default)]
    pub database_ids: Vec<Uuid>,
    #[serde(default)]
    pub job_ids: Vec<Uuid>,
    #[serde(default)]
    pub helm_ids: Vec<Uuid>,
    #[serde(default)]
    pub terraform_ids: Vec<Uuid>,
}

/// Cancel an environment's deployments (`CancelEnvironmentDeploymentRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CancelEnvironmentDeploymentRequest {
    /// Accepted for compatibility; a running deployment always stops at its
    /// next step and rolls back what it switched.
    #[serde(default)]
    pub force_cancel: Option<bool>,
}

/// Slipway: roll a service back to one of its releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RollbackRequest {
    /// A release of this service (see its `/release` list).
    pub release_id: Uuid,
}

/// `?forceEvent=` of job deploys (`JobForceEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = JobForceEvent)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobForceEvent {
    Start,
    Stop,
    Delete,
    Cron,
}

/// The query of job deploys.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobDeployQuery {
    /// START (default) deploys and runs the start event, STOP runs the stop
    /// event, DELETE the delete event; CRON runs a deployed cron job now.
    #[serde(rename = "forceEvent", default)]
    #[param(value_type = Option<JobForceEvent>)]
    pub force_event: Option<String>,
}

/// The query of Helm deploys.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelmDeployQuery {
    /// `DIFF` (a dry run) is not supported yet.
    #[serde(rename = "forceEvent", default)]
    #[param(value_type = Option<String>)]
    pub force_event: Option<String>,
}

/// The query of database deploys.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DatabaseDeployQuery {
    /// Accepted for compatibility; changes always apply at once.
    #[serde(rename = "applyImmediately", default)]
    #[param(value_type = Option<bool>)]
    pub apply_immediately: Option<String>,
}

/// No query parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoQuery {}

/// A page of a paginated list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[serde(rename = "pageSize", default)]
    #[param(value_type = Option<u32>)]
    pub page_size: Option<String>,
    /// Slipway: the page, from 1 (default 1).
    #[serde(default)]
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
}

/// What a deployment does (`trigger_action` without the Qovery-only values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeploymentActionEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DeploymentActionWire {
    Deploy,
    Stop,
    Restart,
    Delete,
}

/// Slipway: one service a deployment acts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentTargetResponse {
    /// The service.
    pub service_id: Uuid,
    /// The version asked for: `{"git_commit": sha}`, `{"image_tag": tag}` or
    /// `{"release": id}`; `null` for the service's configuration.
    #[schema(value_type = Option<Object>)]
    pub version: Option<VersionPin>,
}

/// Slipway: one service's progress in a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentStepResponse {
    pub service_id: Uuid,
    pub service_name: String,
    pub service_type: ServiceType,
    pub stage: String,
    /// PENDING, RUNNING, DONE, FAILED, ROLLED_BACK or SKIPPED.
    #[schema(value_type = String)]
    pub status: StepStatus,
    pub release_id: Option<Uuid>,
    pub previous_release_id: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl From<&ServiceStep> for DeploymentStepResponse {
    fn from(s: &ServiceStep) -> Self {
        DeploymentStepResponse {
            service_id: s.service_id,
            service_name: s.service_name.clone(),
            service_type: s.service_type,
            stage: s.stage.clone(),
            status: s.status,
            release_id: s.release_id,
            previous_release_id: s.previous_release_id,
            started_at: s.started_at,
            finished_at: s.finished_at,
            error: s.error.clone(),
        }
    }
}

/// Slipway: a deployment request with its progress (`GET /deployment/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    #[schema(value_type = DeploymentActionWire)]
    pub action: DeploymentAction,
    /// The services acted on; empty means every service of the environment.
    pub targets: Vec<DeploymentTargetResponse>,
    #[schema(value_type = EventOrigin)]
    pub origin: Origin,
    pub triggered_by: String,
    /// QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELED.
    #[schema(value_type = String)]
    pub status: DeploymentStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub steps: Vec<DeploymentStepResponse>,
    pub error: Option<String>,
    /// For deletes: whether the configuration goes too (a delete), or only
    /// what runs (an uninstall).
    pub remove_config: bool,
    /// Seconds from start to end (or to now, while running).
    pub duration_seconds: i64,
    /// How many times a worker took it over after the one running it stopped
    /// (a crashed or killed server).
    #[serde(default)]
    pub resumed: u32,
}

impl From<&Deployment> for DeploymentResponse {
    fn from(d: &Deployment) -> Self {
        DeploymentResponse {
            id: d.id,
            organization_id: d.organization_id,
            project_id: d.project_id,
            environment_id: d.environment_id,
            action: d.action,
            targets: d
                .targets
                .iter()
                .map(|t: &DeploymentTarget| DeploymentTargetResponse {
                    service_id: t.service_id,
                    version: t.version.clone(),
                })
                .collect(),
            origin: d.origin,
            triggered_by: d.triggered_by.clone(),
            status: d.status,
            created_at: d.created_at,
            started_at: d.started_at,
            finished_at: d.finished_at,
            steps: d.steps.iter().map(DeploymentStepResponse::from).collect(),
            error: d.error.clone(),
            remove_config: d.remove_config,
            duration_seconds: d.duration_seconds(),
            resumed: d.resumed,
        }
    }
}

/// Slipway: one release of a service (an immutable deploy: image and configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Release)]
#[allow(missing_docs)]
pub struct ReleaseResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The deployment that made it.
    pub deployment_id: Uuid,
    /// The image reference its instances run.
    pub image: String,
    /// The container engine's id of that image.
    pub image_id: String,
    #[serde(default)]
    pub digest: Option<String>,
    /// The image tag (containers, image jobs).
    #[serde(default)]
    pub tag: Option<String>,
    /// The commit it was built from (applications, git jobs).
    #[serde(default)]
    pub commit: Option<Commit>,
    /// Whether the service runs it now.
    pub is_current: bool,
}

impl ReleaseResponse {
    /// The response for `release`.
    pub fn new(release: &Release, is_current: bool) -> Self {
        ReleaseResponse {
            id: release.id,
            created_at: release.created_at,
            deployment_id: release.deployment_id,
            image: release.image.clone(),
            image_id: release.image_id.clone(),
            digest: release.digest.clone(),
            tag: release.tag.clone(),
            commit: Commit::of(release),
            is_current,
        }
    }
}
