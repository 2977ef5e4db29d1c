use serde::{Deserialize, Serialize};

use crate::error::{Validation, ValidationError};
use crate::validate;

/// Database engines (`DatabaseTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DatabaseTypeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DatabaseType {
    Mongodb,
    Mysql,
    Postgresql,
    Redis,
}

impl DatabaseType {
    /// The versions Slipway can run, oldest first. A request may name one of
    /// these or a minor release of it (`16` or `16.4`).
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            DatabaseType::Postgresql => &["12", "13", "14", "15", "16", "17"],
            DatabaseType::Mysql => &["5.7", "8.0", "8.4", "10.11", "11.4"],
            DatabaseType::Mongodb => &["5.0", "6.0", "7.0", "8.0"],
            DatabaseType::Redis => &["6", "7", "7.2"],
        }
    }

    /// The wire name (`POSTGRESQL`, ...), also used in built-in variable names.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseType::Mongodb => "MONGODB",
            DatabaseType::Mysql => "MYSQL",
            DatabaseType::Postgresql => "POSTGRESQL",
            DatabaseType::Redis => "REDIS",
        }
    }

    /// The port the engine listens on.
    pub fn default_port(self) -> u16 {
        match self {
            DatabaseType::Mongodb => 27017,
            DatabaseType::Mysql => 3306,
            DatabaseType::Postgresql => 5432,
            DatabaseType::Redis => 6379,
        }
    }

    fn supports(self, version: &str) -> bool {
        self.versions().iter().any(|known| {
            version == *known
                || version
                    .strip_prefix(known)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|minor| !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit() || c == '.'))
        })
    }
}

/// Where a database runs (`DatabaseModeEnum`): a container on the cluster,
/// or a database on a server registered with the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DatabaseModeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DatabaseMode {
    Container,
    Managed,
}

/// Who can reach a database (`DatabaseAccessibilityEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DatabaseAccessibilityEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum DatabaseAccessibility {
    #[default]
    Private,
    Public,
}

/// A database (`DatabaseRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DatabaseRequest))]
pub struct DatabaseSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    pub version: String,
    pub mode: DatabaseMode,
    #[serde(default)]
    pub accessibility: DatabaseAccessibility,
    /// CPU in millicores.
    #[serde(default = "cpu")]
    pub cpu: u32,
    /// Memory in MiB.
    #[serde(default = "memory")]
    pub memory: u32,
    /// Disk in GiB.
    #[serde(default = "storage")]
    pub storage: u32,
    /// MANAGED mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default = "icon")]
    pub icon_uri: String,
    #[serde(default)]
    pub annotations_groups: Vec<serde_json::Value>,
    #[serde(default)]
    pub labels_groups: Vec<serde_json::Value>,
}

fn cpu() -> u32 {
    250
}
fn memory() -> u32 {
    256
}
fn storage() -> u32 {
    10
}
fn icon() -> String {
    "app://qovery-console/database".to_owned()
}

impl DatabaseSpec {
    pub(super) fn prepare(&mut self) -> Validation {
        validate::name("name", &self.name)?;
        if !self.kind.supports(&self.version) {
            return Err(ValidationError::new(
                "version",
                format!(
                    "must be a supported {} version ({}), got `{}`",
                    self.kind.as_str(),
                    self.kind.versions().join(", "),
                    self.version
                ),
            ));
        }
        super::common::validate_resources(self.cpu, self.memory, 0)?;
        validate::range("storage", self.storage, 1, 16 * 1024)?;
        if self.instance_type.is_some() && self.mode == DatabaseMode::Container {
            return Err(ValidationError::new("instance_type", "applies to MANAGED databases only"));
        }
        super::common::refuse_unsupported(&self.annotations_groups, &self.labels_groups, false)
    }

