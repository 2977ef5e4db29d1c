//! `slipway env`: environments of a project.

use slipway_api_types::{CreateEnvironmentMode, EnvironmentResponse, ProjectResponse};

use super::config::Session;
use super::output::{self, OutputArgs};
use super::{project, resolve};

/// `slipway env ...`
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    #[command(subcommand)]
    command: EnvCommand,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum EnvCommand {
    /// List the environments of a project.
    List {
        /// The project's name or id.
        #[arg(long)]
        project: String,
    },
    /// Create an environment.
    Create {
        /// The environment's name, unique in the project.
        name: String,
        /// The project's name or id.
        #[arg(long)]
        project: String,
        /// What the environment is for. Default: development.
        #[arg(long, value_enum)]
        mode: Option<Mode>,
        /// The cluster to run on (name or id). Default: the organization's default cluster.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Delete an environment with all its services.
    Delete {
        /// The environment's name or id.
        environment: String,
        /// The project's name or id.
        #[arg(long)]
        project: String,
    },
}

/// The modes a user may choose.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    Development,
    Staging,
    Production,
}

impl From<Mode> for CreateEnvironmentMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Development => CreateEnvironmentMode::Development,
            Mode::Staging => CreateEnvironmentMode::Staging,
            Mode::Production => CreateEnvironmentMode::Production,
        }
    }
}

pub async fn run(args: EnvArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    match args.command {
        EnvCommand::List { project } => {
            let project = project::find(&session, &project).await?;
            let environments = session.client.list_environments(project.id).await?;
            output::list(
                out,
                &environments,
                &["name", "mode", "cluster", "id"],
                |e| vec![e.name.clone(), output::wire_name(&e.mode), e.cluster_name.clone(), e.id.to_string()],
                &format!("No environments in project `{}` yet.", project.name),
            )
        }
        EnvCommand::Create { name, project, mode, cluster } => {
            let project = project::find(&session, &project).await?;
            let cluster = match cluster {
                Some(wanted) => {
                    let organization = session.organization().await?;
                    let clusters = session.client.list_clusters(organization).await?;
                    Some(resolve::find(clusters, &wanted, "in the organization", "the server creates a local one")?.id)
                }
                None => None,
            };
            let client = &session.client;
            let env = client.create_environment(project.id, &name, mode.map(Into::into), cluster).await?;
            let message = format!(
                "Created environment `{}` ({}) in project `{}`, on cluster `{}`.",
                env.name, env.id, project.name, env.cluster_name
            );
            output::one(out, &env, &message)
        }
        EnvCommand::Delete { environment, project } => {
            let project = project::find(&session, &project).await?;
            let env = find(&session, &project, &environment).await?;
            session.client.delete_environment(env.id).await?;
            let message = format!("Deleted environment `{}` ({}) of project `{}`.", env.name, env.id, project.name);
            output::one(out, &env, &message)
        }
    }
}

/// The environment of `project` named `wanted` (or with that id).
pub async fn find(session: &Session, project: &ProjectResponse, wanted: &str) -> anyhow::Result<EnvironmentResponse> {
    let environments = session.client.list_environments(project.id).await?;
    let place = format!("in project `{}`", project.name);
    let hint = format!("create one with `slipway env create <name> --project {}`", project.name);
    resolve::find(environments, wanted, &place, &hint)
}
