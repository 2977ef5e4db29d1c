//! Database servers registered with a cluster (a Slipway extension): where
//! MANAGED databases get their database and role.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::service::database::{DatabaseServer, DatabaseType};
use utoipa::ToSchema;
use uuid::Uuid;

/// Registers a database server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseServerRequest {
    pub name: String,
    /// The engine; POSTGRESQL.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: DatabaseType,
    /// `postgres://admin:password@host:port/postgres`, for a role that may
    /// create roles and databases. Sealed at rest, never returned.
    pub admin_url: String,
    /// The host applications connect to, when it differs from the admin URL's.
    #[serde(default)]
    pub host: Option<String>,
}

/// A registered database server; its admin URL without the password.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatabaseServerResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub cluster_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: DatabaseType,
    /// The admin URL with its password removed.
    pub admin_url: String,
    pub host: Option<String>,
}

impl DatabaseServerResponse {
    /// The response for `server`, whose admin URL in clear is `admin_url`.
    pub fn new(server: &DatabaseServer, admin_url: &str) -> Self {
        DatabaseServerResponse {
            id: server.id,
            created_at: server.created_at,
            cluster_id: server.cluster_id,
            name: server.name.clone(),
            kind: server.kind,
            admin_url: without_password(admin_url),
            host: server.host.clone(),
        }
    }
}

/// `scheme://user:password@host/...` as `scheme://user@host/...`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return String::new() };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => format!("{}@{host}", userinfo.split(':').next().unwrap_or_default()),
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(super::without_password("postgres://a:s3c@h:5432/db?x=1"), "postgres://a@h:5432/db?x=1");
        assert_eq!(super::without_password("postgres://h/db"), "postgres://h/db");
    }
}
