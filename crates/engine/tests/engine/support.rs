//! A store, a runtime, an edge and an engine, with an organization, a
//! project and an environment; plus git repositories of a test web app.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_edge::{Edge, EdgeConfig};
use slipway_engine::{Engine, EngineConfig, Entry, Runtimes, Traffic};
use slipway_model::deployment::{Deployment, DeploymentAction, DeploymentLog, DeploymentTarget, Origin, VersionPin};
use slipway_model::{
    Cluster, ContainerRegistry, Environment, EnvironmentMode, Organization, Project, Service, ServiceSpec, ServiceType,
    Uuid, new_id, now,
};
use slipway_runtime::{Labels, Runtime, RuntimeError, label};
use slipway_runtime_docker::DockerRuntime;
use slipway_store::{Filter, Store, StoreConfig, Tenant};

/// The host's engine, shared by every test of the process.
#[derive(Debug)]
pub struct HostRuntime(pub Arc<dyn Runtime>);

#[async_trait::async_trait]
impl Runtimes for HostRuntime {
    async fn runtime(&self, _cluster: &Cluster) -> Result<Arc<dyn Runtime>, RuntimeError> {
        Ok(self.0.clone())
    }
}

/// The edge, as the engine drives it.
#[derive(Debug, Clone)]
pub struct EdgeTraffic(pub Edge);

impl Traffic for EdgeTraffic {
    fn route(&self, entry: &Entry, backends: Vec<SocketAddr>) {
        match entry {
            Entry::Http { host, path, rewrite, certificate } => {
                self.0.set_certificate_wanted(host, *certificate).expect("valid host");
                self.0.set_only_path_route(host, path, rewrite.as_deref(), backends).expect("valid host and path");
            }
            Entry::Tcp { port } => {
                self.0.set_tcp_route(SocketAddr::from(([127, 0, 0, 1], *port)), backends).expect("a free port");
            }
        }
    }
    fn unroute(&self, entry: &Entry) {
        match entry {
            Entry::Http { host, .. } => {
                let _ = self.0.remove_route(host);
                let _ = self.0.set_certificate_wanted(host, true);
            }
            Entry::Tcp { port } => {
                self.0.remove_tcp_route(*port);
            }
        }
    }
    fn drain(
        &self,
        backends: Vec<SocketAddr>,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn Future<Output = usize> + Send>> {
        let drain = self.0.drain(backends, timeout);
        Box::pin(async move { drain.await.in_flight() })
    }

    fn https_port(&self, host: &str) -> Option<u16> {
        self.0.https_port_for(host)
    }
}

pub struct Harness {
    pub store: Store,
    pub engine: Engine,
    pub runtime: Arc<dyn Runtime>,
    pub edge_addr: SocketAddr,
    pub org: Uuid,
    pub project: Uuid,
    pub env: Environment,
    /// The engine's data directory.
    pub data_dir: std::path::PathBuf,
    /// Environments added with [`Harness::add_environment`], cleaned up with `env`.
    more_envs: std::sync::Mutex<Vec<Uuid>>,
    shutdown: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with_config(|_| {}).await
    }

