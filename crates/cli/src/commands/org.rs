//! `slipway org`: organizations.

use super::config::Session;
use super::output::{self, OutputArgs};

/// `slipway org ...`
#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: OrgCommand,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum OrgCommand {
    /// List the organizations the API token can see.
    List,
}

pub async fn run(args: OrgArgs, session: Session) -> anyhow::Result<()> {
    match args.command {
        OrgCommand::List => {
            let organizations = session.client.list_organizations().await?;
            output::list(
                args.output.output,
                &organizations,
                &["name", "plan", "id"],
                |o| vec![o.name.clone(), output::wire_name(&o.plan), o.id.to_string()],
                "No organizations.",
            )
        }
    }
}
