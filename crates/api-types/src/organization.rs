use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::{
    ApiToken, CloudProvider, Cluster, ContainerRegistry, KubernetesMode, Organization, Plan, RegistryKind, Role,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ReferenceObject;

/// An organization (`Organization`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Organization)]
#[allow(missing_docs)]
pub struct OrganizationResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub plan: Plan,
    #[serde(default)]
    pub website_url: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub admin_emails: Option<Vec<String>>,
}

impl From<&Organization> for OrganizationResponse {
    fn from(o: &Organization) -> Self {
        let s = &o.spec;
        OrganizationResponse {
            id: o.id,
            created_at: o.created_at,
            updated_at: o.updated_at,
            name: s.name.clone(),
            description: s.description.clone(),
            plan: o.plan,
            website_url: s.website_url.clone(),
            repository: s.repository.clone(),
            logo_url: s.logo_url.clone(),
            icon_url: s.icon_url.clone(),
            admin_emails: s.admin_emails.clone(),
        }
    }
}

/// Who is calling (`AccountInfo`). With an API token, the token is the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct AccountInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub nickname: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub communication_email: Option<String>,
}

/// A cluster (`Cluster`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Cluster)]
#[allow(missing_docs)]
pub struct ClusterResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub organization: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub region: String,
    pub cloud_provider: CloudProvider,
    pub kubernetes: KubernetesMode,
    pub status: ClusterState,
    pub is_default: bool,
    pub production: bool,
    pub has_access: bool,
    /// Slipway: the container engine endpoint, `null` for the host's own.
    #[serde(default)]
    pub engine_endpoint: Option<String>,
    /// Slipway: the registry built images are pushed to, `null` for none.
    #[serde(default)]
    pub registry_id: Option<Uuid>,
}

impl From<&Cluster> for ClusterResponse {
    fn from(c: &Cluster) -> Self {
        ClusterResponse {
            id: c.id,
            created_at: c.created_at,
            updated_at: c.updated_at,
            organization: c.organization_id.into(),
            name: c.spec.name.clone(),
            description: c.spec.description.clone(),
            region: c.spec.region.clone(),
            cloud_provider: c.spec.cloud_provider,
            kubernetes: c.spec.kubernetes,
            status: ClusterState::Deployed,
            is_default: c.is_default,
            production: c.spec.production,
            has_access: true,
            engine_endpoint: c.spec.engine_endpoint.clone(),
            registry_id: c.spec.registry_id,
        }
    }
}

/// The state of a cluster (`ClusterStateEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClusterStateEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ClusterState {
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
    DryRun,
    Queued,
    Ready,
    Stopped,
    Stopping,
    StopError,
    StopQueued,
    RestartQueued,
    Restarting,
    Restarted,
    RestartError,
    InvalidCredentials,
}

/// Why a cluster was last deployed (`DeploymentInfraReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeploymentInfraReason)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum InfraReason {
    Unspecified,
    Maintenance,
}

/// The status of a cluster (`ClusterStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ClusterStatus {
    pub cluster_id: Uuid,
    pub status: ClusterState,
    pub is_deployed: bool,
    pub reason: InfraReason,
    #[serde(default)]
    pub last_deployment_date: Option<DateTime<Utc>>,
}

impl From<&Cluster> for ClusterStatus {
    fn from(c: &Cluster) -> Self {
        ClusterStatus {
            cluster_id: c.id,
            status: ClusterState::Deployed,
            is_deployed: true,
            reason: InfraReason::Unspecified,
            last_deployment_date: None,
        }
    }
}

/// The non-secret settings of a registry (`ContainerRegistryResponseAllOfConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct RegistryConfigResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A container registry (`ContainerRegistryResponse`). Secrets are never returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ContainerRegistryResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    pub kind: RegistryKind,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub associated_services_count: u64,
    pub config: RegistryConfigResponse,
}

impl ContainerRegistryResponse {
    /// The response for a registry that `services` services pull from.
    pub fn new(r: &ContainerRegistry, services: u64) -> Self {
        let c = &r.spec.config;
        ContainerRegistryResponse {
            id: r.id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            name: r.spec.name.clone(),
            kind: r.spec.kind,
            description: r.spec.description.clone(),
            url: r.spec.url.clone(),
            associated_services_count: services,
            config: RegistryConfigResponse {
                username: c.username.clone(),
                region: c.region.clone(),
                access_key_id: c.access_key_id.clone(),
                project_id: c.project_id.clone(),
                role_arn: c.role_arn.clone(),
            },
        }
    }
}

/// A registry as embedded in container and job responses
/// (`ContainerRegistryProviderDetailsResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ContainerRegistryProviderDetailsResponse)]
#[allow(missing_docs)]
pub struct RegistryDetails {
    pub id: Uuid,
    pub name: String,
    /// Empty for Slipway's `local` registry (images on the engine itself).
    pub url: String,
    pub kind: RegistryKind,
}

impl From<&ContainerRegistry> for RegistryDetails {
    fn from(r: &ContainerRegistry) -> Self {
        RegistryDetails {
            id: r.id,
            name: r.spec.name.clone(),
            url: r.spec.url.clone().unwrap_or_default(),
            kind: r.spec.kind,
        }
    }
}

/// The scope of an API token (`OrganizationApiTokenScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = OrganizationApiTokenScope)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum TokenScope {
    Admin,
}

/// A request for a new API token (`OrganizationApiTokenCreateRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct OrganizationApiTokenCreateRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub scope: Option<TokenScope>,
    /// One of the ids of `GET /organization/{id}/availableRole`; `null` means ADMIN.
    #[serde(default)]
    pub role_id: Option<Uuid>,
}

/// An API token, without its secret (`OrganizationApiToken`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct OrganizationApiToken {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub role_name: String,
    pub role_id: Uuid,
    /// Slipway: when the token was last used.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for OrganizationApiToken {
    fn from(t: &ApiToken) -> Self {
        OrganizationApiToken {
            id: t.id,
            created_at: t.created_at,
            name: t.name.clone(),
            description: t.description.clone(),
            role_name: t.role.as_str().to_owned(),
            role_id: t.role.id(),
            last_used_at: t.last_used_at,
        }
    }
}

/// A new API token with its secret, shown this once (`OrganizationApiTokenCreate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct OrganizationApiTokenCreate {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The secret, to send as `Authorization: Token <token>`. Not retrievable later.
    pub token: String,
    pub role_name: String,
    pub role_id: Uuid,
}

/// A role an API token or member can hold (`OrganizationAvailableRole`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct AvailableRole {
    pub id: Uuid,
    pub name: String,
}

impl From<Role> for AvailableRole {
    fn from(r: Role) -> Self {
        AvailableRole { id: r.id(), name: r.as_str().to_owned() }
    }
}
