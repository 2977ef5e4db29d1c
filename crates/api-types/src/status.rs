use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::deployment::Origin;
use slipway_model::{ActionStatus, DeploymentState, ServiceAction, ServiceDeploymentStatus, SubAction};
use utoipa::ToSchema;
use uuid::Uuid;

/// The last action on a service and how it went (`StatusDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct StatusDetails {
    pub action: ServiceAction,
    pub status: ActionStatus,
    pub sub_action: SubAction,
}

impl StatusDetails {
    /// Nothing was ever done.
    pub fn never() -> Self {
        StatusDetails { action: ServiceAction::Unknown, status: ActionStatus::Never, sub_action: SubAction::None }
    }
}

/// The status of one service (`Status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Status {
    pub id: Uuid,
    pub state: DeploymentState,
    pub service_deployment_status: ServiceDeploymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployment_date: Option<DateTime<Utc>>,
    pub is_part_last_deployment: bool,
    pub status_details: StatusDetails,
    /// Required and nullable: `null` when no deployment is queued or running.
    #[schema(required = true)]
    pub deployment_request_id: Option<Uuid>,
    pub deployment_requests_count: u32,
    /// Slipway: why the service is unhealthy or why its last action failed
    /// (a crash loop with the last lines it printed, a failed build...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Status {
    /// The status of a service that was never deployed.
    pub fn never_deployed(id: Uuid) -> Self {
        Status {
            id,
            state: DeploymentState::Ready,
            service_deployment_status: ServiceDeploymentStatus::NeverDeployed,
            last_deployment_date: None,
            is_part_last_deployment: false,
            status_details: StatusDetails::never(),
            deployment_request_id: None,
            deployment_requests_count: 0,
            message: None,
        }
    }
}

/// Who or what asked for a deployment (`OrganizationEventOrigin`, also
/// `EnvironmentStatusEventOriginEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = OrganizationEventOrigin)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EventOrigin {
    Api,
    Cli,
    Console,
    Git,
    QoveryInternal,
    Skill,
    TerraformProvider,
}

impl From<Origin> for EventOrigin {
    fn from(o: Origin) -> Self {
        match o {
            Origin::Api => EventOrigin::Api,
            Origin::Cli => EventOrigin::Cli,
            Origin::Console => EventOrigin::Console,
            Origin::Git => EventOrigin::Git,
            Origin::QoveryInternal => EventOrigin::QoveryInternal,
        }
    }
}

/// Whether what runs in an environment matches its configuration
/// (`EnvironmentDeploymentStatusEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = EnvironmentDeploymentStatusEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EnvironmentDeploymentStatus {
    NeverDeployed,
    UpToDate,
    OutOfDate,
}

impl From<ServiceDeploymentStatus> for EnvironmentDeploymentStatus {
    fn from(s: ServiceDeploymentStatus) -> Self {
        match s {
            ServiceDeploymentStatus::NeverDeployed => EnvironmentDeploymentStatus::NeverDeployed,
            ServiceDeploymentStatus::UpToDate => EnvironmentDeploymentStatus::UpToDate,
            ServiceDeploymentStatus::OutOfDate => EnvironmentDeploymentStatus::OutOfDate,
        }
    }
}

/// The status of an environment (`EnvironmentStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentStatus {
    pub id: Uuid,
    pub state: DeploymentState,
    pub last_deployment_state: DeploymentState,
    #[serde(default)]
    pub last_deployment_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_deployment_id: Option<Uuid>,
    #[serde(default)]
    pub total_deployment_duration_in_seconds: Option<i64>,
    #[serde(default)]
    pub origin: Option<EventOrigin>,
    #[serde(default)]
    pub triggered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_status: Option<EnvironmentDeploymentStatus>,
    #[serde(default)]
    pub deployment_request_id: Option<Uuid>,
}

impl EnvironmentStatus {
    /// The status of an environment that was never deployed.
    pub fn never_deployed(id: Uuid) -> Self {
        EnvironmentStatus {
            id,
            state: DeploymentState::Ready,
            last_deployment_state: DeploymentState::Ready,
            last_deployment_date: None,
            last_deployment_id: None,
            total_deployment_duration_in_seconds: None,
            origin: None,
            triggered_by: None,
            deployment_status: Some(EnvironmentDeploymentStatus::NeverDeployed),
            deployment_request_id: None,
        }
    }
}

/// The statuses of an environment and all its services (`EnvironmentStatuses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentStatuses {
    pub environment: EnvironmentStatus,
    pub applications: Vec<Status>,
    pub containers: Vec<Status>,
    pub jobs: Vec<Status>,
    pub databases: Vec<Status>,
    pub helms: Vec<Status>,
    pub terraforms: Vec<Status>,
}

/// A deployment stage as statuses show it (`Stage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Stage {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::StageStatus>,
}

/// One stage and the statuses of its services (`DeploymentStageWithServicesStatuses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentStageWithServicesStatuses {
    pub stage: Stage,
    pub applications: Vec<Status>,
    pub containers: Vec<Status>,
    pub jobs: Vec<Status>,
    pub databases: Vec<Status>,
    pub helms: Vec<Status>,
    pub terraforms: Vec<Status>,
}

/// The environment's status and its services' statuses, stage by stage
/// (`EnvironmentStatusesWithStages`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentStatusesWithStages {
    pub environment: EnvironmentStatus,
    pub stages: Vec<DeploymentStageWithServicesStatuses>,
}
