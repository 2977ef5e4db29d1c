//! Slipway's domain model: the resources users manage and the rules they obey.
//!
//! This crate owns what an organization, cluster, container registry, project,
//! environment and each of the six service kinds *is*, and the rules that make
//! one valid. Every other crate goes through it: the API deserializes request
//! bodies straight into these specs and calls `validate`, the store persists
//! them as JSON, the engine plans deployments from them. Validation lives here
//! and nowhere else.
//!
//! The crate is pure: no I/O, no async runtime, no HTTP. The optional `openapi`
//! feature only derives schema descriptions for the API document.

mod cluster;
mod error;
mod organization;
mod project;
mod registry;
pub mod service;
mod status;
pub mod validate;

pub use cluster::{CloudProvider, Cluster, ClusterSpec, KubernetesMode};
pub use error::ValidationError;
pub use organization::{ApiToken, Organization, OrganizationSpec, Plan, Role};
pub use project::{Environment, EnvironmentMode, Project};
pub use registry::{ContainerRegistry, RegistryConfig, RegistryKind, RegistrySpec};
pub use service::{Service, ServiceSpec, ServiceType};
pub use status::{ActionStatus, DeploymentState, ServiceAction, ServiceDeploymentStatus, SubAction};

/// Timestamps are UTC everywhere and RFC 3339 on the wire.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

pub use uuid::Uuid;

/// A fresh identifier: a UUID v7, so that ids sort by creation time.
pub fn new_id() -> Uuid {
    uuid::Uuid::now_v7()
}

/// The current time, truncated to microseconds so that it round-trips through
/// every store backend unchanged.
pub fn now() -> Timestamp {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

/// The short form of an id used in built-in variable names and host names:
/// `Z` followed by the first 8 hex digits of the UUID, upper-cased.
pub fn short_id(id: Uuid) -> String {
    let simple = id.simple().to_string();
    format!("Z{}", simple[..8].to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_is_z_and_first_eight_hex_digits_upper_cased() {
        let id: Uuid = "909e13c8-1234-4abc-8def-0123456789ab".parse().unwrap();
        assert_eq!(short_id(id), "Z909E13C8");
    }
}
