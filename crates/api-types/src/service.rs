//! Service responses, one per kind, and the union `/services` returns.

use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_model::service::application::BuildMode;
use slipway_model::service::common::{CpuArchitecture, GitProvider, GitRepository, Healthcheck, Port, Storage};
use slipway_model::service::database::{DatabaseAccessibility, DatabaseMode, DatabaseType};
use slipway_model::service::helm::{GitSource, HelmPortProtocol, KubernetesSelector, RawValuesFile};
use slipway_model::service::job::{JobSchedule, JobType};
use slipway_model::service::terraform::{
    TerraformAutoDeployConfig, TerraformBackend, TerraformEngine, TerraformJobResources, TerraformProviderVersion,
    TerraformVarKeyValue,
};
use slipway_model::service::{ApplicationSpec, ContainerSpec, DatabaseSpec, HelmSpec, JobSpec, TerraformSpec};
use slipway_model::{ContainerRegistry, Service, ServiceSpec, ServiceType, validate};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{ReferenceObject, RegistryDetails};

/// What the cluster can give one service: the bounds shown as
/// `maximum_cpu` (millicores) and `maximum_memory` (MiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Millicores.
    pub cpu: u32,
    /// MiB.
    pub memory: u32,
}

/// A git repository as responses show it (`ApplicationGitRepository`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ApplicationGitRepository {
    pub has_access: bool,
    pub provider: GitProvider,
    pub owner: String,
    pub url: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub root_path: String,
    #[serde(default)]
    pub git_token_id: Option<Uuid>,
    #[serde(default)]
    pub git_token_name: Option<String>,
}

impl ApplicationGitRepository {
    fn new(url: &str, branch: Option<&String>, root_path: &str, provider: GitProvider, token: Option<Uuid>) -> Self {
        let (owner, name) = validate::git_owner_and_name(url);
        ApplicationGitRepository {
            has_access: true,
            provider,
            owner,
            url: url.to_owned(),
            name,
            branch: branch.cloned(),
            root_path: root_path.to_owned(),
            git_token_id: token,
            git_token_name: None,
        }
    }
}

impl From<&GitRepository> for ApplicationGitRepository {
    fn from(g: &GitRepository) -> Self {
        Self::new(&g.url, g.branch.as_ref(), &g.root_path, g.provider, g.git_token_id)
    }
}

impl From<&GitSource> for ApplicationGitRepository {
    /// Sources without a provider label get one guessed from the host, since
    /// the contract requires one; GITHUB when the host says nothing.
    fn from(g: &GitSource) -> Self {
        let provider = if g.url.contains("gitlab") {
            GitProvider::Gitlab
        } else if g.url.contains("bitbucket") {
            GitProvider::Bitbucket
        } else {
            GitProvider::Github
        };
        Self::new(&g.url, g.branch.as_ref(), g.root_path.as_deref().unwrap_or("/"), provider, g.git_token_id)
    }
}

/// An application (`Application`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Application)]
#[allow(missing_docs)]
pub struct ApplicationResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub git_repository: ApplicationGitRepository,
    pub build_mode: BuildMode,
    #[serde(default)]
    pub dockerfile_path: Option<String>,
    #[serde(default)]
    pub docker_target_build_stage: Option<String>,
    pub maximum_cpu: u32,
    pub maximum_memory: u32,
    pub cpu: u32,
    pub memory: u32,
    pub gpu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_in_gib: Option<u32>,
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    pub min_running_instances: u32,
    pub max_running_instances: i32,
    pub healthchecks: Healthcheck,
    pub auto_preview: bool,
    pub auto_deploy: bool,
    pub ports: Vec<Port>,
    pub storage: Vec<Storage>,
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    pub annotations_groups: Vec<serde_json::Value>,
    pub labels_groups: Vec<serde_json::Value>,
    pub icon_uri: String,
    pub service_type: ServiceType,
}

