//! Databases in CONTAINER mode: an image per engine and version, a volume
//! that outlives every revision, credentials generated once and sealed, and
//! the settings each image expects (the official images' conventions, which
//! the images `slipway images build` makes follow too).
//!
//! A database rolls out like any service with storage: the old revision
//! stops before the new one starts on the same volume.

use std::collections::BTreeMap;

use rand::distr::{Alphanumeric, SampleString};
use slipway_model::deployment::ReleaseVariable;
use slipway_model::service::common::{Healthcheck, Port, PortProtocol, Storage};
use slipway_model::service::database::{
    DatabaseAccessibility, DatabaseCredentials, DatabaseMode, DatabaseSpec, DatabaseType,
};
use slipway_model::{Service, ServiceSpec};
use slipway_runtime::ImageRef;

use crate::EngineError;
use crate::rollout::{Ctx, Workload};

/// Which image runs a database engine at a version: exact `TYPE:VERSION`
/// entries first, then `TYPE` templates where `{version}` is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseImages(BTreeMap<String, String>);

impl Default for DatabaseImages {
    /// The official images of each engine.
    fn default() -> Self {
        DatabaseImages(BTreeMap::from([
            ("POSTGRESQL".to_owned(), "postgres:{version}".to_owned()),
            ("MYSQL".to_owned(), "mysql:{version}".to_owned()),
            ("MYSQL:10.11".to_owned(), "mariadb:10.11".to_owned()),
            ("MYSQL:11.4".to_owned(), "mariadb:11.4".to_owned()),
            ("MONGODB".to_owned(), "mongo:{version}".to_owned()),
            ("REDIS".to_owned(), "redis:{version}".to_owned()),
        ]))
    }
}

impl DatabaseImages {
    /// The official images, except where `slipway images build` makes one
    /// from the host's packages: those run instead.
    pub fn local() -> Self {
        DatabaseImages::default().with([
            ("POSTGRESQL:15".to_owned(), "localhost/slipway/postgresql:15".to_owned()),
            ("MYSQL:10.11".to_owned(), "localhost/slipway/mysql:10.11".to_owned()),
            ("REDIS:7".to_owned(), "localhost/slipway/redis:7".to_owned()),
        ])
    }

    /// Adds or replaces entries (`TYPE` or `TYPE:VERSION` → image reference).
    pub fn with(mut self, entries: impl IntoIterator<Item = (String, String)>) -> Self {
        self.0.extend(entries.into_iter().map(|(k, v)| (k.to_ascii_uppercase(), v)));
        self
    }

    /// The image reference for `kind` at `version`.
    pub fn reference(&self, kind: DatabaseType, version: &str) -> Option<String> {
        let exact = self.0.get(&format!("{}:{version}", kind.as_str()));
        let major = version.split('.').next().unwrap_or(version);
        let by_major = self.0.get(&format!("{}:{major}", kind.as_str()));
        let template = self.0.get(kind.as_str()).map(|t| t.replace("{version}", version));
        exact.or(by_major).cloned().or(template)
    }
}

/// Where each engine keeps its data inside the container.
fn data_path(kind: DatabaseType) -> &'static str {
    match kind {
        DatabaseType::Postgresql => "/var/lib/postgresql/data",
        DatabaseType::Mysql => "/var/lib/mysql",
        DatabaseType::Mongodb => "/data/db",
        DatabaseType::Redis => "/data",
    }
}

/// The login applications use.
fn login(kind: DatabaseType) -> &'static str {
    match kind {
        DatabaseType::Redis => "default",
        _ => "slipway",
    }
}

/// Where the Redis configuration (with its password) goes.
const REDIS_CONF: &str = "/etc/slipway/redis.conf";

/// How a CONTAINER database runs: one instance, its port, its volume.
pub(crate) fn workload(db: &DatabaseSpec) -> Option<Workload> {
    if db.mode != DatabaseMode::Container {
        return None;
    }
    let port = db.kind.default_port();
    Some(Workload {
        ports: vec![Port {
            id: None,
            name: Some(db.kind.scheme().to_owned()),
            internal_port: u32::from(port),
            external_port: None,
            publicly_accessible: false,
            is_default: true,
            protocol: PortProtocol::Tcp,
            public_path: None,
            public_path_rewrite: None,
        }],
        storage: vec![Storage {
            id: None,
            kind: Default::default(),
            size: db.storage,
            mount_point: data_path(db.kind).to_owned(),
        }],
        healthchecks: Healthcheck::default(),
        cpu: db.cpu,
        memory: db.memory,
        min_instances: 1,
        max_instances: 1,
        arguments: match db.kind {
            DatabaseType::Redis => vec!["redis-server".to_owned(), REDIS_CONF.to_owned()],
            _ => Vec::new(),
        },
        entrypoint: None,
    })
}

