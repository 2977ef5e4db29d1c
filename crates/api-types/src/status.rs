use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    /// Required and nullable: `null` when no deployment is queued.
    pub deployment_request_id: Option<Uuid>,
    pub deployment_requests_count: u32,
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
            status_details: StatusDetails {
                action: ServiceAction::Unknown,
                status: ActionStatus::Never,
                sub_action: SubAction::None,
            },
            deployment_request_id: None,
            deployment_requests_count: 0,
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
