use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::{CloudProvider, Cluster, Environment, EnvironmentMode, Project};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ReferenceObject;

/// A request to create or edit a project (`ProjectRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ProjectRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A project (`Project`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Project)]
#[allow(missing_docs)]
pub struct ProjectResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub associated_environments_count: u64,
    pub organization: ReferenceObject,
}

impl ProjectResponse {
    /// The response for a project with `environments` environments.
    pub fn new(p: &Project, environments: u64) -> Self {
        ProjectResponse {
            id: p.id,
            created_at: p.created_at,
            updated_at: p.updated_at,
            name: p.name.clone(),
            description: p.description.clone(),
            associated_environments_count: environments,
            organization: p.organization_id.into(),
        }
    }
}

/// The modes a user may choose (`CreateEnvironmentModeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CreateEnvironmentModeEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum CreateEnvironmentMode {
    Development,
    Production,
    Staging,
}

impl From<CreateEnvironmentMode> for EnvironmentMode {
    fn from(m: CreateEnvironmentMode) -> Self {
        match m {
            CreateEnvironmentMode::Development => EnvironmentMode::Development,
            CreateEnvironmentMode::Production => EnvironmentMode::Production,
            CreateEnvironmentMode::Staging => EnvironmentMode::Staging,
        }
    }
}

/// A request to create an environment (`CreateEnvironmentRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct CreateEnvironmentRequest {
    pub name: String,
    /// The cluster to run on; the organization's default cluster when absent.
    #[serde(default)]
    pub cluster: Option<Uuid>,
    #[serde(default)]
    pub mode: Option<CreateEnvironmentMode>,
}

/// A request to edit an environment (`EnvironmentEditRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentEditRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mode: Option<CreateEnvironmentMode>,
}

/// Where an environment runs (`EnvironmentAllOfCloudProvider`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentCloudProvider {
    pub provider: CloudProvider,
    /// The cluster's name.
    pub cluster: String,
}

/// An environment (`Environment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Environment)]
#[allow(missing_docs)]
pub struct EnvironmentResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    pub organization: ReferenceObject,
    pub project: ReferenceObject,
    pub cloud_provider: EnvironmentCloudProvider,
    pub mode: EnvironmentMode,
    pub cluster_id: Uuid,
    pub cluster_name: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl EnvironmentResponse {
    /// The response for an environment running on `cluster`.
    pub fn new(e: &Environment, cluster: &Cluster) -> Self {
        EnvironmentResponse {
            id: e.id,
            created_at: e.created_at,
            updated_at: e.updated_at,
            name: e.name.clone(),
            organization: e.organization_id.into(),
            project: e.project_id.into(),
            cloud_provider: EnvironmentCloudProvider {
                provider: cluster.spec.cloud_provider,
                cluster: cluster.spec.name.clone(),
            },
            mode: e.mode,
            cluster_id: cluster.id,
            cluster_name: cluster.spec.name.clone(),
            expires_at: None,
        }
    }
}
