//! Settings shared by several service kinds: probes, ports, storage, git
//! sources, resources. Each rule is written once here and called by the kinds.

use serde::{Deserialize, Serialize};

use crate::error::{Validation, ValidationError};
use crate::validate;
use uuid::Uuid;

/// Readiness and liveness probes (`Healthcheck`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Healthcheck {
    /// Gates traffic: an instance gets requests only once this passes.
    #[serde(default)]
    pub readiness_probe: Option<Probe>,
    /// Restarts an instance that stops answering.
    #[serde(default)]
    pub liveness_probe: Option<Probe>,
}

impl Healthcheck {
    /// Checks both probes.
    pub fn validate(&self, ports: &[u32]) -> Validation {
        for (field, probe) in [("readiness_probe", &self.readiness_probe), ("liveness_probe", &self.liveness_probe)] {
            if let Some(p) = probe {
                p.validate(ports).map_err(|e| e.within(field))?;
            }
        }
        Ok(())
    }
}

/// One probe (`Probe`): what to check and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probe {
    #[serde(rename = "type")]
    pub kind: ProbeType,
    #[serde(default = "defaults::initial_delay")]
    pub initial_delay_seconds: u32,
    #[serde(default = "defaults::period")]
    pub period_seconds: u32,
    #[serde(default = "defaults::timeout")]
    pub timeout_seconds: u32,
    #[serde(default = "defaults::one")]
    pub success_threshold: u32,
    #[serde(default = "defaults::failure_threshold")]
    pub failure_threshold: u32,
}

/// The check a probe runs; exactly one of the four is set (`ProbeType`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeType {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcProbe>,
}

/// Opens a TCP connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProbeTypeTcp))]
pub struct TcpProbe {
    pub port: u32,
    #[serde(default)]
    pub host: Option<String>,
}

/// Sends an HTTP GET; any 2xx or 3xx passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProbeTypeHttp))]
pub struct HttpProbe {
    #[serde(default = "defaults::root_path")]
    pub path: String,
    #[serde(default = "defaults::http_scheme")]
    pub scheme: String,
    pub port: u32,
}

/// Runs a command in the container; exit code 0 passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProbeTypeExec))]
pub struct ExecProbe {
    pub command: Vec<String>,
}

/// Calls the gRPC health service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProbeTypeGrpc))]
pub struct GrpcProbe {
    #[serde(default)]
    pub service: Option<String>,
    pub port: u32,
}

impl Probe {
    fn validate(&self, ports: &[u32]) -> Validation {
        let t = &self.kind;
        let set = [t.tcp.is_some(), t.http.is_some(), t.exec.is_some(), t.grpc.is_some()];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(ValidationError::new("type", "must set exactly one of `tcp`, `http`, `exec` or `grpc`"));
        }
        let probe_port = |field: &str, port: u32| -> Validation {
            validate::port(field, port)?;
            if !ports.is_empty() && !ports.contains(&port) {
                return Err(ValidationError::new(
                    field,
                    format!("must be one of the service's internal ports {ports:?}, got {port}"),
                ));
            }
            Ok(())
        };
        if let Some(tcp) = &t.tcp {
            probe_port("type.tcp.port", tcp.port)?;
        }
        if let Some(http) = &t.http {
            probe_port("type.http.port", http.port)?;
            if !http.path.starts_with('/') {
                return Err(ValidationError::new("type.http.path", "must start with `/`"));
            }
            if !matches!(http.scheme.as_str(), "HTTP" | "HTTPS" | "http" | "https") {
                return Err(ValidationError::new("type.http.scheme", "must be HTTP or HTTPS"));
            }
        }
        if let Some(exec) = &t.exec
            && exec.command.first().is_none_or(|c| c.is_empty())
        {
            return Err(ValidationError::new("type.exec.command", "must name a command to run"));
        }
        if let Some(grpc) = &t.grpc {
            probe_port("type.grpc.port", grpc.port)?;
        }
        validate::range("initial_delay_seconds", self.initial_delay_seconds, 0, 3600)?;
        validate::range("period_seconds", self.period_seconds, 1, 3600)?;
        validate::range("timeout_seconds", self.timeout_seconds, 1, 3600)?;
        validate::range("success_threshold", self.success_threshold, 1, 100)?;
        validate::range("failure_threshold", self.failure_threshold, 1, 100)?;
        Ok(())
    }
}

