//! Slipway's engine: executes deployments and keeps what runs healthy.
//!
//! **Deployments** are durable requests in the store's queue. Workers claim
//! one at a time per environment with a lease they renew while they work;
//! every step and log line is written back, so that a worker that dies (or a
//! server killed mid-deploy) leaves a deployment another worker resumes when
//! the lease expires. A deployment runs its environment's stages in order
//! (databases, jobs, containers, applications by default), the services of a
//! stage in parallel (bounded). When a service fails, the services this
//! deployment already switched return to their previous release: an
//! environment deploy is a transaction.
//!
//! **Rollouts** are health-gated and keep serving: the new revision starts
//! beside the old one, Slipway's own probes decide when it is ready, the
//! edge switches traffic, the old revision is drained, then stopped. A
//! revision that never gets ready is removed and the old one never stopped.
//!
//! **The monitor** runs liveness probes, restarts failed instances with
//! backoff, reports crash loops with their last log lines, scales services
//! between their min and max instances on CPU, keeps the edge's routes in
//! line with what is ready, and removes instances no release accounts for.
//!
//! The engine names no engine API: it drives the [`slipway_runtime::Runtime`]
//! port, and reaches the edge through the [`Traffic`] trait, both supplied by
//! the composition root.

mod database;
mod error;
mod image;
mod job;
mod logger;
mod managed;
mod monitor;
mod probe;
mod rollout;
mod scheduler;
mod steps;
mod terraform;
pub mod variables;
mod worker;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use slipway_model::deployment::{Deployment, DeploymentLog, DeploymentStage};
use slipway_model::variable::redact;
use slipway_model::{Cluster, Environment, Service};
pub use slipway_runtime::LogOptions;
use slipway_runtime::{Runtime, RuntimeError};
use slipway_store::Store;
use tokio::sync::{Notify, broadcast};

pub use database::DatabaseImages;
pub use error::EngineError;
pub use managed::check_database_server;

/// A way into a service from outside, through the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// HTTP requests for `host` whose path is under `path` (`/` for all); upstream, the `path` prefix
    /// becomes `rewrite` when one is set. A host has one entry: its port's public path.
    Http {
        /// The host name.
        host: String,
        /// The public path prefix.
        path: String,
        /// What the prefix becomes in the path sent to the service.
        rewrite: Option<String>,
        /// Whether the edge gets the host a certificate; a custom domain whose TLS ends in front of the
        /// edge (`generate_certificate: false`, a CDN) has none, and plain HTTP is not redirected.
        certificate: bool,
    },
    /// Connections to the edge's TCP `port`: a PUBLIC database, or a public TCP port that has an
    /// external port.
    Tcp {
        /// The port on the edge.
        port: u16,
    },
}

impl Entry {
    /// An HTTP entry for every path of `host`.
    pub fn host(host: impl Into<String>) -> Self {
        Entry::Http { host: host.into(), path: "/".to_owned(), rewrite: None, certificate: true }
    }

    /// The host name of an HTTP entry.
    pub fn http_host(&self) -> Option<&str> {
        match self {
            Entry::Http { host, .. } => Some(host),
            Entry::Tcp { .. } => None,
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Http { host, path, .. } if path == "/" => f.write_str(host),
            Entry::Http { host, path, .. } => write!(f, "{host}{path}"),
            Entry::Tcp { port } => write!(f, "TCP port {port}"),
        }
    }
}

/// Where the edge proxy stands, as the engine sees it.
pub trait Traffic: Send + Sync + fmt::Debug {
    /// Sends what comes in at `entry` to exactly `backends`, replacing what it had, atomically; an
    /// HTTP entry's host then answers under the entry's path only.
    fn route(&self, entry: &Entry, backends: Vec<SocketAddr>);
    /// Stops serving `entry` (for HTTP, every path of its host).
    fn unroute(&self, entry: &Entry);
    /// Resolves once no request is in flight to any of `backends` (which no
    /// route names any more), or at `timeout`; yields how many still were.
    fn drain(&self, backends: Vec<SocketAddr>, timeout: Duration) -> Pin<Box<dyn Future<Output = usize> + Send>>;
    /// The public port HTTPS requests for `host` reach the edge at, when the edge serves `host` over
    /// HTTPS now (TLS on, and a certificate for it); `None` otherwise.
    fn https_port(&self, host: &str) -> Option<u16> {
        let _ = host;
        None
    }
}

/// Gives the runtime of a cluster.
#[async_trait::async_trait]
pub trait Runtimes: Send + Sync + fmt::Debug {
    /// The runtime that drives `cluster`.
    async fn runtime(&self, cluster: &Cluster) -> Result<Arc<dyn Runtime>, RuntimeError>;
}

