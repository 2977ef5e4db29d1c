//! Deployment history, the deployment queue and deployment statuses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::deployment::{DeploymentAction, Release};
use slipway_model::service::job::JobType;
use slipway_model::{DeploymentState, ServiceType};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{EventOrigin, StatusDetails};

/// A commit a release was built from (`Commit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Commit {
    pub created_at: DateTime<Utc>,
    pub git_commit_id: String,
    /// The image tag of the release, or empty.
    pub tag: String,
    pub message: String,
    pub author_name: String,
}

impl Commit {
    /// The commit of a release built from git.
    pub fn of(release: &Release) -> Option<Commit> {
        release.commit.as_ref().map(|c| Commit {
            created_at: c.committed_at,
            git_commit_id: c.id.clone(),
            tag: release.tag.clone().unwrap_or_default(),
            message: c.message.clone(),
            author_name: c.author_name.clone(),
        })
    }
}

/// `trigger_action` (`DeploymentHistoryTriggerAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeploymentHistoryTriggerAction)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum TriggerAction {
    Deploy,
    Delete,
    Restart,
    Stop,
    DeployDryRun,
    TerraformForceUnlock,
    TerraformMigrateState,
    DeleteResourcesOnly,
    Unknown,
    Uninstall,
}

impl TriggerAction {
    /// The trigger action of a deployment: a delete that keeps the
    /// configuration is an uninstall.
    pub fn of(action: DeploymentAction, remove_config: bool) -> Self {
        match action {
            DeploymentAction::Deploy => TriggerAction::Deploy,
            DeploymentAction::Stop => TriggerAction::Stop,
            DeploymentAction::Restart => TriggerAction::Restart,
            DeploymentAction::Delete if remove_config => TriggerAction::Delete,
            DeploymentAction::Delete => TriggerAction::Uninstall,
        }
    }
}

/// How a stage (or a service in a queued deployment) is doing (`StageStatusEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = StageStatusEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum StageStatus {
    Queued,
    Ongoing,
    Done,
    Error,
    Skipped,
    Canceled,
}

/// Who did what when (`DeploymentHistoryAuditingData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryAuditingData {
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub triggered_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<EventOrigin>,
}

/// Which service a history entry is about (`DeploymentHistoryServiceIdentifier`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryServiceIdentifier {
    pub name: String,
    pub service_id: Uuid,
    pub service_type: ServiceType,
    /// The deployment's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<Uuid>,
}

/// What an application ran (`DeploymentHistoryServiceDetailsOneOf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ApplicationDeploymentDetails {
    /// Required and nullable.
    #[schema(required = true)]
    pub commit: Option<Commit>,
    /// The image the build made, or empty.
    pub build_pod_name: String,
}

/// What a container ran (`DeploymentHistoryServiceDetailsOneOf1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ContainerDeploymentDetails {
    pub image_name: String,
    pub tag: String,
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
}

/// What a job ran (`DeploymentHistoryServiceDetailsOneOf2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct JobDeploymentDetails {
    pub image_name: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
    pub job_type: JobType,
}

/// What a Helm chart, Terraform service or database ran
/// (`DeploymentHistoryServiceDetailsOneOf3`: every field optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OtherDeploymentDetails {
    /// The commit, when the source is git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
}

/// What a service ran, by kind (`DeploymentHistoryServiceDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum DeploymentHistoryServiceDetails {
    Application(ApplicationDeploymentDetails),
    Container(ContainerDeploymentDetails),
    Job(JobDeploymentDetails),
    Other(OtherDeploymentDetails),
}

/// One service in one deployment (`DeploymentHistoryService`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryService {
    pub identifier: DeploymentHistoryServiceIdentifier,
    pub status: DeploymentState,
    pub auditing_data: DeploymentHistoryAuditingData,
    pub details: DeploymentHistoryServiceDetails,
    pub status_details: StatusDetails,
    pub icon_uri: String,
    /// ISO 8601 (`PT1M12S`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_duration: Option<String>,
}

/// A page of a service's deployments (`DeploymentHistoryServicePaginatedResponseListV2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryServicePaginatedResponseListV2 {
    pub page: u32,
    pub page_size: u32,
    pub results: Vec<DeploymentHistoryService>,
}

/// One stage of one deployment (`DeploymentHistoryStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryStage {
    pub name: String,
    pub status: StageStatus,
    /// ISO 8601 (`PT12S`).
    pub duration: String,
    pub services: Vec<DeploymentHistoryService>,
}