impl ApplicationResponse {
    fn new(s: &Service, a: &ApplicationSpec, cap: Capacity) -> Self {
        ApplicationResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: a.name.clone(),
            description: a.description.clone(),
            git_repository: (&a.git_repository).into(),
            build_mode: a.build_mode,
            dockerfile_path: a.dockerfile_path.clone(),
            docker_target_build_stage: a.docker_target_build_stage.clone(),
            maximum_cpu: cap.cpu,
            maximum_memory: cap.memory,
            cpu: a.cpu,
            memory: a.memory,
            gpu: a.gpu,
            ephemeral_storage_in_gib: a.ephemeral_storage_in_gib,
            cpu_architecture: a.cpu_architecture,
            min_running_instances: a.min_running_instances,
            max_running_instances: a.max_running_instances,
            healthchecks: a.healthchecks.clone(),
            auto_preview: a.auto_preview,
            auto_deploy: a.auto_deploy.unwrap_or(true),
            ports: a.ports.clone(),
            storage: a.storage.clone(),
            arguments: a.arguments.clone(),
            entrypoint: a.entrypoint.clone(),
            annotations_groups: a.annotations_groups.clone(),
            labels_groups: a.labels_groups.clone(),
            icon_uri: a.icon_uri.clone(),
            service_type: ServiceType::Application,
        }
    }
}

/// A container (`ContainerResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ContainerResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub image_name: String,
    pub tag: String,
    pub registry_id: Uuid,
    pub registry: RegistryDetails,
    pub maximum_cpu: u32,
    pub maximum_memory: u32,
    pub maximum_gpu: u32,
    pub cpu: u32,
    pub memory: u32,
    pub gpu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_in_gib: Option<u32>,
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    pub min_running_instances: u32,
    pub max_running_instances: i32,
    pub healthchecks: Healthcheck,
    pub auto_preview: bool,
    pub auto_deploy: bool,
    pub ports: Vec<Port>,
    pub storage: Vec<Storage>,
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    pub annotations_groups: Vec<serde_json::Value>,
    pub labels_groups: Vec<serde_json::Value>,
    pub icon_uri: String,
    pub service_type: ServiceType,
}

fn registry_details(id: Uuid, registry: Option<&ContainerRegistry>) -> RegistryDetails {
    registry.map(RegistryDetails::from).unwrap_or(RegistryDetails {
        id,
        name: String::new(),
        url: String::new(),
        kind: slipway_model::RegistryKind::GenericCr,
    })
}

impl ContainerResponse {
    fn new(s: &Service, c: &ContainerSpec, cap: Capacity, registry: Option<&ContainerRegistry>) -> Self {
        ContainerResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: c.name.clone(),
            description: c.description.clone(),
            image_name: c.image_name.clone(),
            tag: c.tag.clone(),
            registry_id: c.registry_id,
            registry: registry_details(c.registry_id, registry),
            maximum_cpu: cap.cpu,
            maximum_memory: cap.memory,
            maximum_gpu: 0,
            cpu: c.cpu,
            memory: c.memory,
            gpu: c.gpu,
            ephemeral_storage_in_gib: c.ephemeral_storage_in_gib,
            cpu_architecture: c.cpu_architecture,
            min_running_instances: c.min_running_instances,
            max_running_instances: c.max_running_instances,
            healthchecks: c.healthchecks.clone(),
            auto_preview: c.auto_preview,
            auto_deploy: c.auto_deploy.unwrap_or(true),
            ports: c.ports.clone(),
            storage: c.storage.clone(),
            arguments: c.arguments.clone(),
            entrypoint: c.entrypoint.clone(),
            annotations_groups: c.annotations_groups.clone(),
            labels_groups: c.labels_groups.clone(),
            icon_uri: c.icon_uri.clone(),
            service_type: ServiceType::Container,
        }
    }
}

/// A database (`Database`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Database)]
#[allow(missing_docs)]
pub struct DatabaseResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    pub version: String,
    pub mode: DatabaseMode,
    pub accessibility: DatabaseAccessibility,
    pub cpu: u32,
    pub memory: u32,
    pub storage: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The port the engine listens on.
    pub port: u16,
    pub maximum_cpu: u32,
    pub maximum_memory: u32,
    pub annotations_groups: Vec<serde_json::Value>,
    pub labels_groups: Vec<serde_json::Value>,
    pub icon_uri: String,
    pub service_type: ServiceType,
}

