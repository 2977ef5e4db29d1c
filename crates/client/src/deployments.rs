//! Deployments: the actions on environments and services, their statuses,
//! history, releases, links and logs, and the live streams of deployments
//! and of what services print.

use reqwest::Method;
use serde::Serialize;
use slipway_api_types::{
    CancelEnvironmentDeploymentRequest, DeployAllRequest, DeploymentHistoryEnvironmentPaginatedResponseListV2,
    DeploymentHistoryServicePaginatedResponseListV2, DeploymentResponse, EnvironmentLogs,
    EnvironmentServiceIdsAllRequest, EnvironmentStatus, EnvironmentStatuses, JobRunResponse, Link, Log, LogStreamLine,
    QueuedDeploymentRequestWithStages, RebootServicesRequest, ReleaseResponse, RollbackRequest, Status,
};
use slipway_model::ServiceType;
use slipway_model::deployment::DeploymentLog;
use uuid::Uuid;

use crate::sse::SseEvent;
use crate::{Client, Error, EventStream};

/// The version to deploy a service at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceVersion {
    /// A commit, for services built from git (applications, git jobs).
    Commit(String),
    /// An image tag, for services that run an image (containers, image jobs).
    Tag(String),
}

/// The body of a service deploy: `{git_commit_id}` or `{image_tag}`, the
/// field names every kind's deploy body shares.
#[derive(Debug, Default, Serialize)]
struct VersionBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    git_commit_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_tag: Option<&'a str>,
}

/// What a deployment's log stream says.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentEvent {
    /// The deployment, at the start and whenever its status or steps change.
    Deployment(Box<DeploymentResponse>),
    /// A line of its log.
    Log(Box<DeploymentLog>),
    /// The deployment as it finished: the last event of the stream.
    End(Box<DeploymentResponse>),
}

/// What a service's log stream says.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceLogEvent {
    /// A line one of its instances printed.
    Line(LogStreamLine),
    /// The instances stopped: the last event of the stream, with the reason.
    End(String),
}

/// The live log of one deployment (`GET /deployment/{id}/logs/stream`).
#[derive(Debug)]
pub struct DeploymentEvents(EventStream);

impl DeploymentEvents {
    /// The next event; `None` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<DeploymentEvent>, Error> {
        while let Some(event) = self.0.next().await? {
            let decoded = match event.event.as_str() {
                "deployment" => DeploymentEvent::Deployment(Box::new(self.decode(&event)?)),
                "log" => DeploymentEvent::Log(Box::new(self.decode(&event)?)),
                "end" => DeploymentEvent::End(Box::new(self.decode(&event)?)),
                // Events of a newer server: not for this client.
                _ => continue,
            };
            return Ok(Some(decoded));
        }
        Ok(None)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, event: &SseEvent) -> Result<T, Error> {
        self.0.decode(event)
    }
}

/// The live output of one service (`GET /{kind}/{id}/logs/stream`).
#[derive(Debug)]
pub struct ServiceLogs(EventStream);

impl ServiceLogs {
    /// The next event; `None` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<ServiceLogEvent>, Error> {
        while let Some(event) = self.0.next().await? {
            return Ok(Some(match event.event.as_str() {
                "log" => ServiceLogEvent::Line(self.0.decode(&event)?),
                "end" => ServiceLogEvent::End(event.data),
                _ => continue,
            }));
        }
        Ok(None)
    }
}

impl Client {
    // Environment actions. Each queues one deployment and answers the
    // status it leads to.

    /// Deploys every service of an environment (`POST /environment/{id}/deploy`).
    pub async fn deploy_environment(&self, environment: Uuid) -> Result<Status, Error> {
        self.post_empty(&format!("/environment/{environment}/deploy")).await
    }

    /// Deploys every service again at the version it runs (`POST /environment/{id}/redeploy`).
    pub async fn redeploy_environment(&self, environment: Uuid) -> Result<EnvironmentStatus, Error> {
        self.post_empty(&format!("/environment/{environment}/redeploy")).await
    }

    /// Stops every service of an environment (`POST /environment/{id}/stop`).
    pub async fn stop_environment(&self, environment: Uuid) -> Result<EnvironmentStatus, Error> {
        self.post_empty(&format!("/environment/{environment}/stop")).await
    }

    /// Removes what runs in an environment, keeping its configuration
    /// (`POST /environment/{id}/uninstall`).
    pub async fn uninstall_environment(&self, environment: Uuid) -> Result<EnvironmentStatus, Error> {
        self.post_empty(&format!("/environment/{environment}/uninstall")).await
    }

