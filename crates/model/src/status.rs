//! The states of environments and services, with the contract's names.

use serde::{Deserialize, Serialize};

/// The state of an environment or a service (`StateEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = StateEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DeploymentState {
    Building,
    BuildError,
    Canceled,
    Canceling,
    Deleted,
    DeleteError,
    DeleteQueued,
    Deleting,
    Deployed,
    Deploying,
    DeploymentError,
    DeploymentQueued,
    Executing,
    Queued,
    /// Created and never deployed, or uninstalled: nothing runs.
    Ready,
    Recap,
    Restarted,
    Restarting,
    RestartError,
    RestartQueued,
    Stopped,
    Stopping,
    StopError,
    StopQueued,
    Unavailable,
    WaitingDeleting,
    WaitingRestarting,
    WaitingRunning,
    WaitingStopping,
}

/// Whether what runs matches what is configured (`ServiceDeploymentStatusEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceDeploymentStatusEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ServiceDeploymentStatus {
    NeverDeployed,
    OutOfDate,
    UpToDate,
}

/// The last action taken on a service (`ServiceActionEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceActionEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ServiceAction {
    Deploy,
    Delete,
    Restart,
    Stop,
    Unknown,
}

/// Progress of that action (`ServiceActionStatusEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceActionStatusEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ActionStatus {
    Queued,
    Ongoing,
    Success,
    Error,
    Executing,
    Canceled,
    Canceling,
    Never,
}

/// A refinement of the action for Terraform services (`ServiceSubActionEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceSubActionEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum SubAction {
    None,
    TerraformPlanOnly,
    TerraformPlanAndApply,
    TerraformDestroy,
    TerraformForceUnlockState,
    TerraformMigrateState,
}
