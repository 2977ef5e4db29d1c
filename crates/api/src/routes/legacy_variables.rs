//! The legacy per-scope variable APIs of the contract, still in Qovery's
//! clients (`qovery env import` uses them): `/{scope}/{id}/environmentVariable`
//! for plain variables and `/{scope}/{id}/secret` for secrets, at project,
//! environment, application, container and job scope. `legacy_scope!`
//! generates the annotated handlers of each scope and family; they all call
//! the variables service layer with the path's place and family, so they
//! behave exactly as `/variable` does. A secret's value is never returned.

use axum::Json;
use axum::http::StatusCode;
use slipway_api_types::{
    EnvironmentVariableRequest, KeyRequest, LegacyVariable, ResultsList, ValueRequest, VariableAliasRequest,
    VariableEditRequest, VariableOverrideRequest, VariableRequest,
};
use slipway_model::Uuid;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::variables::{self, Legacy};

/// What the place in the path sees, of the path's family.
async fn list(state: &AppState, caller: &Caller, at: Legacy) -> ApiResult<Json<ResultsList<LegacyVariable>>> {
    let found = variables::list(state, caller, at.scope, at.parent, Some(at.secret)).await?;
    Ok(Json(found.into_iter().map(LegacyVariable::from).collect::<Vec<_>>().into()))
}

async fn create(
    state: &AppState,
    caller: &Caller,
    at: Legacy,
    req: EnvironmentVariableRequest,
) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
    let req = VariableRequest {
        key: req.key,
        value: req.value.unwrap_or_default(),
        mount_path: req.mount_path,
        is_secret: at.secret,
        variable_scope: at.scope,
        variable_parent_id: at.parent,
        description: req.description,
        enable_interpolation_in_file: req.enable_interpolation_in_file,
    };
    Ok((StatusCode::CREATED, Json(variables::create(state, caller, req).await?.into())))
}

async fn edit(
    state: &AppState,
    caller: &Caller,
    at: Legacy,
    id: Uuid,
    req: VariableEditRequest,
) -> ApiResult<Json<LegacyVariable>> {
    Ok(Json(variables::edit(state, caller, id, req, Some(at)).await?.into()))
}

async fn delete(state: &AppState, caller: &Caller, at: Legacy, id: Uuid) -> ApiResult<StatusCode> {
    variables::delete(state, caller, id, Some(at)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn alias(
    state: &AppState,
    caller: &Caller,
    at: Legacy,
    id: Uuid,
    req: KeyRequest,
) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
    let req = VariableAliasRequest {
        key: req.key,
        alias_scope: at.scope,
        alias_parent_id: at.parent,
        description: req.description,
        enable_interpolation_in_file: None,
    };
    Ok((StatusCode::CREATED, Json(variables::alias(state, caller, id, req, Some(at)).await?.into())))
}

async fn override_variable(
    state: &AppState,
    caller: &Caller,
    at: Legacy,
    id: Uuid,
    req: ValueRequest,
) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
    let req = VariableOverrideRequest {
        value: req.value.unwrap_or_default(),
        override_scope: at.scope,
        override_parent_id: at.parent,
        description: req.description,
        enable_interpolation_in_file: req.enable_interpolation_in_file,
    };
    Ok((StatusCode::CREATED, Json(variables::override_variable(state, caller, id, req, Some(at)).await?.into())))
}