impl DatabaseResponse {
    fn new(s: &Service, d: &DatabaseSpec, cap: Capacity) -> Self {
        DatabaseResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: d.name.clone(),
            description: d.description.clone(),
            kind: d.kind,
            version: d.version.clone(),
            mode: d.mode,
            accessibility: d.accessibility,
            cpu: d.cpu,
            memory: d.memory,
            storage: d.storage,
            instance_type: d.instance_type.clone(),
            port: d.kind.default_port(),
            maximum_cpu: cap.cpu,
            maximum_memory: cap.memory,
            annotations_groups: d.annotations_groups.clone(),
            labels_groups: d.labels_groups.clone(),
            icon_uri: d.icon_uri.clone(),
            service_type: ServiceType::Database,
        }
    }
}

/// An image source as responses show it (`ContainerSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ContainerSource {
    pub image_name: String,
    pub tag: String,
    pub registry_id: Uuid,
    pub registry: RegistryDetails,
}

/// A git source of a job as responses show it (`JobSourceDockerResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct JobSourceDockerResponse {
    pub git_repository: ApplicationGitRepository,
    #[serde(default)]
    pub dockerfile_path: Option<String>,
    #[serde(default)]
    pub dockerfile_raw: Option<String>,
    #[serde(default)]
    pub docker_target_build_stage: Option<String>,
}

/// Where a job's image comes from (`BaseJobResponseAllOfSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum JobSourceResponse {
    Image(ContainerSource),
    Docker(JobSourceDockerResponse),
}

/// A cron or lifecycle job (`JobResponse`), discriminated by `job_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct JobResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub maximum_cpu: u32,
    pub maximum_memory: u32,
    pub maximum_gpu: u32,
    pub cpu: u32,
    pub memory: u32,
    pub gpu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_in_gib: Option<u32>,
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    pub max_nb_restart: u32,
    pub max_duration_seconds: u32,
    pub auto_preview: bool,
    pub auto_deploy: bool,
    #[serde(default)]
    pub port: Option<u32>,
    pub source: JobSourceResponse,
    pub healthchecks: Healthcheck,
    pub icon_uri: String,
    pub service_type: ServiceType,
    pub job_type: JobType,
    pub schedule: JobSchedule,
    pub annotations_groups: Vec<serde_json::Value>,
    pub labels_groups: Vec<serde_json::Value>,
}

impl JobResponse {
    fn new(s: &Service, j: &JobSpec, cap: Capacity, registry: Option<&ContainerRegistry>) -> Self {
        let source = match (&j.source.image, &j.source.docker) {
            (Some(i), _) => JobSourceResponse::Image(ContainerSource {
                image_name: i.image_name.clone(),
                tag: i.tag.clone(),
                registry_id: i.registry_id,
                registry: registry_details(i.registry_id, registry),
            }),
            (None, Some(d)) => JobSourceResponse::Docker(JobSourceDockerResponse {
                git_repository: (&d.git_repository).into(),
                dockerfile_path: d.dockerfile_path.clone(),
                dockerfile_raw: d.dockerfile_raw.clone(),
                docker_target_build_stage: d.docker_target_build_stage.clone(),
            }),
            // A stored job always has a source: `prepare` refuses one without.
            (None, None) => JobSourceResponse::Image(ContainerSource {
                image_name: String::new(),
                tag: String::new(),
                registry_id: Uuid::nil(),
                registry: registry_details(Uuid::nil(), None),
            }),
        };
        JobResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: j.name.clone(),
            description: j.description.clone(),
            maximum_cpu: cap.cpu,
            maximum_memory: cap.memory,
            maximum_gpu: 0,
            cpu: j.cpu,
            memory: j.memory,
            gpu: j.gpu,
            ephemeral_storage_in_gib: j.ephemeral_storage_in_gib,
            cpu_architecture: j.cpu_architecture,
            max_nb_restart: j.max_nb_restart,
            max_duration_seconds: j.max_duration_seconds,
            auto_preview: j.auto_preview,
            auto_deploy: j.auto_deploy.unwrap_or(true),
            port: j.port,
            source,
            healthchecks: j.healthchecks.clone(),
            icon_uri: j.icon_uri.clone(),
            service_type: ServiceType::Job,
            job_type: j.job_type(),
            schedule: j.schedule.clone(),
            annotations_groups: j.annotations_groups.clone(),
            labels_groups: j.labels_groups.clone(),
        }
    }
}

