use serde::{Deserialize, Serialize};

use super::common::{
    CpuArchitecture, Healthcheck, Port, Storage, defaults, prepare_ports, prepare_storage, refuse_unsupported,
    validate_command, validate_instances, validate_resources,
};
use crate::error::Validation;
use crate::validate;
use uuid::Uuid;

/// A container: runs an image from a registry (`ContainerRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContainerRequest))]
pub struct ContainerSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The organization's container registry the image comes from.
    pub registry_id: Uuid,
    pub image_name: String,
    pub tag: String,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default)]
    pub entrypoint: Option<String>,
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
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    #[serde(default = "defaults::one")]
    pub min_running_instances: u32,
    /// -1 means no upper bound.
    #[serde(default = "defaults::max_instances")]
    pub max_running_instances: i32,
    #[serde(default)]
    pub healthchecks: Healthcheck,
    #[serde(default)]
    pub auto_preview: bool,
    /// Redeploy when the tag moves; `true` when absent.
    #[serde(default)]
    pub auto_deploy: Option<bool>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub storage: Vec<Storage>,
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
    "app://qovery-console/container".to_owned()
}

impl ContainerSpec {
    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        validate::image_name("image_name", &self.image_name)?;
        validate::image_tag("tag", &self.tag)?;
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
