use serde::{Deserialize, Serialize};

use super::common::GitRepository;
use crate::error::{Validation, ValidationError};
use crate::validate;
use uuid::Uuid;

/// A git source without a provider label (`HelmGitRepositoryRequest`,
/// `TerraformGitRepositoryRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmGitRepositoryRequest))]
pub struct GitSource {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_path: Option<String>,
    #[serde(default)]
    pub git_token_id: Option<Uuid>,
}

impl GitSource {
    /// Checks the URL, branch and root path.
    pub fn validate(&self) -> Validation {
        validate::git_url("url", &self.url)?;
        if let Some(branch) = &self.branch {
            validate::git_ref("branch", branch)?;
        }
        if let Some(root) = &self.root_path {
            validate::absolute_path("root_path", root)?;
        }
        Ok(())
    }
}

/// A chart from a Helm repository (`HelmRequestAllOfSourceOneOf1HelmRepository`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfSourceOneOf1HelmRepository))]
pub struct HelmRepositorySource {
    #[serde(default)]
    pub repository: Option<Uuid>,
    pub chart_name: String,
    pub chart_version: String,
}

/// Where the chart comes from: a git repository or a Helm repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfSource))]
pub struct HelmSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repository: Option<GitSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_repository: Option<HelmRepositorySource>,
}

/// Values files read from a git repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfValuesOverrideFileGit))]
pub struct ValuesFromGit {
    pub git_repository: GitRepository,
    pub paths: Vec<String>,
}

/// One inline values file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfValuesOverrideFileRawValues))]
pub struct RawValuesFile {
    pub name: String,
    pub content: String,
}

/// Inline values files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfValuesOverrideFileRaw))]
pub struct RawValues {
    #[serde(default)]
    pub values: Vec<RawValuesFile>,
}

/// Values files, from git or inline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfValuesOverrideFile))]
pub struct ValuesFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<ValuesFromGit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawValues>,
}

/// Overrides of the chart's values (`HelmRequestAllOfValuesOverride`): each
/// `set*` entry is a `[key, value]` pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequestAllOfValuesOverride))]
pub struct ValuesOverride {
    #[serde(default)]
    pub set: Vec<Vec<String>>,
    #[serde(default)]
    pub set_string: Vec<Vec<String>>,
    #[serde(default)]
    pub set_json: Vec<Vec<String>>,
    #[serde(default)]
    pub file: Option<ValuesFile>,
}

/// Transport of a Helm port (`HelmPortProtocolEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmPortProtocolEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum HelmPortProtocol {
    #[default]
    Http,
    Grpc,
}

/// A label selector (`KubernetesSelector`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(missing_docs)]
pub struct KubernetesSelector {
    pub key: String,
    pub value: String,
}

/// A port of a chart's Kubernetes service to expose (`HelmPortRequestPortsInner`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmPortRequestPortsInner))]
pub struct HelmPort {
    /// Generated when the request has none.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub name: Option<String>,
    pub internal_port: u32,
    #[serde(default)]
    pub external_port: Option<u32>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub protocol: HelmPortProtocol,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub service_selectors: Vec<KubernetesSelector>,
    #[serde(default)]
    pub service_name: Option<String>,
}

/// A Helm chart (`HelmRequest`). Deploying one needs a Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HelmRequest))]
pub struct HelmSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "timeout")]
    pub timeout_sec: u32,
    #[serde(default)]
    pub auto_preview: Option<bool>,
    pub auto_deploy: bool,
    pub source: HelmSource,
    pub arguments: Vec<String>,
    #[serde(default)]
    pub allow_cluster_wide_resources: bool,
    pub values_override: ValuesOverride,
    #[serde(default)]
    pub ports: Vec<HelmPort>,
    #[serde(default = "icon")]
    pub icon_uri: String,
}

fn timeout() -> u32 {
    600
}
fn icon() -> String {
    "app://qovery-console/helm".to_owned()
}

impl HelmSpec {
    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        validate::range("timeout_sec", self.timeout_sec, 1, 24 * 3600)?;
        match (&self.source.git_repository, &self.source.helm_repository) {
            (Some(git), None) => git.validate().map_err(|e| e.within("source.git_repository"))?,
            (None, Some(_)) => {
                return Err(ValidationError::new(
                    "source.helm_repository",
                    "is not supported yet: Slipway has no Helm repository registry; use a `git_repository` source",
                ));
            }
            _ => {
                return Err(ValidationError::new(
                    "source",
                    "must set exactly one of `git_repository` or `helm_repository`",
                ));
            }
        }
        validate::each("arguments", &self.arguments, |a| validate::token("", a))?;
        let v = &self.values_override;
        for (field, pairs) in [("set", &v.set), ("set_string", &v.set_string), ("set_json", &v.set_json)] {
            validate::each(&format!("values_override.{field}"), pairs, |pair| {
                if pair.len() != 2 || pair[0].is_empty() {
                    return Err(ValidationError::new("", "must be a [key, value] pair"));
                }
                if field == "set_json" && serde_json::from_str::<serde_json::Value>(&pair[1]).is_err() {
                    return Err(ValidationError::new("[1]", "must be valid JSON"));
                }
                Ok(())
            })?;
        }
        if let Some(file) = &v.file {
            if let Some(git) = &file.git {
                git.git_repository.validate().map_err(|e| e.within("values_override.file.git.git_repository"))?;
                validate::each("values_override.file.git.paths", &git.paths, |p| validate::relative_safe("", p))?;
            }
            if let Some(raw) = &file.raw {
                validate::each("values_override.file.raw.values", &raw.values, |f| validate::token("name", &f.name))?;
            }
        }
        for port in &mut self.ports {
            port.id.get_or_insert_with(crate::new_id);
        }
        validate::each("ports", &self.ports, |p| {
            validate::port("internal_port", p.internal_port)?;
            if let Some(e) = p.external_port {
                validate::port("external_port", e)?;
            }
            if p.service_name.is_none() && p.service_selectors.is_empty() {
                return Err(ValidationError::new("", "must set `service_name` or `service_selectors`"));
            }
            Ok(())
        })
    }
}
