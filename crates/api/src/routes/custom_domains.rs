//! Custom domains of applications, containers and helm services, and the
//! check of their DNS records. Each kind gets the same endpoints, generated
//! by `custom_domain_kind!` over one set of handlers.
//!
//! A domain is unique across the installation (409 when another service,
//! of any organization, holds it). A running service answers at a new
//! domain within one monitor tick (a few seconds), and stops answering at a
//! removed one at once; otherwise the next deploy routes it.

use axum::Json;
use axum::http::StatusCode;
use serde_json::Value;
use slipway_api_types::{CheckedCustomDomainsResponse, CustomDomainResponse, ResultsList};
use slipway_model::custom_domain::{CustomDomain, CustomDomainSpec};
use slipway_model::{Role, Service, ServiceType, Uuid, new_id, now, validate};
use slipway_store::{Filter, StoreError};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn response(state: &AppState, service: &Service, domain: &CustomDomain) -> CustomDomainResponse {
    CustomDomainResponse::new(domain, CustomDomain::validation_domain(service, &state.config.base_domain))
}

/// A refused store write, with the domain's own words for a taken domain.
fn refused(err: StoreError, domain: &str) -> ApiError {
    match err {
        StoreError::NameTaken { .. } => ApiError::Conflict(format!(
            "the domain `{domain}` is already used by a service; remove it there first, or choose another domain"
        )),
        other => other.into(),
    }
}

/// The custom domain `id` of the service; one of another service is not found.
async fn find(state: &AppState, service: &Service, id: Uuid) -> ApiResult<CustomDomain> {
    let domain: CustomDomain = state.store.get(service.organization_id, id).await?;
    if domain.service_id != service.id {
        return Err(ApiError::NotFound { what: "custom domain" });
    }
    Ok(domain)
}

/// Makes the edge stop answering at `domain` now, if this server runs the engine.
fn unroute(state: &AppState, domain: &str) {
    if let Some(engine) = &state.engine {
        engine.unroute_custom_domain(domain);
    }
}

pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    service_id: Uuid,
) -> ApiResult<Json<ResultsList<CustomDomainResponse>>> {
    let service = super::services::find(state, caller, kind, service_id).await?;
    let domains: Vec<CustomDomain> = state.store.list(service.organization_id, Filter::parent(service.id)).await?;
    Ok(Json(domains.iter().map(|d| response(state, &service, d)).collect::<Vec<_>>().into()))
}

pub(crate) async fn create(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    service_id: Uuid,
    body: Value,
) -> ApiResult<(StatusCode, Json<CustomDomainResponse>)> {
    caller.require(Role::Developer, &format!("add custom domains to {} services", kind.path()))?;
    let service = super::services::find(state, caller, kind, service_id).await?;
    let mut spec: CustomDomainSpec = validate::parse(body)?;
    spec.prepare(&state.config.base_domain)?;
    let domain = CustomDomain {
        id: new_id(),
        organization_id: service.organization_id,
        service_id: service.id,
        spec,
        created_at: now(),
        updated_at: None,
    };
    state.store.insert(&domain).await.map_err(|e| refused(e, &domain.spec.domain))?;
    Ok((StatusCode::CREATED, Json(response(state, &service, &domain))))
}

pub(crate) async fn get(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    (service_id, id): (Uuid, Uuid),
) -> ApiResult<Json<CustomDomainResponse>> {
    let service = super::services::find(state, caller, kind, service_id).await?;
    let domain = find(state, &service, id).await?;
    Ok(Json(response(state, &service, &domain)))
}