    pub(super) fn check_edit(&self, previous: &Self) -> Validation {
        if self.kind != previous.kind {
            return Err(ValidationError::new("type", "cannot be changed; create a new database instead"));
        }
        if self.mode != previous.mode {
            return Err(ValidationError::new("mode", "cannot be changed; create a new database instead"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_per_engine() {
        assert!(DatabaseType::Postgresql.supports("16"));
        assert!(DatabaseType::Postgresql.supports("16.4"));
        assert!(!DatabaseType::Postgresql.supports("99"));
        assert!(!DatabaseType::Postgresql.supports("16."));
        assert!(!DatabaseType::Postgresql.supports("160"));
        assert!(DatabaseType::Redis.supports("7.2"));
        assert!(!DatabaseType::Redis.supports("8.0"));
    }
}

/// The credentials Slipway generated for a database, kept with it. The
/// password is sealed by the server's secret box before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseCredentials {
    pub id: uuid::Uuid,
    pub organization_id: uuid::Uuid,
    pub service_id: uuid::Uuid,
    /// The user applications log in as.
    pub login: String,
    /// Sealed.
    pub password: String,
    /// The database applications use (`DEFAULT_DATABASE_NAME`).
    pub database: String,
    /// MANAGED mode: what Slipway created on the server, so that a delete
    /// drops exactly that and nothing it did not create.
    #[serde(default)]
    pub managed: Option<ManagedPlacement>,
    /// CONTAINER mode with PUBLIC accessibility: the host port it is
    /// published on, once deployed.
    #[serde(default)]
    pub external_port: Option<u16>,
    pub created_at: crate::Timestamp,
}

/// Where a MANAGED database lives: the server, and the names Slipway created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPlacement {
    /// Host of the server, as applications reach it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Whether Slipway created the database and the role (and may drop them).
    pub created: bool,
}

impl DatabaseType {
    /// The database name applications use by default.
    pub fn default_database(self) -> &'static str {
        match self {
            DatabaseType::Postgresql => "postgres",
            DatabaseType::Mysql => "slipway",
            DatabaseType::Mongodb => "admin",
            DatabaseType::Redis => "0",
        }
    }

    /// The URL scheme of connection strings.
    pub fn scheme(self) -> &'static str {
        match self {
            DatabaseType::Postgresql => "postgresql",
            DatabaseType::Mysql => "mysql",
            DatabaseType::Mongodb => "mongodb",
            DatabaseType::Redis => "redis",
        }
    }

    /// A connection URL: `scheme://login:password@host:port/database`, the
    /// login and password percent-encoded.
    pub fn url(self, login: &str, password: &str, host: &str, port: u16, database: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!("{}://{}:{}@{host}:{port}/{database}", self.scheme(), enc(login), enc(password))
    }
}

/// A database server registered with a cluster: MANAGED databases of that
/// engine on that cluster get a database and a role there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseServer {
    pub id: uuid::Uuid,
    pub organization_id: uuid::Uuid,
    pub cluster_id: uuid::Uuid,
    pub name: String,
    /// POSTGRESQL (MYSQL servers are accepted but not provisioned yet).
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    /// The administrator's connection URL, sealed by the server's secret box.
    pub admin_url: String,
    /// The host applications connect to, when it differs from the admin
    /// URL's (a server the control plane reaches on loopback).
    #[serde(default)]
    pub host: Option<String>,
    pub created_at: crate::Timestamp,
}

impl DatabaseServer {
    /// Checks the user-given fields; `admin_url` in clear.
    pub fn validate(&self, admin_url: &str) -> Validation {
        validate::name("name", &self.name)?;
        if self.kind != DatabaseType::Postgresql {
            return Err(ValidationError::new("type", "only POSTGRESQL servers can host MANAGED databases"));
        }
        let scheme = admin_url.split("://").next().unwrap_or_default();
        if !matches!(scheme, "postgres" | "postgresql") || !admin_url.contains("://") {
            return Err(ValidationError::new("admin_url", "must be a postgres://user:password@host:port/db URL"));
        }
        if let Some(host) = &self.host
            && (host.is_empty() || host.contains(['/', ' ', ':']))
        {
            return Err(ValidationError::new("host", "must be a host name or an IPv4 address"));
        }
        Ok(())
    }
}
