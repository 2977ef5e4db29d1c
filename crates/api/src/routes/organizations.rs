//! Organizations, the account, clusters, container registries, API tokens and roles.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    AccountInfo, AvailableRole, ClusterResponse, ClusterStatus, ContainerRegistryResponse, OrganizationApiToken,
    OrganizationApiTokenCreate, OrganizationApiTokenCreateRequest, OrganizationResponse, ResultsList,
};
use slipway_model::{
    ApiToken, Cluster, ClusterSpec, ContainerRegistry, OrganizationSpec, RegistryConfig, RegistrySpec, Role, Service,
    Uuid, new_id, now, validate,
};
use slipway_store::Filter;

use crate::auth::{Caller, generate_token, token_digest};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ids, JsonObject};
use crate::openapi::ApiErrors;
use crate::state::AppState;

type State = axum::extract::State<AppState>;

/// List the caller's organizations (the one its token belongs to).
#[utoipa::path(get, path = "/organization", operation_id = "listOrganization", tag = "Organizations",
    responses((status = 200, body = ResultsList<OrganizationResponse>), ApiErrors))]
pub async fn list_organizations(state: State, caller: Caller) -> ApiResult<Json<ResultsList<OrganizationResponse>>> {
    let org = state.store.get_organization(caller.organization_id).await?;
    Ok(Json(vec![OrganizationResponse::from(&org)].into()))
}

/// Get an organization.
#[utoipa::path(get, path = "/organization/{organizationId}", operation_id = "getOrganization", tag = "Organizations",
    params(("organizationId" = Uuid, Path)), responses((status = 200, body = OrganizationResponse), ApiErrors))]
pub async fn get_organization(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<OrganizationResponse>> {
    caller.check_organization(id)?;
    Ok(Json((&state.store.get_organization(id).await?).into()))
}

/// Edit an organization's name and details.
#[utoipa::path(put, path = "/organization/{organizationId}", operation_id = "editOrganization", tag = "Organizations",
    params(("organizationId" = Uuid, Path)), request_body = OrganizationSpec,
    responses((status = 200, body = OrganizationResponse), ApiErrors))]
pub async fn edit_organization(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<OrganizationResponse>> {
    caller.check_organization(id)?;
    caller.require(Role::Admin, "edit the organization")?;
    let mut org = state.store.get_organization(id).await?;
    org.spec = validate::merge(&org.spec, body)?;
    org.spec.validate()?;
    org.updated_at = Some(now());
    state.store.update_organization(&org).await?;
    Ok(Json((&org).into()))
}

/// Who is calling: with an API token, the token itself.
#[utoipa::path(get, path = "/account", operation_id = "getAccountInformation", tag = "Account",
    responses((status = 200, body = AccountInfo), ApiErrors))]
pub async fn get_account(caller: Caller) -> Json<AccountInfo> {
    Json(AccountInfo {
        id: caller.token_id,
        created_at: caller.created_at,
        nickname: caller.token_name,
        first_name: None,
        last_name: None,
        communication_email: None,
    })
}

/// List the organization's clusters.
#[utoipa::path(get, path = "/organization/{organizationId}/cluster", operation_id = "listOrganizationCluster",
    tag = "Clusters", params(("organizationId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<ClusterResponse>), ApiErrors))]
pub async fn list_clusters(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<ClusterResponse>>> {
    caller.check_organization(org)?;
    let clusters: Vec<Cluster> = state.store.list(org, Filter::default()).await?;
    Ok(Json(clusters.iter().map(ClusterResponse::from).collect::<Vec<_>>().into()))
}

/// Register a cluster: a container engine endpoint (`engine_endpoint`), or the host's own.
#[utoipa::path(post, path = "/organization/{organizationId}/cluster", operation_id = "createCluster",
    tag = "Clusters", params(("organizationId" = Uuid, Path)), request_body = ClusterSpec,
    responses((status = 201, body = ClusterResponse), ApiErrors))]
pub async fn create_cluster(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
    Body(spec): Body<ClusterSpec>,
) -> ApiResult<(StatusCode, Json<ClusterResponse>)> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "register clusters")?;
    spec.validate()?;
    check_build_registry(&state, org, &spec).await?;
    let existing: Vec<Cluster> = state.store.list(org, Filter::default()).await?;
    let cluster = Cluster {
        id: new_id(),
        organization_id: org,
        created_at: now(),
        updated_at: None,
        is_default: !existing.iter().any(|c| c.is_default),
        spec,
    };
    state.store.insert(&cluster).await?;
    Ok((StatusCode::CREATED, Json((&cluster).into())))
}

