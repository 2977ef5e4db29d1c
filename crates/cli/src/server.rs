//! `slipway server`: configuration, bootstrap and serving.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use slipway_api::{ApiConfig, AppState};
use slipway_api_types::Capacity;
use slipway_model::{ApiToken, Cluster, ContainerRegistry, Organization, Role, new_id, now};
use slipway_store::{Store, StoreConfig, Tenant};

/// Where the store is. Shared by `server` and `admin`.
#[derive(Debug, Clone, clap::Args, Deserialize, Default)]
pub struct StoreArgs {
    /// Directory for Slipway's data: the SQLite store, the admin token file.
    /// Default: the per-user data directory (`~/.local/share/slipway`).
    #[arg(long, env = "SLIPWAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite (`postgres://user:pass@host/db`).
    #[arg(long, env = "SLIPWAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    fn or(self, file: StoreArgs) -> StoreArgs {
        StoreArgs { data_dir: self.data_dir.or(file.data_dir), database_url: self.database_url.or(file.database_url) }
    }

    /// The data directory, defaulted.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(dirs::data_dir()
                .context("no per-user data directory on this system; pass --data-dir")?
                .join("slipway")),
        }
    }

    /// The store's location.
    pub fn store_config(&self) -> anyhow::Result<StoreConfig> {
        Ok(match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreConfig::Postgres(url.clone())
            }
            Some(url) => bail!("--database-url must be a postgres:// URL, got `{url}`"),
            None => StoreConfig::Sqlite(self.data_dir()?.join("slipway.db")),
        })
    }

    /// Opens the store, creating the data directory if needed.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let config = self.store_config()?;
        let what = match &config {
            StoreConfig::Sqlite(path) => format!("SQLite store {}", path.display()),
            StoreConfig::Postgres(_) => "PostgreSQL store".to_owned(),
        };
        Store::open(&config).await.with_context(|| format!("cannot open the {what}"))
    }
}

/// Options of `slipway server`. Precedence: config file < `SLIPWAY_*`
/// environment variables < flags.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Address to serve the API on.
    #[arg(long, env = "SLIPWAY_LISTEN")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
    /// Name of the organization created on first start.
    #[arg(long, env = "SLIPWAY_ORGANIZATION_NAME")]
    organization_name: Option<String>,
    /// Address of the edge proxy, which serves the services' public HTTP ports.
    #[arg(long, env = "SLIPWAY_EDGE_LISTEN")]
    edge_listen: Option<SocketAddr>,
    /// Base domain of the services' generated host names
    /// (`<service>-z<ID8>.<base domain>`); `localhost` works in browsers and curl.
    #[arg(long, env = "SLIPWAY_BASE_DOMAIN")]
    base_domain: Option<String>,
    /// The port users reach the edge at, when it differs from the one it
    /// listens on (behind a port forward); used in the services' URLs.
    #[arg(long, env = "SLIPWAY_PUBLIC_HTTP_PORT")]
    public_http_port: Option<u16>,
    /// Seconds a deployment stays with a worker that stopped renewing its
    /// lease (a crashed server) before another worker resumes it (default 30).
    #[arg(long, env = "SLIPWAY_DEPLOYMENT_LEASE")]
    deployment_lease: Option<u64>,
    /// Run CONTAINER databases from the images `slipway images build` makes
    /// from the host's packages (PostgreSQL 15, MySQL as MariaDB 10.11,
    /// Redis 7) instead of pulling the official ones.
    #[arg(long, env = "SLIPWAY_LOCAL_DATABASE_IMAGES")]
    local_database_images: bool,
    /// The DNS server (`ip:port`) custom domains' records are checked with.
    /// Default: the system's resolvers (`/etc/resolv.conf`).
    #[arg(long, env = "SLIPWAY_DNS_RESOLVER", value_name = "IP:PORT")]
    dns_resolver: Option<SocketAddr>,
    /// The `terraform` CLI Terraform services run: a path, or a name looked
    /// up in `PATH` (default `terraform`).
    #[arg(long, env = "SLIPWAY_TERRAFORM_BIN", value_name = "PATH")]
    terraform_bin: Option<PathBuf>,
    /// Address to serve Prometheus metrics on, at `/metrics` (the edge's
    /// requests by host and status class, latency histograms, open
    /// websockets, ejections). Off unless set; it has no authentication, so
    /// keep it on a private address.
    #[arg(long, env = "SLIPWAY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log every request through the edge (target `slipway_edge::access`).
    #[arg(long, env = "SLIPWAY_EDGE_ACCESS_LOG", action = clap::ArgAction::Set, default_value_t = true)]
    edge_access_log: bool,
    /// A TOML file with any of the options above (`listen`, `data_dir`,
    /// `database_url`, `organization_name`, `edge_listen`, `base_domain`,
    /// `public_http_port`, `deployment_lease`, `body_limit`,
    /// `local_database_images`, `dns_resolver`, `terraform_bin`, and `[database_images]`: `TYPE` or
    /// `TYPE:VERSION` → image reference, `{version}` replaced).
    #[arg(long, env = "SLIPWAY_CONFIG")]
    config: Option<PathBuf>,
}

