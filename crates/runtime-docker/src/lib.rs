//! Slipway's driver for Docker Engine API endpoints: Docker and Podman.
//!
//! [`DockerRuntime`] implements the [`slipway_runtime::Runtime`] port with
//! bollard's typed client; it never shells out to `docker` or `podman`. It owns
//! the translation between Slipway's instance specs and the engine's container,
//! network, volume, image and exec objects, and nothing else: which instances
//! should exist is the engine worker's business, and it finds them again by
//! label, so this driver keeps no list of what it started.
//!
//! # Modules
//!
//! - `connect`: endpoint parsing, auto-detection, version negotiation, `info`.
//! - `resources`: user-defined bridge networks and named volumes.
//! - `images`: inspect, pull, build from an in-memory tar context, import a
//!   root file system tarball (as a build: see the module), tag, push.
//! - `instances`: create/start/inspect/list/stop/restart/remove/wait.
//! - `logs`, `exec`, `usage`: observing a running instance.
//! - `errors`: one mapping from bollard errors to [`RuntimeError`].
//!
//! # Podman and Docker differences handled here
//!
//! - **Engine identity**: Podman's `/version` lists a `Podman Engine`
//!   component; Docker lists `Engine`. `info` reports `podman` or `docker`.
//! - **API version**: the client negotiates down to what the engine speaks
//!   (Podman 4.3 and Docker 20.10 both answer 1.41).
//! - **Image names**: Podman's compat API stores an unqualified build tag as
//!   `docker.io/<name>`. Callers pass fully qualified tags (`localhost/...`,
//!   `host:port/...`); lookups by an unqualified name also try the
//!   `docker.io/`, `docker.io/library/` and `localhost/` spellings.
//! - **Registry digests**: both engines print the pushed digest in the push
//!   stream, and `push` returns it as `repository@sha256:...`. Podman's
//!   `RepoDigests` pairs every name of an image with every manifest digest it
//!   ever had (local ones included) and its pull stream names no digest, so on
//!   Podman [`ImageRef::digest`](slipway_runtime::ImageRef) is only known when
//!   the reference pins it; record what `push` returns.
//! - **Stats**: Docker's non-streaming stats carry a previous CPU sample
//!   (`precpu_stats`, a second earlier); Podman's are empty. When they are,
//!   `usage` takes a second sample itself, 500 ms later.
//! - **Network creation**: Docker before API 1.44 creates a second network
//!   with the same name instead of refusing, so `ensure_network` looks for the
//!   exact name first and serialises creations within the process; a 409 is
//!   success. Networks and instances are matched by exact name, never by the
//!   id prefix both engines also accept. Podman fails a creation with "no
//!   such network interface" when a host interface vanishes while it picks a
//!   subnet (an instance removed meanwhile); the driver tries again.
//! - **Network isolation**: an environment's network must not be reachable
//!   from another's. Podman routes between its bridge networks unless they
//!   are created with the `isolate` option (seen on Podman 4.3, CNI), so
//!   the driver creates them so on Podman and recreates an older, unisolated
//!   one once it is empty (`resources` has the details). Docker isolates
//!   bridge networks with the daemon's iptables rules
//!   (`DOCKER-ISOLATION-STAGE-*`), so only when dockerd runs with iptables
//!   enabled: with `"iptables": false` its networks route to each other and
//!   nothing in the API can change that.
//! - **Error shapes**: a missing image on pull is an HTTP error on Docker and
//!   an error inside a 200 progress stream on Podman; both become
//!   [`RuntimeError::Pull`]. Build errors likewise become
//!   [`RuntimeError::Build`] with the engine's message.
//! - **Logs**: Podman stamps log lines to the second, Docker to the
//!   nanosecond, and Docker may order a stderr line before stdout lines
//!   written earlier. `since` keeps lines at or after the given time, so a
//!   reader resuming from its last timestamp may see lines of that second
//!   again on Podman.
//! - **Wait**: bollard reports a non-zero exit as an error; `wait` turns it
//!   back into the exit code.
//!
//! Engine set-up the driver relies on (done by `scripts/setup-engine.sh`):
//! default ulimits within the host's hard limits (both engines), and on
//! Podman's CNI backend the `dnsname` plugin, without which containers on a
//! user-defined network cannot resolve each other's names or aliases.
//!
//! # Concurrency model
//!
//! A [`DockerRuntime`] is cheap to clone and safe to share (`Send + Sync`):
//! every call opens its own HTTP request over the engine's socket (bollard's
//! client keeps no idle connections), so any number of tasks may call it at
//! once. The engine itself serialises conflicting operations on one object.
//! The only state in the driver is a mutex around network creation (see
//! above). Calls that wait on the engine (stop, wait, exec, pull, build,
//! push, log follow) use a client with a request timeout sized for the
//! operation rather than bollard's default two minutes; pulls and pushes are
//! bounded by an idle timeout between progress messages, exec by the
//! caller's timeout. A log stream owns its client and outlives the call.
//!
//! Two consequences of the Docker API worth knowing: `remove` forces (the
//! engine kills a running instance at once), so call `stop` first for a
//! graceful stop; and an `exec` that times out keeps running inside the
//! instance, because the API has no way to kill an exec.

