use serde::{Deserialize, Serialize};

use super::common::{
    CpuArchitecture, GitRepository, Healthcheck, Port, Storage, defaults, prepare_ports, prepare_storage,
    refuse_unsupported, validate_command, validate_instances, validate_resources,
};
use crate::error::Validation;
use crate::validate;

/// How an application is built (`BuildModeEnum`): from its Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BuildModeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum BuildMode {
    #[default]
    Docker,
}

/// An application: built from a git repository with a Dockerfile, then run
/// like a container (`ApplicationRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApplicationRequest))]
pub struct ApplicationSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub git_repository: GitRepository,
    #[serde(default)]
    pub build_mode: BuildMode,
    /// Path of the Dockerfile, relative to `root_path`; `Dockerfile` when absent.
    #[serde(default)]
    pub dockerfile_path: Option<String>,
    #[serde(default)]
    pub docker_target_build_stage: Option<String>,
    /// CPU in millicores.
    #[serde(default = "defaults::cpu")]
    pub cpu: u32,
    /// Memory in MiB.
    #[serde(default = "defaults::memory")]
    pub memory: u32,
    #[serde(default)]
    pub gpu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_in_gib: Option<u32>,
    #[serde(default = "defaults::one")]
    pub min_running_instances: u32,
    /// -1 means no upper bound.
    #[serde(default = "defaults::max_instances")]
    pub max_running_instances: i32,
    #[serde(default)]
    pub healthchecks: Healthcheck,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub storage: Vec<Storage>,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default)]
    pub entrypoint: Option<String>,
    /// Deploy on every push to the branch; `true` when absent.
    #[serde(default)]
    pub auto_deploy: Option<bool>,
    #[serde(default)]
    pub auto_preview: bool,
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    #[serde(default = "icon")]
    pub icon_uri: String,
    #[serde(default)]
    pub annotations_groups: Vec<serde_json::Value>,
    #[serde(default)]
    pub labels_groups: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<serde_json::Value>,
}

fn icon() -> String {
    "app://qovery-console/application".to_owned()
}

impl ApplicationSpec {
    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        self.git_repository.validate().map_err(|e| e.within("git_repository"))?;
        if let Some(path) = self.dockerfile_path.as_deref().filter(|p| !p.is_empty()) {
            validate::relative_safe("dockerfile_path", path)?;
        }
        if let Some(stage) = &self.docker_target_build_stage {
            validate::token("docker_target_build_stage", stage)?;
        }
        validate_resources(self.cpu, self.memory, self.gpu)?;
        validate_instances(self.min_running_instances, self.max_running_instances)?;
        prepare_ports(&mut self.ports)?;
        prepare_storage(&mut self.storage)?;
        let ports: Vec<u32> = self.ports.iter().map(|p| p.internal_port).collect();
        self.healthchecks.validate(&ports).map_err(|e| e.within("healthchecks"))?;
        validate_command(&self.arguments, self.entrypoint.as_deref())?;
        refuse_unsupported(&self.annotations_groups, &self.labels_groups, self.autoscaling.is_some())
    }
}
