//! Deployment logs, service logs and links.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::ServiceType;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Who wrote a deployment log line (`EnvironmentLogsDetailsTransmitter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogsTransmitter {
    pub id: Uuid,
    pub name: String,
    /// `Environment`, or the service's kind (`Application`, `Container`...).
    #[serde(rename = "type")]
    pub kind: String,
}

/// Where in the deployment a line was written (`EnvironmentLogsDetailsStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogsStage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The step within the service (`build`, `image`, `rollout`, `health`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// The context of a deployment log line (`EnvironmentLogsDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogsDetails {
    pub organization_id: Uuid,
    pub cluster_id: Uuid,
    /// The deployment's id.
    pub execution_id: Uuid,
    pub transmitter: EnvironmentLogsTransmitter,
    pub stage: EnvironmentLogsStage,
}

/// A line's text (`EnvironmentLogsMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogsMessage {
    pub safe_message: String,
    pub full_details: String,
}

/// An error line's text (`EnvironmentLogsError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogsError {
    pub tag: String,
    pub user_log_message: String,
}

/// One deployment log line (`EnvironmentLogs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogs {
    /// The line's level: `info`, `warning` or `error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    pub details: EnvironmentLogsDetails,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EnvironmentLogsError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<EnvironmentLogsMessage>,
}

/// What a legacy log line is about (`EnvironmentLogScope`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLogScope {
    /// `APPLICATION`, `DATABASE` or `ENVIRONMENT` (`EnvironmentLogTypeEnum`).
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub id: Uuid,
}

/// One deployment log line, legacy shape (`EnvironmentLog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentLog {
    /// The line's position in the store.
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub scope: EnvironmentLogScope,
    /// Required and nullable.
    #[schema(required = true)]
    pub message: Option<String>,
    /// The deployment's id.
    pub execution_id: Uuid,
}

/// One line a service printed (`Log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Log {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub message: String,
    /// The instance that printed it.
    pub pod_name: String,
    /// The release it runs: the commit or tag, else the release id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One line of a service's log stream (Slipway's SSE, shaped like the
/// Qovery CLI's websocket messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct LogStreamLine {
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub message: String,
    pub pod_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A URL a service answers at (`Link`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Link {
    pub service_id: Uuid,
    pub service_type: ServiceType,
    pub url: String,
    pub internal_port: u16,
    pub external_port: u16,
    pub is_qovery_domain: bool,
    pub is_default: bool,
}

/// `?version=` of environment logs.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// A deployment id; the latest deployment when absent.
    #[serde(default)]
    #[param(value_type = Option<Uuid>)]
    pub version: Option<String>,
}

/// `?tail=` of service log streams.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TailQuery {
    /// How many earlier lines to send first, per instance (default 100, at most 10000).
    #[serde(default)]
    #[param(value_type = Option<u32>)]
    pub tail: Option<String>,
}

/// `?startId=` of the v1 deployment history.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartIdQuery {
    /// Return the deployments after (older than) this one.
    #[serde(rename = "startId", default)]
    #[param(value_type = Option<Uuid>)]
    pub start_id: Option<String>,
}

/// `?deploymentRequestId=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentRequestQuery {
    /// The deployment request's id.
    #[serde(rename = "deploymentRequestId", default)]
    #[param(value_type = Uuid, required = true)]
    pub deployment_request_id: Option<String>,
}