/// How the engine behaves. Defaults suit a single host.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This worker's name in leases; unique per process.
    pub worker_id: String,
    /// Where git mirrors and build scratch space live.
    pub data_dir: PathBuf,
    /// Base domain of generated public host names.
    pub base_domain: String,
    /// The edge's public HTTP port, for the URLs services are reached at.
    pub public_http_port: u16,
    /// How long a claimed deployment stays ours without a heartbeat.
    pub lease: Duration,
    /// How often the lease is renewed.
    pub heartbeat: Duration,
    /// How often idle workers look at the queue (they are also woken on submit).
    pub poll: Duration,
    /// How many deployments (of different environments) run at once.
    pub max_deployments: usize,
    /// How many services of one stage deploy at once.
    pub max_parallel_services: usize,
    /// How long a new revision may take to become ready.
    pub readiness_timeout: Duration,
    /// How long in-flight requests to an old revision may take to finish.
    pub drain_timeout: Duration,
    /// How often the monitor checks liveness, crashes and load.
    pub monitor_interval: Duration,
    /// The images CONTAINER databases run.
    pub database_images: DatabaseImages,
    /// How often the cron scheduler looks for runs that are due.
    pub scheduler_tick: Duration,
    /// The `terraform` CLI Terraform services run (a name looked up in `PATH`, or a path).
    pub terraform_bin: PathBuf,
}

impl EngineConfig {
    /// Defaults for a server with this data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        EngineConfig {
            worker_id: format!("worker-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            data_dir,
            base_domain: "localhost".into(),
            public_http_port: 80,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(2),
            max_deployments: 4,
            max_parallel_services: 4,
            readiness_timeout: Duration::from_secs(180),
            drain_timeout: Duration::from_secs(30),
            monitor_interval: Duration::from_secs(5),
            database_images: DatabaseImages::default(),
            scheduler_tick: scheduler::DEFAULT_TICK,
            terraform_bin: PathBuf::from("terraform"),
        }
    }
}

/// The engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) runtimes: Arc<dyn Runtimes>,
    pub(crate) traffic: Arc<dyn Traffic>,
    pub(crate) config: EngineConfig,
    pub(crate) wake: Notify,
    pub(crate) logs: broadcast::Sender<DeploymentLog>,
    pub(crate) fetcher: slipway_build::Fetcher,
    pub(crate) monitor: monitor::MonitorState,
    /// Opens the secrets the engine needs (variables, credentials).
    pub(crate) secrets: slipway_secrets::SecretBox,
}

impl Engine {
    /// An engine over `store`; call [`Engine::start`] to run it.
    pub fn new(
        store: Store,
        runtimes: Arc<dyn Runtimes>,
        traffic: Arc<dyn Traffic>,
        secrets: slipway_secrets::SecretBox,
        config: EngineConfig,
    ) -> Engine {
        let (logs, _) = broadcast::channel(4096);
        let fetcher = slipway_build::Fetcher::new(config.data_dir.join("cache"));
        Engine {
            inner: Arc::new(Inner {
                store,
                runtimes,
                traffic,
                config,
                wake: Notify::new(),
                logs,
                fetcher,
                monitor: monitor::MonitorState::default(),
                secrets,
            }),
        }
    }