/// The config file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    #[serde(flatten)]
    store: StoreArgs,
    #[serde(flatten)]
    tls: crate::tls::TlsArgs,
    organization_name: Option<String>,
    edge_listen: Option<SocketAddr>,
    base_domain: Option<String>,
    public_http_port: Option<u16>,
    deployment_lease: Option<u64>,
    body_limit: Option<usize>,
    local_database_images: Option<bool>,
    dns_resolver: Option<SocketAddr>,
    terraform_bin: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
    #[serde(default)]
    database_images: std::collections::BTreeMap<String, String>,
}

/// The server's resolved settings.
#[derive(Debug)]
struct Settings {
    listen: SocketAddr,
    store: StoreArgs,
    data_dir: PathBuf,
    organization_name: String,
    edge_listen: SocketAddr,
    base_domain: String,
    public_http_port: Option<u16>,
    deployment_lease: Option<u64>,
    body_limit: usize,
    dns_resolver: Option<SocketAddr>,
    terraform_bin: Option<PathBuf>,
    database_images: slipway_engine::DatabaseImages,
    tls: crate::tls::TlsArgs,
    metrics_listen: Option<SocketAddr>,
    edge_access_log: bool,
}

impl ServerArgs {
    fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let store = self.store.or(file.store);
        let tls = self.tls.or(file.tls);
        Ok(Settings {
            listen: self.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: store.data_dir()?,
            store,
            tls,
            organization_name: self.organization_name.or(file.organization_name).unwrap_or_else(|| "default".into()),
            edge_listen: self
                .edge_listen
                .or(file.edge_listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8081))),
            base_domain: self.base_domain.or(file.base_domain).unwrap_or_else(|| "localhost".into()),
            public_http_port: self.public_http_port.or(file.public_http_port),
            deployment_lease: self.deployment_lease.or(file.deployment_lease),
            body_limit: file.body_limit.unwrap_or(1024 * 1024),
            dns_resolver: self.dns_resolver.or(file.dns_resolver),
            terraform_bin: self.terraform_bin.or(file.terraform_bin),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            edge_access_log: self.edge_access_log,
            database_images: {
                let base = if self.local_database_images || file.local_database_images.unwrap_or(false) {
                    slipway_engine::DatabaseImages::local()
                } else {
                    slipway_engine::DatabaseImages::default()
                };
                base.with(file.database_images)
            },
        })
    }
}

/// The file the first admin token is written to.
pub fn admin_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-token")
}

/// Writes a secret to a file only its owner can read.
pub fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    Ok(())
}

/// A new organization with a local cluster, the local registry and an owner
/// token. Returns the tenant and the token's secret.
pub fn new_tenant(name: &str) -> (Tenant, String) {
    let organization = Organization::new(name);
    let secret = slipway_api::auth::generate_token();
    let token = ApiToken {
        id: new_id(),
        organization_id: organization.id,
        name: "admin".into(),
        description: Some("Created when the organization was set up".into()),
        role: Role::Owner,
        created_at: now(),
        last_used_at: None,
    };
    let digest = slipway_api::auth::token_digest(&secret);
    let tenant = Tenant {
        clusters: vec![Cluster::local_default(organization.id)],
        registries: vec![ContainerRegistry::local_default(organization.id)],
        tokens: vec![(token, digest)],
        organization,
    };
    (tenant, secret)
}

