//! Rolling a service to a release without dropping a request: start the new
//! revision beside the old one, wait until every new instance is ready,
//! switch the edge's routes, drain the old instances, stop them.
//!
//! A service with persistent storage is the exception: two revisions must not
//! share a volume, so the old one stops before the new one starts (a short
//! gap, logged as such).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::join_all;
use slipway_model::deployment::{Release, ReleaseVariable};
use slipway_model::service::common::{Healthcheck, Port, PortProtocol, Storage};
use slipway_model::{Environment, Service, ServiceSpec, ServiceType, Uuid, naming};
use slipway_runtime::{Instance, InstanceFile, InstanceSpec, Labels, LogOptions, Runtime, VolumeMount, label};

use crate::Entry;
use crate::logger::{Logger, Scope};
use crate::probe::{self, Readiness};
use crate::{EngineError, Inner};

/// Everything a step needs about the service it acts on.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub inner: Arc<Inner>,
    pub runtime: Arc<dyn Runtime>,
    pub environment: Environment,
    pub service: Service,
    pub logger: Logger,
    pub scope: Scope,
    /// Raised when the deployment is canceled; long waits give up on it.
    pub canceled: Arc<std::sync::atomic::AtomicBool>,
}

impl Ctx {
    pub(crate) fn step(&self, step: &'static str) -> Ctx {
        let mut ctx = self.clone();
        ctx.scope.step = Some(step);
        ctx
    }

    pub(crate) fn info(&self, message: &str) {
        self.logger.info(&self.scope, message);
    }

    pub(crate) fn warn(&self, message: &str) {
        self.logger.warn(&self.scope, message);
    }

    /// Fails with [`EngineError::Canceled`] once the deployment is canceled.
    pub(crate) fn check_canceled(&self) -> Result<(), EngineError> {
        if self.canceled.load(std::sync::atomic::Ordering::Relaxed) { Err(EngineError::Canceled) } else { Ok(()) }
    }
}

/// How a long-running service runs: the parts of its spec the engine needs.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub ports: Vec<Port>,
    pub storage: Vec<Storage>,
    pub healthchecks: Healthcheck,
    pub cpu: u32,
    pub memory: u32,
    pub min_instances: u32,
    pub max_instances: i32,
    pub arguments: Vec<String>,
    pub entrypoint: Option<String>,
}

impl Workload {
    /// The workload of a spec, for the kinds that run long-lived instances.
    pub(crate) fn of(spec: &ServiceSpec) -> Option<Workload> {
        match spec {
            ServiceSpec::Application(a) => Some(Workload {
                ports: a.ports.clone(),
                storage: a.storage.clone(),
                healthchecks: a.healthchecks.clone(),
                cpu: a.cpu,
                memory: a.memory,
                min_instances: a.min_running_instances,
                max_instances: a.max_running_instances,
                arguments: a.arguments.clone(),
                entrypoint: a.entrypoint.clone(),
            }),
            ServiceSpec::Container(c) => Some(Workload {
                ports: c.ports.clone(),
                storage: c.storage.clone(),
                healthchecks: c.healthchecks.clone(),
                cpu: c.cpu,
                memory: c.memory,
                min_instances: c.min_running_instances,
                max_instances: c.max_running_instances,
                arguments: c.arguments.clone(),
                entrypoint: c.entrypoint.clone(),
            }),
            ServiceSpec::Database(db) => crate::database::workload(db),
            _ => None,
        }
    }

    /// The port traffic goes to by default.
    pub(crate) fn main_port(&self) -> Option<&Port> {
        self.ports.iter().find(|p| p.is_default).or_else(|| self.ports.first())
    }

    pub(crate) fn readiness(&self) -> Readiness {
        match (&self.healthchecks.readiness_probe, self.main_port()) {
            (Some(p), _) => Readiness::Probe(p.clone()),
            (None, Some(port)) if port.protocol != PortProtocol::Udp => {
                Readiness::Port(u16::try_from(port.internal_port).unwrap_or(0))
            }
            _ => Readiness::Running,
        }
    }

    /// The highest instance count allowed.
    pub(crate) fn max(&self) -> u32 {
        if self.max_instances < 0 { u32::MAX } else { (self.max_instances as u32).max(self.min_instances) }
    }
}

/// A public route of a service: a way in on the edge and the service's port it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicRoute {
    pub entry: Entry,
    pub port: u16,
}

