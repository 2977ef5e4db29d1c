//! `slipway login`: check a server URL and token, and remember them.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, bail};
use slipway_client::{Client, Error};

use super::config::{TOKEN_ENV, URL_ENV, UserConfig};

/// Where `login` points when nothing else says.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Options of `slipway login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The server's URL. Default: the stored one, else http://127.0.0.1:8080.
    #[arg(long, env = URL_ENV)]
    url: Option<String>,
    /// The API token. Without it, the token is read from standard input, or
    /// asked for at the terminal. `slipway server` prints the first admin
    /// token and saves it to `<data-dir>/admin-token`.
    #[arg(long, env = TOKEN_ENV, hide_env_values = true)]
    token: Option<String>,
}

pub async fn run(args: LoginArgs) -> anyhow::Result<()> {
    let path = UserConfig::path()?;
    let stored = UserConfig::load(&path)?;
    let url = args.url.or(stored.url).unwrap_or_else(|| DEFAULT_URL.to_owned());
    let token = match args.token.filter(|t| !t.trim().is_empty()) {
        Some(token) => token,
        None => read_token(&url)?,
    };
    let client = Client::new(&url, &token)?;
    let organizations = match client.list_organizations().await {
        Ok(organizations) => organizations,
        Err(Error::Unauthorized) => bail!(
            "the server at {url} refused this API token: check the token (the first admin token is in \
             <data-dir>/admin-token on the server) and run `slipway login` again"
        ),
        Err(err) => return Err(err.into()),
    };
    let Some(organization) = organizations.first() else {
        bail!(
            "the token is valid but sees no organization on {url}; create one with `slipway admin create-organization`"
        );
    };
    let config = UserConfig {
        url: Some(client.base_url().to_owned()),
        token: Some(token.trim().to_owned()),
        organization: Some(organization.id),
    };
    config.save(&path)?;
    println!("Logged in to {} (organization `{}`). Saved to {}.", client.base_url(), organization.name, path.display());
    Ok(())
}

/// The token from standard input: all of it when piped, one line at a terminal.
fn read_token(url: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let token = if stdin.is_terminal() {
        eprint!("API token for {url}: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("cannot read the token")?;
        line
    } else {
        let mut all = String::new();
        stdin.lock().read_to_string(&mut all).context("cannot read the token from standard input")?;
        all
    };
    let token = token.trim();
    if token.is_empty() {
        bail!("no API token given: pass --token, set {TOKEN_ENV}, or pipe it on standard input");
    }
    Ok(token.to_owned())
}