/// Transport of a port (`PortProtocolEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PortProtocolEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum PortProtocol {
    #[default]
    Http,
    Grpc,
    Tcp,
    Udp,
}

/// A port a service listens on, and whether the edge exposes it (`ServicePort`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServicePort))]
pub struct Port {
    /// Generated when the request has none.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub name: Option<String>,
    pub internal_port: u32,
    #[serde(default)]
    pub external_port: Option<u32>,
    pub publicly_accessible: bool,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub protocol: PortProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_path_rewrite: Option<String>,
}

impl Port {
    /// The edge port this port is exposed on as TCP: its `external_port` when it is a public TCP port.
    pub fn edge_tcp_port(&self) -> Option<u32> {
        self.external_port.filter(|_| self.publicly_accessible && self.protocol == PortProtocol::Tcp)
    }
}

/// Fills generated port fields and checks the list: unique ports and names,
/// at most one default port.
pub fn prepare_ports(ports: &mut [Port]) -> Validation {
    for port in ports.iter_mut() {
        port.id.get_or_insert_with(crate::new_id);
        port.name.get_or_insert_with(|| format!("p{}", port.internal_port));
        // Public HTTP ports are served on HTTPS' port; a TCP port has no such default: its user picks
        // the edge port it is exposed on.
        if port.publicly_accessible
            && port.external_port.is_none()
            && matches!(port.protocol, PortProtocol::Http | PortProtocol::Grpc)
        {
            port.external_port = Some(443);
        }
    }
    if !ports.iter().any(|p| p.is_default)
        && let Some(first) = ports.iter_mut().find(|p| p.publicly_accessible)
    {
        first.is_default = true;
    }
    validate::each("ports", ports, |p| {
        validate::port("internal_port", p.internal_port)?;
        if let Some(e) = p.external_port {
            validate::port("external_port", e)?;
        }
        if let Some(name) = &p.name {
            validate::token("name", name)?;
        }
        if let Some(path) = &p.public_path {
            validate::absolute_path("public_path", path)?;
        }
        if let Some(path) = &p.public_path_rewrite {
            validate::absolute_path("public_path_rewrite", path)?;
        }
        if p.publicly_accessible && p.protocol == PortProtocol::Udp {
            return Err(ValidationError::new("protocol", "UDP ports cannot be publicly accessible"));
        }
        if p.publicly_accessible && p.protocol == PortProtocol::Tcp && p.external_port.is_none() {
            return Err(ValidationError::new(
                "external_port",
                "a public TCP port needs the port the edge exposes it on (`external_port`)",
            ));
        }
        Ok(())
    })?;
    for (i, p) in ports.iter().enumerate() {
        if ports[..i].iter().any(|q| q.internal_port == p.internal_port) {
            return Err(ValidationError::new(
                format!("ports[{i}].internal_port"),
                format!("must be unique, {} is listed twice", p.internal_port),
            ));
        }
        if ports[..i].iter().any(|q| q.name == p.name) {
            return Err(ValidationError::new(format!("ports[{i}].name"), "must be unique"));
        }
        if let Some(external) = p.edge_tcp_port()
            && ports[..i].iter().any(|q| q.edge_tcp_port() == Some(external))
        {
            return Err(ValidationError::new(
                format!("ports[{i}].external_port"),
                format!("must be unique among public TCP ports, {external} is listed twice"),
            ));
        }
    }
    if ports.iter().filter(|p| p.is_default).count() > 1 {
        return Err(ValidationError::new("ports", "must have at most one port with `is_default: true`"));
    }
    Ok(())
}

/// Storage class of a volume (`StorageTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = StorageTypeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum StorageType {
    #[default]
    FastSsd,
}

/// A persistent volume, kept across deploys (`ServiceStorage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceStorage))]
pub struct Storage {
    /// Generated when the request has none.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(rename = "type", default)]
    pub kind: StorageType,
    /// Size in GiB.
    pub size: u32,
    pub mount_point: String,
}