/// The database's credentials, generated (and stored, sealed) on its first deploy.
pub(crate) async fn credentials(ctx: &Ctx, db: &DatabaseSpec) -> Result<DatabaseCredentials, EngineError> {
    if let Some(found) = crate::variables::credentials_of(&ctx.inner.store, &ctx.service).await? {
        return Ok(found);
    }
    let password = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let creds = DatabaseCredentials {
        id: slipway_model::new_id(),
        organization_id: ctx.service.organization_id,
        service_id: ctx.service.id,
        login: login(db.kind).to_owned(),
        password: ctx.inner.secrets.seal(&password),
        database: db.kind.default_database().to_owned(),
        managed: None,
        external_port: None,
        created_at: slipway_model::now(),
    };
    ctx.inner.store.insert(&creds).await?;
    ctx.info(&format!("generated credentials for {} (login `{}`)", db.name, creds.login));
    Ok(creds)
}

/// Gives a PUBLIC database a port on the edge, kept across deploys.
pub(crate) async fn public_port(
    ctx: &Ctx,
    db: &DatabaseSpec,
    creds: &mut DatabaseCredentials,
) -> Result<Option<u16>, EngineError> {
    if db.accessibility != DatabaseAccessibility::Public {
        return Ok(None);
    }
    if let Some(port) = creds.external_port {
        return Ok(Some(port));
    }
    let probe = std::net::TcpListener::bind(("0.0.0.0", 0))
        .map_err(|e| EngineError::failed(format!("cannot find a free host port for {}: {e}", db.name)))?;
    let port = probe.local_addr().map_err(|e| EngineError::failed(e.to_string()))?.port();
    drop(probe);
    creds.external_port = Some(port);
    ctx.inner.store.update(&*creds).await?;
    ctx.info(&format!("{} is public on the edge's TCP port {port}", db.name));
    Ok(Some(port))
}

/// The edge port a PUBLIC database is reached at, once its credentials gave
/// it one. The edge exposes it (a TCP entry), so a redeploy switches and
/// drains connections like HTTP requests instead of republishing a host port.
pub(crate) async fn public_edge_port(
    store: &slipway_store::Store,
    service: &Service,
) -> Result<Option<u16>, EngineError> {
    let ServiceSpec::Database(db) = &service.spec else { return Ok(None) };
    if db.accessibility != DatabaseAccessibility::Public || db.mode != DatabaseMode::Container {
        return Ok(None);
    }
    Ok(crate::variables::credentials_of(store, service).await?.and_then(|creds| creds.external_port))
}

/// The settings the image reads: the official images' environment
/// variables, and for Redis a configuration file.
pub(crate) fn settings(kind: DatabaseType, creds: &DatabaseCredentials, password: &str) -> Vec<ReleaseVariable> {
    let var = |key: &str, value: &str, is_secret: bool| ReleaseVariable {
        key: key.to_owned(),
        value: value.to_owned(),
        is_secret,
        mount_path: None,
    };
    match kind {
        DatabaseType::Postgresql => vec![
            var("POSTGRES_USER", &creds.login, false),
            var("POSTGRES_PASSWORD", password, true),
            var("POSTGRES_DB", &creds.database, false),
        ],
        DatabaseType::Mysql => vec![
            var("MYSQL_USER", &creds.login, false),
            var("MYSQL_PASSWORD", password, true),
            var("MYSQL_ROOT_PASSWORD", password, true),
            var("MYSQL_DATABASE", &creds.database, false),
        ],
        DatabaseType::Mongodb => vec![
            var("MONGO_INITDB_ROOT_USERNAME", &creds.login, false),
            var("MONGO_INITDB_ROOT_PASSWORD", password, true),
        ],
        DatabaseType::Redis => vec![ReleaseVariable {
            key: "SLIPWAY_REDIS_CONF".to_owned(),
            value: format!(
                "requirepass {password}\nappendonly yes\ndir /data\nbind 0.0.0.0\nprotected-mode no\nport {}\n",
                kind.default_port()
            ),
            is_secret: true,
            mount_path: Some(REDIS_CONF.to_owned()),
        }],
    }
}

/// The database's image: on the engine already, or pulled.
pub(crate) async fn image(ctx: &Ctx, db: &DatabaseSpec) -> Result<ImageRef, EngineError> {
    let Some(reference) = ctx.inner.config.database_images.reference(db.kind, &db.version) else {
        return Err(EngineError::failed(format!(
            "no image is configured for {} {}: set one in the server's `database_images`",
            db.kind.as_str(),
            db.version
        )));
    };
    if let Some(found) = ctx.runtime.image(&reference).await? {
        ctx.info(&format!("using {reference} from the engine ({})", found.id));
        return Ok(found);
    }
    ctx.info(&format!("pulling {reference}"));
    let log = ctx.clone();
    let progress = move |line: &str| log.info(line);
    ctx.runtime.pull(&reference, None, &progress).await.map_err(|e| {
        let hint = match db.kind {
            DatabaseType::Mongodb => {
                "MongoDB is not packaged for Debian, so `slipway images build` cannot make it: it needs a \
                 registry image; point `database_images` at one your engine can pull"
            }
            _ => {
                "on a host without a registry, run `slipway images build` and start the server with \
                  `--local-database-images`"
            }
        };
        EngineError::failed(format!("cannot get the image {reference} for {}: {e}; {hint}", db.name))
    })
}
