//! Instances: containers created from an [`InstanceSpec`], found by name, id
//! or label, stopped, restarted, removed and waited on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use bollard::errors::Error;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerState, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig, PortBinding, PortMap,
};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, InspectContainerOptions, ListContainersOptions,
    RemoveContainerOptions, RestartContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use chrono::{DateTime, Datelike, Utc};
use futures_util::StreamExt;
use slipway_runtime::{Instance, InstanceSpec, InstanceState, Labels, Result, RuntimeError};

use crate::DockerRuntime;
use crate::errors::{is_conflict, is_not_found};

/// How many containers `list` inspects at once.
const LIST_CONCURRENCY: usize = 8;
/// Added to a stop timeout for the engine to kill and report back.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How often, and how far apart, `inspect` asks again about a state the Docker API does not know.
const UNKNOWN_STATE_RETRIES: usize = 20;
const UNKNOWN_STATE_PAUSE: Duration = Duration::from_millis(50);
/// How long `wait` may wait for an instance to exit.
const WAIT_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The engine's create request for `spec`.
pub(crate) fn create_body(spec: &InstanceSpec) -> ContainerCreateBody {
    let mut port_bindings = PortMap::new();
    for port in &spec.published_ports {
        let binding = PortBinding {
            host_ip: Some(port.host_ip.to_string()),
            // Empty lets the engine choose, on Docker and Podman alike.
            host_port: Some(if port.host_port == 0 { String::new() } else { port.host_port.to_string() }),
        };
        port_bindings
            .entry(format!("{}/tcp", port.container_port))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_default()
            .push(binding);
    }
    let mut exposed: Vec<String> = port_bindings.keys().cloned().collect();
    exposed.sort();
    let mounts = spec
        .volumes
        .iter()
        .map(|v| Mount {
            typ: Some(MountType::VOLUME),
            source: Some(v.volume.clone()),
            target: Some(v.target.clone()),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let memory = spec.memory_mib.map(|mib| i64::from(mib) * 1024 * 1024);
    let host_config = HostConfig {
        nano_cpus: spec.cpu_millis.map(|millis| i64::from(millis) * 1_000_000),
        memory,
        // No swap beyond the limit: the limit means what it says, as on Kubernetes.
        memory_swap: memory,
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        network_mode: spec.network.clone(),
        ..Default::default()
    };
    let networking_config = spec.network.as_ref().map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.clone(),
            EndpointSettings {
                aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                ..Default::default()
            },
        )])),
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.command.clone(),
        labels: Some(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        stop_timeout: Some(i64::from(spec.stop_timeout_secs)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// An engine timestamp; the zero time (`0001-01-01T00:00:00Z`) means never.
pub(crate) fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let time = DateTime::parse_from_rfc3339(value?.trim()).ok()?.with_timezone(&Utc);
    (time.year() > 1).then_some(time)
}

pub(crate) fn state_of(state: Option<&ContainerState>) -> InstanceState {
    let Some(state) = state else { return InstanceState::Dead };
    let exited = InstanceState::Exited { code: state.exit_code.unwrap_or_default() };
    match state.status {
        Some(ContainerStateStatusEnum::CREATED) => InstanceState::Created,
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING) => InstanceState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => InstanceState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => InstanceState::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => exited,
        Some(ContainerStateStatusEnum::DEAD | ContainerStateStatusEnum::REMOVING) => InstanceState::Dead,
        Some(ContainerStateStatusEnum::EMPTY) | None => {
            if state.restarting == Some(true) {
                InstanceState::Restarting
            } else if state.paused == Some(true) {
                InstanceState::Paused
            } else if state.running == Some(true) {
                InstanceState::Running
            } else if state.dead == Some(true) {
                InstanceState::Dead
            } else {
                exited
            }
        }
    }
}