/// A port of a chart (`HelmResponseAllOfPorts`), by service name or selectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmPortResponse {
    pub id: Uuid,
    /// `SERVICE_NAME` or `SERVICE_SELECTORS`.
    pub port_type: String,
    #[serde(default)]
    pub name: Option<String>,
    pub internal_port: u32,
    #[serde(default)]
    pub external_port: Option<u32>,
    #[serde(default)]
    pub namespace: Option<String>,
    pub protocol: HelmPortProtocol,
    pub is_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_selectors: Option<Vec<KubernetesSelector>>,
}

/// A chart's git source as responses show it (`HelmSourceGitResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmSourceGitResponse {
    pub git_repository: ApplicationGitRepository,
}

/// Where a chart comes from (`HelmResponseAllOfSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum HelmSourceResponse {
    Git(HelmSourceGitResponse),
}

/// Values files from git, as responses show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmValuesGitResponse {
    pub git_repository: ApplicationGitRepository,
    pub paths: Vec<String>,
}

/// Inline values files, as responses show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmValuesRawResponse {
    pub values: Vec<RawValuesFile>,
}

/// Values files (`HelmResponseAllOfValuesOverrideFile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmValuesFileResponse {
    #[serde(default)]
    pub raw: Option<HelmValuesRawResponse>,
    #[serde(default)]
    pub git: Option<HelmValuesGitResponse>,
}

/// Value overrides (`HelmResponseAllOfValuesOverride`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmValuesOverrideResponse {
    pub set: Vec<Vec<String>>,
    pub set_string: Vec<Vec<String>>,
    pub set_json: Vec<Vec<String>>,
    #[serde(default)]
    pub file: Option<HelmValuesFileResponse>,
}

/// A Helm chart (`HelmResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct HelmResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub timeout_sec: u32,
    pub auto_preview: bool,
    pub auto_deploy: bool,
    pub ports: Vec<HelmPortResponse>,
    pub source: HelmSourceResponse,
    pub arguments: Vec<String>,
    pub allow_cluster_wide_resources: bool,
    pub values_override: HelmValuesOverrideResponse,
    pub icon_uri: String,
    pub service_type: ServiceType,
}

impl HelmResponse {
    fn new(s: &Service, h: &HelmSpec) -> Self {
        let git = h.source.git_repository.as_ref().map(ApplicationGitRepository::from);
        let v = &h.values_override;
        HelmResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: h.name.clone(),
            description: h.description.clone(),
            timeout_sec: h.timeout_sec,
            auto_preview: h.auto_preview.unwrap_or(false),
            auto_deploy: h.auto_deploy,
            ports: h
                .ports
                .iter()
                .map(|p| HelmPortResponse {
                    id: p.id.unwrap_or_default(),
                    port_type: if p.service_name.is_some() { "SERVICE_NAME" } else { "SERVICE_SELECTORS" }.to_owned(),
                    name: p.name.clone(),
                    internal_port: p.internal_port,
                    external_port: p.external_port,
                    namespace: p.namespace.clone(),
                    protocol: p.protocol,
                    is_default: p.is_default,
                    service_name: p.service_name.clone(),
                    service_selectors: p.service_name.is_none().then(|| p.service_selectors.clone()),
                })
                .collect(),
            // `prepare` accepts git sources only, so `git` is always set.
            source: HelmSourceResponse::Git(HelmSourceGitResponse {
                git_repository: git
                    .unwrap_or_else(|| ApplicationGitRepository::new("", None, "/", GitProvider::Github, None)),
            }),
            arguments: h.arguments.clone(),
            allow_cluster_wide_resources: h.allow_cluster_wide_resources,
            values_override: HelmValuesOverrideResponse {
                set: v.set.clone(),
                set_string: v.set_string.clone(),
                set_json: v.set_json.clone(),
                file: v.file.as_ref().map(|f| HelmValuesFileResponse {
                    raw: f.raw.as_ref().map(|r| HelmValuesRawResponse { values: r.values.clone() }),
                    git: f.git.as_ref().map(|g| HelmValuesGitResponse {
                        git_repository: (&g.git_repository).into(),
                        paths: g.paths.clone(),
                    }),
                }),
            },
            icon_uri: h.icon_uri.clone(),
            service_type: ServiceType::Helm,
        }
    }
}

