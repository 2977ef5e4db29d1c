//! Database servers of a cluster (a Slipway extension): MANAGED databases
//! of the cluster's environments are provisioned there. Admin URLs are
//! sealed before they are stored and never returned with their password.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{DatabaseServerRequest, DatabaseServerResponse, ResultsList};
use slipway_model::service::database::DatabaseServer;
use slipway_model::{Cluster, Role, Uuid, new_id, now};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ids};
use crate::openapi::ApiErrors;
use crate::state::AppState;

type State = axum::extract::State<AppState>;

fn response(state: &AppState, server: &DatabaseServer) -> ApiResult<DatabaseServerResponse> {
    let url = state
        .config
        .secrets
        .open(&server.admin_url)
        .map_err(|e| ApiError::Internal(format!("cannot open the admin URL of `{}`: {e}", server.name)))?;
    Ok(DatabaseServerResponse::new(server, &url))
}

/// List the database servers of a cluster.
#[utoipa::path(get, path = "/organization/{organizationId}/cluster/{clusterId}/databaseServer",
    operation_id = "listClusterDatabaseServers", tag = "Clusters",
    params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<DatabaseServerResponse>), ApiErrors))]
pub async fn list_servers(
    state: State,
    caller: Caller,
    Ids((org, cluster)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ResultsList<DatabaseServerResponse>>> {
    caller.check_organization(org)?;
    let servers: Vec<DatabaseServer> = super::children::<DatabaseServer, Cluster>(&state, org, cluster, None).await?;
    let out = servers.iter().map(|s| response(&state, s)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(out.into()))
}

/// Register a database server with a cluster. Slipway checks that it can
/// log in before it keeps the URL.
#[utoipa::path(post, path = "/organization/{organizationId}/cluster/{clusterId}/databaseServer",
    operation_id = "createClusterDatabaseServer", tag = "Clusters",
    params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)), request_body = DatabaseServerRequest,
    responses((status = 201, body = DatabaseServerResponse), ApiErrors))]
pub async fn create_server(
    state: State,
    caller: Caller,
    Ids((org, cluster)): Ids<(Uuid, Uuid)>,
    Body(request): Body<DatabaseServerRequest>,
) -> ApiResult<(StatusCode, Json<DatabaseServerResponse>)> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "register database servers")?;
    state.store.get::<Cluster>(org, cluster).await?;
    let mut server = DatabaseServer {
        id: new_id(),
        organization_id: org,
        cluster_id: cluster,
        name: request.name,
        kind: request.kind,
        admin_url: String::new(),
        host: request.host,
        created_at: now(),
    };
    server.validate(&request.admin_url)?;
    slipway_engine::check_database_server(&request.admin_url).await.map_err(|e| {
        ApiError::BadRequest(format!("admin_url: cannot log in to the server: {}", redacted(&e, &request.admin_url)))
    })?;
    server.admin_url = state.config.secrets.seal(&request.admin_url);
    state.store.insert(&server).await?;
    Ok((StatusCode::CREATED, Json(response(&state, &server)?)))
}

/// `message` without the URL's password, should the driver quote it.
fn redacted(message: &str, url: &str) -> String {
    let password = url.split("://").nth(1).and_then(|r| r.rsplit_once('@')).and_then(|(u, _)| u.split_once(':'));
    match password {
        Some((_, p)) if !p.is_empty() => message.replace(p, slipway_model::variable::MASK),
        _ => message.to_owned(),
    }
}

/// Unregister a database server. What it holds stays on it.
#[utoipa::path(delete, path = "/organization/{organizationId}/cluster/{clusterId}/databaseServer/{databaseServerId}",
    operation_id = "deleteClusterDatabaseServer", tag = "Clusters",
    params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path), ("databaseServerId" = Uuid, Path)),
    responses((status = 204), ApiErrors))]
pub async fn delete_server(
    state: State,
    caller: Caller,
    Ids((org, cluster, id)): Ids<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "unregister database servers")?;
    let server: DatabaseServer = state.store.get(org, id).await?;
    if server.cluster_id != cluster {
        return Err(ApiError::NotFound { what: "database server" });
    }
    state.store.delete::<DatabaseServer>(org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