/// Fills generated storage ids and checks sizes and mount points.
pub fn prepare_storage(storage: &mut [Storage]) -> Validation {
    for s in storage.iter_mut() {
        s.id.get_or_insert_with(crate::new_id);
    }
    validate::each("storage", storage, |s| {
        validate::range("size", s.size, 1, 16 * 1024)?;
        validate::absolute_path("mount_point", &s.mount_point)?;
        if s.mount_point.trim_end_matches('/').is_empty() {
            return Err(ValidationError::new("mount_point", "must not be `/`"));
        }
        Ok(())
    })?;
    for (i, s) in storage.iter().enumerate() {
        if storage[..i].iter().any(|t| t.mount_point == s.mount_point) {
            return Err(ValidationError::new(format!("storage[{i}].mount_point"), "must be unique"));
        }
    }
    Ok(())
}

/// Git hosting providers (`GitProviderEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GitProviderEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum GitProvider {
    Bitbucket,
    Github,
    Gitlab,
}

/// A git source (`ApplicationGitRepositoryRequest`). Slipway fetches any
/// https, ssh, git:// or file:// remote; `provider` is a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApplicationGitRepositoryRequest))]
pub struct GitRepository {
    pub url: String,
    /// Branch to build; the remote's default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Directory of the repository to build from (monorepos).
    #[serde(default = "defaults::root_path")]
    pub root_path: String,
    #[serde(default)]
    pub git_token_id: Option<Uuid>,
    pub provider: GitProvider,
}

impl GitRepository {
    /// Checks the URL, branch and root path.
    pub fn validate(&self) -> Validation {
        validate::git_url("url", &self.url)?;
        if let Some(branch) = &self.branch {
            validate::git_ref("branch", branch)?;
        }
        validate::absolute_path("root_path", &self.root_path)
    }
}

/// CPU architecture of the image (`CpuArchitectureEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CpuArchitectureEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum CpuArchitecture {
    #[default]
    Amd64,
    Arm64,
}

/// Checks CPU (millicores), memory (MiB) and GPU counts.
pub fn validate_resources(cpu: u32, memory: u32, gpu: u32) -> Validation {
    validate::range("cpu", cpu, 10, 256_000)?;
    validate::range("memory", memory, 16, 1024 * 1024)?;
    validate::range("gpu", gpu, 0, 64)
}

/// Checks an instance range; `max` of -1 means no upper bound.
pub fn validate_instances(min: u32, max: i32) -> Validation {
    validate::range("min_running_instances", min, 0, 1000)?;
    if max != -1 && (max < 0 || (max as u32) < min) {
        return Err(ValidationError::new(
            "max_running_instances",
            format!("must be -1 (no limit) or at least min_running_instances ({min}), got {max}"),
        ));
    }
    if max > 1000 {
        return Err(ValidationError::new("max_running_instances", "must be at most 1000"));
    }
    Ok(())
}

/// Checks a container command line: arguments and entrypoint.
pub fn validate_command(arguments: &[String], entrypoint: Option<&str>) -> Validation {
    validate::each("arguments", arguments, |a| {
        if a.contains('\0') { Err(ValidationError::new("", "must not contain NUL bytes")) } else { Ok(()) }
    })?;
    if let Some(e) = entrypoint
        && e.contains('\0')
    {
        return Err(ValidationError::new("entrypoint", "must not contain NUL bytes"));
    }
    Ok(())
}

/// Refuses settings Slipway accepts on the wire but does not implement, so
/// that nobody believes they took effect.
pub fn refuse_unsupported(annotations: &[serde_json::Value], labels: &[serde_json::Value], keda: bool) -> Validation {
    if !annotations.is_empty() {
        return Err(ValidationError::new("annotations_groups", "is not supported by Slipway; send an empty list"));
    }
    if !labels.is_empty() {
        return Err(ValidationError::new("labels_groups", "is not supported by Slipway; send an empty list"));
    }
    if keda {
        return Err(ValidationError::new(
            "autoscaling",
            "KEDA autoscaling is not supported; Slipway scales on CPU between min_running_instances and max_running_instances",
        ));
    }
    Ok(())
}