    /// Deploys some services, each at a version when given
    /// (`POST /environment/{id}/service/deploy`).
    pub async fn deploy_services(
        &self,
        environment: Uuid,
        request: &DeployAllRequest,
    ) -> Result<EnvironmentStatus, Error> {
        self.send(Method::POST, &format!("/environment/{environment}/service/deploy"), Some(request)).await
    }

    /// Stops some services (`POST /environment/{id}/service/stop`).
    pub async fn stop_services(
        &self,
        environment: Uuid,
        request: &EnvironmentServiceIdsAllRequest,
    ) -> Result<EnvironmentStatus, Error> {
        self.send(Method::POST, &format!("/environment/{environment}/service/stop"), Some(request)).await
    }

    /// Restarts some services; all deployed applications, containers and
    /// databases when the request names none
    /// (`POST /environment/{id}/service/restart-service`).
    pub async fn restart_services(&self, environment: Uuid, request: &RebootServicesRequest) -> Result<Status, Error> {
        self.send(Method::POST, &format!("/environment/{environment}/service/restart-service"), Some(request)).await
    }

    /// Cancels the queued deployments of an environment and stops its
    /// running one (`POST /environment/{id}/cancelDeployment`).
    pub async fn cancel_deployment(&self, environment: Uuid) -> Result<EnvironmentStatus, Error> {
        let body = CancelEnvironmentDeploymentRequest { force_cancel: None };
        self.send(Method::POST, &format!("/environment/{environment}/cancelDeployment"), Some(&body)).await
    }

    // Service actions.

