//! `slipway project`: projects of the organization.

use slipway_api_types::ProjectResponse;

use super::config::Session;
use super::output::{self, OutputArgs};
use super::resolve;

/// `slipway project ...`
#[derive(Debug, clap::Args)]
pub struct ProjectArgs {
    #[command(subcommand)]
    command: ProjectCommand,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ProjectCommand {
    /// List the projects of the organization.
    List,
    /// Create a project.
    Create {
        /// The project's name, unique in the organization.
        name: String,
        /// What the project is for.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a project with all its environments and services.
    Delete {
        /// The project's name or id.
        project: String,
    },
}

pub async fn run(args: ProjectArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    let organization = session.organization().await?;
    match args.command {
        ProjectCommand::List => {
            let projects = session.client.list_projects(organization).await?;
            output::list(
                out,
                &projects,
                &["name", "environments", "id", "description"],
                |p| {
                    vec![
                        p.name.clone(),
                        p.associated_environments_count.to_string(),
                        p.id.to_string(),
                        p.description.clone().unwrap_or_default(),
                    ]
                },
                "No projects yet. Create one with `slipway project create <name>`.",
            )
        }
        ProjectCommand::Create { name, description } => {
            let project = session.client.create_project(organization, &name, description.as_deref()).await?;
            output::one(out, &project, &format!("Created project `{}` ({}).", project.name, project.id))
        }
        ProjectCommand::Delete { project } => {
            let project = find(&session, &project).await?;
            session.client.delete_project(project.id).await?;
            output::one(out, &project, &format!("Deleted project `{}` ({}).", project.name, project.id))
        }
    }
}

/// The project of the session's organization named `wanted` (or with that id).
pub async fn find(session: &Session, wanted: &str) -> anyhow::Result<ProjectResponse> {
    let organization = session.organization().await?;
    let projects = session.client.list_projects(organization).await?;
    resolve::find(projects, wanted, "in the organization", "create one with `slipway project create <name>`")
}
