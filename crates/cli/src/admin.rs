//! `slipway admin`: operations on a server's store that the API does not offer.

use anyhow::Context;

use crate::server::{StoreArgs, new_tenant};

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create another organization, with its own local cluster and owner
    /// token. Prints the token once. Tokens of one organization never see
    /// another's resources.
    CreateOrganization {
        /// The new organization's name, unique on this server.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateOrganization { name, store: args } => {
            let store = args.open().await?;
            let (tenant, secret) = new_tenant(&name);
            tenant.organization.spec.validate().context("invalid organization name")?;
            store.create_tenant(&tenant).await.context("cannot create the organization")?;
            println!("organization_id: {}\ntoken: {secret}", tenant.organization.id);
            Ok(())
        }
    }
}
