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

pub mod builtin;
mod cluster;
pub mod custom_domain;
pub mod deployment;
mod error;
pub mod job;
pub mod naming;
mod organization;
mod project;
mod registry;
pub mod service;
mod status;
pub mod terraform;
pub mod validate;
pub mod variable;

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

/// A fresh identifier: a random UUID (v4). Not v7: the first 8 hex digits
/// name built-in variables and hosts (`Z<ID8>`), and in a v7 id they are a
/// timestamp shared by everything created in the same minute.
pub fn new_id() -> Uuid {
    uuid::Uuid::new_v4()
}

/// The current time in microseconds (so that it round-trips through every
/// store backend unchanged), strictly increasing within the process: two
/// resources created back to back never share a creation time, so listings
/// ordered by creation are stable.
pub fn now() -> Timestamp {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let wall = chrono::Utc::now().timestamp_micros();
    let mut last = LAST.load(Ordering::Relaxed);
    let micros = loop {
        let next = wall.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
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
    fn now_is_strictly_increasing() {
        let times: Vec<Timestamp> = (0..1000).map(|_| now()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(times[0].timestamp_subsec_nanos() % 1000, 0, "microsecond precision");
    }

    #[test]
    fn ids_created_together_have_distinct_short_ids() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| short_id(new_id())).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn short_id_is_z_and_first_eight_hex_digits_upper_cased() {
        let id: Uuid = "909e13c8-1234-4abc-8def-0123456789ab".parse().unwrap();
        assert_eq!(short_id(id), "Z909E13C8");
    }
}