/// Refuses a build registry that is not one of the organization's.
async fn check_build_registry(state: &AppState, org: Uuid, spec: &ClusterSpec) -> ApiResult<()> {
    let Some(id) = spec.registry_id else { return Ok(()) };
    match state.store.get::<ContainerRegistry>(org, id).await {
        Ok(registry) if registry.spec.url.is_some() => Ok(()),
        Ok(_) => Err(slipway_model::ValidationError::new(
            "registry_id",
            "must be a registry with a `url`: built images are pushed there",
        )
        .into()),
        Err(slipway_store::StoreError::NotFound { .. }) => Err(slipway_model::ValidationError::new(
            "registry_id",
            format!("must be a container registry of this organization, got {id}"),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Get a cluster.
#[utoipa::path(get, path = "/organization/{organizationId}/cluster/{clusterId}", operation_id = "getCluster",
    tag = "Clusters", params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)),
    responses((status = 200, body = ClusterResponse), ApiErrors))]
pub async fn get_cluster(
    state: State,
    caller: Caller,
    Ids((org, id)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ClusterResponse>> {
    caller.check_organization(org)?;
    Ok(Json((&state.store.get::<Cluster>(org, id).await?).into()))
}

/// Edit a cluster; absent fields are kept.
#[utoipa::path(put, path = "/organization/{organizationId}/cluster/{clusterId}", operation_id = "editCluster",
    tag = "Clusters", params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)), request_body = ClusterSpec,
    responses((status = 200, body = ClusterResponse), ApiErrors))]
pub async fn edit_cluster(
    state: State,
    caller: Caller,
    Ids((org, id)): Ids<(Uuid, Uuid)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ClusterResponse>> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "edit clusters")?;
    let mut cluster: Cluster = state.store.get(org, id).await?;
    cluster.spec = validate::merge(&cluster.spec, body)?;
    cluster.spec.validate()?;
    check_build_registry(&state, org, &cluster.spec).await?;
    cluster.updated_at = Some(now());
    state.store.update(&cluster).await?;
    Ok(Json((&cluster).into()))
}

/// Delete a cluster that no environment uses. The default cluster stays.
#[utoipa::path(delete, path = "/organization/{organizationId}/cluster/{clusterId}", operation_id = "deleteCluster",
    tag = "Clusters", params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)),
    responses((status = 204), ApiErrors))]
