//! What Slipway keeps for a Terraform service: its state, encrypted, and the lock that lets one run at a
//! time use it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// The Terraform state of one service (for the default `kubernetes` backend, which Slipway keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerraformState {
    /// The same as the service's id: a service has one state.
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub service_id: Uuid,
    /// The state file (`terraform.tfstate`), sealed by the server's secret box: it holds every
    /// attribute of every resource, secrets included.
    pub state: String,
    /// The state's own serial number, as Terraform wrote it.
    #[serde(default)]
    pub serial: u64,
    /// The deployment whose run wrote it.
    pub deployment_id: Uuid,
    pub updated_at: Timestamp,
}

/// A run holding a Terraform service's state: at most one per service. Taking it is adding the row, so
/// two runs (two servers, or two deployments) never hold it at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerraformLock {
    /// The same as the service's id.
    pub id: Uuid,
    pub organization_id: Uuid,
    pub service_id: Uuid,
    /// The deployment running.
    pub deployment_id: Uuid,
    /// The engine (server process) running it.
    pub holder: String,
    /// What it runs: `apply`, `plan` or `destroy`.
    pub operation: String,
    pub since: Timestamp,
}

/// The name of the variable a Terraform service's output `name` becomes:
/// `QOVERY_OUTPUT_TERRAFORM_Z<ID8>_<NAME>`, with every character that may not be in a variable name
/// (Terraform allows `-`) made `_`.
pub fn output_variable(service_id: Uuid, name: &str) -> String {
    let key: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    format!("QOVERY_OUTPUT_TERRAFORM_{}_{key}", crate::short_id(service_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_variables_are_named_after_the_service_and_made_variable_names() {
        let id: Uuid = "909e13c8-1234-4abc-8def-0123456789ab".parse().unwrap();
        assert_eq!(output_variable(id, "bucket-url"), "QOVERY_OUTPUT_TERRAFORM_Z909E13C8_bucket_url");
    }
}