/// Published ports as (container port, host port), sorted, without the
/// duplicates an engine lists for its IPv4 and IPv6 bindings.
pub(crate) fn published_ports(ports: Option<&PortMap>) -> Vec<(u16, u16)> {
    let mut published: Vec<(u16, u16)> = ports
        .into_iter()
        .flatten()
        .filter_map(|(key, bindings)| {
            let container_port = key.split('/').next()?.parse::<u16>().ok()?;
            Some(bindings.iter().flatten().filter_map(move |b| {
                let host_port = b.host_port.as_deref()?.parse::<u16>().ok().filter(|p| *p != 0)?;
                Some((container_port, host_port))
            }))
        })
        .flatten()
        .collect();
    published.sort_unstable();
    published.dedup();
    published
}

/// The instance as the port describes it.
pub(crate) fn instance_of(inspect: ContainerInspectResponse) -> Instance {
    let state = state_of(inspect.state.as_ref());
    let limits = inspect.host_config.as_ref();
    let cpu_millis = limits.and_then(|h| h.nano_cpus).filter(|n| *n > 0).map(|n| (n / 1_000_000) as u32);
    let memory_mib = limits.and_then(|h| h.memory).filter(|m| *m > 0).map(|m| (m / (1024 * 1024)) as u32);
    let config = inspect.config.unwrap_or_default();
    let settings = inspect.network_settings.unwrap_or_default();
    let mut networks: Vec<(String, EndpointSettings)> = settings.networks.unwrap_or_default().into_iter().collect();
    networks.sort_by(|a, b| a.0.cmp(&b.0));
    let ip = networks.iter().find_map(|(_, endpoint)| endpoint.ip_address.as_deref()?.parse::<IpAddr>().ok());
    let started_at = match state {
        InstanceState::Created => None,
        _ => parse_time(inspect.state.as_ref().and_then(|s| s.started_at.as_deref())),
    };
    Instance {
        id: inspect.id.unwrap_or_default(),
        name: inspect.name.unwrap_or_default().trim_start_matches('/').to_owned(),
        image: config.image.or(inspect.image).unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        state,
        ip,
        started_at,
        published: published_ports(settings.ports.as_ref()),
        cpu_millis,
        memory_mib,
    }
}

/// The exit code in a listing's status text (`Exited (137) 3 seconds ago`).
pub(crate) fn exit_code_in_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split_once(')')?.0.trim().parse().ok()
}

/// The instance as a listing entry describes it; it has no start time.
pub(crate) fn instance_of_summary(summary: ContainerSummary) -> Instance {
    let exited =
        InstanceState::Exited { code: summary.status.as_deref().and_then(exit_code_in_status).unwrap_or_default() };
    let state = match summary.state {
        Some(ContainerSummaryStateEnum::CREATED) => InstanceState::Created,
        Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::STOPPING) => InstanceState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => InstanceState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => InstanceState::Restarting,
        Some(ContainerSummaryStateEnum::DEAD | ContainerSummaryStateEnum::REMOVING) => InstanceState::Dead,
        Some(ContainerSummaryStateEnum::EXITED | ContainerSummaryStateEnum::EMPTY) | None => exited,
    };
    let mut networks: Vec<(String, EndpointSettings)> =
        summary.network_settings.and_then(|n| n.networks).unwrap_or_default().into_iter().collect();
    networks.sort_by(|a, b| a.0.cmp(&b.0));
    let mut published: Vec<(u16, u16)> = summary
        .ports
        .iter()
        .flatten()
        .filter_map(|p| Some((p.private_port, p.public_port.filter(|port| *port != 0)?)))
        .collect();
    published.sort_unstable();
    published.dedup();
    Instance {
        id: summary.id.unwrap_or_default(),
        name: summary.names.iter().flatten().next().map(|n| n.trim_start_matches('/').to_owned()).unwrap_or_default(),
        image: summary.image.unwrap_or_default(),
        labels: summary.labels.unwrap_or_default().into_iter().collect(),
        state,
        ip: networks.iter().find_map(|(_, endpoint)| endpoint.ip_address.as_deref()?.parse::<IpAddr>().ok()),
        started_at: None,
        published,
        cpu_millis: None,
        memory_mib: None,
    }
}

