//! Reaching the engine: endpoint syntax, auto-detection, version negotiation
//! and what the engine says it is.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::SystemVersion;
use bollard::{API_DEFAULT_VERSION, Docker};
use slipway_runtime::{EngineInfo, Result, RuntimeError};

use crate::DockerRuntime;
use crate::errors::{self, UNREACHABLE_HINT};

/// How long a connection attempt (ping and version negotiation) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// bollard's request timeout for ordinary calls (time to the response headers).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a Docker Engine API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket (`unix:///run/podman/podman.sock`).
    Unix(PathBuf),
    /// Plain HTTP over TCP (`tcp://host:port`, `http://host:port`), as `host:port`.
    Tcp(String),
}

impl Endpoint {
    /// Parses `unix:///path`, `/path`, `tcp://host:port` or `http://host:port`.
    pub fn parse(endpoint: &str) -> Result<Self> {
        let endpoint = endpoint.trim();
        let invalid = |reason: &str| RuntimeError::Unreachable {
            endpoint: endpoint.to_owned(),
            reason: format!("{reason}; use unix:///path/to/socket, tcp://host:port or http://host:port"),
        };
        if let Some(path) = endpoint.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(invalid("a unix socket path must be absolute"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if endpoint.starts_with('/') {
            return Ok(Self::Unix(PathBuf::from(endpoint)));
        }
        let address = endpoint.strip_prefix("tcp://").or_else(|| endpoint.strip_prefix("http://"));
        match address.map(|a| a.trim_end_matches('/')) {
            Some(address) if !address.is_empty() && !address.contains('/') => {
                let has_port = address.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                });
                if has_port { Ok(Self::Tcp(address.to_owned())) } else { Err(invalid("a TCP endpoint needs a port")) }
            }
            Some(_) => Err(invalid("a TCP endpoint is host:port, without a path")),
            None if endpoint.starts_with("https://") => {
                Err(invalid("TLS endpoints are not supported; reach remote engines over ssh tunnels or plain TCP"))
            }
            None => Err(invalid("unsupported endpoint")),
        }
    }

    /// The endpoints auto-detection tries, in order: `$DOCKER_HOST`, rootful
    /// Podman, Docker, then rootless Podman.
    pub fn candidates(docker_host: Option<&str>, xdg_runtime_dir: Option<&str>) -> Vec<String> {
        let mut candidates = Vec::new();
        if let Some(host) = docker_host.map(str::trim).filter(|h| !h.is_empty()) {
            candidates.push(host.to_owned());
        }
        candidates.push("unix:///run/podman/podman.sock".to_owned());
        candidates.push("unix:///var/run/docker.sock".to_owned());
        if let Some(dir) = xdg_runtime_dir.map(str::trim).filter(|d| d.starts_with('/')) {
            candidates.push(format!("unix://{}/podman/podman.sock", dir.trim_end_matches('/')));
        }
        candidates.dedup();
        candidates
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp(address) => write!(f, "tcp://{address}"),
        }
    }
}

/// Which engine answers the Docker Engine API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Docker Engine (moby).
    Docker,
    /// Podman's Docker-compatible API service.
    Podman,
}

impl EngineKind {
    /// The engine's name as [`EngineInfo::name`] reports it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }

    /// Tells Podman from Docker by the `/version` response: Podman lists a
    /// `Podman Engine` component (and says so in its platform name).
    pub fn of(version: &SystemVersion) -> Self {
        let podman = |s: &str| s.to_ascii_lowercase().contains("podman");
        let in_components = version.components.iter().flatten().any(|c| podman(&c.name));
        let in_platform = version.platform.as_ref().is_some_and(|p| podman(&p.name));
        if in_components || in_platform { Self::Podman } else { Self::Docker }
    }
}

/// The engine's own version: its main component's, else the top-level one.
fn engine_version(version: &SystemVersion) -> String {
    let main = version.components.iter().flatten().find(|c| c.name == "Engine" || c.name == "Podman Engine");
    main.map(|c| c.version.clone()).or_else(|| version.version.clone()).unwrap_or_default()
}

impl DockerRuntime {
    /// Connects to `endpoint`, or when `None` to the first engine that answers
    /// among `$DOCKER_HOST`, `/run/podman/podman.sock`, `/var/run/docker.sock`
    /// and `$XDG_RUNTIME_DIR/podman/podman.sock`. Negotiates the API version.
    pub async fn connect(endpoint: Option<&str>) -> Result<Self> {
        if let Some(endpoint) = endpoint {
            return Self::connect_to(Endpoint::parse(endpoint)?).await;
        }
        let docker_host = std::env::var("DOCKER_HOST").ok();
        let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
        let candidates = Endpoint::candidates(docker_host.as_deref(), xdg.as_deref());
        let mut failures = Vec::new();
        for candidate in &candidates {
            let attempt = match Endpoint::parse(candidate) {
                Ok(endpoint) => Self::connect_to(endpoint).await,
                Err(e) => Err(e),
            };
            match attempt {
                Ok(runtime) => return Ok(runtime),
                Err(RuntimeError::Unreachable { reason, .. }) => {
                    let reason = reason.trim_end_matches(UNREACHABLE_HINT).trim_end_matches("; ");
                    failures.push(format!("{candidate}: {reason}"));
                }
                Err(other) => failures.push(format!("{candidate}: {other}")),
            }
        }
        Err(RuntimeError::Unreachable {
            endpoint: candidates.join(", "),
            reason: format!("no container engine answered ({}); {UNREACHABLE_HINT}", failures.join("; ")),
        })
    }