/// What a service's public routes depend on beyond its spec, read from the store.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteExtras {
    /// Its custom domains.
    pub domains: Vec<DomainRoute>,
    /// The edge port of a PUBLIC database.
    pub database_port: Option<u16>,
}

/// A custom domain as the edge serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DomainRoute {
    pub domain: String,
    /// Whether the edge gets it a certificate (`generate_certificate`).
    pub certificate: bool,
}

/// The public routes of a service: its default public HTTP port at
/// `<name>-z<ID8>.<base domain>`, other public HTTP ports at `p<port>-` that,
/// each under its port's public path; each custom domain to the default
/// public HTTP port (or, without one, the first); public TCP ports that name
/// an external port, and a PUBLIC database's port, as TCP entries.
pub(crate) fn public_routes(
    service: &Service,
    workload: &Workload,
    base_domain: &str,
    extras: &RouteExtras,
) -> Vec<PublicRoute> {
    let default = workload.ports.iter().find(|p| p.publicly_accessible && p.is_default).map(|p| p.internal_port);
    let http = |host: String, p: &Port, certificate: bool| Entry::Http {
        host,
        path: p.public_path.clone().unwrap_or_else(|| "/".to_owned()),
        rewrite: p.public_path_rewrite.clone(),
        certificate,
    };
    let mut routes: Vec<PublicRoute> = Vec::new();
    let mut main: Option<&Port> = None;
    for p in workload.ports.iter().filter(|p| p.publicly_accessible) {
        let Ok(port) = u16::try_from(p.internal_port) else { continue };
        match p.protocol {
            PortProtocol::Http | PortProtocol::Grpc => {
                let host = naming::public_host(service.id, service.name(), base_domain);
                let host = if Some(p.internal_port) == default { host } else { format!("p{port}-{host}") };
                if main.is_none() || Some(p.internal_port) == default {
                    main = Some(p);
                }
                routes.push(PublicRoute { entry: http(host, p, true), port });
            }
            PortProtocol::Tcp => {
                if let Some(external) = p.edge_tcp_port().and_then(|e| u16::try_from(e).ok()) {
                    routes.push(PublicRoute { entry: Entry::Tcp { port: external }, port });
                }
            }
            PortProtocol::Udp => {}
        }
    }
    if let Some(p) = main {
        let port = u16::try_from(p.internal_port).unwrap_or_default();
        routes.extend(
            extras.domains.iter().map(|d| PublicRoute { entry: http(d.domain.clone(), p, d.certificate), port }),
        );
    }
    if let (Some(external), Some(p)) = (extras.database_port, workload.main_port())
        && let ServiceSpec::Database(_) = &service.spec
    {
        routes.push(PublicRoute {
            entry: Entry::Tcp { port: external },
            port: u16::try_from(p.internal_port).unwrap_or_default(),
        });
    }
    routes
}

/// The custom domains of a service and a PUBLIC database's edge port. A
/// store failure is logged and leaves them out: the generated hosts keep
/// being routed.
pub(crate) async fn route_extras(store: &slipway_store::Store, service: &Service) -> RouteExtras {
    let filter = slipway_store::Filter::parent(service.id);
    let domains = match store.list::<slipway_model::custom_domain::CustomDomain>(service.organization_id, filter).await
    {
        Ok(domains) => domains
            .into_iter()
            .map(|d| DomainRoute { domain: d.spec.domain, certificate: d.spec.generate_certificate })
            .collect(),
        Err(err) => {
            tracing::warn!(service = %service.id, %err, "cannot load the service's custom domains");
            Vec::new()
        }
    };
    let database_port = match crate::database::public_edge_port(store, service).await {
        Ok(port) => port,
        Err(err) => {
            tracing::warn!(service = %service.id, %err, "cannot load the database's public port");
            None
        }
    };
    RouteExtras { domains, database_port }
}

/// The public routes of the service `ctx` acts on, with its custom domains.
async fn service_routes(ctx: &Ctx, workload: &Workload) -> Vec<PublicRoute> {
    let extras = route_extras(&ctx.inner.store, &ctx.service).await;
    public_routes(&ctx.service, workload, &ctx.inner.config.base_domain, &extras)
}