pub async fn delete_cluster(state: State, caller: Caller, Ids((org, id)): Ids<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "delete clusters")?;
    let cluster: Cluster = state.store.get(org, id).await?;
    if cluster.is_default {
        return Err(ApiError::Conflict("the default cluster cannot be deleted".into()));
    }
    state.store.delete::<Cluster>(org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The status of every cluster of the organization.
#[utoipa::path(get, path = "/organization/{organizationId}/cluster/status", operation_id = "getOrganizationClusterStatus",
    tag = "Clusters", params(("organizationId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<ClusterStatus>), ApiErrors))]
pub async fn list_cluster_statuses(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<ClusterStatus>>> {
    caller.check_organization(org)?;
    let clusters: Vec<Cluster> = state.store.list(org, Filter::default()).await?;
    Ok(Json(clusters.iter().map(ClusterStatus::from).collect::<Vec<_>>().into()))
}

/// The status of a cluster.
#[utoipa::path(get, path = "/organization/{organizationId}/cluster/{clusterId}/status", operation_id = "getClusterStatus",
    tag = "Clusters", params(("organizationId" = Uuid, Path), ("clusterId" = Uuid, Path)),
    responses((status = 200, body = ClusterStatus), ApiErrors))]
pub async fn get_cluster_status(
    state: State,
    caller: Caller,
    Ids((org, id)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ClusterStatus>> {
    caller.check_organization(org)?;
    Ok(Json((&state.store.get::<Cluster>(org, id).await?).into()))
}

async fn registry_response(state: &AppState, registry: &ContainerRegistry) -> ApiResult<ContainerRegistryResponse> {
    let uses = state.store.count_by_use::<Service>(registry.organization_id).await?;
    Ok(ContainerRegistryResponse::new(registry, uses.get(&registry.id).copied().unwrap_or(0)))
}

/// List the organization's container registries.
#[utoipa::path(get, path = "/organization/{organizationId}/containerRegistry", operation_id = "listContainerRegistry",
    tag = "Container registries", params(("organizationId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<ContainerRegistryResponse>), ApiErrors))]
pub async fn list_registries(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<ContainerRegistryResponse>>> {
    caller.check_organization(org)?;
    let registries: Vec<ContainerRegistry> = state.store.list(org, Filter::default()).await?;
    let uses = state.store.count_by_use::<Service>(org).await?;
    let results = registries
        .iter()
        .map(|r| ContainerRegistryResponse::new(r, uses.get(&r.id).copied().unwrap_or(0)))
        .collect::<Vec<_>>();
    Ok(Json(results.into()))
}

/// Add a container registry.
#[utoipa::path(post, path = "/organization/{organizationId}/containerRegistry", operation_id = "createContainerRegistry",
    tag = "Container registries", params(("organizationId" = Uuid, Path)), request_body = RegistrySpec,
    responses((status = 201, body = ContainerRegistryResponse), ApiErrors))]
pub async fn create_registry(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
    Body(mut spec): Body<RegistrySpec>,
) -> ApiResult<(StatusCode, Json<ContainerRegistryResponse>)> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "add container registries")?;
    spec.validate()?;
    seal_credentials(&state, &mut spec.config, &RegistryConfig::default());
    let registry = ContainerRegistry { id: new_id(), organization_id: org, created_at: now(), updated_at: None, spec };
    state.store.insert(&registry).await?;
    Ok((StatusCode::CREATED, Json(ContainerRegistryResponse::new(&registry, 0))))
}

/// Seals the credentials that are new since `before`: a registry's secrets
/// are stored sealed. Values stored in clear by older versions stay usable
/// (readers open sealed values and take others as they are) until they change.
fn seal_credentials(state: &AppState, config: &mut RegistryConfig, before: &RegistryConfig) {
    let mut before = before.clone();
    for (field, old) in config.secrets_mut().into_iter().zip(before.secrets_mut()) {
        if let Some(value) = field.as_mut()
            && Some(&*value) != old.as_ref()
        {
            *value = state.config.secrets.seal(value);
        }
    }
}

/// Get a container registry.
#[utoipa::path(get, path = "/organization/{organizationId}/containerRegistry/{containerRegistryId}",
    operation_id = "getContainerRegistry", tag = "Container registries",
    params(("organizationId" = Uuid, Path), ("containerRegistryId" = Uuid, Path)),
    responses((status = 200, body = ContainerRegistryResponse), ApiErrors))]
pub async fn get_registry(
    state: State,
    caller: Caller,
    Ids((org, id)): Ids<(Uuid, Uuid)>,
) -> ApiResult<Json<ContainerRegistryResponse>> {
    caller.check_organization(org)?;
    let registry = state.store.get::<ContainerRegistry>(org, id).await?;
    Ok(Json(registry_response(&state, &registry).await?))
}

/// Edit a container registry; absent fields are kept.
#[utoipa::path(put, path = "/organization/{organizationId}/containerRegistry/{containerRegistryId}",
    operation_id = "editContainerRegistry", tag = "Container registries",
    params(("organizationId" = Uuid, Path), ("containerRegistryId" = Uuid, Path)), request_body = RegistrySpec,
    responses((status = 200, body = ContainerRegistryResponse), ApiErrors))]
pub async fn edit_registry(
    state: State,
    caller: Caller,
    Ids((org, id)): Ids<(Uuid, Uuid)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ContainerRegistryResponse>> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "edit container registries")?;
    let mut registry: ContainerRegistry = state.store.get(org, id).await?;
    let before = registry.spec.config.clone();
    registry.spec = validate::merge(&registry.spec, body)?;
    registry.spec.validate()?;
    seal_credentials(&state, &mut registry.spec.config, &before);
    registry.updated_at = Some(now());
    state.store.update(&registry).await?;
    Ok(Json(registry_response(&state, &registry).await?))
}