    /// Starts the workers and the monitor. They stop when `shutdown` resolves;
    /// a deployment in flight is left to be resumed (its lease expires).
    pub fn start(&self, shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let monitor = tokio::spawn(monitor::run(inner.clone(), shutdown.clone()));
            let scheduler = tokio::spawn(scheduler::run(inner.clone(), shutdown.clone()));
            worker::run(inner, shutdown).await;
            monitor.abort();
            scheduler.abort();
        })
    }

    /// Runs a deployed cron job now (`deployJob?forceEvent=CRON`); the run, as it starts. Refused when
    /// the job was never deployed, busy when a run is in progress and the job forbids overlaps.
    pub async fn force_run(&self, service: &Service) -> Result<slipway_model::job::JobRun, EngineError> {
        scheduler::force_run(&self.inner, service).await
    }

    /// Queues a deployment and wakes a worker.
    pub async fn submit(&self, deployment: &Deployment) -> Result<(), EngineError> {
        self.inner.store.insert_deployment(deployment).await?;
        self.inner.wake.notify_waiters();
        Ok(())
    }

    /// Every deployment log line as it is written.
    pub fn subscribe(&self) -> broadcast::Receiver<DeploymentLog> {
        self.inner.logs.subscribe()
    }

    /// The base domain of generated public host names.
    pub fn base_domain(&self) -> &str {
        &self.inner.config.base_domain
    }

    /// The server's secret box.
    pub fn secrets(&self) -> &slipway_secrets::SecretBox {
        &self.inner.secrets
    }

    /// The runtime of a cluster.
    pub async fn runtime(&self, cluster: &Cluster) -> Result<Arc<dyn Runtime>, EngineError> {
        Ok(self.inner.runtimes.runtime(cluster).await?)
    }

    /// An environment's deployment stages in order, creating the default
    /// ones (one per service kind) the first time.
    pub async fn stages(&self, environment: &Environment) -> Result<Vec<DeploymentStage>, EngineError> {
        let mut stages = worker::stages_of(&self.inner, environment).await?;
        stages.sort_by_key(|s| s.position);
        Ok(stages)
    }

    /// Makes the edge stop answering at a custom domain that was removed or
    /// renamed (a running service's new domains are routed by the monitor).
    pub fn unroute_custom_domain(&self, domain: &str) {
        self.inner.traffic.unroute(&Entry::host(domain));
    }

    /// The public URLs of a service, one per public HTTP port, default first.
    pub fn public_urls(&self, service: &Service) -> Vec<PublicUrl> {
        self.urls(service, &rollout::RouteExtras::default())
    }

    /// A service's links: its public URLs, then one per custom domain (to the default public port).
    pub async fn links(&self, service: &Service) -> Vec<PublicUrl> {
        let extras = rollout::route_extras(&self.inner.store, service).await;
        self.urls(service, &extras)
    }

    fn urls(&self, service: &Service, extras: &rollout::RouteExtras) -> Vec<PublicUrl> {
        let Some(workload) = rollout::Workload::of(&service.spec) else { return Vec::new() };
        let port = self.inner.config.public_http_port;
        let default = workload.main_port().map(|p| p.internal_port);
        let custom: std::collections::HashSet<&str> = extras.domains.iter().map(|d| d.domain.as_str()).collect();
        let mut urls: Vec<PublicUrl> =
            rollout::public_routes(service, &workload, &self.inner.config.base_domain, extras)
                .into_iter()
                .filter_map(|r| {
                    let Entry::Http { host, path, certificate, .. } = r.entry else { return None };
                    let path = if path == "/" { String::new() } else { path };
                    // A host with a certificate is reached over HTTPS when the edge serves it.
                    let https = if certificate { self.inner.traffic.https_port(&host) } else { None };
                    let (scheme, port, usual) = match https {
                        Some(https) => ("https", https, 443),
                        None => ("http", port, 80),
                    };
                    Some(PublicUrl {
                        url: if port == usual {
                            format!("{scheme}://{host}{path}")
                        } else {
                            format!("{scheme}://{host}:{port}{path}")
                        },
                        generated: !custom.contains(host.as_str()),
                        host,
                        internal_port: r.port,
                        external_port: port,
                        is_default: Some(u32::from(r.port)) == default,
                    })
                })
                .collect();
        // Default first, then generated before custom domains; the sort is stable.
        urls.sort_by_key(|u| (!u.is_default, !u.generated));
        urls
    }

    /// Every secret the services of `environment` may see, in masking order.
    pub async fn secret_values(&self, environment: &Environment) -> Result<Vec<String>, EngineError> {
        let all = variables::load(&self.inner.store, &self.inner.secrets, &self.inner.config.base_domain, environment)
            .await?;
        Ok(slipway_model::variable::masking_order(all.secret_values()))
    }

    /// The output of a service's running instances, each line with the name
    /// of the instance that printed it.
    pub async fn service_logs(&self, service: &Service, options: LogOptions) -> Result<ServiceLogs, EngineError> {
        use futures_util::StreamExt;
        let env: Environment = self.inner.store.get(service.organization_id, service.environment_id).await?;
        let cluster: Cluster = self.inner.store.get(service.organization_id, env.cluster_id).await?;
        let runtime = self.inner.runtimes.runtime(&cluster).await?;
        let instances = rollout::service_instances(runtime.as_ref(), service.id).await?;
        let hidden = Arc::new(self.secret_values(&env).await?);
        let mut streams = Vec::new();
        for instance in instances {
            let name = instance.name.clone();
            let lines = runtime.logs(&instance.id, options.clone()).await?;
            let hidden = hidden.clone();
            streams.push(
                lines
                    .filter_map(move |l| {
                        let name = name.clone();
                        let hidden = hidden.clone();
                        async move {
                            l.ok().map(|mut l| {
                                if let std::borrow::Cow::Owned(masked) = redact(&l.line, &hidden) {
                                    l.line = masked;
                                }
                                (name, l)
                            })
                        }
                    })
                    .boxed(),
            );
        }
        Ok(futures_util::stream::select_all(streams).boxed())
    }
}

/// A URL a service answers at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// The full URL.
    pub url: String,
    /// Its host name on the edge.
    pub host: String,
    /// The service's port it reaches.
    pub internal_port: u16,
    /// The edge's port.
    pub external_port: u16,
    /// Whether this is the service's default port.
    pub is_default: bool,
    /// Whether the host is one Slipway generated (not a custom domain).
    pub generated: bool,
}

/// Lines from a service's instances: (instance name, line).
pub type ServiceLogs = futures_util::stream::BoxStream<'static, (String, slipway_runtime::LogLine)>;