pub(crate) async fn edit(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    (service_id, id): (Uuid, Uuid),
    body: Value,
) -> ApiResult<Json<CustomDomainResponse>> {
    caller.require(Role::Developer, &format!("edit custom domains of {} services", kind.path()))?;
    let service = super::services::find(state, caller, kind, service_id).await?;
    let mut domain = find(state, &service, id).await?;
    let before = domain.spec.domain.clone();
    domain.spec = validate::merge(&domain.spec, body)?;
    domain.spec.prepare(&state.config.base_domain)?;
    domain.updated_at = Some(now());
    state.store.update(&domain).await.map_err(|e| refused(e, &domain.spec.domain))?;
    if domain.spec.domain != before {
        unroute(state, &before);
    }
    Ok(Json(response(state, &service, &domain)))
}

pub(crate) async fn delete(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    (service_id, id): (Uuid, Uuid),
) -> ApiResult<StatusCode> {
    caller.require(Role::Developer, &format!("remove custom domains of {} services", kind.path()))?;
    let service = super::services::find(state, caller, kind, service_id).await?;
    let domain = find(state, &service, id).await?;
    state.store.delete::<CustomDomain>(service.organization_id, domain.id).await?;
    unroute(state, &domain.spec.domain);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn check(
    state: &AppState,
    caller: &Caller,
    kind: ServiceType,
    service_id: Uuid,
) -> ApiResult<Json<CheckedCustomDomainsResponse>> {
    let service = super::services::find(state, caller, kind, service_id).await?;
    let domains: Vec<CustomDomain> = state.store.list(service.organization_id, Filter::parent(service.id)).await?;
    let validation = CustomDomain::validation_domain(&service, &state.config.base_domain);
    let asked: Vec<(String, String, bool)> =
        domains.into_iter().map(|d| (d.spec.domain, validation.clone(), d.spec.use_cdn)).collect();
    let results = state.config.dns_resolver.check_all(&asked).await;
    Ok(Json(CheckedCustomDomainsResponse { results }))
}

/// Generates the annotated handlers of one service kind's custom domains,
/// and `routes`, which mounts them, with the contract's paths and
/// operation ids.
macro_rules! custom_domain_kind {
    (
        $module:ident, $kind:expr, $tag:tt, param = $param:tt,
        collection = $collection:tt, item = $item:tt, check = $check_path:tt,
        ops = [$list:tt, $create:tt, $get:tt, $edit:tt, $delete:tt, $check:tt]
    ) => {
        #[allow(missing_docs)]
        pub mod $module {
            use axum::Json;
            use axum::http::StatusCode;
            use slipway_api_types::{CheckedCustomDomainsResponse, CustomDomainResponse, ResultsList};
            use slipway_model::Uuid;
            use slipway_model::custom_domain::CustomDomainSpec;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use crate::auth::Caller;
            use crate::error::ApiResult;
            use crate::extract::{Ids, JsonObject};
            use crate::openapi::ApiErrors;
            use crate::state::AppState;

            type State = axum::extract::State<AppState>;

            /// Mounts this kind's custom domain endpoints.
            pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
                router.routes(routes!(list, create)).routes(routes!(get, edit, delete)).routes(routes!(check))
            }

            #[utoipa::path(get, path = $collection, operation_id = $list, tag = $tag,
                        params(($param = Uuid, Path)),
                        responses((status = 200, body = ResultsList<CustomDomainResponse>), ApiErrors))]
            pub async fn list(
                state: State,
                caller: Caller,
                Ids(id): Ids<Uuid>,
            ) -> ApiResult<Json<ResultsList<CustomDomainResponse>>> {
                super::list(&state, &caller, $kind, id).await
            }

            /// Add a custom domain. Point it at the response's
            /// `validation_domain` with a CNAME record.
            #[utoipa::path(post, path = $collection, operation_id = $create, tag = $tag,
                        params(($param = Uuid, Path)), request_body = CustomDomainSpec,
                        responses((status = 201, body = CustomDomainResponse), ApiErrors))]
            pub async fn create(
                state: State,
                caller: Caller,
                Ids(id): Ids<Uuid>,
                JsonObject(body): JsonObject,
            ) -> ApiResult<(StatusCode, Json<CustomDomainResponse>)> {
                super::create(&state, &caller, $kind, id, body).await
            }

            #[utoipa::path(get, path = $item, operation_id = $get, tag = $tag,
                        params(($param = Uuid, Path), ("customDomainId" = Uuid, Path)),
                        responses((status = 200, body = CustomDomainResponse), ApiErrors))]
            pub async fn get(
                state: State,
                caller: Caller,
                Ids(ids): Ids<(Uuid, Uuid)>,
            ) -> ApiResult<Json<CustomDomainResponse>> {
                super::get(&state, &caller, $kind, ids).await
            }

            /// Fields present in the body replace the current ones; absent fields are kept.
            #[utoipa::path(put, path = $item, operation_id = $edit, tag = $tag,
                        params(($param = Uuid, Path), ("customDomainId" = Uuid, Path)), request_body = CustomDomainSpec,
                        responses((status = 200, body = CustomDomainResponse), ApiErrors))]
            pub async fn edit(
                state: State,
                caller: Caller,
                Ids(ids): Ids<(Uuid, Uuid)>,
                JsonObject(body): JsonObject,
            ) -> ApiResult<Json<CustomDomainResponse>> {
                super::edit(&state, &caller, $kind, ids, body).await
            }

            #[utoipa::path(delete, path = $item, operation_id = $delete, tag = $tag,
                        params(($param = Uuid, Path), ("customDomainId" = Uuid, Path)),
                        responses((status = 204), ApiErrors))]
            pub async fn delete(state: State, caller: Caller, Ids(ids): Ids<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
                super::delete(&state, &caller, $kind, ids).await
            }

            /// Looks up each custom domain's DNS records: its CNAME should
            /// point at its `validation_domain`.
            #[utoipa::path(get, path = $check_path, operation_id = $check, tag = $tag,
                        params(($param = Uuid, Path)),
                        responses((status = 200, body = CheckedCustomDomainsResponse), ApiErrors))]
            pub async fn check(
                state: State,
                caller: Caller,
                Ids(id): Ids<Uuid>,
            ) -> ApiResult<Json<CheckedCustomDomainsResponse>> {
                super::check(&state, &caller, $kind, id).await
            }
        }
    };
}