/// The labels of an instance of `release`.
fn labels(ctx: &Ctx, release: Uuid, replica: u32) -> Labels {
    Labels::from([
        (label::MANAGED.to_owned(), "true".to_owned()),
        (label::ORGANIZATION.to_owned(), ctx.service.organization_id.to_string()),
        (label::ENVIRONMENT.to_owned(), ctx.service.environment_id.to_string()),
        (label::SERVICE.to_owned(), ctx.service.id.to_string()),
        (label::RELEASE.to_owned(), release.to_string()),
        (label::REPLICA.to_owned(), replica.to_string()),
        (label::ROLE.to_owned(), "service".to_owned()),
    ])
}

/// Every instance of a service on its runtime, running or not.
pub(crate) async fn service_instances(runtime: &dyn Runtime, service: Uuid) -> Result<Vec<Instance>, EngineError> {
    let filter = Labels::from([(label::SERVICE.to_owned(), service.to_string())]);
    Ok(runtime.list(&filter).await?)
}

/// The variables every instance gets. The built-in variables of the
/// contract that need nothing but ids; the variables work completes them.
pub(crate) fn base_variables(ctx: &Ctx) -> BTreeMap<String, String> {
    let s = &ctx.service;
    let mut vars = BTreeMap::from([
        ("QOVERY_PROJECT_ID".to_owned(), s.project_id.to_string()),
        ("QOVERY_ENVIRONMENT_ID".to_owned(), s.environment_id.to_string()),
        ("QOVERY_ENVIRONMENT_NAME".to_owned(), ctx.environment.name.clone()),
        ("SLIPWAY_SERVICE_ID".to_owned(), s.id.to_string()),
    ]);
    let own = match s.kind() {
        ServiceType::Application => Some("QOVERY_APPLICATION_ID"),
        ServiceType::Container => Some("QOVERY_CONTAINER_ID"),
        ServiceType::Job => Some("QOVERY_JOB_ID"),
        _ => None,
    };
    if let Some(key) = own {
        vars.insert(key.to_owned(), s.id.to_string());
    }
    vars
}

/// The variables `release` runs with, in clear; from now on, the secrets
/// among them are masked in what `ctx` logs.
pub(crate) fn open_variables(ctx: &Ctx, release: &Release) -> Result<Vec<ReleaseVariable>, EngineError> {
    let Some(sealed) = &release.variables else { return Ok(Vec::new()) };
    let opened = ctx
        .inner
        .secrets
        .open(sealed)
        .map_err(|e| EngineError::failed(format!("cannot open the variables of release {}: {e}", release.id)))?;
    let variables: Vec<ReleaseVariable> = serde_json::from_str(&opened)
        .map_err(|e| EngineError::failed(format!("the variables of release {} are unreadable: {e}", release.id)))?;
    ctx.logger.hide(variables.iter().filter(|v| v.is_secret).map(|v| v.value.clone()).collect());
    Ok(variables)
}

/// The environment variables and files instances of `release` run with:
/// the variables it was deployed with, file variables as files.
pub(crate) fn release_environment(
    ctx: &Ctx,
    release: &Release,
) -> Result<(BTreeMap<String, String>, Vec<InstanceFile>), EngineError> {
    let mut env = base_variables(ctx);
    let mut files = Vec::new();
    for v in open_variables(ctx, release)? {
        match v.mount_path {
            Some(path) => files.push(InstanceFile { path, content: v.value.into_bytes(), mode: 0o444, uid: 0 }),
            None => {
                env.insert(v.key, v.value);
            }
        }
    }
    Ok((env, files))
}

/// The last lines an instance printed, for failure reports.
pub(crate) async fn last_lines(runtime: &dyn Runtime, id: &str, n: usize) -> Vec<String> {
    let options = LogOptions { follow: false, tail: Some(n), since: None };
    match runtime.logs(id, options).await {
        Ok(stream) => stream.filter_map(|l| async move { l.ok().map(|l| l.line) }).collect().await,
        Err(_) => Vec::new(),
    }
}