/// On first start, creates the first organization and its admin token.
async fn bootstrap(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if !store.list_organizations().await?.is_empty() {
        return Ok(());
    }
    let (tenant, secret) = new_tenant(&settings.organization_name);
    tenant.organization.spec.validate().context("invalid --organization-name")?;
    let path = admin_token_path(&settings.data_dir);
    // Write the file first: a token nobody can read would lock everyone out.
    write_secret(&path, &secret)?;
    store.create_tenant(&tenant).await.context("cannot create the first organization")?;
    println!(
        "Created organization `{}` with a local cluster.\nAdmin API token (shown once, also saved to {}):\n\n  {secret}\n",
        tenant.organization.spec.name,
        path.display()
    );
    Ok(())
}

/// CPU (millicores) and memory (MiB) of this host: the most a service can ask for.
fn host_capacity() -> Capacity {
    let cpu = std::thread::available_parallelism().map(|n| n.get() as u32 * 1000).unwrap_or(1000);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kib| (kib / 1024) as u32)
        .unwrap_or(1024);
    Capacity { cpu, memory }
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    crate::init_logging();
    let settings = args.resolve()?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create the data directory {}", settings.data_dir.display()))?;
    let store = settings.store.open().await?;
    bootstrap(&store, &settings).await?;

    let secrets = slipway_secrets::SecretBox::load_or_create(
        &settings.data_dir.join("secret.key"),
        std::env::var("SLIPWAY_SECRET_KEY").ok().as_deref(),
    )
    .context("cannot load the secret key")?;
    let edge = slipway_edge::Edge::new(slipway_edge::EdgeConfig {
        access_log: settings.edge_access_log,
        ..slipway_edge::EdgeConfig::default()
    });
    let edge_listener = tokio::net::TcpListener::bind(settings.edge_listen)
        .await
        .with_context(|| format!("cannot listen on {} for the edge proxy", settings.edge_listen))?;
    let edge_port = edge_listener.local_addr()?.port();
    let https_listener = crate::tls::enable(&edge, &settings.tls, &store, &secrets).await?;
    let mut engine_config = slipway_engine::EngineConfig::new(settings.data_dir.clone());
    engine_config.base_domain = settings.base_domain.clone();
    engine_config.database_images = settings.database_images.clone();
    engine_config.public_http_port = settings.public_http_port.unwrap_or(edge_port);
    if let Some(bin) = &settings.terraform_bin {
        engine_config.terraform_bin = bin.clone();
    }
    if let Some(lease) = settings.deployment_lease {
        engine_config.lease = std::time::Duration::from_secs(lease.max(2));
        engine_config.heartbeat = engine_config.lease / 3;
    }
    let engine = slipway_engine::Engine::new(
        store.clone(),
        std::sync::Arc::new(crate::wiring::DockerRuntimes::default()),
        std::sync::Arc::new(crate::wiring::EdgeTraffic(edge.clone(), settings.edge_listen.ip())),
        secrets.clone(),
        engine_config,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine_task = engine.start(stopped.clone());

    let state = AppState::with_engine(
        store.clone(),
        ApiConfig {
            capacity: host_capacity(),
            body_limit: settings.body_limit,
            secrets,
            base_domain: settings.base_domain.clone(),
            dns_resolver: settings
                .dns_resolver
                .map_or(slipway_api::DnsResolver::System, slipway_api::DnsResolver::Server),
        },
        engine,
    );
    let app = slipway_api::router(state);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(
        listen = %settings.listen, edge = %settings.edge_listen, store = store.dialect(),
        base_domain = %settings.base_domain, "Slipway ready"
    );
    let metrics_task = match settings.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, edge.clone(), wait_for(stopped.clone())).await?),
        None => None,
    };
    crate::tls::serve(edge.clone(), https_listener, wait_for(stopped.clone()));
    let edge_stopped = wait_for(stopped.clone());
    let edge_task = tokio::spawn(async move { edge.serve(edge_listener, edge_stopped).await });
    let api = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    api.await.context("server failed")?;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let _ = engine_task.await;
        let _ = edge_task.await;
        if let Some(task) = metrics_task {
            let _ = task.await;
        }
    })
    .await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves the edge's metrics in the Prometheus text format at `http://<addr>/metrics`.
async fn serve_metrics(
    addr: SocketAddr,
    edge: slipway_edge::Edge,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for metrics"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics at /metrics");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let edge = edge.clone();
            async move {
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], edge.metrics_text())
            }
        }),
    );
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::warn!(%error, "the metrics listener failed");
        }
    }))
}

/// Resolves once `flag` turns true.
async fn wait_for(mut flag: tokio::sync::watch::Receiver<bool>) {
    while !*flag.borrow() {
        if flag.changed().await.is_err() {
            return;
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
