use serde::{Deserialize, Serialize};

use crate::error::Validation;
use crate::{Timestamp, validate};
use uuid::Uuid;

/// Registry kinds named by the contract (`ContainerRegistryKindEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContainerRegistryKindEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum RegistryKind {
    Ecr,
    ScalewayCr,
    DockerHub,
    GithubCr,
    GithubEnterpriseCr,
    GitlabCr,
    PublicEcr,
    Docr,
    GenericCr,
    GcpArtifactRegistry,
    AzureCr,
}

/// Credentials and settings of a registry (`ContainerRegistryRequestConfig`).
/// The secret fields are write-only: responses never carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContainerRegistryRequestConfig))]
#[allow(missing_docs)]
pub struct RegistryConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway_access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway_secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway_project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_subscription_id: Option<String>,
}

impl RegistryConfig {
    /// The write-only fields: what the server seals before storing them.
    pub fn secrets_mut(&mut self) -> [&mut Option<String>; 4] {
        [&mut self.secret_access_key, &mut self.scaleway_secret_key, &mut self.json_credentials, &mut self.password]
    }
}

/// What a user declares about a registry (`ContainerRegistryRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContainerRegistryRequest))]
pub struct RegistrySpec {
    pub name: String,
    pub kind: RegistryKind,
    #[serde(default)]
    pub description: Option<String>,
    /// Base URL of the registry (`https://registry.example.com`). Slipway's
    /// built-in `local` registry has none: it names images already present
    /// on the cluster's container engine.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub config: RegistryConfig,
}

impl RegistrySpec {
    /// Checks every field.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        if let Some(url) = &self.url {
            validate::http_url("url", url)?;
        }
        Ok(())
    }
}

/// A container registry that container services and jobs pull images from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRegistry {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub spec: RegistrySpec,
}

impl ContainerRegistry {
    /// The registry every organization starts with: images already present
    /// on the cluster's container engine, which need no pull.
    pub fn local_default(organization_id: Uuid) -> Self {
        Self {
            id: crate::new_id(),
            organization_id,
            created_at: crate::now(),
            updated_at: None,
            spec: RegistrySpec {
                name: "local".to_owned(),
                kind: RegistryKind::GenericCr,
                description: Some("Images already present on the cluster's container engine".to_owned()),
                url: None,
                config: RegistryConfig::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_url_must_be_http() {
        let mut spec = ContainerRegistry::local_default(crate::new_id()).spec;
        assert!(spec.validate().is_ok());
        spec.url = Some("registry.local".into());
        assert_eq!(spec.validate().unwrap_err().field, "url");
        spec.url = Some("http://127.0.0.1:5000".into());
        assert!(spec.validate().is_ok());
    }
}
