//! Deployment stages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::ServiceType;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ReferenceObject;

/// Create or edit a stage (`DeploymentStageRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentStageRequest {
    /// Unique within the environment.
    pub name: String,
    /// What the stage is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// Attach a service to a stage (`AttachServiceToDeploymentStageRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttachServiceToDeploymentStageRequest {
    /// Environment deployments leave skipped services alone.
    #[serde(default)]
    pub is_skipped: Option<bool>,
}

/// A service in a stage (`DeploymentStageServiceResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentStageServiceResponse {
    /// The service's id (Slipway has no separate attachment id).
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub service_id: Uuid,
    pub service_type: ServiceType,
    pub is_skipped: bool,
}

/// A deployment stage and the services it deploys (`DeploymentStageResponse`):
/// those attached to it, and those of its kind attached nowhere when it is
/// the kind's default stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentStageResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Position among the environment's stages, from 0.
    pub deployment_order: u32,
    pub services: Vec<DeploymentStageServiceResponse>,
}
