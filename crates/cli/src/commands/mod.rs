//! The commands that talk to a running server over the REST API.
//!
//! Each group (`project`, `env`, ...) lives in its own module with its clap
//! arguments and its `run`. They share the session ([`config`]), name
//! resolution ([`resolve`]) and printing ([`output`]).

mod config;
mod env;
mod login;
mod org;
mod output;
mod project;
mod resolve;
mod service;

use config::Session;

/// The client commands, flattened into the binary's top-level commands.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Log in to a Slipway server: check the URL and API token, and remember them.
    Login(login::LoginArgs),
    /// Organizations.
    Org(org::OrgArgs),
    /// Projects of the organization.
    Project(project::ProjectArgs),
    /// Environments of a project.
    Env(env::EnvArgs),
    /// Services of an environment.
    Service(service::ServiceArgs),
}

/// Runs a client command against the configured server.
pub async fn run(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Login(args) => login::run(args).await,
        ClientCommand::Org(args) => org::run(args, Session::open()?).await,
        ClientCommand::Project(args) => project::run(args, Session::open()?).await,
        ClientCommand::Env(args) => env::run(args, Session::open()?).await,
        ClientCommand::Service(args) => service::run(args, Session::open()?).await,
    }
}
