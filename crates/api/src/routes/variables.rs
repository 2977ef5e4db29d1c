//! The unified variables API (`/variable`), Slipway's effective view of a
//! service's variables, and the database credential and version endpoints.
//! The work is done by the variables service layer.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    Credentials, EffectiveVariable, ResultsList, VariableAliasRequest, VariableEditRequest, VariableImport,
    VariableImportQuery, VariableImportRequest, VariableListQuery, VariableOverrideRequest, VariableRequest,
    VariableResponse, Version,
};
use slipway_model::service::database::DatabaseAccessibility;
use slipway_model::variable::VariableScope;
use slipway_model::{Role, ServiceSpec, ServiceType, Uuid, ValidationError, naming};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ids, QueryParams, param};
use crate::openapi::ApiErrors;
use crate::state::AppState;
use crate::variables::{self, ImportBody};

type State = axum::extract::State<AppState>;

/// List what a project, environment or service sees: its own variables, those
/// of the broader scopes, and (environments and services) the built-ins. With
/// `scope=BUILT_IN`, only the built-ins of the environment or service
/// `parent_id`. Secrets are listed with a `null` value.
#[utoipa::path(get, path = "/variable", operation_id = "listVariables", tag = "Variables",
    params(VariableListQuery), responses((status = 200, body = ResultsList<VariableResponse>), ApiErrors))]
pub async fn list_variables(
    state: State,
    caller: Caller,
    QueryParams(q): QueryParams<VariableListQuery>,
) -> ApiResult<Json<ResultsList<VariableResponse>>> {
    let required = |name: &str| ApiError::from(ValidationError::new(name, "is required"));
    let parent = param::<Uuid>("parent_id", q.parent_id.as_deref(), "a project, environment or service id")?
        .ok_or_else(|| required("parent_id"))?;
    let scope = match q.scope.as_deref().filter(|s| !s.is_empty()) {
        None => return Err(required("scope")),
        Some(s) => serde_json::from_value::<VariableScope>(serde_json::Value::String(s.to_owned())).map_err(|_| {
            ValidationError::new(
                "scope",
                format!(
                    "must be PROJECT, ENVIRONMENT, APPLICATION, CONTAINER, JOB, HELM, TERRAFORM or BUILT_IN, got `{s}`"
                ),
            )
        })?,
    };
    let is_secret = param::<bool>("is_secret", q.is_secret.as_deref(), "true or false")?;
    Ok(Json(variables::list(&state, &caller, scope, parent, is_secret).await?.into()))
}

/// Create a variable; a secret's value is encrypted and never returned.
#[utoipa::path(post, path = "/variable", operation_id = "createVariable", tag = "Variables",
    request_body = VariableRequest, responses((status = 201, body = VariableResponse), ApiErrors))]
pub async fn create_variable(
    state: State,
    caller: Caller,
    Body(req): Body<VariableRequest>,
) -> ApiResult<(StatusCode, Json<VariableResponse>)> {
    Ok((StatusCode::CREATED, Json(variables::create(&state, &caller, req).await?)))
}

/// Edit a variable's key, value, description or mount path; absent fields
/// are kept. An alias has no value; a secret stays a secret.
#[utoipa::path(put, path = "/variable/{variableId}", operation_id = "editVariable", tag = "Variables",
    params(("variableId" = Uuid, Path)), request_body = VariableEditRequest,
    responses((status = 200, body = VariableResponse), ApiErrors))]
pub async fn edit_variable(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(req): Body<VariableEditRequest>,
) -> ApiResult<Json<VariableResponse>> {
    Ok(Json(variables::edit(&state, &caller, id, req, None).await?))
}

/// Delete a variable, with its aliases and overrides.
#[utoipa::path(delete, path = "/variable/{variableId}", operation_id = "deleteVariable", tag = "Variables",
    params(("variableId" = Uuid, Path)), responses((status = 204), ApiErrors))]
pub async fn delete_variable(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<StatusCode> {
    variables::delete(&state, &caller, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give the variable (or built-in) `variableId` another name, at its scope
/// or a narrower one that sees it.
#[utoipa::path(post, path = "/variable/{variableId}/alias", operation_id = "createVariableAlias", tag = "Variables",
    params(("variableId" = Uuid, Path)), request_body = VariableAliasRequest,
    responses((status = 201, body = VariableResponse), ApiErrors))]
pub async fn create_variable_alias(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(req): Body<VariableAliasRequest>,
) -> ApiResult<(StatusCode, Json<VariableResponse>)> {
    Ok((StatusCode::CREATED, Json(variables::alias(&state, &caller, id, req, None).await?)))
}

/// Replace the value of the variable `variableId` for a strictly narrower
/// scope that sees it.
#[utoipa::path(post, path = "/variable/{variableId}/override", operation_id = "createVariableOverride",
    tag = "Variables", params(("variableId" = Uuid, Path)), request_body = VariableOverrideRequest,
    responses((status = 201, body = VariableResponse), ApiErrors))]