    /// Connects to one endpoint: ping, negotiate the API version, identify the engine.
    async fn connect_to(endpoint: Endpoint) -> Result<Self> {
        let secs = CONNECT_TIMEOUT.as_secs();
        let client = match &endpoint {
            Endpoint::Unix(path) => Docker::connect_with_unix(&path.to_string_lossy(), secs, API_DEFAULT_VERSION),
            Endpoint::Tcp(address) => Docker::connect_with_http(address, secs, API_DEFAULT_VERSION),
        }
        .map_err(|e| errors::unreachable(&endpoint, &e.to_string()))?;
        let unreachable = |e: bollard::errors::Error| errors::unreachable(&endpoint, &errors::message(&e));
        client.ping().await.map_err(unreachable)?;
        let client = client.negotiate_version().await.map_err(unreachable)?;
        let version = client.version().await.map_err(unreachable)?;
        Ok(Self {
            docker: client.with_timeout(REQUEST_TIMEOUT),
            kind: EngineKind::of(&version),
            endpoint,
            network_creation: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub(crate) async fn engine_info(&self) -> Result<EngineInfo> {
        let version = self.docker.version().await.map_err(|e| self.error(e))?;
        Ok(EngineInfo {
            name: EngineKind::of(&version).name().to_owned(),
            version: engine_version(&version),
            api_version: self.docker.client_version().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{SystemVersionComponents, SystemVersionPlatform};

    use super::*;

    #[test]
    fn endpoints_parse() {
        let unix = Endpoint::Unix("/run/podman/podman.sock".into());
        assert_eq!(Endpoint::parse("unix:///run/podman/podman.sock").unwrap(), unix);
        assert_eq!(Endpoint::parse("/run/podman/podman.sock").unwrap(), unix);
        assert_eq!(Endpoint::parse("tcp://10.0.0.2:2375").unwrap(), Endpoint::Tcp("10.0.0.2:2375".into()));
        assert_eq!(
            Endpoint::parse("http://engine.internal:2375/").unwrap(),
            Endpoint::Tcp("engine.internal:2375".into())
        );
        assert_eq!(unix.to_string(), "unix:///run/podman/podman.sock");
        assert_eq!(Endpoint::Tcp("h:1".into()).to_string(), "tcp://h:1");
        for bad in
            ["unix://relative.sock", "tcp://nohost", "tcp://:2375", "https://h:2376", "ssh://h", "tcp://h:1/x", ""]
        {
            assert!(matches!(Endpoint::parse(bad), Err(RuntimeError::Unreachable { .. })), "{bad}");
        }
    }

    #[test]
    fn auto_detection_order() {
        assert_eq!(
            Endpoint::candidates(Some("tcp://h:2375"), Some("/run/user/1000/")),
            [
                "tcp://h:2375",
                "unix:///run/podman/podman.sock",
                "unix:///var/run/docker.sock",
                "unix:///run/user/1000/podman/podman.sock"
            ]
        );
        assert_eq!(
            Endpoint::candidates(Some(""), None),
            ["unix:///run/podman/podman.sock", "unix:///var/run/docker.sock"]
        );
    }

    fn version(components: &[(&str, &str)], platform: &str) -> SystemVersion {
        SystemVersion {
            platform: Some(SystemVersionPlatform { name: platform.into() }),
            components: Some(
                components
                    .iter()
                    .map(|(name, version)| SystemVersionComponents {
                        name: (*name).into(),
                        version: (*version).into(),
                        details: None,
                    })
                    .collect(),
            ),
            version: Some("top".into()),
            ..Default::default()
        }
    }

    #[test]
    fn engine_identity() {
        let podman = version(&[("Podman Engine", "4.3.1"), ("Conmon", "2.1.6")], "linux/amd64/debian-12");
        assert_eq!(EngineKind::of(&podman), EngineKind::Podman);
        assert_eq!(engine_version(&podman), "4.3.1");
        let docker = version(&[("Engine", "20.10.24+dfsg1"), ("containerd", "1.6.20")], "");
        assert_eq!(EngineKind::of(&docker), EngineKind::Docker);
        assert_eq!(engine_version(&docker), "20.10.24+dfsg1");
        assert_eq!(engine_version(&version(&[], "")), "top");
    }
}
