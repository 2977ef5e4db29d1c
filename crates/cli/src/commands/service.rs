//! `slipway service`: services of an environment.

use slipway_client::ServiceSummary;

use super::config::Session;
use super::output::{self, OutputArgs};
use super::{env, project};

/// `slipway service ...`
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    command: ServiceCommand,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ServiceCommand {
    /// List the services of an environment, of every kind.
    List {
        /// The project's name or id.
        #[arg(long)]
        project: String,
        /// The environment's name or id.
        #[arg(long)]
        env: String,
    },
}

pub async fn run(args: ServiceArgs, session: Session) -> anyhow::Result<()> {
    match args.command {
        ServiceCommand::List { project, env } => {
            let project = project::find(&session, &project).await?;
            let env = env::find(&session, &project, &env).await?;
            let services = session.client.list_services(env.id).await?;
            output::list(
                args.output.output,
                &services,
                &["name", "type", "id"],
                |s| {
                    let s = ServiceSummary::from(s);
                    vec![s.name, s.service_type.to_lowercase(), s.id.to_string()]
                },
                &format!("No services in environment `{}` of project `{}` yet.", env.name, project.name),
            )
        }
    }
}