    /// A harness whose engine runs with `configure` applied to the test configuration.
    pub async fn with_config(configure: impl FnOnce(&mut EngineConfig)) -> Harness {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // `RUST_LOG=slipway_engine=debug` shows what the engine does.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::Sqlite(dir.path().join("slipway.db"))).await.unwrap();
        let org = Organization::new("acme");
        let cluster = Cluster::local_default(org.id);
        let registry = ContainerRegistry::local_default(org.id);
        store
            .create_tenant(&Tenant {
                organization: org.clone(),
                clusters: vec![cluster.clone()],
                registries: vec![registry.clone()],
                tokens: vec![],
            })
            .await
            .unwrap();
        let project = Project {
            id: new_id(),
            organization_id: org.id,
            name: "shop".into(),
            description: None,
            created_at: now(),
            updated_at: None,
        };
        store.insert(&project).await.unwrap();
        let env = Environment {
            id: new_id(),
            organization_id: org.id,
            project_id: project.id,
            cluster_id: cluster.id,
            name: "staging".into(),
            mode: EnvironmentMode::Staging,
            created_at: now(),
            updated_at: None,
        };
        store.insert(&env).await.unwrap();
        let runtime: Arc<dyn Runtime> =
            Arc::new(DockerRuntime::connect(None).await.expect("a container engine: run scripts/setup-engine.sh"));
        let edge = Edge::new(EdgeConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let edge_addr = listener.local_addr().unwrap();
        let serving = edge.clone();
        tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
        let mut config = EngineConfig::new(dir.path().to_path_buf());
        config.public_http_port = edge_addr.port();
        config.poll = Duration::from_millis(200);
        config.heartbeat = Duration::from_secs(1);
        config.lease = Duration::from_secs(5);
        config.monitor_interval = Duration::from_secs(1);
        config.readiness_timeout = Duration::from_secs(60);
        config.drain_timeout = Duration::from_secs(10);
        config.database_images = slipway_engine::DatabaseImages::local();
        configure(&mut config);
        let engine = Engine::new(
            store.clone(),
            Arc::new(HostRuntime(runtime.clone())),
            Arc::new(EdgeTraffic(edge.clone())),
            slipway_secrets::SecretBox::new(&slipway_secrets::generate_key(), &[]),
            config,
        );
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        engine.start(rx);
        Harness {
            store,
            engine,
            runtime,
            edge_addr,
            org: org.id,
            project: project.id,
            env,
            data_dir: dir.path().to_path_buf(),
            more_envs: std::sync::Mutex::default(),
            shutdown,
            _dir: dir,
        }
    }

    /// Adds a service of `kind` from a request body.
    pub async fn add_service(&self, kind: ServiceType, body: Value) -> Service {
        let mut spec = ServiceSpec::from_json(kind, body).unwrap();
        spec.prepare().unwrap();
        let service = Service {
            id: new_id(),
            organization_id: self.org,
            project_id: self.project,
            environment_id: self.env.id,
            created_at: now(),
            updated_at: None,
            spec,
        };
        self.store.insert(&service).await.unwrap();
        service
    }

    /// Replaces a service's spec by an edit body.
    pub async fn edit_service(&self, service: &Service, body: Value) -> Service {
        let mut edited = service.clone();
        edited.spec = service.spec.edited(body).unwrap();
        edited.updated_at = Some(now());
        self.store.update(&edited).await.unwrap();
        edited
    }

    /// Queues a deployment and returns it without waiting.
    pub async fn submit(&self, action: DeploymentAction, targets: Vec<(Uuid, Option<VersionPin>)>) -> Deployment {
        let targets = targets
            .into_iter()
            .map(|(service_id, version)| DeploymentTarget { service_id, version, plan_only: false })
            .collect();
        let d = Deployment::new(self.org, self.project, self.env.id, action, targets, Origin::Api, "test".into());
        self.engine.submit(&d).await.unwrap();
        d
    }

    /// Waits for a deployment to finish.
    pub async fn finish(&self, d: &Deployment) -> Deployment {
        let start = Instant::now();
        loop {
            let current = self.store.get_deployment(self.org, d.id).await.unwrap();
            if current.status.is_final() {
                return current;
            }
            assert!(start.elapsed() < Duration::from_secs(240), "deployment {} did not finish: {current:?}", d.id);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deploys and waits.
    pub async fn deploy(&self, targets: Vec<(Uuid, Option<VersionPin>)>) -> Deployment {
        let d = self.submit(DeploymentAction::Deploy, targets).await;
        self.finish(&d).await
    }

    /// The deployment's log, as text.
    pub async fn log_of(&self, d: &Deployment) -> Vec<DeploymentLog> {
        self.store.deployment_logs(d.id, 0, 10_000).await.unwrap()
    }

    /// The public host of a service's default port.
    pub fn host(&self, service: &Service) -> String {
        let urls = self.engine.public_urls(service);
        urls.first().expect("a public URL").host.clone()
    }

    /// GET through the edge with a Host header.
    pub async fn get(&self, host: &str, path: &str) -> Result<(u16, String), String> {
        http_get(self.edge_addr, host, path).await
    }

    /// The instances of the releases the services run now (old revisions
    /// may still be stopping in the background after a rollout).
    pub async fn current_instances(&self) -> Vec<slipway_runtime::Instance> {
        let states = self.store.service_states(self.org, Some(self.env.id)).await.unwrap();
        let current: Vec<String> = states.iter().filter_map(|s| s.current_release.map(|r| r.to_string())).collect();
        self.instances()
            .await
            .into_iter()
            .filter(|i| i.labels.get(label::RELEASE).is_some_and(|r| current.contains(r)))
            .collect()
    }

    /// Every instance of this harness's environment on the engine.
    pub async fn instances(&self) -> Vec<slipway_runtime::Instance> {
        let filter = Labels::from([(label::ENVIRONMENT.to_owned(), self.env.id.to_string())]);
        self.runtime.list(&filter).await.unwrap()
    }

    /// Another environment in the harness's project and cluster, removed
    /// from the engine with the harness.
    pub async fn add_environment(&self, name: &str) -> Environment {
        let env = Environment { id: new_id(), name: name.into(), created_at: now(), ..self.env.clone() };
        self.store.insert(&env).await.unwrap();
        self.more_envs.lock().unwrap().push(env.id);
        env
    }

    /// Adds a service of `kind` from a request body to `env`.
    pub async fn add_service_to(&self, env: &Environment, kind: ServiceType, body: Value) -> Service {
        let mut spec = ServiceSpec::from_json(kind, body).unwrap();
        spec.prepare().unwrap();
        let service = Service {
            id: new_id(),
            organization_id: self.org,
            project_id: self.project,
            environment_id: env.id,
            created_at: now(),
            updated_at: None,
            spec,
        };
        self.store.insert(&service).await.unwrap();
        service
    }

    /// Deploys `env` and waits.
    pub async fn deploy_to(&self, env: &Environment, targets: Vec<(Uuid, Option<VersionPin>)>) -> Deployment {
        let targets = targets
            .into_iter()
            .map(|(service_id, version)| DeploymentTarget { service_id, version, plan_only: false })
            .collect();
        let d = Deployment::new(
            self.org,
            self.project,
            env.id,
            DeploymentAction::Deploy,
            targets,
            Origin::Api,
            "test".into(),
        );
        self.engine.submit(&d).await.unwrap();
        self.finish(&d).await
    }

    /// Every instance of a service on the engine, whatever its environment.
    pub async fn instances_of(&self, service: &Service) -> Vec<slipway_runtime::Instance> {
        let filter = Labels::from([(label::SERVICE.to_owned(), service.id.to_string())]);
        self.runtime.list(&filter).await.unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        // Remove what the test started, whatever state it ended in.
        let runtime = self.runtime.clone();
        let mut envs = vec![self.env.id];
        envs.extend(self.more_envs.lock().map(|more| more.clone()).unwrap_or_default());
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                for env in envs {
                    let filter = Labels::from([(label::ENVIRONMENT.to_owned(), env.to_string())]);
                    if let Ok(instances) = runtime.list(&filter).await {
                        for i in instances {
                            let _ = runtime.remove(&i.id).await;
                        }
                    }
                    let _ = runtime.remove_network(&slipway_model::naming::environment_network(env)).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A plain HTTP/1.1 GET to `addr` with `Host: host`.
pub async fn http_get(addr: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let response = client
        .get(format!("http://{addr}{path}"))
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// A git repository holding the test web app: a `FROM scratch` image with
/// the static busybox, serving `www/` on port 8080, with a CPU-burning CGI
/// at `/cgi-bin/burn` and a health file at `/health`.
pub struct AppRepo {
    pub dir: tempfile::TempDir,
}

impl AppRepo {
    pub fn new(version: &str) -> AppRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.email", "test@slipway.invalid"]);
        git(root, &["config", "user.name", "Slipway Test"]);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static is installed");
        std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
        std::fs::create_dir_all(root.join("www/cgi-bin")).unwrap();
        std::fs::write(
            root.join("www/cgi-bin/burn"),
            "#!/bin/sh\ni=0\nwhile [ $i -lt 40000 ]; do i=$((i+1)); done\nprintf 'Content-Type: text/plain\\r\\n\\r\\nburned\\n'\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("www/cgi-bin/burn"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            root.join("Dockerfile"),
            "FROM scratch\nCOPY bin /bin\nCOPY www /www\nENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
             CMD [\"echo serving $(cat /www/index.html); exec /bin/busybox httpd -f -v -p 8080 -h /www\"]\n",
        )
        .unwrap();
        let repo = AppRepo { dir };
        repo.commit_version(version, true);
        repo
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits a new version: `/` answers `version`; `/health` exists when `healthy`.
    pub fn commit_version(&self, version: &str, healthy: bool) -> String {
        let root = self.dir.path();
        std::fs::write(root.join("www/index.html"), format!("{version}\n")).unwrap();
        let health = root.join("www/health");
        if healthy {
            std::fs::write(&health, "ok\n").unwrap();
        } else if health.exists() {
            std::fs::remove_file(&health).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", &format!("version {version}")]);
        String::from_utf8(Command::new("git").arg("-C").arg(root).args(["rev-parse", "HEAD"]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned()
    }

    /// The request body of an application built from this repository.
    pub fn application(&self, name: &str) -> Value {
        json!({
            "name": name,
            "git_repository": {"url": self.url(), "branch": "main", "provider": "GITHUB"},
            "healthchecks": {"readiness_probe": {
                "type": {"http": {"port": 8080, "path": "/health"}},
                "initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 2, "failure_threshold": 3
            }},
            "ports": [{"internal_port": 8080, "publicly_accessible": true}],
            "cpu": 250, "memory": 64,
        })
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").arg("-C").arg(dir).args(args).status().unwrap();
    assert!(status.success(), "git {args:?} failed");
}

/// Sends GETs at `rate` per second from `workers` tasks until stopped;
/// returns the bodies seen (in order) and the failures.
pub struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(Vec<String>, Vec<String>)>>,
}

impl Load {
    pub fn start(addr: SocketAddr, host: &str, path: &str, rate: u32, workers: u32) -> Load {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let interval = Duration::from_secs_f64(f64::from(workers) / f64::from(rate));
        let tasks = (0..workers)
            .map(|_| {
                let stop = stop.clone();
                let host = host.to_owned();
                let path = path.to_owned();
                tokio::spawn(async move {
                    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
                    let (mut seen, mut failures) = (Vec::new(), Vec::new());
                    let mut tick = tokio::time::interval(interval);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        tick.tick().await;
                        let result = client
                            .get(format!("http://{addr}{path}"))
                            .header(reqwest::header::HOST, &host)
                            .send()
                            .await;
                        match result {
                            Ok(r) if r.status().is_success() => {
                                seen.push(r.text().await.unwrap_or_default().trim().to_owned())
                            }
                            Ok(r) => failures.push(format!("HTTP {}", r.status())),
                            Err(e) => failures.push(error_chain(&e)),
                        }
                    }
                    (seen, failures)
                })
            })
            .collect();
        Load { stop, tasks }
    }

    /// Stops the load; returns (successful bodies, failures).
    pub async fn stop(self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut seen = Vec::new();
        let mut failures = Vec::new();
        for t in self.tasks {
            let (s, f) = t.await.unwrap();
            seen.extend(s);
            failures.extend(f);
        }
        (seen, failures)
    }
}

/// Waits until `check` holds, or panics after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An error with its causes, `error: cause: cause`, so a failed request says why.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub fn database(name: &str, kind: &str, version: &str) -> Value {
    json!({"name": name, "type": kind, "version": version, "mode": "CONTAINER", "cpu": 250, "memory": 256, "storage": 1})
}

/// The id of the organization's registry for images on the engine itself.
pub async fn local_registry(h: &Harness) -> Uuid {
    let registries: Vec<ContainerRegistry> = h.store.list(h.org, Filter::default()).await.unwrap();
    registries.iter().find(|r| r.spec.url.is_none()).expect("the local registry").id
}

/// A long-running container from `image`, with that image's clients: the
/// stand-in for an application that uses the database.
pub async fn client_app(h: &Harness, name: &str, image: &str) -> Service {
    let (image_name, tag) = image.rsplit_once(':').unwrap();
    h.add_service(
        ServiceType::Container,
        json!({
            "name": name, "registry_id": local_registry(h).await, "image_name": image_name, "tag": tag,
            "entrypoint": "/bin/sleep", "arguments": ["infinity"], "ports": [], "healthchecks": {},
            "cpu": 100, "memory": 64,
        }),
    )
    .await
}

/// Runs a shell script in the service's current instance; its output.
pub async fn sh(h: &Harness, service: &Service, script: &str) -> String {
    let instances = h.current_instances().await;
    let instance = instances
        .iter()
        .find(|i| i.labels.get(slipway_runtime::label::SERVICE) == Some(&service.id.to_string()))
        .expect("a running instance");
    let out = h
        .runtime
        .exec(&instance.id, &["sh".to_owned(), "-c".to_owned(), script.to_owned()], Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0, "`{script}` failed: {}", out.output);
    out.output
}

/// Runs `script` until it succeeds (a database that just started may still refuse).
pub async fn sh_eventually(h: &Harness, service: &Service, script: &str) -> String {
    let mut last = String::new();
    for _ in 0..60 {
        let instances = h.current_instances().await;
        if let Some(i) =
            instances.iter().find(|i| i.labels.get(slipway_runtime::label::SERVICE) == Some(&service.id.to_string()))
        {
            let cmd = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
            let out = h.runtime.exec(&i.id, &cmd, Duration::from_secs(60)).await.unwrap();
            if out.exit_code == 0 {
                return out.output;
            }
            last = out.output;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("`{script}` never succeeded: {last}");
}