custom_domain_kind!(
    application,
    slipway_model::ServiceType::Application,
    "Applications",
    param = "applicationId",
    collection = "/application/{applicationId}/customDomain",
    item = "/application/{applicationId}/customDomain/{customDomainId}",
    check = "/application/{applicationId}/checkCustomDomain",
    ops = [
        "listApplicationCustomDomain",
        "createApplicationCustomDomain",
        "getApplicationCustomDomain",
        "editCustomDomain",
        "deleteCustomDomain",
        "checkApplicationCustomDomain"
    ]
);

custom_domain_kind!(
    container,
    slipway_model::ServiceType::Container,
    "Containers",
    param = "containerId",
    collection = "/container/{containerId}/customDomain",
    item = "/container/{containerId}/customDomain/{customDomainId}",
    check = "/container/{containerId}/checkCustomDomain",
    ops = [
        "listContainerCustomDomain",
        "createContainerCustomDomain",
        "getContainerCustomDomain",
        "editContainerCustomDomain",
        "deleteContainerCustomDomain",
        "checkContainerCustomDomain"
    ]
);

custom_domain_kind!(
    helm,
    slipway_model::ServiceType::Helm,
    "Helms",
    param = "helmId",
    collection = "/helm/{helmId}/customDomain",
    item = "/helm/{helmId}/customDomain/{customDomainId}",
    check = "/helm/{helmId}/checkCustomDomain",
    ops = [
        "listHelmCustomDomain",
        "createHelmCustomDomain",
        "getHelmCustomDomain",
        "editHelmCustomDomain",
        "deleteHelmCustomDomain",
        "checkHelmCustomDomain"
    ]
);