mod connect;
mod errors;
mod exec;
mod images;
mod instances;
mod logs;
mod resources;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use slipway_runtime::{
    BuildRequest, EngineInfo, ExecOutput, ImageRef, Instance, InstanceSpec, Labels, LogLines, LogOptions, Progress,
    RegistryAuth, Result, Runtime, RuntimeError, Usage,
};

pub use connect::{Endpoint, EngineKind};
pub use resources::ISOLATED_LABEL;

/// A Docker Engine API endpoint (Docker or Podman) as a Slipway runtime.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    endpoint: Endpoint,
    kind: EngineKind,
    /// Serialises network creation; see the crate docs.
    network_creation: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime").field("endpoint", &self.endpoint).field("kind", &self.kind).finish()
    }
}

impl DockerRuntime {
    /// The endpoint this runtime talks to (`unix:///run/podman/podman.sock`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Which engine answers at the endpoint.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The client with a request timeout of at least `timeout`, for calls that
    /// legitimately wait on the engine longer than the default.
    fn patient(&self, timeout: Duration) -> Docker {
        self.docker.clone().with_timeout(timeout.max(self.docker.timeout()))
    }

    /// Maps a bollard error to the port's error.
    fn error(&self, error: bollard::errors::Error) -> RuntimeError {
        errors::map(&self.endpoint, error)
    }
}

#[async_trait::async_trait]
impl Runtime for DockerRuntime {
    async fn info(&self) -> Result<EngineInfo> {
        self.engine_info().await
    }

    async fn ensure_network(&self, name: &str, labels: &Labels) -> Result<()> {
        self.ensure_network_impl(name, labels).await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_network_impl(name).await
    }

    async fn ensure_volume(&self, name: &str, labels: &Labels) -> Result<()> {
        self.ensure_volume_impl(name, labels).await
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.remove_volume_impl(name).await
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageRef>> {
        self.image_impl(reference).await
    }

    async fn pull(&self, reference: &str, auth: Option<&RegistryAuth>, progress: Progress<'_>) -> Result<ImageRef> {
        self.pull_impl(reference, auth, progress).await
    }

    async fn build(&self, request: BuildRequest, progress: Progress<'_>) -> Result<ImageRef> {
        retry_lost_layers(progress, || self.build_impl(request.clone(), progress)).await
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        self.remove_image_impl(reference).await
    }

    async fn tag(&self, image: &str, reference: &str) -> Result<()> {
        self.tag_impl(image, reference).await
    }

    async fn push(&self, reference: &str, auth: Option<&RegistryAuth>, progress: Progress<'_>) -> Result<String> {
        self.push_impl(reference, auth, progress).await
    }

    async fn start(&self, spec: &InstanceSpec) -> Result<Instance> {
        self.start_impl(spec).await
    }

    async fn inspect(&self, id: &str) -> Result<Option<Instance>> {
        self.inspect_impl(id).await
    }

    async fn list(&self, labels: &Labels) -> Result<Vec<Instance>> {
        self.list_impl(labels).await
    }

    async fn stop(&self, id: &str, timeout: Duration) -> Result<()> {
        self.stop_impl(id, timeout).await
    }

    async fn restart(&self, id: &str, timeout: Duration) -> Result<()> {
        self.restart_impl(id, timeout).await
    }

    async fn remove(&self, id: &str) -> Result<()> {
        self.remove_impl(id).await
    }

    async fn logs(&self, id: &str, options: LogOptions) -> Result<LogLines> {
        self.logs_impl(id, options).await
    }

    async fn exec(&self, id: &str, command: &[String], timeout: Duration) -> Result<ExecOutput> {
        self.exec_impl(id, command, timeout).await
    }

    async fn usage(&self, id: &str) -> Result<Usage> {
        self.usage_impl(id).await
    }

    async fn wait(&self, id: &str) -> Result<i64> {
        self.wait_impl(id).await
    }

    async fn read_file(&self, id: &str, path: &str, limit: usize) -> Result<Option<Vec<u8>>> {
        self.read_file_impl(id, path, limit).await
    }

    async fn import_image(
        &self,
        tarball: &std::path::Path,
        reference: &str,
        changes: &[String],
        progress: Progress<'_>,
    ) -> Result<ImageRef> {
        retry_lost_layers(progress, || self.import_image_impl(tarball, reference, changes, progress)).await
    }

    async fn image_labels(&self, reference: &str) -> Result<Option<Labels>> {
        self.image_labels_impl(reference).await
    }
}

/// Runs a build again when it failed only because Podman's layer cache lost
/// a layer to a concurrent image removal between its lookup and its use
/// ("layer not known"): the build itself is fine.
async fn retry_lost_layers<F, Fut>(progress: Progress<'_>, mut build: F) -> Result<ImageRef>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<ImageRef>>,
{
    let mut attempts = 0;
    loop {
        match build().await {
            Err(RuntimeError::Build(message)) if message.contains("layer not known") && attempts < 2 => {
                attempts += 1;
                progress("build: the engine lost a cached layer to a concurrent removal; building again");
            }
            other => return other,
        }
    }
}
