use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::helm::GitSource;
use crate::error::{Validation, ValidationError};
use crate::validate;

/// What a push does (`TerraformAutoDeployConfigTerraformActionEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformAutoDeployConfigTerraformActionEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum TerraformAction {
    #[default]
    Default,
    Plan,
    Noop,
}

/// Auto-deploy settings (`TerraformAutoDeployConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerraformAutoDeployConfig {
    pub auto_deploy: bool,
    pub terraform_action: TerraformAction,
}

/// Where the Terraform files are (`TerraformRequestTerraformFilesSourceOneOf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformRequestTerraformFilesSource))]
pub struct TerraformFilesSource {
    pub git_repository: GitSource,
}

/// One input variable (`TerraformVarKeyValue`). Secret values are never
/// returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerraformVarKeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub secret: bool,
}

/// Input variables: files in the repository and inline values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformVariablesSourceRequest))]
pub struct TerraformVariablesSource {
    #[serde(default)]
    pub tf_var_file_paths: Vec<String>,
    #[serde(default)]
    pub tf_vars: Vec<TerraformVarKeyValue>,
}

/// A blueprint backend (`TerraformBackendBlueprint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerraformBackendBlueprint {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Where the state lives (`TerraformBackend`). Slipway keeps the state itself
/// for `kubernetes` (the default backend) and leaves `user_provided` to the
/// files' own backend block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum TerraformBackend {
    Kubernetes {},
    UserProvided {},
    Blueprint(TerraformBackendBlueprint),
}

/// Which CLI runs the files (`TerraformEngineEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformEngineEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum TerraformEngine {
    Terraform,
    OpenTofu,
}

/// The CLI version to use (`TerraformProviderVersion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerraformProviderVersion {
    #[serde(default)]
    pub read_from_terraform_block: Option<bool>,
    pub explicit_version: String,
}

/// Resources of the runner (`TerraformRequestJobResources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformRequestJobResources))]
#[allow(missing_docs)]
pub struct TerraformJobResources {
    pub cpu_milli: u32,
    pub ram_mib: u32,
    pub gpu: u32,
    pub storage_gib: u32,
}

/// A Terraform service (`TerraformRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TerraformRequest))]
pub struct TerraformSpec {
    pub name: String,
    pub description: String,
    pub auto_deploy_config: TerraformAutoDeployConfig,
    pub terraform_files_source: TerraformFilesSource,
    pub terraform_variables_source: TerraformVariablesSource,
    pub backend: TerraformBackend,
    pub engine: TerraformEngine,
    pub provider_version: TerraformProviderVersion,
    #[serde(default = "timeout")]
    pub timeout_sec: u32,
    #[serde(default = "icon")]
    pub icon_uri: String,
    pub job_resources: TerraformJobResources,
    #[serde(default)]
    pub use_cluster_credentials: bool,
    /// Extra CLI arguments per action (`plan`, `apply`, `destroy`).
    #[serde(default)]
    pub action_extra_arguments: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile_fragment: Option<serde_json::Value>,
}

fn timeout() -> u32 {
    1800
}
fn icon() -> String {
    "app://qovery-console/terraform".to_owned()
}

impl TerraformSpec {
    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        validate::text("description", &self.description, 1024)?;
        let git = &self.terraform_files_source.git_repository;
        git.validate().map_err(|e| e.within("terraform_files_source.git_repository"))?;
        if git.root_path.is_none() {
            return Err(ValidationError::new(
                "terraform_files_source.git_repository.root_path",
                "is required: the directory of the repository that holds the Terraform files (`/` for the root)",
            ));
        }
        let vars = &self.terraform_variables_source;
        validate::each("terraform_variables_source.tf_var_file_paths", &vars.tf_var_file_paths, |p| {
            validate::relative_safe("", p)
        })?;
        validate::each("terraform_variables_source.tf_vars", &vars.tf_vars, |v| {
            let ok = v.key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && v.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if ok { Ok(()) } else { Err(ValidationError::new("key", "must be a Terraform variable name")) }
        })?;
        if self.engine == TerraformEngine::OpenTofu {
            return Err(ValidationError::new("engine", "OPEN_TOFU is not supported yet; use TERRAFORM"));
        }
        validate::token("provider_version.explicit_version", &self.provider_version.explicit_version)?;
        validate::range("timeout_sec", self.timeout_sec, 1, 24 * 3600)?;
        let r = &self.job_resources;
        validate::range("job_resources.cpu_milli", r.cpu_milli, 10, 256_000)?;
        validate::range("job_resources.ram_mib", r.ram_mib, 16, 1024 * 1024)?;
        for action in self.action_extra_arguments.keys() {
            if !matches!(action.as_str(), "plan" | "apply" | "destroy") {
                return Err(ValidationError::new(
                    format!("action_extra_arguments.{action}"),
                    "must be one of `plan`, `apply` or `destroy`",
                ));
            }
        }
        Ok(())
    }
}
