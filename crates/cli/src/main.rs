//! `slipway`: the server and the command-line client in one binary.
//!
//! `slipway server` is the composition root: it reads the configuration,
//! opens the store, bootstraps the first organization, and serves the API.
//! Every other command is a client of a running server's REST API.

mod admin;
mod commands;
mod secrets;
mod server;
mod tls;
mod wiring;

use clap::{Parser, Subcommand};

/// Slipway: a self-hosted deployment platform.
#[derive(Debug, Parser)]
#[command(name = "slipway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Slipway server (API, and later engine and edge proxy).
    Server(Box<server::ServerArgs>),
    /// Administer a server's store directly, without the API.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The key that encrypts secrets at rest (offline: stop the server first).
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Database images built from the host's Debian packages (no registry needed).
    Images(commands::images::ImagesArgs),
    /// Slipway's local certificate authority, which signs HTTPS certificates for dev domains.
    #[command(subcommand)]
    Ca(tls::CaCommand),
    #[command(flatten)]
    Client(commands::ClientCommand),
}

fn main() -> std::process::ExitCode {
    // One TLS provider for the whole process (ring); see the README.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => server::run(*args).await,
            Command::Admin(cmd) => admin::run(cmd).await,
            Command::Secrets(cmd) => secrets::run(cmd).await,
            Command::Images(args) => commands::images::run(args).await,
            Command::Ca(cmd) => tls::run(cmd).await,
            Command::Client(cmd) => commands::run(cmd).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // Already explained (Ctrl-C while following a deployment).
        Err(err) if commands::quiet_exit_code(&err).is_some() => {
            std::process::ExitCode::from(commands::quiet_exit_code(&err).unwrap_or(1))
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `SLIPWAY_LOG` filters (`info` by default).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLIPWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
