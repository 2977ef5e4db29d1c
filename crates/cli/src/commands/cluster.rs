//! `slipway cluster`: clusters, and the database servers registered with
//! them for MANAGED databases.

use std::io::Read;

use anyhow::{Context, bail};
use slipway_api_types::{ClusterResponse, DatabaseServerRequest};
use slipway_model::service::database::DatabaseType;
use uuid::Uuid;

use super::config::Session;
use super::output::{self, OutputArgs};

/// Where `database-server add` reads the admin URL from when not on stdin.
const ADMIN_URL_ENV: &str = "SLIPWAY_DATABASE_ADMIN_URL";

/// `slipway cluster ...`
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ClusterCommand {
    /// List the organization's clusters.
    List,
    /// Database servers where MANAGED databases are provisioned.
    #[command(subcommand, name = "database-server")]
    DatabaseServer(ServerCommand),
}

#[derive(Debug, clap::Subcommand)]
enum ServerCommand {
    /// List a cluster's database servers.
    List {
        /// The cluster (name or id); the default cluster when absent.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Register a database server. The admin URL
    /// (`postgres://admin:password@host:port/postgres`) is read from
    /// $SLIPWAY_DATABASE_ADMIN_URL, else from standard input: never from the
    /// command line, where other users of the host could read it.
    Add {
        /// A name for the server.
        name: String,
        /// The engine: POSTGRESQL.
        #[arg(long = "type", default_value = "POSTGRESQL")]
        kind: String,
        /// The host applications connect to, when it differs from the admin URL's.
        #[arg(long)]
        host: Option<String>,
        /// The cluster (name or id); the default cluster when absent.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Unregister a database server (what it holds stays on it).
    Remove {
        /// The server's name or id.
        server: String,
        /// The cluster (name or id); the default cluster when absent.
        #[arg(long)]
        cluster: Option<String>,
    },
}

async fn cluster(session: &Session, org: Uuid, wanted: Option<&str>) -> anyhow::Result<ClusterResponse> {
    let clusters = session.client.list_clusters(org).await?;
    let found = match wanted {
        Some(w) => clusters.into_iter().find(|c| c.name == w || c.id.to_string() == w),
        None => clusters.into_iter().find(|c| c.is_default),
    };
    found.with_context(|| match wanted {
        Some(w) => format!("no cluster named `{w}`"),
        None => "no default cluster".to_owned(),
    })
}

fn admin_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var(ADMIN_URL_ENV) {
        return Ok(url);
    }
    let mut url = String::new();
    std::io::stdin().read_to_string(&mut url).context("cannot read the admin URL from standard input")?;
    let url = url.trim().to_owned();
    if url.is_empty() {
        bail!("no admin URL: pipe it on standard input, or set {ADMIN_URL_ENV}");
    }
    Ok(url)
}

pub async fn run(args: ClusterArgs, session: Session) -> anyhow::Result<()> {
    let org = session.organization().await?;
    match args.command {
        ClusterCommand::List => {
            let clusters = session.client.list_clusters(org).await?;
            output::list(
                args.output.output,
                &clusters,
                &["name", "region", "default", "id"],
                |c| vec![c.name.clone(), c.region.clone(), c.is_default.to_string(), c.id.to_string()],
                "No clusters.",
            )
        }
        ClusterCommand::DatabaseServer(ServerCommand::List { cluster: wanted }) => {
            let cluster = cluster(&session, org, wanted.as_deref()).await?;
            let servers = session.client.list_database_servers(org, cluster.id).await?;
            output::list(
                args.output.output,
                &servers,
                &["name", "type", "admin url", "host", "id"],
                |s| {
                    vec![
                        s.name.clone(),
                        s.kind.as_str().to_owned(),
                        s.admin_url.clone(),
                        s.host.clone().unwrap_or_default(),
                        s.id.to_string(),
                    ]
                },
                "No database servers.",
            )
        }
        ClusterCommand::DatabaseServer(ServerCommand::Add { name, kind, host, cluster: wanted }) => {
            let kind: DatabaseType = serde_json::from_value(serde_json::Value::String(kind.to_ascii_uppercase()))
                .context("--type: one of POSTGRESQL, MYSQL, MONGODB, REDIS")?;
            let cluster = cluster(&session, org, wanted.as_deref()).await?;
            let request = DatabaseServerRequest { name, kind, admin_url: admin_url()?, host };
            let created = session.client.create_database_server(org, cluster.id, &request).await?;
            output::one(args.output.output, &created, &format!("Registered database server {}", created.name))
        }
        ClusterCommand::DatabaseServer(ServerCommand::Remove { server, cluster: wanted }) => {
            let cluster = cluster(&session, org, wanted.as_deref()).await?;
            let servers = session.client.list_database_servers(org, cluster.id).await?;
            let Some(found) = servers.iter().find(|s| s.name == server || s.id.to_string() == server) else {
                bail!("no database server `{server}` on cluster {}", cluster.name);
            };
            session.client.delete_database_server(org, cluster.id, found.id).await?;
            output::emit(&format!("Removed database server {}", found.name))
        }
    }
}