/// The engine's filter for containers carrying all of `labels`.
pub(crate) fn label_filters(labels: &Labels) -> HashMap<String, Vec<String>> {
    let values = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
    if values.is_empty() { HashMap::new() } else { HashMap::from([("label".to_owned(), values)]) }
}

/// A duration as the engine's whole seconds, rounded up.
fn whole_seconds(timeout: Duration) -> i32 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

impl DockerRuntime {
    pub(crate) async fn start_impl(&self, spec: &InstanceSpec) -> Result<Instance> {
        // Names are deterministic for idempotency: whatever holds the name is replaced.
        self.remove_named(&spec.name).await?;
        let options = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        let body = create_body(spec);
        let created = match self.docker.create_container(Some(options.clone()), body.clone()).await {
            // Another caller created the same name in between: replace it once.
            Err(e) if is_conflict(&e) => {
                self.remove_named(&spec.name).await?;
                self.docker.create_container(Some(options), body).await
            }
            other => other,
        };
        // A 404 here names what is missing: the image, or the network.
        let created = created.map_err(|e| self.error(e))?;
        let started = match self.put_files(&created.id, &spec.files, &spec.directories).await {
            Ok(()) => self.docker.start_container(&created.id, None).await,
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            let error = match self.error(e) {
                RuntimeError::Engine(message) if message.contains("rlimit") => RuntimeError::Engine(format!(
                    "{message} (the engine's default ulimits exceed what this host allows: run \
                     `bash scripts/setup-engine.sh` and restart the engine as it says)"
                )),
                other => other,
            };
            // Leave nothing half-made behind; the caller may retry with the same name.
            if let Err(cleanup) = self.remove_impl(&created.id).await {
                tracing::warn!(instance = %spec.name, error = %cleanup, "cannot remove an instance that failed to start");
            }
            return Err(error);
        }
        self.inspect_impl(&created.id)
            .await?
            .ok_or_else(|| RuntimeError::Engine(format!("instance {} vanished right after it started", spec.name)))
    }

