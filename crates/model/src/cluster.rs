use serde::{Deserialize, Serialize};

use crate::error::{Validation, ValidationError};
use crate::{Timestamp, validate};
use uuid::Uuid;

/// Cloud vendors named by the contract. Local and self-managed clusters are `ON_PREMISE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CloudVendorEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum CloudProvider {
    Aws,
    Scw,
    Gcp,
    Do,
    Azure,
    Ovh,
    Civo,
    Hetzner,
    Oracle,
    Ibm,
    #[default]
    OnPremise,
}

/// Who manages the cluster's control plane (`KubernetesEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = KubernetesEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum KubernetesMode {
    Managed,
    #[default]
    SelfManaged,
    PartiallyManaged,
}

/// What a user declares about a cluster (`ClusterRequest`, plus Slipway's
/// `engine_endpoint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClusterRequest))]
pub struct ClusterSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form region label; `local` for a cluster on this host.
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub cloud_provider: CloudProvider,
    #[serde(default)]
    pub kubernetes: KubernetesMode,
    #[serde(default)]
    pub production: bool,
    /// Slipway: the container engine API this cluster runs on
    /// (`unix:///run/podman/podman.sock`, `tcp://10.0.0.5:2375`). `None`
    /// means the engine found on the Slipway host.
    #[serde(default)]
    pub engine_endpoint: Option<String>,
    /// Slipway: the organization's container registry that images built for
    /// this cluster are pushed to. `None` keeps them on the engine only.
    #[serde(default)]
    pub registry_id: Option<Uuid>,
}

fn default_region() -> String {
    "local".to_owned()
}

impl ClusterSpec {
    /// Checks every field.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        validate::token("region", &self.region)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        if let Some(endpoint) = &self.engine_endpoint {
            let scheme = endpoint.split_once("://").map(|(s, _)| s);
            if !matches!(scheme, Some("unix" | "tcp" | "http" | "https")) || endpoint.ends_with("://") {
                return Err(ValidationError::new(
                    "engine_endpoint",
                    format!("must be a unix://, tcp://, http:// or https:// endpoint, got `{endpoint}`"),
                ));
            }
        }
        Ok(())
    }
}

/// A cluster: where an environment's services run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// The cluster new environments land on when they name none.
    pub is_default: bool,
    pub spec: ClusterSpec,
}

impl Cluster {
    /// The local cluster every organization starts with: the container
    /// engine of the Slipway host.
    pub fn local_default(organization_id: Uuid) -> Self {
        Self {
            id: crate::new_id(),
            organization_id,
            created_at: crate::now(),
            updated_at: None,
            is_default: true,
            spec: ClusterSpec {
                name: "local".to_owned(),
                description: Some("The container engine of the Slipway host".to_owned()),
                region: default_region(),
                cloud_provider: CloudProvider::OnPremise,
                kubernetes: KubernetesMode::SelfManaged,
                production: false,
                engine_endpoint: None,
                registry_id: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_endpoints_need_a_known_scheme() {
        let mut spec = Cluster::local_default(crate::new_id()).spec;
        assert!(spec.validate().is_ok());
        spec.engine_endpoint = Some("unix:///run/podman/podman.sock".into());
        assert!(spec.validate().is_ok());
        spec.engine_endpoint = Some("/run/podman/podman.sock".into());
        assert_eq!(spec.validate().unwrap_err().field, "engine_endpoint");
    }

    #[test]
    fn request_defaults_to_an_on_premise_self_managed_cluster() {
        let spec: ClusterSpec = serde_json::from_str(r#"{"name":"edge"}"#).unwrap();
        assert_eq!(spec.cloud_provider, CloudProvider::OnPremise);
        assert_eq!(spec.kubernetes, KubernetesMode::SelfManaged);
        assert_eq!(spec.region, "local");
    }
}
