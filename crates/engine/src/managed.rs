//! Databases in MANAGED mode: a database and a role on a server registered
//! with the cluster.

use slipway_model::deployment::ServiceState;

use crate::EngineError;
use crate::rollout::Ctx;

/// Provisions the database on its server.
pub(crate) async fn deploy(ctx: &Ctx, _state: &mut ServiceState) -> Result<Option<uuid::Uuid>, EngineError> {
    Err(EngineError::failed(format!(
        "{} is a MANAGED database, and cluster `{}` has no database server registered",
        ctx.service.name(),
        ctx.environment.cluster_id
    )))
}
