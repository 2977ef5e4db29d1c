//! The cluster driver port: what Slipway's engine needs from the place
//! services run, and nothing about how a given engine provides it.
//!
//! A [`Runtime`] manages *instances* (one running copy of a service revision:
//! a container on a Docker Engine API endpoint, later a pod on Kubernetes),
//! the private network of each environment, persistent volumes, and images
//! (pull, build, tag, push). Drivers live beside this crate:
//! `runtime-docker` for Docker and Podman through the Docker Engine API,
//! `runtime-kube` for Kubernetes.
//!
//! Every operation is idempotent where it can be: ensuring a network or a
//! volume that exists succeeds, removing one that is gone succeeds. Instances
//! carry [`Labels`]; the engine finds what it runs by label, never by keeping
//! a list in memory, so a restarted Slipway sees exactly what is running.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Key/value labels on instances, networks and volumes.
pub type Labels = BTreeMap<String, String>;

/// The label keys Slipway puts on everything it creates.
pub mod label {
    /// Marks a resource as Slipway's; the value is always `true`.
    pub const MANAGED: &str = "slipway.io/managed";
    /// The organization id.
    pub const ORGANIZATION: &str = "slipway.io/organization";
    /// The environment id.
    pub const ENVIRONMENT: &str = "slipway.io/environment";
    /// The service id.
    pub const SERVICE: &str = "slipway.io/service";
    /// The release id an instance runs.
    pub const RELEASE: &str = "slipway.io/release";
    /// The replica index of an instance within its release.
    pub const REPLICA: &str = "slipway.io/replica";
    /// What the instance is: `service`, `job` or `build`.
    pub const ROLE: &str = "slipway.io/role";
}

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine cannot be reached at all.
    #[error("container engine unreachable at {endpoint}: {reason}")]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// An image could not be pulled.
    #[error("cannot pull image {reference}: {reason}")]
    Pull {
        /// The image.
        reference: String,
        /// The engine's reason.
        reason: String,
    },
    /// An image build failed; the log has the details.
    #[error("image build failed: {0}")]
    Build(String),
    /// An image push failed.
    #[error("cannot push image {reference}: {reason}")]
    Push {
        /// The image.
        reference: String,
        /// The engine's reason.
        reason: String,
    },
    /// An operation did not finish in time.
    #[error("{0} timed out")]
    Timeout(String),
    /// Any other refusal or failure of the engine.
    #[error("container engine error: {0}")]
    Engine(String),
}

/// Result of a runtime operation.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Which engine answers, and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// `docker`, `podman`, or a Kubernetes distribution.
    pub name: String,
    /// The engine's own version.
    pub version: String,
    /// The API version in use.
    pub api_version: String,
}

/// An image present on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The reference it was asked for (`name:tag`).
    pub reference: String,
    /// The engine's content id (`sha256:...`), stable for the same content.
    pub id: String,
    /// The registry digest (`name@sha256:...`), when it came from or went to a registry.
    pub digest: Option<String>,
}

/// Credentials for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// The registry host (`registry.example.com:5000`).
    pub server: String,
    /// User name.
    pub username: String,
    /// Password or token. Never logged.
    pub password: String,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryAuth").field("server", &self.server).field("username", &self.username).finish()
    }
}

/// An image to build from a context.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The build context as a tar archive.
    pub context: Vec<u8>,
    /// Path of the Dockerfile inside the context.
    pub dockerfile: String,
    /// The stage to build (`--target`).
    pub target: Option<String>,
    /// Build arguments (`--build-arg`).
    pub build_args: BTreeMap<String, String>,
    /// The reference to tag the result with.
    pub tag: String,
    /// Labels to put on the image.
    pub labels: Labels,
}

/// A named volume mounted into an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// The volume's name.
    pub volume: String,
    /// Where it appears inside the instance.
    pub target: String,
}

/// A port of an instance published on the host (TCP exposure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// The port inside the instance.
    pub container_port: u16,
    /// The host address to bind (`127.0.0.1`, `0.0.0.0`).
    pub host_ip: IpAddr,
    /// The host port; 0 lets the engine choose.
    pub host_port: u16,
}

/// A file put into an instance before it starts.
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceFile {
    /// Absolute path inside the instance.
    pub path: String,
    /// Its content.
    pub content: Vec<u8>,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner (uid), when not root.
    pub uid: u64,
}

impl fmt::Debug for InstanceFile {
    /// Without the content: it may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceFile").field("path", &self.path).field("len", &self.content.len()).finish()
    }
}

/// One instance to create and start.
#[derive(Debug, Clone, Default)]
pub struct InstanceSpec {
    /// Unique name on the engine.
    pub name: String,
    /// The image reference or id to run.
    pub image: String,
    /// The network to join, if any.
    pub network: Option<String>,
    /// Extra DNS names of the instance on that network.
    pub aliases: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Replaces the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command (arguments).
    pub command: Option<Vec<String>>,
    /// CPU limit in millicores.
    pub cpu_millis: Option<u32>,
    /// Memory limit in MiB.
    pub memory_mib: Option<u32>,
    /// Volumes to mount.
    pub volumes: Vec<VolumeMount>,
    /// Ports to publish on the host.
    pub published_ports: Vec<PublishedPort>,
    /// Files written into the instance before it starts (file variables,
    /// generated configuration): never on the host's disk, never in the image.
    pub files: Vec<InstanceFile>,
    /// Empty directories made before it starts, writable by every user (a job's output directory).
    pub directories: Vec<String>,
    /// Labels.
    pub labels: Labels,
    /// Seconds between the stop signal and a kill.
    pub stop_timeout_secs: u32,
}