    /// Deploys a service (`POST /{kind}/{id}/deploy`): its configuration, or
    /// the given version.
    pub async fn deploy_service(
        &self,
        kind: ServiceType,
        id: Uuid,
        version: Option<&ServiceVersion>,
    ) -> Result<Status, Error> {
        let path = format!("/{}/{id}/deploy", kind.path());
        let body = match version {
            None => return self.post_empty(&path).await,
            Some(ServiceVersion::Commit(sha)) => VersionBody { git_commit_id: Some(sha), ..Default::default() },
            Some(ServiceVersion::Tag(tag)) => VersionBody { image_tag: Some(tag), ..Default::default() },
        };
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// Deploys a service again at the version it runs (`POST /{kind}/{id}/redeploy`).
    pub async fn redeploy_service(&self, kind: ServiceType, id: Uuid) -> Result<Status, Error> {
        self.post_empty(&format!("/{}/{id}/redeploy", kind.path())).await
    }

    /// Stops a service (`POST /{kind}/{id}/stop`).
    pub async fn stop_service(&self, kind: ServiceType, id: Uuid) -> Result<Status, Error> {
        self.post_empty(&format!("/{}/{id}/stop", kind.path())).await
    }

    /// Restarts a service's instances (`POST /{kind}/{id}/restart-service`;
    /// applications, containers and databases).
    pub async fn restart_service(&self, kind: ServiceType, id: Uuid) -> Result<Status, Error> {
        self.post_empty(&format!("/{}/{id}/restart-service", kind.path())).await
    }

    /// Deploys exactly one of a service's earlier releases (`POST /{kind}/{id}/rollback`).
    pub async fn rollback_service(&self, kind: ServiceType, id: Uuid, release: Uuid) -> Result<Status, Error> {
        let body = RollbackRequest { release_id: release };
        self.send(Method::POST, &format!("/{}/{id}/rollback", kind.path()), Some(&body)).await
    }

    // Statuses.

    /// The status of an environment (`GET /environment/{id}/status`).
    pub async fn environment_status(&self, environment: Uuid) -> Result<EnvironmentStatus, Error> {
        self.get(&format!("/environment/{environment}/status")).await
    }

    /// The statuses of an environment and all its services (`GET /environment/{id}/statuses`).
    pub async fn environment_statuses(&self, environment: Uuid) -> Result<EnvironmentStatuses, Error> {
        self.get(&format!("/environment/{environment}/statuses")).await
    }

    /// The status of one service (`GET /{kind}/{id}/status`).
    pub async fn service_status(&self, kind: ServiceType, id: Uuid) -> Result<Status, Error> {
        self.get(&format!("/{}/{id}/status", kind.path())).await
    }

    // Deployments, history and releases.

    /// One deployment with its steps (`GET /deployment/{id}`).
    pub async fn get_deployment(&self, id: Uuid) -> Result<DeploymentResponse, Error> {
        self.get(&format!("/deployment/{id}")).await
    }

    /// A page of an environment's deployments, newest first
    /// (`GET /environment/{id}/deploymentHistoryV2`). Pages start at 1;
    /// `page_size` is 1 to 100.
    pub async fn environment_history(
        &self,
        environment: Uuid,
        page_size: u32,
        page: u32,
    ) -> Result<DeploymentHistoryEnvironmentPaginatedResponseListV2, Error> {
        self.get(&format!("/environment/{environment}/deploymentHistoryV2?pageSize={page_size}&page={page}")).await
    }

    /// A page of the deployments that acted on a service, newest first
    /// (`GET /{kind}/{id}/deploymentHistoryV2`).
    pub async fn service_history(
        &self,
        kind: ServiceType,
        id: Uuid,
        page_size: u32,
        page: u32,
    ) -> Result<DeploymentHistoryServicePaginatedResponseListV2, Error> {
        self.get(&format!("/{}/{id}/deploymentHistoryV2?pageSize={page_size}&page={page}", kind.path())).await
    }

    /// The queued and running deployments of an environment, oldest first
    /// (`GET /environment/{id}/deploymentQueue`).
    pub async fn deployment_queue(&self, environment: Uuid) -> Result<Vec<QueuedDeploymentRequestWithStages>, Error> {
        self.list(&format!("/environment/{environment}/deploymentQueue")).await
    }

    /// A page of a job's runs, newest first, without their log lines (`GET /job/{id}/run`).
    pub async fn job_runs(&self, job: Uuid, page_size: u32, page: u32) -> Result<Vec<JobRunResponse>, Error> {
        self.list(&format!("/job/{job}/run?pageSize={page_size}&page={page}")).await
    }

    /// One run of a job, with its log lines (`GET /job/{id}/run/{runId}`).
    pub async fn job_run(&self, job: Uuid, run: Uuid) -> Result<JobRunResponse, Error> {
        self.get(&format!("/job/{job}/run/{run}")).await
    }

    /// Runs a deployed cron job now (`POST /job/{id}/deploy?forceEvent=CRON`).
    pub async fn run_cron_now(&self, job: Uuid) -> Result<Status, Error> {
        self.send(Method::POST, &format!("/job/{job}/deploy?forceEvent=CRON"), None::<&()>).await
    }

    /// A service's releases, newest first, the one it runs marked
    /// (`GET /{kind}/{id}/release`).
    pub async fn releases(&self, kind: ServiceType, id: Uuid) -> Result<Vec<ReleaseResponse>, Error> {
        self.list(&format!("/{}/{id}/release", kind.path())).await
    }

    /// The URLs a service answers at, default first (`GET /{kind}/{id}/link`;
    /// applications, containers and Helm charts).
    pub async fn links(&self, kind: ServiceType, id: Uuid) -> Result<Vec<Link>, Error> {
        self.list(&format!("/{}/{id}/link", kind.path())).await
    }

    // Logs.

    /// The last lines of one deployment of an environment, by default its
    /// latest (`GET /environment/{id}/logs?version=`).
    pub async fn deployment_log(
        &self,
        environment: Uuid,
        deployment: Option<Uuid>,
    ) -> Result<Vec<EnvironmentLogs>, Error> {
        let query = deployment.map(|d| format!("?version={d}")).unwrap_or_default();
        self.get(&format!("/environment/{environment}/logs{query}")).await
    }

    /// The last lines a service's instances printed (`GET /{kind}/{id}/log`;
    /// applications and containers).
    pub async fn service_log(&self, kind: ServiceType, id: Uuid) -> Result<Vec<Log>, Error> {
        self.list(&format!("/{}/{id}/log", kind.path())).await
    }

    /// Follows a deployment: its stored log, then live lines and status
    /// changes until it ends (`GET /deployment/{id}/logs/stream`).
    pub async fn stream_deployment(&self, id: Uuid) -> Result<DeploymentEvents, Error> {
        Ok(DeploymentEvents(self.stream(&format!("/deployment/{id}/logs/stream")).await?))
    }

    /// Follows what a service's instances print, starting with the last
    /// `tail` lines of each (`GET /{kind}/{id}/logs/stream?tail=`).
    pub async fn stream_service_logs(&self, kind: ServiceType, id: Uuid, tail: u32) -> Result<ServiceLogs, Error> {
        Ok(ServiceLogs(self.stream(&format!("/{}/{id}/logs/stream?tail={tail}", kind.path())).await?))
    }

    /// A POST without a body.
    async fn post_empty<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(Method::POST, path, None::<&()>).await
    }
}