pub async fn create_variable_override(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
    Body(req): Body<VariableOverrideRequest>,
) -> ApiResult<(StatusCode, Json<VariableResponse>)> {
    Ok((StatusCode::CREATED, Json(variables::override_variable(&state, &caller, id, req, None).await?)))
}

/// Import variables for a service, its environment and its project. Nothing
/// is written unless every entry is accepted. Slipway also takes the text of
/// a `.env` file (`Content-Type: text/plain`), with `scope`, `is_secret`
/// and `overwrite` in the query.
#[utoipa::path(post, path = "/variable/import", operation_id = "importEnvironmentVariables", tag = "Variables",
    params(VariableImportQuery),
    request_body(content((VariableImportRequest = "application/json"), (String = "text/plain"))),
    responses((status = 201, body = VariableImport), ApiErrors))]
pub async fn import_variables(
    state: State,
    caller: Caller,
    QueryParams(query): QueryParams<VariableImportQuery>,
    body: ImportBody,
) -> ApiResult<(StatusCode, Json<VariableImport>)> {
    Ok((StatusCode::CREATED, Json(variables::import(&state, &caller, query, body).await?)))
}

/// Slipway: the variables a service runs with if deployed now, sorted by key:
/// built-ins, project, environment and service variables resolved
/// (precedence, overrides, aliases, `{{VAR}}` interpolation), each with the
/// scope and the variable that decided it. Secret values are masked (`null`).
#[utoipa::path(get, path = "/service/{serviceId}/effectiveVariable", operation_id = "listEffectiveVariables",
    tag = "Variables", params(("serviceId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<EffectiveVariable>), ApiErrors))]
pub async fn list_effective_variables(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<EffectiveVariable>>> {
    Ok(Json(variables::effective(&state, &caller, id).await?.into()))
}

/// How to reach a deployed database as its administrator. The password is
/// the only secret the API returns, and only to roles that may manage the
/// environment (developer and up).
#[utoipa::path(get, path = "/database/{databaseId}/masterCredentials", operation_id = "getDatabaseMasterCredentials",
    tag = "Databases", params(("databaseId" = Uuid, Path)), responses((status = 200, body = Credentials), ApiErrors))]
pub async fn get_master_credentials(state: State, caller: Caller, Ids(id): Ids<Uuid>) -> ApiResult<Json<Credentials>> {
    caller.require(Role::Developer, "read database credentials")?;
    let service = crate::routes::services::find(&state, &caller, ServiceType::Database, id).await?;
    let ServiceSpec::Database(db) = &service.spec else { return Err(ApiError::NotFound { what: "database" }) };
    let Some(creds) = slipway_engine::variables::credentials_of(&state.store, &service).await? else {
        return Err(ApiError::BadRequest(format!(
            "database `{}` has no credentials yet: they are generated by its first deployment (POST /database/{id}/deploy)",
            db.name
        )));
    };
    let password = state
        .config
        .secrets
        .open_or_plain(&creds.password)
        .map_err(|e| ApiError::Internal(format!("cannot open the password of database {id}: {e}")))?;
    let (host, port) = match (&creds.managed, db.accessibility, creds.external_port) {
        (Some(m), _, _) => (m.host.clone(), m.port),
        (None, DatabaseAccessibility::Public, Some(port)) => {
            (naming::public_host(service.id, &db.name, &state.config.base_domain), port)
        }
        _ => (naming::host_internal(ServiceType::Database, service.id, &db.name), db.kind.default_port()),
    };
    Ok(Json(Credentials { host, port, login: creds.login, password }))
}

/// The versions this database's engine can run, oldest first; a deploy may
/// also name a minor release of one (`16.4`).
#[utoipa::path(get, path = "/database/{databaseId}/version", operation_id = "listDatabaseVersion",
    tag = "Databases", params(("databaseId" = Uuid, Path)),
    responses((status = 200, body = ResultsList<Version>), ApiErrors))]
pub async fn list_database_versions(
    state: State,
    caller: Caller,
    Ids(id): Ids<Uuid>,
) -> ApiResult<Json<ResultsList<Version>>> {
    let service = crate::routes::services::find(&state, &caller, ServiceType::Database, id).await?;
    let ServiceSpec::Database(db) = &service.spec else { return Err(ApiError::NotFound { what: "database" }) };
    let versions = db.kind.versions().iter().map(|v| Version { name: (*v).to_owned() }).collect::<Vec<_>>();
    Ok(Json(versions.into()))
}