/// Serde defaults, named so that the wire format documents itself.
pub(crate) mod defaults {
    pub fn initial_delay() -> u32 {
        30
    }
    pub fn period() -> u32 {
        10
    }
    pub fn timeout() -> u32 {
        5
    }
    pub fn one() -> u32 {
        1
    }
    pub fn failure_threshold() -> u32 {
        3
    }
    pub fn root_path() -> String {
        "/".to_owned()
    }
    pub fn http_scheme() -> String {
        "HTTP".to_owned()
    }
    pub fn cpu() -> u32 {
        500
    }
    pub fn memory() -> u32 {
        512
    }
    pub fn max_instances() -> i32 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(internal: u32, public: bool) -> Port {
        Port {
            id: None,
            name: None,
            internal_port: internal,
            external_port: None,
            publicly_accessible: public,
            is_default: false,
            protocol: PortProtocol::Http,
            public_path: None,
            public_path_rewrite: None,
        }
    }

    #[test]
    fn ports_get_ids_names_and_one_default() {
        let mut ports = vec![port(8080, false), port(3000, true)];
        prepare_ports(&mut ports).unwrap();
        assert!(ports.iter().all(|p| p.id.is_some()));
        assert_eq!(ports[1].name.as_deref(), Some("p3000"));
        assert_eq!(ports[1].external_port, Some(443));
        assert!(ports[1].is_default && !ports[0].is_default);
    }

    #[test]
    fn a_public_tcp_port_needs_its_edge_port() {
        let mut tcp = port(6379, true);
        tcp.protocol = PortProtocol::Tcp;
        let error = prepare_ports(&mut [tcp.clone()]).unwrap_err();
        assert_eq!(error.field, "ports[0].external_port", "{error:?}");
        tcp.external_port = Some(16379);
        prepare_ports(&mut [tcp]).unwrap();
    }

    #[test]
    fn two_public_tcp_ports_cannot_share_an_edge_port() {
        let mut redis = port(6379, true);
        redis.protocol = PortProtocol::Tcp;
        redis.external_port = Some(16379);
        let mut other = redis.clone();
        other.internal_port = 6380;
        let error = prepare_ports(&mut [redis.clone(), other.clone()]).unwrap_err();
        assert_eq!(error.field, "ports[1].external_port", "{error:?}");
        assert!(error.rule.contains("16379"), "{error:?}");
        // A private port's external_port is not exposed, so it does not collide.
        other.publicly_accessible = false;
        prepare_ports(&mut [redis, other]).unwrap();
    }

    #[test]
    fn duplicate_and_out_of_range_ports_are_refused() {
        let mut ports = vec![port(80, true), port(80, false)];
        assert_eq!(prepare_ports(&mut ports).unwrap_err().field, "ports[1].internal_port");
        let mut ports = vec![port(70000, true)];
        assert_eq!(prepare_ports(&mut ports).unwrap_err().field, "ports[0].internal_port");
    }

    #[test]
    fn probes_need_exactly_one_type_on_a_declared_port() {
        let probe: Probe = serde_json::from_str(r#"{"type":{"http":{"port":8080}}}"#).unwrap();
        assert_eq!(probe.period_seconds, 10);
        let hc = Healthcheck { readiness_probe: Some(probe.clone()), liveness_probe: None };
        assert!(hc.validate(&[8080]).is_ok());
        assert_eq!(hc.validate(&[3000]).unwrap_err().field, "readiness_probe.type.http.port");
        let empty: Probe = serde_json::from_str(r#"{"type":{}}"#).unwrap();
        let hc = Healthcheck { readiness_probe: None, liveness_probe: Some(empty) };
        assert_eq!(hc.validate(&[]).unwrap_err().field, "liveness_probe.type");
    }

    #[test]
    fn instances_allow_unlimited_max_but_not_max_below_min() {
        assert!(validate_instances(1, -1).is_ok());
        assert!(validate_instances(2, 5).is_ok());
        assert_eq!(validate_instances(3, 2).unwrap_err().field, "max_running_instances");
    }

    #[test]
    fn storage_needs_unique_absolute_mount_points() {
        let s = |m: &str| Storage { id: None, kind: StorageType::FastSsd, size: 10, mount_point: m.into() };
        assert!(prepare_storage(&mut [s("/data")]).is_ok());
        assert_eq!(prepare_storage(&mut [s("data")]).unwrap_err().field, "storage[0].mount_point");
        assert_eq!(prepare_storage(&mut [s("/data"), s("/data")]).unwrap_err().field, "storage[1].mount_point");
        assert!(prepare_storage(&mut [s("/")]).is_err());
    }
}
