//! The wire shapes of Slipway's REST API, compatible with Qovery's.
//!
//! Request bodies for resources with a spec (clusters, registries, services)
//! are the model's spec types themselves; this crate holds the responses,
//! the simple requests, the list envelope and the error body, each with the
//! contract's name in the OpenAPI document. Responses are built from model
//! values here, in one place, so that every handler emits the same required
//! fields: required-but-nullable fields are always present as `null`, and
//! enums carry only documented values.

mod custom_domain;
mod database_server;
mod deployment;
mod history;
mod job;
mod logs;
mod organization;
mod project;
mod service;
mod stage;
mod status;
mod variable;

pub use custom_domain::*;
pub use database_server::*;
pub use deployment::*;
pub use history::*;
pub use job::*;
pub use logs::*;
pub use organization::*;
pub use project::*;
pub use service::*;
pub use stage::*;
pub use status::*;
pub use variable::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The body of every refusal and failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and, where it helps, how to fix it.
    pub message: String,
    /// A stable machine-readable code (`validation_failed`, `not_found`, ...).
    pub code: String,
    /// The offending request field, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A reference to another resource (`ReferenceObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceObject {
    /// Its id.
    pub id: Uuid,
}

impl From<Uuid> for ReferenceObject {
    fn from(id: Uuid) -> Self {
        ReferenceObject { id }
    }
}

/// The list envelope every list endpoint returns: `{"results": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultsList<T> {
    /// The items.
    pub results: Vec<T>,
}

impl<T> From<Vec<T>> for ResultsList<T> {
    fn from(results: Vec<T>) -> Self {
        ResultsList { results }
    }
}