/// Where the Terraform files are, as responses show it (`TerraformFilesSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TerraformFilesSourceResponse {
    pub git: HelmSourceGitResponse,
}

/// Input variables; secret values are left out (`TerraformVariablesSourceResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TerraformVariablesSourceResponse {
    pub tf_var_file_paths: Vec<String>,
    pub tf_vars: Vec<TerraformVarResponse>,
}

/// One input variable; `value` is absent for secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TerraformVarResponse {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub secret: bool,
}

impl From<&TerraformVarKeyValue> for TerraformVarResponse {
    fn from(v: &TerraformVarKeyValue) -> Self {
        TerraformVarResponse { key: v.key.clone(), value: (!v.secret).then(|| v.value.clone()), secret: v.secret }
    }
}

/// A Terraform service (`TerraformResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TerraformResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub environment: ReferenceObject,
    pub name: String,
    pub description: String,
    pub timeout_sec: u32,
    pub auto_deploy: bool,
    pub auto_deploy_config: TerraformAutoDeployConfig,
    pub terraform_files_source: TerraformFilesSourceResponse,
    pub terraform_variables_source: TerraformVariablesSourceResponse,
    pub engine: TerraformEngine,
    pub backend: TerraformBackend,
    pub provider_version: TerraformProviderVersion,
    pub job_resources: TerraformJobResources,
    pub use_cluster_credentials: bool,
    pub action_extra_arguments: BTreeMap<String, Vec<String>>,
    pub icon_uri: String,
    pub service_type: ServiceType,
}

impl TerraformResponse {
    fn new(s: &Service, t: &TerraformSpec) -> Self {
        TerraformResponse {
            id: s.id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            environment: s.environment_id.into(),
            name: t.name.clone(),
            description: t.description.clone(),
            timeout_sec: t.timeout_sec,
            auto_deploy: t.auto_deploy_config.auto_deploy,
            auto_deploy_config: t.auto_deploy_config.clone(),
            terraform_files_source: TerraformFilesSourceResponse {
                git: HelmSourceGitResponse { git_repository: (&t.terraform_files_source.git_repository).into() },
            },
            terraform_variables_source: TerraformVariablesSourceResponse {
                tf_var_file_paths: t.terraform_variables_source.tf_var_file_paths.clone(),
                tf_vars: t.terraform_variables_source.tf_vars.iter().map(Into::into).collect(),
            },
            engine: t.engine,
            backend: t.backend.clone(),
            provider_version: t.provider_version.clone(),
            job_resources: t.job_resources.clone(),
            use_cluster_credentials: t.use_cluster_credentials,
            action_extra_arguments: t.action_extra_arguments.clone(),
            icon_uri: t.icon_uri.clone(),
            service_type: ServiceType::Terraform,
        }
    }
}

/// Any service, as `/environment/{id}/services` lists them; each carries its
/// `service_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum ServiceResponse {
    Application(ApplicationResponse),
    Container(ContainerResponse),
    Database(DatabaseResponse),
    Job(JobResponse),
    Helm(HelmResponse),
    Terraform(TerraformResponse),
}

impl ServiceResponse {
    /// The response for `service`. `registry` is the registry it pulls from,
    /// for containers and image jobs.
    pub fn new(service: &Service, capacity: Capacity, registry: Option<&ContainerRegistry>) -> Self {
        match &service.spec {
            ServiceSpec::Application(a) => Self::Application(ApplicationResponse::new(service, a, capacity)),
            ServiceSpec::Container(c) => Self::Container(ContainerResponse::new(service, c, capacity, registry)),
            ServiceSpec::Database(d) => Self::Database(DatabaseResponse::new(service, d, capacity)),
            ServiceSpec::Job(j) => Self::Job(JobResponse::new(service, j, capacity, registry)),
            ServiceSpec::Helm(h) => Self::Helm(HelmResponse::new(service, h)),
            ServiceSpec::Terraform(t) => Self::Terraform(TerraformResponse::new(service, t)),
        }
    }
}