/// Generates one family (plain variables or secrets) of one scope.
macro_rules! legacy_family {
    (
        $module:ident, $scope:expr, secret = $secret:expr, tag = $tag:expr,
        collection = $collection:expr, item = $item:expr, parent = $parent:literal, param = $param:literal,
        ops = [$list:expr, $create:expr, $edit:expr, $delete:expr, $alias:expr, $override:expr]
    ) => {
        #[allow(missing_docs)]
        pub mod $module {
            use axum::Json;
            use axum::http::StatusCode;
            use slipway_api_types::{
                EnvironmentVariableRequest, KeyRequest, LegacyVariable, ResultsList, ValueRequest, VariableEditRequest,
            };
            use slipway_model::Uuid;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use crate::auth::Caller;
            use crate::error::ApiResult;
            use crate::extract::{Body, Ids};
            use crate::openapi::ApiErrors;
            use crate::state::AppState;
            use crate::variables::Legacy;

            type State = axum::extract::State<AppState>;

            fn at(parent: Uuid) -> Legacy {
                Legacy { scope: $scope, parent, secret: $secret }
            }

            /// Mounts this family's endpoints.
            pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
                router
                    .routes(routes!(list, create))
                    .routes(routes!(edit, delete))
                    .routes(routes!(alias))
                    .routes(routes!(override_variable))
            }

            /// What this place sees, built-ins included.
            #[utoipa::path(get, path = $collection, operation_id = $list, tag = $tag, params(($parent = Uuid, Path)),
                responses((status = 200, body = ResultsList<LegacyVariable>), ApiErrors))]
            pub async fn list(state: State, caller: Caller, Ids(parent): Ids<Uuid>) -> ApiResult<Json<ResultsList<LegacyVariable>>> {
                super::list(&state, &caller, at(parent)).await
            }

            #[utoipa::path(post, path = $collection, operation_id = $create, tag = $tag, params(($parent = Uuid, Path)),
                request_body = EnvironmentVariableRequest, responses((status = 201, body = LegacyVariable), ApiErrors))]
            pub async fn create(
                state: State,
                caller: Caller,
                Ids(parent): Ids<Uuid>,
                Body(req): Body<EnvironmentVariableRequest>,
            ) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
                super::create(&state, &caller, at(parent), req).await
            }

            #[utoipa::path(put, path = $item, operation_id = $edit, tag = $tag,
                params(($parent = Uuid, Path), ($param = Uuid, Path)), request_body = VariableEditRequest,
                responses((status = 200, body = LegacyVariable), ApiErrors))]
            pub async fn edit(
                state: State,
                caller: Caller,
                Ids((parent, id)): Ids<(Uuid, Uuid)>,
                Body(req): Body<VariableEditRequest>,
            ) -> ApiResult<Json<LegacyVariable>> {
                super::edit(&state, &caller, at(parent), id, req).await
            }

            /// Deletes it with its aliases and overrides.
            #[utoipa::path(delete, path = $item, operation_id = $delete, tag = $tag,
                params(($parent = Uuid, Path), ($param = Uuid, Path)), responses((status = 204), ApiErrors))]
            pub async fn delete(state: State, caller: Caller, Ids((parent, id)): Ids<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
                super::delete(&state, &caller, at(parent), id).await
            }

            /// Gives it another name at this place.
            #[utoipa::path(post, path = concat!($item, "/alias"), operation_id = $alias, tag = $tag,
                params(($parent = Uuid, Path), ($param = Uuid, Path)), request_body = KeyRequest,
                responses((status = 201, body = LegacyVariable), ApiErrors))]
            pub async fn alias(
                state: State,
                caller: Caller,
                Ids((parent, id)): Ids<(Uuid, Uuid)>,
                Body(req): Body<KeyRequest>,
            ) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
                super::alias(&state, &caller, at(parent), id, req).await
            }

            /// Replaces its value at this (strictly narrower) place.
            #[utoipa::path(post, path = concat!($item, "/override"), operation_id = $override, tag = $tag,
                params(($parent = Uuid, Path), ($param = Uuid, Path)), request_body = ValueRequest,
                responses((status = 201, body = LegacyVariable), ApiErrors))]
            pub async fn override_variable(
                state: State,
                caller: Caller,
                Ids((parent, id)): Ids<(Uuid, Uuid)>,
                Body(req): Body<ValueRequest>,
            ) -> ApiResult<(StatusCode, Json<LegacyVariable>)> {
                super::override_variable(&state, &caller, at(parent), id, req).await
            }
        }
    };
}

/// Generates both families of one scope: `$name` is the scope in the
/// operation ids (`Project`), `$base` the place's path.
macro_rules! legacy_scope {
    ($variables:ident, $secrets:ident, $scope:ident, $name:literal, $base:literal, $parent:literal) => {
        legacy_family!(
            $variables,
            slipway_model::variable::VariableScope::$scope,
            secret = false,
            tag = concat!($name, " environment variables"),
            collection = concat!($base, "/environmentVariable"),
            item = concat!($base, "/environmentVariable/{environmentVariableId}"),
            parent = $parent,
            param = "environmentVariableId",
            ops = [
                concat!("list", $name, "EnvironmentVariable"),
                concat!("create", $name, "EnvironmentVariable"),
                concat!("edit", $name, "EnvironmentVariable"),
                concat!("delete", $name, "EnvironmentVariable"),
                concat!("create", $name, "EnvironmentVariableAlias"),
                concat!("create", $name, "EnvironmentVariableOverride")
            ]
        );
        legacy_family!(
            $secrets,
            slipway_model::variable::VariableScope::$scope,
            secret = true,
            tag = concat!($name, " secrets"),
            collection = concat!($base, "/secret"),
            item = concat!($base, "/secret/{secretId}"),
            parent = $parent,
            param = "secretId",
            ops = [
                concat!("list", $name, "Secrets"),
                concat!("create", $name, "Secret"),
                concat!("edit", $name, "Secret"),
                concat!("delete", $name, "Secret"),
                concat!("create", $name, "SecretAlias"),
                concat!("create", $name, "SecretOverride")
            ]
        );
    };
}

legacy_scope!(project_variables, project_secrets, Project, "Project", "/project/{projectId}", "projectId");
legacy_scope!(
    environment_variables,
    environment_secrets,
    Environment,
    "Environment",
    "/environment/{environmentId}",
    "environmentId"
);
legacy_scope!(
    application_variables,
    application_secrets,
    Application,
    "Application",
    "/application/{applicationId}",
    "applicationId"
);
legacy_scope!(
    container_variables,
    container_secrets,
    Container,
    "Container",
    "/container/{containerId}",
    "containerId"
);
legacy_scope!(job_variables, job_secrets, Job, "Job", "/job/{jobId}", "jobId");

/// Mounts every scope's legacy variable and secret endpoints.
pub fn routes(router: utoipa_axum::router::OpenApiRouter<AppState>) -> utoipa_axum::router::OpenApiRouter<AppState> {
    [
        project_variables::routes,
        project_secrets::routes,
        environment_variables::routes,
        environment_secrets::routes,
        application_variables::routes,
        application_secrets::routes,
        container_variables::routes,
        container_secrets::routes,
        job_variables::routes,
        job_secrets::routes,
    ]
    .into_iter()
    .fold(router, |router, family| family(router))
}