fn rollout_token() -> String {
    let bytes: [u8; 3] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts `replicas` instances of `release` and waits until all are ready.
/// On failure, removes them and reports the probe failures and their last
/// log lines; nothing else is touched.
pub(crate) async fn start_revision(
    ctx: &Ctx,
    release: &Release,
    workload: &Workload,
    replicas: u32,
    first_replica: u32,
) -> Result<Vec<Instance>, EngineError> {
    let runtime = ctx.runtime.as_ref();
    let network = naming::environment_network(ctx.environment.id);
    let mut network_labels = Labels::from([(label::MANAGED.to_owned(), "true".to_owned())]);
    network_labels.insert(label::ENVIRONMENT.to_owned(), ctx.environment.id.to_string());
    runtime.ensure_network(&network, &network_labels).await?;
    let mut volumes = Vec::new();
    for s in &workload.storage {
        let name = naming::volume(ctx.service.id, s.id.unwrap_or_default());
        let mut volume_labels = network_labels.clone();
        volume_labels.insert(label::SERVICE.to_owned(), ctx.service.id.to_string());
        runtime.ensure_volume(&name, &volume_labels).await?;
        volumes.push(VolumeMount { volume: name, target: s.mount_point.clone() });
    }
    let token = rollout_token();
    let host = naming::host_internal(ctx.service.kind(), ctx.service.id, ctx.service.name());
    let (env, files) = release_environment(ctx, release)?;
    let mut started = Vec::new();
    for replica in first_replica..first_replica + replicas {
        let spec = InstanceSpec {
            name: naming::instance(ctx.service.id, ctx.service.name(), &token, replica),
            image: if release.image_id.is_empty() { release.image.clone() } else { release.image_id.clone() },
            network: Some(network.clone()),
            aliases: vec![host.clone(), naming::slug(ctx.service.name())],
            env: env.clone(),
            entrypoint: workload.entrypoint.clone().filter(|e| !e.is_empty()).map(|e| vec![e]),
            command: (!workload.arguments.is_empty()).then(|| workload.arguments.clone()),
            cpu_millis: Some(workload.cpu),
            memory_mib: Some(workload.memory),
            volumes: volumes.clone(),
            published_ports: Vec::new(),
            files: files.clone(),
            directories: Vec::new(),
            labels: labels(ctx, release.id, replica),
            stop_timeout_secs: 10,
        };
        match runtime.start(&spec).await {
            Ok(instance) => started.push(instance),
            Err(err) => {
                remove_all(runtime, &started).await;
                return Err(EngineError::failed(format!("cannot start instance {}: {err}", spec.name)));
            }
        }
    }
    ctx.info(&format!("started {} instance(s) of release {}", started.len(), release.id));
    let readiness = workload.readiness();
    let deadline = tokio::time::Instant::now() + ctx.inner.config.readiness_timeout;
    let checks = started.iter().map(|instance| {
        let readiness = readiness.clone();
        let ctx = ctx.clone();
        async move {
            let report = |line: &str| ctx.warn(&format!("{}: {line}", instance.name));
            probe::wait_ready(runtime, instance, &readiness, deadline, &ctx.canceled, &report)
                .await
                .map_err(|e| (instance, e))
        }
    });
    let failures: Vec<(&Instance, String)> = join_all(checks).await.into_iter().filter_map(Result::err).collect();
    if ctx.check_canceled().is_err() {
        remove_all(runtime, &started).await;
        ctx.warn("canceled before the new revision was ready: it is removed, the old one keeps serving");
        return Err(EngineError::Canceled);
    }
    if let Some((instance, why)) = failures.first() {
        let lines = last_lines(runtime, &instance.id, 20).await;
        ctx.logger.error(&ctx.scope, &format!("{} is not ready: {why}", instance.name));
        if lines.is_empty() {
            ctx.logger.error(&ctx.scope, "it printed nothing");
        } else {
            ctx.logger.error(&ctx.scope, &format!("its last {} log lines:", lines.len()));
            for line in &lines {
                ctx.logger.error(&ctx.scope, &format!("  | {line}"));
            }
        }
        remove_all(runtime, &started).await;
        return Err(EngineError::failed(format!("the new revision never got ready: {why}")));
    }
    ctx.info(&format!("{} instance(s) ready", started.len()));
    Ok(started)
}

/// The addresses of `instances` on `port`.
pub(crate) fn addresses(instances: &[Instance], port: u16) -> Vec<SocketAddr> {
    instances.iter().filter_map(|i| i.ip.map(|ip| SocketAddr::new(ip, port))).collect()
}

/// Points every public route of the service at `instances`.
pub(crate) async fn switch_traffic(ctx: &Ctx, workload: &Workload, instances: &[Instance]) {
    for route in service_routes(ctx, workload).await {
        ctx.inner.traffic.route(&route.entry, addresses(instances, route.port));
        ctx.info(&format!("traffic for {} now goes to the new revision", route.entry));
    }
}

/// Drains `old` (which no route names any more), stops it gracefully (the
/// stop signal, then a kill after the grace period) and removes it.
pub(crate) async fn retire(ctx: &Ctx, workload: &Workload, old: &[Instance]) {
    if old.is_empty() {
        return;
    }
    let backends: Vec<SocketAddr> = workload
        .ports
        .iter()
        .filter_map(|p| u16::try_from(p.internal_port).ok())
        .flat_map(|p| addresses(old, p))
        .collect();
    let left = ctx.inner.traffic.drain(backends, ctx.inner.config.drain_timeout).await;
    if left > 0 {
        ctx.warn(&format!("{left} request(s) were still in flight to the old revision after the drain timeout"));
    }
    let runtime = ctx.runtime.as_ref();
    join_all(old.iter().map(|i| async move {
        if let Err(err) = runtime.stop(&i.id, STOP_GRACE).await {
            tracing::warn!(instance = %i.name, %err, "cannot stop an instance gracefully");
        }
    }))
    .await;
    remove_all(runtime, old).await;
    ctx.info(&format!("stopped {} old instance(s)", old.len()));
}

/// How long an old instance has to exit after the stop signal.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes instances, logging what could not be removed.
pub(crate) async fn remove_all(runtime: &dyn Runtime, instances: &[Instance]) {
    let removals = instances.iter().map(|i| async move {
        if let Err(err) = runtime.remove(&i.id).await {
            tracing::warn!(instance = %i.name, %err, "cannot remove an instance");
        }
    });
    join_all(removals).await;
}

/// Rolls the service to `release` with `replicas` instances; the current
/// instances keep serving until the new ones are ready.
pub(crate) async fn roll_out(
    ctx: &Ctx,
    release: &Release,
    workload: &Workload,
    replicas: u32,
) -> Result<(), EngineError> {
    let ctx = ctx.step("rollout");
    let old = service_instances(ctx.runtime.as_ref(), ctx.service.id).await?;
    if !workload.storage.is_empty() && !old.is_empty() {
        ctx.warn("the service has persistent storage: the old revision stops before the new one starts");
        for route in service_routes(&ctx, workload).await {
            ctx.inner.traffic.unroute(&route.entry);
        }
        retire(&ctx, workload, &old).await;
        let new = start_revision(&ctx, release, workload, replicas, 0).await?;
        switch_traffic(&ctx, workload, &new).await;
        return Ok(());
    }
    let new = start_revision(&ctx, release, workload, replicas, 0).await?;
    switch_traffic(&ctx, workload, &new).await;
    retire_in_background(&ctx, workload, old);
    Ok(())
}

/// Drains and stops `old` off the deployment's path: the service already
/// runs its new revision, and an old process slow to stop (one that ignores
/// the stop signal waits out the engine's timeout) should not hold the
/// deployment. The monitor leaves these instances alone meanwhile; after a
/// crash, it removes them as strays.
pub(crate) fn retire_in_background(ctx: &Ctx, workload: &Workload, old: Vec<Instance>) {
    if old.is_empty() {
        return;
    }
    ctx.inner.monitor.retiring(old.iter().map(|i| i.id.clone()), true);
    ctx.info(&format!("draining and stopping {} old instance(s) in the background", old.len()));
    let ctx = ctx.clone();
    let workload = workload.clone();
    tokio::spawn(async move {
        retire(&ctx, &workload, &old).await;
        ctx.inner.monitor.retiring(old.iter().map(|i| i.id.clone()), false);
    });
}

/// Stops serving and removes every instance of the service.
pub(crate) async fn take_down(ctx: &Ctx, workload: Option<&Workload>) -> Result<usize, EngineError> {
    let old = service_instances(ctx.runtime.as_ref(), ctx.service.id).await?;
    match workload {
        Some(w) => {
            for route in service_routes(ctx, w).await {
                ctx.inner.traffic.unroute(&route.entry);
            }
            retire(ctx, w, &old).await;
        }
        None => remove_all(ctx.runtime.as_ref(), &old).await,
    }
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(ports: serde_json::Value) -> (Service, Workload) {
        let body = serde_json::json!({
            "name": "Web", "registry_id": Uuid::nil(), "image_name": "nginx", "tag": "1.27", "healthchecks": {},
            "ports": ports,
        });
        let mut spec = ServiceSpec::from_json(ServiceType::Container, body).unwrap();
        spec.prepare().unwrap();
        let id: Uuid = "04308de2-0000-4000-8000-000000000001".parse().unwrap();
        let now = slipway_model::now();
        let service = Service {
            id,
            organization_id: Uuid::nil(),
            project_id: Uuid::nil(),
            environment_id: Uuid::nil(),
            created_at: now,
            updated_at: None,
            spec,
        };
        let workload = Workload::of(&service.spec).unwrap();
        (service, workload)
    }

    fn route(host: &str, port: u16) -> PublicRoute {
        PublicRoute { entry: Entry::host(host), port }
    }

    fn domains(names: &[&str]) -> RouteExtras {
        let domains = names.iter().map(|d| DomainRoute { domain: (*d).to_owned(), certificate: true }).collect();
        RouteExtras { domains, database_port: None }
    }

    #[test]
    fn custom_domains_reach_the_default_public_port() {
        let (service, workload) = container(serde_json::json!([
            {"internal_port": 8080, "publicly_accessible": true, "is_default": true},
            {"internal_port": 9090, "publicly_accessible": true},
            {"internal_port": 5432, "publicly_accessible": false},
        ]));
        let domains = domains(&["shop.example.com", "www.example.com"]);
        assert_eq!(
            public_routes(&service, &workload, "apps.test", &domains),
            [
                route("web-z04308de2.apps.test", 8080),
                route("p9090-web-z04308de2.apps.test", 9090),
                route("shop.example.com", 8080),
                route("www.example.com", 8080),
            ]
        );
        assert_eq!(
            public_routes(&service, &workload, "apps.test", &RouteExtras::default()).len(),
            2,
            "no domains, no extra routes"
        );
    }

    #[test]
    fn a_custom_domain_without_generate_certificate_is_routed_without_one() {
        let (service, workload) =
            container(serde_json::json!([{"internal_port": 8080, "publicly_accessible": true, "is_default": true}]));
        let mut extras = domains(&["cdn.example.com"]);
        extras.domains[0].certificate = false;
        let routes = public_routes(&service, &workload, "apps.test", &extras);
        let certificate = |host: &str| {
            routes.iter().find_map(|r| match &r.entry {
                Entry::Http { host: h, certificate, .. } if h == host => Some(*certificate),
                _ => None,
            })
        };
        assert_eq!(certificate("web-z04308de2.apps.test"), Some(true));
        assert_eq!(certificate("cdn.example.com"), Some(false));
    }

    #[test]
    fn public_paths_and_tcp_ports_become_entries() {
        let (service, workload) = container(serde_json::json!([
            {"internal_port": 8080, "publicly_accessible": true, "is_default": true,
             "public_path": "/api", "public_path_rewrite": "/"},
            {"internal_port": 6379, "publicly_accessible": true, "protocol": "TCP", "external_port": 16379},
            {"internal_port": 7000, "publicly_accessible": false, "protocol": "TCP", "external_port": 17000},
        ]));
        let api = |host: &str| Entry::Http {
            host: host.into(),
            path: "/api".into(),
            rewrite: Some("/".into()),
            certificate: true,
        };
        assert_eq!(
            public_routes(&service, &workload, "apps.test", &domains(&["shop.example.com"])),
            [
                PublicRoute { entry: api("web-z04308de2.apps.test"), port: 8080 },
                PublicRoute { entry: Entry::Tcp { port: 16379 }, port: 6379 },
                PublicRoute { entry: api("shop.example.com"), port: 8080 },
            ],
            "a private TCP port is not exposed, whatever its external port"
        );
    }

    #[test]
    fn custom_domains_need_a_public_port() {
        let (service, workload) =
            container(serde_json::json!([{"internal_port": 8080, "publicly_accessible": false, "is_default": true}]));
        assert_eq!(public_routes(&service, &workload, "apps.test", &domains(&["shop.example.com"])), []);
        let (service, workload) = container(serde_json::json!([
            {"internal_port": 5432, "publicly_accessible": false, "is_default": true},
            {"internal_port": 8080, "publicly_accessible": true},
        ]));
        let routes = public_routes(&service, &workload, "apps.test", &domains(&["shop.example.com"]));
        assert_eq!(routes.last(), Some(&route("shop.example.com", 8080)), "the first public port, without a default");
    }
}