/// What an instance is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted by the engine.
    Restarting,
    /// Stopped, with its exit code.
    Exited {
        /// The exit code of its main process.
        code: i64,
    },
    /// Dead or being removed.
    Dead,
}

/// An instance as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The engine's id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The image it runs (as given at creation).
    pub image: String,
    /// Its labels.
    pub labels: Labels,
    /// Its state.
    pub state: InstanceState,
    /// Its address on its network, when running.
    pub ip: Option<IpAddr>,
    /// When it last started.
    pub started_at: Option<DateTime<Utc>>,
    /// Published ports: (container port, host port).
    pub published: Vec<(u16, u16)>,
    /// Its CPU limit in millicores, when it has one and the engine says.
    pub cpu_millis: Option<u32>,
    /// Its memory limit in MiB, when it has one and the engine says.
    pub memory_mib: Option<u32>,
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line an instance printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its stream.
    pub stream: LogStream,
    /// When the engine received it.
    pub timestamp: Option<DateTime<Utc>>,
    /// The line, without its newline.
    pub line: String,
}

/// Which log lines to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Keep streaming new lines until the instance stops.
    pub follow: bool,
    /// Only the last lines.
    pub tail: Option<usize>,
    /// Only lines after this time.
    pub since: Option<DateTime<Utc>>,
}

/// The result of a command run inside an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: i64,
    /// Its standard output and error, interleaved.
    pub output: String,
}

/// Resource usage of an instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// CPU used, in millicores, averaged over the engine's sampling window.
    pub cpu_millis: f64,
    /// Memory in use, in bytes.
    pub memory_bytes: u64,
}

/// A stream of log lines.
pub type LogLines = Pin<Box<dyn futures_core::Stream<Item = Result<LogLine>> + Send>>;

/// Receives progress output (build steps, pull progress) line by line.
pub type Progress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A place services run.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + fmt::Debug {
    /// Which engine this is; fails when it cannot be reached.
    async fn info(&self) -> Result<EngineInfo>;

    /// Creates the network if missing.
    async fn ensure_network(&self, name: &str, labels: &Labels) -> Result<()>;
    /// Removes the network; succeeds if it is gone.
    async fn remove_network(&self, name: &str) -> Result<()>;
    /// Creates the volume if missing.
    async fn ensure_volume(&self, name: &str, labels: &Labels) -> Result<()>;
    /// Removes the volume; succeeds if it is gone.
    async fn remove_volume(&self, name: &str) -> Result<()>;

    /// The image with this reference or id, if present.
    async fn image(&self, reference: &str) -> Result<Option<ImageRef>>;
    /// Pulls an image from its registry.
    async fn pull(&self, reference: &str, auth: Option<&RegistryAuth>, progress: Progress<'_>) -> Result<ImageRef>;
    /// Builds an image, streaming the build output to `progress`.
    async fn build(&self, request: BuildRequest, progress: Progress<'_>) -> Result<ImageRef>;
    /// Adds a reference to an image.
    async fn tag(&self, image: &str, reference: &str) -> Result<()>;
    /// Removes a reference to an image (the image goes with its last
    /// reference, unless an instance uses it); succeeds if it is gone.
    async fn remove_image(&self, reference: &str) -> Result<()>;
    /// Pushes an image to its registry; returns the registry digest.
    async fn push(&self, reference: &str, auth: Option<&RegistryAuth>, progress: Progress<'_>) -> Result<String>;

    /// Creates and starts an instance.
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance>;
    /// The instance with this id or name, if any.
    async fn inspect(&self, id: &str) -> Result<Option<Instance>>;
    /// Every instance (running or not) carrying all of `labels`.
    async fn list(&self, labels: &Labels) -> Result<Vec<Instance>>;
    /// Stops an instance: the stop signal, then a kill after `timeout`.
    async fn stop(&self, id: &str, timeout: Duration) -> Result<()>;
    /// Restarts an instance.
    async fn restart(&self, id: &str, timeout: Duration) -> Result<()>;
    /// Removes an instance, stopping it first; succeeds if it is gone.
    async fn remove(&self, id: &str) -> Result<()>;
    /// The instance's output.
    async fn logs(&self, id: &str, options: LogOptions) -> Result<LogLines>;
    /// Runs a command inside a running instance.
    async fn exec(&self, id: &str, command: &[String], timeout: Duration) -> Result<ExecOutput>;
    /// Current resource usage.
    async fn usage(&self, id: &str) -> Result<Usage>;
    /// Waits for the instance to exit; returns its exit code.
    async fn wait(&self, id: &str) -> Result<i64>;
    /// The content of the regular file at `path` in an instance, running or exited; `None` when there
    /// is no such file. A file larger than `limit` bytes is an error.
    async fn read_file(&self, id: &str, path: &str, limit: usize) -> Result<Option<Vec<u8>>>;

    /// Makes an image of a root file system tarball (plain or compressed),
    /// tagged `reference`, with `changes` applied to its configuration: one
    /// Dockerfile instruction each, among `CMD`, `ENTRYPOINT`, `ENV`,
    /// `EXPOSE`, `LABEL`, `STOPSIGNAL`, `USER`, `VOLUME` and `WORKDIR`.
    async fn import_image(
        &self,
        tarball: &std::path::Path,
        reference: &str,
        changes: &[String],
        progress: Progress<'_>,
    ) -> Result<ImageRef>;
    /// The labels of the image with this reference or id, if present.
    async fn image_labels(&self, reference: &str) -> Result<Option<Labels>>;
}
