//! Handlers, grouped by the resources they serve.

pub mod actions;
pub mod custom_domains;
pub mod database_servers;
pub mod environments;
pub mod history;
pub mod legacy_variables;
pub mod logs;
pub mod organizations;
pub mod projects;
pub mod services;
pub mod stages;
pub mod variables;

use slipway_model::Uuid;
use slipway_store::{Filter, Record};

use crate::error::ApiResult;
use crate::state::AppState;

/// The children of `parent` (of type `P`) in the caller's organization,
/// oldest first. An unknown parent is a 404; it is looked up only when there
/// are no children, since a child row implies its parent.
pub(crate) async fn children<C: Record, P: Record>(
    state: &AppState,
    org: Uuid,
    parent: Uuid,
    kind: Option<&str>,
) -> ApiResult<Vec<C>> {
    let found: Vec<C> = state.store.list(org, Filter { parent: Some(parent), kind }).await?;
    if found.is_empty() {
        state.store.get::<P>(org, parent).await?;
    }
    Ok(found)
}
