use serde::{Deserialize, Serialize};

use super::common::{CpuArchitecture, GitRepository, Healthcheck, defaults, refuse_unsupported, validate_command};
use crate::error::{Validation, ValidationError};
use crate::validate;
use uuid::Uuid;

/// Cron or lifecycle (`JobTypeEnum`). Not in the request: Slipway infers it
/// from the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobTypeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobType {
    Lifecycle,
    Cron,
}

/// An image to run (`JobRequestAllOfSourceImage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfSourceImage))]
pub struct ImageSource {
    pub image_name: String,
    pub tag: String,
    pub registry_id: Uuid,
}

/// A git repository to build (`JobRequestAllOfSourceDocker`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfSourceDocker))]
pub struct DockerSource {
    pub git_repository: GitRepository,
    #[serde(default)]
    pub dockerfile_path: Option<String>,
    /// A Dockerfile given inline instead of read from the repository.
    #[serde(default)]
    pub dockerfile_raw: Option<String>,
    #[serde(default)]
    pub docker_target_build_stage: Option<String>,
}

/// Where a job's image comes from: exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfSource))]
pub struct JobSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerSource>,
}

/// The command a lifecycle event runs (`JobRequestAllOfScheduleOnStart`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfScheduleOnStart))]
pub struct JobCommand {
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
}

/// A cron schedule (`JobRequestAllOfScheduleCronjob`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfScheduleCronjob))]
pub struct CronSchedule {
    /// Five fields, or six with a leading seconds field.
    pub scheduled_at: String,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// Slipway: whether a run may start while the previous one still runs.
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
}

/// What a cron job does when it comes due while its previous run still runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConcurrencyPolicy {
    /// Skip this occurrence (recorded in the history as skipped): the default.
    #[default]
    Forbid,
    /// Start another run beside it.
    Allow,
}

fn utc() -> String {
    "Etc/UTC".to_owned()
}

/// Kind of a lifecycle job (`JobLifecycleTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobLifecycleTypeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum LifecycleType {
    Generic,
    Terraform,
    Cloudformation,
}

/// When a job runs (`JobRequestAllOfSchedule`): on a cron schedule, or on
/// environment events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequestAllOfSchedule))]
pub struct JobSchedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_start: Option<JobCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_stop: Option<JobCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<JobCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cronjob: Option<CronSchedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_type: Option<LifecycleType>,
}

/// A cron or lifecycle job (`JobRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JobRequest))]
pub struct JobSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
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
    /// How many times a failed run is retried.
    #[serde(default)]
    pub max_nb_restart: u32,
    /// A run that lasts longer is stopped and counts as failed.
    #[serde(default = "max_duration")]
    pub max_duration_seconds: u32,
    #[serde(default)]
    pub auto_preview: bool,
    #[serde(default)]
    pub port: Option<u32>,
    #[serde(default)]
    pub source: JobSource,
    #[serde(default)]
    pub cpu_architecture: Option<CpuArchitecture>,
    #[serde(default)]
    pub healthchecks: Healthcheck,
    #[serde(default)]
    pub schedule: JobSchedule,
    #[serde(default)]
    pub auto_deploy: Option<bool>,
    #[serde(default = "icon")]
    pub icon_uri: String,
    #[serde(default)]
    pub annotations_groups: Vec<serde_json::Value>,
    #[serde(default)]
    pub labels_groups: Vec<serde_json::Value>,
}

fn max_duration() -> u32 {
    300
}
fn icon() -> String {
    "app://qovery-console/job".to_owned()
}

impl JobSpec {
    /// Cron when the schedule has a `cronjob`, lifecycle otherwise.
    pub fn job_type(&self) -> JobType {
        if self.schedule.cronjob.is_some() { JobType::Cron } else { JobType::Lifecycle }
    }

    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        super::common::validate_resources(self.cpu, self.memory, self.gpu)?;
        validate::range("max_nb_restart", self.max_nb_restart, 0, 100)?;
        validate::range("max_duration_seconds", self.max_duration_seconds, 1, 7 * 24 * 3600)?;
        if let Some(port) = self.port {
            validate::port("port", port)?;
        }
        self.validate_source().map_err(|e| e.within("source"))?;
        self.validate_schedule().map_err(|e| e.within("schedule"))?;
        let ports: Vec<u32> = self.port.into_iter().collect();
        self.healthchecks.validate(&ports).map_err(|e| e.within("healthchecks"))?;
        refuse_unsupported(&self.annotations_groups, &self.labels_groups, false)
    }

    fn validate_source(&self) -> Validation {
        match (&self.source.image, &self.source.docker) {
            (Some(image), None) => {
                validate::image_name("image.image_name", &image.image_name)?;
                validate::image_tag("image.tag", &image.tag)
            }
            (None, Some(docker)) => {
                docker.git_repository.validate().map_err(|e| e.within("docker.git_repository"))?;
                if let Some(path) = docker.dockerfile_path.as_deref().filter(|p| !p.is_empty()) {
                    validate::relative_safe("docker.dockerfile_path", path)?;
                }
                if docker.dockerfile_raw.as_deref().is_some_and(|d| d.len() > 256 * 1024) {
                    return Err(ValidationError::new("docker.dockerfile_raw", "must be at most 256 KiB"));
                }
                Ok(())
            }
            _ => Err(ValidationError::new(
                "",
                "must set exactly one of `image` (an image from a registry) or `docker` (a git repository to build)",
            )),
        }
    }

    fn validate_schedule(&self) -> Validation {
        let s = &self.schedule;
        let events = [&s.on_start, &s.on_stop, &s.on_delete];
        let has_event = events.iter().any(|e| e.is_some());
        match &s.cronjob {
            Some(cron) => {
                if has_event {
                    return Err(ValidationError::new(
                        "",
                        "must be either a `cronjob` or lifecycle events (`on_start`, `on_stop`, `on_delete`), not both",
                    ));
                }
                validate::cron("cronjob.scheduled_at", &cron.scheduled_at)?;
                validate::timezone("cronjob.timezone", &cron.timezone)?;
                validate_command(&cron.arguments, cron.entrypoint.as_deref()).map_err(|e| e.within("cronjob"))
            }
            None if !has_event => Err(ValidationError::new(
                "",
                "must set `cronjob` for a cron job, or at least one of `on_start`, `on_stop`, `on_delete` for a lifecycle job",
            )),
            None => {
                for (field, event) in [("on_start", &s.on_start), ("on_stop", &s.on_stop), ("on_delete", &s.on_delete)]
                {
                    if let Some(cmd) = event {
                        validate_command(&cmd.arguments, cmd.entrypoint.as_deref()).map_err(|e| e.within(field))?;
                    }
                }
                Ok(())
            }
        }
    }

    pub(super) fn check_edit(&self, previous: &Self) -> Validation {
        if self.job_type() != previous.job_type() {
            return Err(ValidationError::new(
                "schedule",
                "cannot turn a cron job into a lifecycle job or back; create a new job instead",
            ));
        }
        Ok(())
    }
}