/// Which deployment (`DeploymentHistoryEnvironmentV2Identifier`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryEnvironmentV2Identifier {
    pub execution_id: Uuid,
    pub environment_id: Uuid,
}

/// One deployment of an environment (`DeploymentHistoryEnvironmentV2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryEnvironmentV2 {
    pub identifier: DeploymentHistoryEnvironmentV2Identifier,
    pub auditing_data: DeploymentHistoryAuditingData,
    pub status: DeploymentState,
    pub trigger_action: TriggerAction,
    /// ISO 8601 (`PT1M12S`).
    pub total_duration: String,
    pub stages: Vec<DeploymentHistoryStage>,
    /// QUEUED, ONGOING, SUCCESS, ERROR, CANCELED (`DeploymentHistoryActionStatus`).
    pub action_status: slipway_model::ActionStatus,
}

/// A page of an environment's deployments (`DeploymentHistoryEnvironmentPaginatedResponseListV2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryEnvironmentPaginatedResponseListV2 {
    pub page: u32,
    pub page_size: u32,
    pub results: Vec<DeploymentHistoryEnvironmentV2>,
}

/// One service in a v1 history entry (`DeploymentHistoryApplication`,
/// `...Container`, `...Database`, `...JobResponse`, `...HelmResponse`: the
/// fields of the kind are filled, the others left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeploymentHistoryServiceV1)]
#[allow(missing_docs)]
pub struct DeploymentHistoryServiceV1 {
    /// The service's id.
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    pub status: DeploymentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
}

/// One deployment of an environment, v1 (`DeploymentHistoryEnvironment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryEnvironment {
    /// The deployment's id.
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub status: DeploymentState,
    pub origin: EventOrigin,
    pub triggered_by: String,
    pub applications: Vec<DeploymentHistoryServiceV1>,
    pub containers: Vec<DeploymentHistoryServiceV1>,
    pub databases: Vec<DeploymentHistoryServiceV1>,
    pub jobs: Vec<DeploymentHistoryServiceV1>,
    pub helms: Vec<DeploymentHistoryServiceV1>,
}

/// A page of an environment's deployments, v1 (`DeploymentHistoryEnvironmentPaginatedResponseList`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct DeploymentHistoryEnvironmentPaginatedResponseList {
    pub page: u32,
    pub page_size: u32,
    pub results: Vec<DeploymentHistoryEnvironment>,
}

/// Where a deployment request is (`EnvDeploymentStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvDeploymentStatus {
    pub deployment_request_id: Uuid,
    pub environment_id: Uuid,
    pub status: DeploymentState,
}

/// Which deployment request (`QueuedDeploymentRequestWithStagesIdentifier`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedDeploymentRequestIdentifier {
    pub deployment_request_id: Uuid,
    pub environment_id: Uuid,
}

/// Who asked (`QueuedDeploymentRequestWithStagesAuditingData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedDeploymentRequestAuditingData {
    pub triggered_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<EventOrigin>,
}

/// A service of a queued deployment (`...StagesInnerServicesInnerIdentifier`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedServiceIdentifier {
    pub service_id: Uuid,
    pub service_type: ServiceType,
    pub name: String,
}

/// A service of a queued deployment and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedService {
    pub identifier: QueuedServiceIdentifier,
    pub status: StageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
}

/// A stage of a queued deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedStage {
    pub name: String,
    pub status: StageStatus,
    pub services: Vec<QueuedService>,
}

/// A deployment waiting or running (`QueuedDeploymentRequestWithStages`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct QueuedDeploymentRequestWithStages {
    pub identifier: QueuedDeploymentRequestIdentifier,
    pub auditing_data: QueuedDeploymentRequestAuditingData,
    pub trigger_action: TriggerAction,
    pub stages: Vec<QueuedStage>,
}

/// ISO 8601 duration of whole seconds, as `java.time.Duration` prints it:
/// `PT0S`, `PT12S`, `PT1M5S`, `PT2H0M3S` is written `PT2H3S`.
pub fn iso_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if sec > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{sec}S"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso_duration(0), "PT0S");
        assert_eq!(iso_duration(12), "PT12S");
        assert_eq!(iso_duration(65), "PT1M5S");
        assert_eq!(iso_duration(7203), "PT2H3S");
        assert_eq!(iso_duration(3600), "PT1H");
        assert_eq!(iso_duration(-4), "PT0S");
    }
}
