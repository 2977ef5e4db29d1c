//! Slipway: the runs of a job (its history) and where its cron schedule stands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::job::{JobRun, JobRunStatus, JobTrigger};
use utoipa::ToSchema;
use uuid::Uuid;

/// Why a job ran (`JobRunTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = JobRunTrigger)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobRunTriggerDto {
    /// A deploy ran the lifecycle job's `on_start`.
    Start,
    /// A stop ran `on_stop`.
    Stop,
    /// A delete ran `on_delete`.
    Delete,
    /// Its cron schedule came due.
    Schedule,
    /// Asked to run now (`deployJob?forceEvent=CRON`).
    Forced,
}

impl From<JobTrigger> for JobRunTriggerDto {
    fn from(trigger: JobTrigger) -> Self {
        match trigger {
            JobTrigger::Start => Self::Start,
            JobTrigger::Stop => Self::Stop,
            JobTrigger::Delete => Self::Delete,
            JobTrigger::Schedule => Self::Schedule,
            JobTrigger::Forced => Self::Forced,
        }
    }
}

/// How a job run went (`JobRunStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = JobRunStatus)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobRunStatusDto {
    Running,
    Succeeded,
    Failed,
    /// Not run: the previous run was still running and the job forbids overlaps.
    Skipped,
}

impl From<JobRunStatus> for JobRunStatusDto {
    fn from(status: JobRunStatus) -> Self {
        match status {
            JobRunStatus::Running => Self::Running,
            JobRunStatus::Succeeded => Self::Succeeded,
            JobRunStatus::Failed => Self::Failed,
            JobRunStatus::Skipped => Self::Skipped,
        }
    }
}

/// Slipway: one run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = JobRun)]
#[allow(missing_docs)]
pub struct JobRunResponse {
    pub id: Uuid,
    pub job_id: Uuid,
    pub trigger: JobRunTriggerDto,
    pub status: JobRunStatusDto,
    /// For scheduled runs: the time the schedule named.
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Attempts made: 1, plus one per restart after a failure.
    pub attempts: u32,
    /// The exit code of the last attempt.
    pub exit_code: Option<i64>,
    /// Why it failed or was skipped, or what it caught up.
    pub message: Option<String>,
    /// The deployment it ran in (lifecycle events).
    pub deployment_id: Option<Uuid>,
    /// The release it ran.
    pub release_id: Uuid,
    /// The last lines it printed (secrets masked); only when one run is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Vec<String>>,
}

impl JobRunResponse {
    /// The response for `run`, with its log lines when `with_logs`.
    pub fn new(run: &JobRun, with_logs: bool) -> Self {
        JobRunResponse {
            id: run.id,
            job_id: run.service_id,
            trigger: run.trigger.into(),
            status: run.status.into(),
            scheduled_for: run.scheduled_for,
            started_at: run.started_at,
            finished_at: run.finished_at,
            attempts: run.attempts,
            exit_code: run.exit_code,
            message: run.message.clone(),
            deployment_id: run.deployment_id,
            release_id: run.release_id,
            logs: with_logs.then(|| run.logs.clone()),
        }
    }
}
