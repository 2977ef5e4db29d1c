//! The commands that talk to a running server over the REST API.
//!
//! Each group (`project`, `env`, ...) lives in its own module with its clap
//! arguments and its `run`. They share the session ([`config`]), name
//! resolution ([`resolve`]) and printing ([`output`]).

mod cluster;
mod config;
mod deploy;
mod domain;
mod env;
mod history;
pub mod images;
mod login;
mod logs;
mod org;
mod output;
mod progress;
mod project;
mod resolve;
mod service;
mod status;
mod target;
mod variable;

use config::Session;

/// The client commands, flattened into the binary's top-level commands.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Log in to a Slipway server: check the URL and API token, and remember them.
    Login(login::LoginArgs),
    /// Organizations.
    Org(org::OrgArgs),
    /// Clusters, and their database servers for MANAGED databases.
    Cluster(cluster::ClusterArgs),
    /// Projects of the organization.
    Project(project::ProjectArgs),
    /// Environments of a project.
    Env(env::EnvArgs),
    /// Services of an environment.
    Service(service::ServiceArgs),
    /// Deploy an environment, or some of its services (at a commit or tag),
    /// and follow the deployment.
    Deploy(deploy::DeployArgs),
    /// Deploy an environment or some services again at the version they run.
    Redeploy(deploy::ActionArgs),
    /// Stop an environment or some services (volumes and releases are kept).
    Stop(deploy::ActionArgs),
    /// Restart the running instances of an environment or some services.
    Restart(deploy::ActionArgs),
    /// Roll a service back to an earlier release (by default the one before
    /// the current one).
    Rollback(deploy::RollbackArgs),
    /// Cancel an environment's queued and running deployments.
    Cancel(deploy::CancelArgs),
    /// The state of an environment and its services, and their URLs.
    Status(status::StatusArgs),
    /// The deployments of an environment or a service, newest first.
    History(history::HistoryArgs),
    /// The releases of a service, newest first: what it can roll back to.
    Releases(history::ReleasesArgs),
    /// The runs of a job, newest first (lifecycle events, scheduled and forced runs), or one
    /// run with the lines it printed.
    Runs(history::RunsArgs),
    /// Run a deployed cron job now, outside its schedule.
    Run(history::RunArgs),
    /// Variables and secrets of a project, an environment or a service, and
    /// the effective variables a service runs with.
    Variable(variable::VariableArgs),
    /// Custom domains of an application, container or helm service, and the
    /// check of their DNS records.
    Domain(domain::DomainArgs),
    /// What a service's instances print, or a deployment's log.
    Logs(logs::LogsArgs),
}

/// The exit code for an error that was already explained to the user
/// (Ctrl-C while following a deployment), or `None` for other errors.
pub fn quiet_exit_code(err: &anyhow::Error) -> Option<u8> {
    err.is::<progress::Interrupted>().then_some(130)
}

/// Runs a client command against the configured server.
pub async fn run(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Login(args) => login::run(args).await,
        ClientCommand::Org(args) => org::run(args, Session::open()?).await,
        ClientCommand::Cluster(args) => cluster::run(args, Session::open()?).await,
        ClientCommand::Project(args) => project::run(args, Session::open()?).await,
        ClientCommand::Env(args) => env::run(args, Session::open()?).await,
        ClientCommand::Service(args) => service::run(args, Session::open()?).await,
        ClientCommand::Deploy(args) => deploy::deploy(args, Session::open()?).await,
        ClientCommand::Redeploy(args) => deploy::act(deploy::Action::Redeploy, args, Session::open()?).await,
        ClientCommand::Stop(args) => deploy::act(deploy::Action::Stop, args, Session::open()?).await,
        ClientCommand::Restart(args) => deploy::act(deploy::Action::Restart, args, Session::open()?).await,
        ClientCommand::Rollback(args) => deploy::rollback(args, Session::open()?).await,
        ClientCommand::Cancel(args) => deploy::cancel(args, Session::open()?).await,
        ClientCommand::Status(args) => status::run(args, Session::open()?).await,
        ClientCommand::History(args) => history::history(args, Session::open()?).await,
        ClientCommand::Releases(args) => history::releases(args, Session::open()?).await,
        ClientCommand::Runs(args) => history::runs(args, Session::open()?).await,
        ClientCommand::Run(args) => history::run_now(args, Session::open()?).await,
        ClientCommand::Logs(args) => logs::run(args, Session::open()?).await,
        ClientCommand::Variable(args) => variable::run(args, Session::open()?).await,
        ClientCommand::Domain(args) => domain::run(args, Session::open()?).await,
    }
}