    /// Writes `files` and empty `directories` (mode 1777) into a created instance, as one archive at `/`.
    async fn put_files(
        &self,
        id: &str,
        files: &[slipway_runtime::InstanceFile],
        directories: &[String],
    ) -> std::result::Result<(), Error> {
        if files.is_empty() && directories.is_empty() {
            return Ok(());
        }
        let mut archive = tar::Builder::new(Vec::new());
        for directory in directories {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            header.set_mode(0o1777);
            header.set_mtime(0);
            archive.append_data(&mut header, directory.trim_start_matches('/'), std::io::empty())?;
        }
        for file in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(file.content.len() as u64);
            header.set_mode(file.mode);
            header.set_uid(file.uid);
            header.set_gid(file.uid);
            header.set_mtime(0);
            archive.append_data(&mut header, file.path.trim_start_matches('/'), file.content.as_slice())?;
        }
        let bytes = archive.into_inner()?;
        let options = bollard::query_parameters::UploadToContainerOptions { path: "/".into(), ..Default::default() };
        self.docker.upload_to_container(id, Some(options), bollard::body_full(bytes.into())).await
    }

    pub(crate) async fn inspect_impl(&self, id: &str) -> Result<Option<Instance>> {
        for _ in 0..UNKNOWN_STATE_RETRIES {
            match self.docker.inspect_container(id, None::<InspectContainerOptions>).await {
                Ok(inspect) => return Ok(Some(instance_of(inspect))),
                Err(e) if is_not_found(&e) => return Ok(None),
                // Podman 4.3 reports its own transient `stopped` state (the process
                // has exited, its cleanup has not run yet), which Docker's API and
                // so bollard do not know. It lasts milliseconds; wait it out.
                Err(Error::JsonDataError { message, .. }) => {
                    tracing::debug!(instance = id, %message, "the engine reports a state the Docker API does not know");
                    tokio::time::sleep(UNKNOWN_STATE_PAUSE).await;
                }
                Err(e) => return Err(self.error(e)),
            }
        }
        // Still unknown: describe it from the listing, where Podman maps its states.
        self.summary_instance(id).await
    }

    /// The container listing, asked again while it holds a state the Docker
    /// API does not know (Podman's transient `initialized`, for one).
    async fn list_containers(&self, options: ListContainersOptions) -> Result<Vec<ContainerSummary>> {
        let mut attempts = 0;
        loop {
            match self.docker.list_containers(Some(options.clone())).await {
                Err(Error::JsonDataError { .. }) if attempts + 1 < UNKNOWN_STATE_RETRIES => {
                    attempts += 1;
                    tokio::time::sleep(UNKNOWN_STATE_PAUSE).await;
                }
                other => return other.map_err(|e| self.error(e)),
            }
        }
    }

    /// The instance as the container listing describes it (no start time).
    async fn summary_instance(&self, id: &str) -> Result<Option<Instance>> {
        for filter in ["id", "name"] {
            let filters = HashMap::from([(filter.to_owned(), vec![id.to_owned()])]);
            let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
            let summaries = self.list_containers(options).await?;
            let exact = |s: &ContainerSummary| {
                s.id.as_deref().is_some_and(|i| i.starts_with(id))
                    || s.names.iter().flatten().any(|n| n.trim_start_matches('/') == id)
            };
            if let Some(summary) = summaries.into_iter().find(exact) {
                return Ok(Some(instance_of_summary(summary)));
            }
        }
        Ok(None)
    }

    pub(crate) async fn list_impl(&self, labels: &Labels) -> Result<Vec<Instance>> {
        let options = ListContainersOptions { all: true, filters: Some(label_filters(labels)), ..Default::default() };
        let summaries = self.list_containers(options).await?;
        let ids = summaries.into_iter().filter_map(|s| s.id);
        // Inspect for what summaries lack (start time); skip what vanished meanwhile.
        // A container removed between the listing and its inspection is not
        // an error of the listing: Podman may answer 404 or a 500 while it
        // is being removed. It is skipped.
        let mut instances: Vec<Instance> = futures_util::stream::iter(ids)
            .map(|id| async move {
                match self.inspect_impl(&id).await {
                    Ok(found) => found,
                    Err(err) => {
                        tracing::debug!(instance = %id, %err, "skipping an instance that could not be inspected");
                        None
                    }
                }
            })
            .buffer_unordered(LIST_CONCURRENCY)
            .filter_map(|instance| async move { instance })
            .collect()
            .await;
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(instances)
    }

    pub(crate) async fn stop_impl(&self, id: &str, timeout: Duration) -> Result<()> {
        let options = StopContainerOptions { t: Some(whole_seconds(timeout)), signal: None };
        match self.patient(timeout + STOP_GRACE).stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(crate) async fn restart_impl(&self, id: &str, timeout: Duration) -> Result<()> {
        let options = RestartContainerOptions { t: Some(whole_seconds(timeout)), signal: None };
        self.patient(timeout + STOP_GRACE).restart_container(id, Some(options)).await.map_err(|e| self.error(e))
    }

    /// Removes the instance named exactly `name`, if any. Engines resolve a
    /// reference by id prefix too; a name must never remove another instance.
    async fn remove_named(&self, name: &str) -> Result<()> {
        match self.inspect_impl(name).await? {
            Some(found) if found.name == name => self.remove_impl(&found.id).await,
            _ => Ok(()),
        }
    }

    pub(crate) async fn remove_impl(&self, id: &str) -> Result<()> {
        // `v` removes anonymous volumes only; named volumes outlive their instances.
        let options = RemoveContainerOptions { force: true, v: true, link: false };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(crate) async fn read_file_impl(&self, id: &str, path: &str, limit: usize) -> Result<Option<Vec<u8>>> {
        let options = DownloadFromContainerOptions { path: path.to_owned() };
        let mut stream = self.docker.download_from_container(id, Some(options));
        // The archive holds the file and a header or two; more than that is not the file asked for.
        let most = limit.saturating_add(64 * 1024);
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => archive.extend_from_slice(&bytes),
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(self.error(e)),
            }
            if archive.len() > most {
                return Err(RuntimeError::Engine(format!("{path} in instance {id} is larger than {limit} bytes")));
            }
        }
        let engine_error = |e: std::io::Error| RuntimeError::Engine(format!("reading {path} from instance {id}: {e}"));
        let mut archive = tar::Archive::new(archive.as_slice());
        let mut entries = archive.entries().map_err(engine_error)?;
        let Some(entry) = entries.next() else { return Ok(None) };
        let mut entry = entry.map_err(engine_error)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Ok(None);
        }
        if entry.size() > limit as u64 {
            return Err(RuntimeError::Engine(format!(
                "{path} in instance {id} is {} bytes, more than the {limit} read",
                entry.size()
            )));
        }
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).map_err(engine_error)?;
        Ok(Some(content))
    }

    pub(crate) async fn wait_impl(&self, id: &str) -> Result<i64> {
        let options = WaitContainerOptions { condition: "not-running".to_owned() };
        let client = self.patient(WAIT_TIMEOUT);
        let mut stream = client.wait_container(id, Some(options));
        match stream.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard reports a non-zero exit as an error; it is an answer here.
            Some(Err(Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) if is_not_found(&e) => Err(RuntimeError::NotFound(format!("instance {id}"))),
            Some(Err(e)) => Err(self.error(e)),
            None => Err(RuntimeError::Engine(format!("the engine ended the wait on {id} without an exit code"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bollard::models::NetworkSettings;
    use slipway_runtime::{PublishedPort, VolumeMount};

    use super::*;

    fn spec() -> InstanceSpec {
        InstanceSpec {
            name: "svc-1".into(),
            image: "localhost/app:1".into(),
            network: Some("env-1".into()),
            aliases: vec!["app".into()],
            env: BTreeMap::from([("A".into(), "1".into())]),
            command: Some(vec!["serve".into()]),
            cpu_millis: Some(250),
            memory_mib: Some(64),
            volumes: vec![VolumeMount { volume: "data".into(), target: "/data".into() }],
            published_ports: vec![
                PublishedPort { container_port: 8080, host_ip: "127.0.0.1".parse().unwrap(), host_port: 0 },
                PublishedPort { container_port: 8080, host_ip: "::1".parse().unwrap(), host_port: 9000 },
            ],
            labels: BTreeMap::from([("slipway.io/service".into(), "s1".into())]),
            stop_timeout_secs: 7,
            ..Default::default()
        }
    }

    #[test]
    fn create_body_carries_the_spec() {
        let body = create_body(&spec());
        let host = body.host_config.as_ref().unwrap();
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.memory, Some(64 * 1024 * 1024));
        assert_eq!(host.network_mode.as_deref(), Some("env-1"));
        let mount = &host.mounts.as_ref().unwrap()[0];
        assert_eq!(
            (mount.typ, mount.source.as_deref(), mount.target.as_deref()),
            (Some(MountType::VOLUME), Some("data"), Some("/data"))
        );
        let bindings = host.port_bindings.as_ref().unwrap()["8080/tcp"].as_ref().unwrap();
        assert_eq!(bindings.len(), 2);
        assert_eq!((bindings[0].host_ip.as_deref(), bindings[0].host_port.as_deref()), (Some("127.0.0.1"), Some("")));
        assert_eq!(bindings[1].host_port.as_deref(), Some("9000"));
        assert_eq!(body.exposed_ports, Some(vec!["8080/tcp".to_owned()]));
        assert_eq!(body.env, Some(vec!["A=1".to_owned()]));
        assert_eq!(body.stop_timeout, Some(7));
        assert_eq!(body.entrypoint, None);
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints["env-1"].aliases, Some(vec!["app".to_owned()]));
    }

    #[test]
    fn bare_spec_has_no_network_or_limits() {
        let body = create_body(&InstanceSpec { name: "x".into(), image: "localhost/x:1".into(), ..Default::default() });
        let host = body.host_config.unwrap();
        assert_eq!((host.nano_cpus, host.memory, host.mounts, host.port_bindings), (None, None, None, None));
        assert!(body.networking_config.is_none());
        assert!(body.exposed_ports.is_none());
    }

    #[test]
    fn times_and_states() {
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(parse_time(Some("")), None);
        let t = parse_time(Some("2026-11-22T02:56:00.123456789Z")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T02:56:00.123456789+00:00");
        assert!(parse_time(Some("2026-11-22T03:56:00.5+01:00")).is_some());
        let exited =
            ContainerState { status: Some(ContainerStateStatusEnum::EXITED), exit_code: Some(3), ..Default::default() };
        assert_eq!(state_of(Some(&exited)), InstanceState::Exited { code: 3 });
        let running = ContainerState { running: Some(true), ..Default::default() };
        assert_eq!(state_of(Some(&running)), InstanceState::Running);
        assert_eq!(state_of(None), InstanceState::Dead);
    }

    #[test]
    fn published_ports_are_deduplicated() {
        let binding = |ip: &str, port: &str| PortBinding { host_ip: Some(ip.into()), host_port: Some(port.into()) };
        let ports = PortMap::from([
            ("8080/tcp".to_owned(), Some(vec![binding("0.0.0.0", "40001"), binding("::", "40001")])),
            ("9090/tcp".to_owned(), None),
            ("53/udp".to_owned(), Some(vec![binding("127.0.0.1", "5353")])),
        ]);
        assert_eq!(published_ports(Some(&ports)), [(53, 5353), (8080, 40001)]);
    }

    #[test]
    fn instance_from_inspect() {
        let inspect = ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/svc-1".into()),
            image: Some("sha256:1".into()),
            state: Some(ContainerState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                started_at: Some("2026-11-22T02:56:00Z".into()),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    "env-1".to_owned(),
                    EndpointSettings { ip_address: Some("10.89.0.5".into()), ..Default::default() },
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let instance = instance_of(inspect);
        assert_eq!(instance.name, "svc-1");
        assert_eq!(instance.image, "sha256:1");
        assert_eq!(instance.state, InstanceState::Running);
        assert_eq!(instance.ip, Some("10.89.0.5".parse().unwrap()));
        assert!(instance.started_at.is_some());
    }

    #[test]
    fn instance_from_a_listing() {
        use bollard::models::{ContainerSummaryNetworkSettings, PortSummary};
        assert_eq!(exit_code_in_status("Exited (137) 3 seconds ago"), Some(137));
        assert_eq!(exit_code_in_status("Up 3 seconds"), None);
        let summary = ContainerSummary {
            id: Some("abc".into()),
            names: Some(vec!["/svc-1".into()]),
            image: Some("localhost/app:1".into()),
            state: Some(ContainerSummaryStateEnum::EXITED),
            status: Some("Exited (7) 1 second ago".into()),
            ports: Some(vec![PortSummary { private_port: 8080, public_port: Some(40001), ..Default::default() }]),
            network_settings: Some(ContainerSummaryNetworkSettings {
                networks: Some(HashMap::from([(
                    "env-1".to_owned(),
                    EndpointSettings { ip_address: Some("10.89.0.5".into()), ..Default::default() },
                )])),
            }),
            ..Default::default()
        };
        let instance = instance_of_summary(summary);
        assert_eq!((instance.id.as_str(), instance.name.as_str()), ("abc", "svc-1"));
        assert_eq!(instance.state, InstanceState::Exited { code: 7 });
        assert_eq!(instance.published, [(8080, 40001)]);
        assert_eq!(instance.ip, Some("10.89.0.5".parse().unwrap()));
    }

    #[test]
    fn filters_and_seconds() {
        let labels = Labels::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(label_filters(&labels)["label"], ["a=1", "b=2"]);
        assert!(label_filters(&Labels::new()).is_empty());
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }
}