/// Delete a container registry that no service uses.
#[utoipa::path(delete, path = "/organization/{organizationId}/containerRegistry/{containerRegistryId}",
    operation_id = "deleteContainerRegistry", tag = "Container registries",
    params(("organizationId" = Uuid, Path), ("containerRegistryId" = Uuid, Path)),
    responses((status = 204), ApiErrors))]
pub async fn delete_registry(state: State, caller: Caller, Ids((org, id)): Ids<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "delete container registries")?;
    state.store.delete::<ContainerRegistry>(org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the organization's API tokens; secrets are never shown again.
#[utoipa::path(get, path = "/organization/{organizationId}/apiToken", operation_id = "listOrganizationApiTokens",
    tag = "API tokens", params(("organizationId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<OrganizationApiToken>), ApiErrors))]
pub async fn list_tokens(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<OrganizationApiToken>>> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "list API tokens")?;
    let tokens = state.store.list_tokens(org).await?;
    Ok(Json(tokens.iter().map(OrganizationApiToken::from).collect::<Vec<_>>().into()))
}

/// Create an API token. The response carries the secret, this once.
#[utoipa::path(post, path = "/organization/{organizationId}/apiToken", operation_id = "createOrganizationApiToken",
    tag = "API tokens", params(("organizationId" = Uuid, Path)), request_body = OrganizationApiTokenCreateRequest,
    responses((status = 201, body = OrganizationApiTokenCreate), ApiErrors))]
pub async fn create_token(
    state: State,
    caller: Caller,
    Ids(org): Ids<Uuid>,
    Body(request): Body<OrganizationApiTokenCreateRequest>,
) -> ApiResult<(StatusCode, Json<OrganizationApiTokenCreate>)> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "create API tokens")?;
    let role = match request.role_id {
        None => Role::Admin,
        Some(id) => Role::from_id(id).ok_or_else(|| {
            slipway_model::ValidationError::new(
                "role_id",
                format!("must be one of the ids listed by GET /organization/{org}/availableRole, got {id}"),
            )
        })?,
    };
    // A token cannot hand out more power than its creator has.
    caller.require(role, &format!("create a token with the {} role", role.as_str()))?;
    let token = ApiToken {
        id: new_id(),
        organization_id: org,
        name: request.name,
        description: request.description,
        role,
        created_at: now(),
        last_used_at: None,
    };
    token.validate()?;
    let secret = generate_token();
    state.store.insert_token(&token, &token_digest(&secret)).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrganizationApiTokenCreate {
            id: token.id,
            created_at: token.created_at,
            name: token.name,
            description: token.description,
            token: secret,
            role_name: role.as_str().to_owned(),
            role_id: role.id(),
        }),
    ))
}

/// Revoke an API token; it stops working at once.
#[utoipa::path(delete, path = "/organization/{organizationId}/apiToken/{apiTokenId}",
    operation_id = "deleteOrganizationApiToken", tag = "API tokens",
    params(("organizationId" = Uuid, Path), ("apiTokenId" = Uuid, Path)), responses((status = 204), ApiErrors))]
pub async fn delete_token(state: State, caller: Caller, Ids((org, id)): Ids<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
    caller.check_organization(org)?;
    caller.require(Role::Admin, "delete API tokens")?;
    state.store.delete_token(org, id).await?;
    state.tokens.forget(id);
    Ok(StatusCode::NO_CONTENT)
}

/// The roles a token or member can hold.
#[utoipa::path(get, path = "/organization/{organizationId}/availableRole", operation_id = "listOrganizationAvailableRoles",
    tag = "Organizations", params(("organizationId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<AvailableRole>), ApiErrors))]
pub async fn list_roles(caller: Caller, Ids(org): Ids<Uuid>) -> ApiResult<Json<ResultsList<AvailableRole>>> {
    caller.check_organization(org)?;
    Ok(Json(Role::ALL.into_iter().map(AvailableRole::from).collect::<Vec<_>>().into()))
}
