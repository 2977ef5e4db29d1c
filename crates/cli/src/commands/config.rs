//! The user's CLI configuration (`config.toml`) and the session every
//! command but `login` runs in.
//!
//! Precedence: the stored file < `SLIPWAY_URL` / `SLIPWAY_TOKEN`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use slipway_client::Client;
use uuid::Uuid;

/// Overrides the directory holding `config.toml`.
const CONFIG_HOME_ENV: &str = "SLIPWAY_CONFIG_HOME";
/// Overrides the stored server URL.
pub const URL_ENV: &str = "SLIPWAY_URL";
/// Overrides the stored API token.
pub const TOKEN_ENV: &str = "SLIPWAY_TOKEN";

/// What `slipway login` stores.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The server's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The organization commands act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Uuid>,
}

impl UserConfig {
    /// `$SLIPWAY_CONFIG_HOME/config.toml`, else `<config dir>/slipway/config.toml`
    /// (`$XDG_CONFIG_HOME`, by default `~/.config`).
    pub fn path() -> anyhow::Result<PathBuf> {
        let dir = match env_var(CONFIG_HOME_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => dirs::config_dir()
                .context("no per-user configuration directory on this system; set SLIPWAY_CONFIG_HOME")?
                .join("slipway"),
        };
        Ok(dir.join("config.toml"))
    }

    /// The stored configuration; empty when there is no file yet.
    pub fn load(path: &Path) -> anyhow::Result<UserConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UserConfig::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text).with_context(|| format!("invalid CLI configuration {}", path.display()))
    }

    /// Writes the configuration, readable by its owner only (it holds a token).
    /// Writes a new file and renames it over the old, so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let dir = path.parent().context("the configuration path has no directory")?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let text = toml::to_string(self).context("cannot encode the configuration")?;
        let tmp = dir.join(format!(".config.toml.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file =
                std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            // The mode above applies only to a new file.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().with_context(|| format!("cannot write {}", path.display())).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// A non-empty environment variable.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A client of the configured server, and the organization to act on.
#[derive(Debug)]
pub struct Session {
    /// The API client.
    pub client: Client,
    /// The organization, once known: stored at login, or looked up.
    organization: tokio::sync::OnceCell<Uuid>,
}

impl Session {
    /// The session from the environment and the stored configuration.
    pub fn open() -> anyhow::Result<Session> {
        let path = UserConfig::path()?;
        let stored = UserConfig::load(&path)?;
        let url_env = env_var(URL_ENV);
        let token_env = env_var(TOKEN_ENV);
        // The stored organization belongs to the stored server and token.
        let organization = if url_env.is_none() && token_env.is_none() { stored.organization } else { None };
        let Some(url) = url_env.or(stored.url) else {
            bail!("not logged in: run `slipway login --url <server URL>`, or set {URL_ENV} and {TOKEN_ENV}");
        };
        let Some(token) = token_env.or(stored.token) else {
            bail!("no API token for {url}: run `slipway login`, or set {TOKEN_ENV}");
        };
        Ok(Session { client: Client::new(&url, &token)?, organization: tokio::sync::OnceCell::new_with(organization) })
    }

    /// The organization to act on: the one stored at login, else the first
    /// the token can see.
    pub async fn organization(&self) -> anyhow::Result<Uuid> {
        let id = self
            .organization
            .get_or_try_init(|| async {
                let organizations = self.client.list_organizations().await?;
                match organizations.first() {
                    Some(org) => Ok(org.id),
                    None => bail!("the API token sees no organization on {}", self.client.base_url()),
                }
            })
            .await?;
        Ok(*id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_with_owner_only_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("slipway-config-test-{}", std::process::id()));
        let path = dir.join("nested").join("config.toml");
        let config = UserConfig {
            url: Some("http://127.0.0.1:8080".into()),
            token: Some("t0k3n".into()),
            organization: Some(Uuid::nil()),
        };
        config.save(&path).unwrap();
        assert_eq!(UserConfig::load(&path).unwrap(), config);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_empty_configuration() {
        let path = std::env::temp_dir().join("slipway-no-such-dir").join("config.toml");
        assert_eq!(UserConfig::load(&path).unwrap(), UserConfig::default());
    }
}
