//! Variables and secrets: the one service layer behind the unified
//! `/variable` API, the legacy per-scope `environmentVariable` and `secret`
//! APIs and the effective view. Handlers only parse and delegate.
//!
//! A variable lives at a [`Place`]: a scope and the project, environment or
//! service it belongs to. What a place sees is its own variables and those
//! of the broader places above it, plus (environments and services) the
//! built-ins Slipway computes. Aliases and overrides may only point to what
//! their place sees; overrides only to a strictly broader scope.
//!
//! Secrets are sealed with the server's secret box before they reach the
//! store, and no response ever carries their value: not the secret's own,
//! not an alias's, not an override's.

mod import;
mod write;

use std::collections::HashMap;

use slipway_api_types::{LinkedVariable, VariableResponse, VariableType};
use slipway_model::builtin::{self, BuiltIn};
use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope, builtin_id};
use slipway_model::{Environment, Project, Service, ServiceType, Uuid, ValidationError};
use slipway_store::{Filter, StoreError};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub use import::ImportBody;
pub(crate) use import::import;
pub(crate) use write::{alias, create, delete, edit, override_variable};

/// Who manages the variables: clients expect Qovery's platform name.
const OWNED_BY: &str = "QOVERY";

/// The legacy per-scope APIs act on one family (plain variables or secrets)
/// of one project, environment or service; anything else is not found there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Legacy {
    /// The scope in the path.
    pub scope: VariableScope,
    /// The project, environment or service in the path.
    pub parent: Uuid,
    /// `/secret` (true) or `/environmentVariable` (false).
    pub secret: bool,
}

impl Legacy {
    fn what(self) -> &'static str {
        if self.secret { "secret" } else { "environment variable" }
    }

    /// Refuses a variable of another place or family, as not found.
    fn owns(self, v: &Variable) -> ApiResult<()> {
        if v.scope == self.scope && v.parent_id == self.parent && v.is_secret == self.secret {
            Ok(())
        } else {
            Err(ApiError::NotFound { what: self.what() })
        }
    }
}

/// Where a variable is defined: a scope and the resource it belongs to,
/// with the broader resources above it.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub scope: VariableScope,
    pub parent_id: Uuid,
    /// For messages: `environment \`staging\``.
    label: String,
    project_id: Uuid,
    environment: Option<Environment>,
    service: Option<Service>,
}

impl Place {
    /// The place of `scope` and `parent` in the caller's organization. A
    /// parent of another kind or organization is not found.
    pub async fn locate(state: &AppState, org: Uuid, scope: VariableScope, parent: Uuid) -> ApiResult<Place> {
        match scope {
            VariableScope::BuiltIn => Err(ValidationError::new(
                "scope",
                "cannot be BUILT_IN here: built-in variables are Slipway's; choose PROJECT, ENVIRONMENT or a service scope",
            )
            .into()),
            VariableScope::Project => {
                let p: Project = state.store.get(org, parent).await?;
                Ok(Place::broad(scope, format!("project `{}`", p.name), p.id, p.id, None))
            }
            VariableScope::Environment => {
                let e: Environment = state.store.get(org, parent).await?;
                Ok(Place::broad(scope, format!("environment `{}`", e.name), e.id, e.project_id, Some(e)))
            }
            _ => {
                let not_found = || ApiError::NotFound { what: service_what(scope) };
                let service: Service = match state.store.get(org, parent).await {
                    Ok(s) => s,
                    Err(StoreError::NotFound { .. }) => return Err(not_found()),
                    Err(e) => return Err(e.into()),
                };
                if VariableScope::of_service(service.kind()) != Some(scope) {
                    return Err(not_found());
                }
                Place::of_service(state, service).await
            }
        }
    }

    fn broad(
        scope: VariableScope,
        label: String,
        parent_id: Uuid,
        project_id: Uuid,
        environment: Option<Environment>,
    ) -> Place {
        Place { scope, parent_id, label, project_id, environment, service: None }
    }

    /// The place of a service's own variables (databases have none: their
    /// place is used for built-ins only).
    async fn of_service(state: &AppState, service: Service) -> ApiResult<Place> {
        let env: Environment = state.store.get(service.organization_id, service.environment_id).await?;
        Ok(Place {
            scope: VariableScope::of_service(service.kind()).unwrap_or(VariableScope::BuiltIn),
            parent_id: service.id,
            label: format!("{} `{}`", service.kind().path(), service.name()),
            project_id: service.project_id,
            environment: Some(env),
            service: Some(service),
        })
    }

    /// Where `scope=BUILT_IN&parent_id=` lists: an environment or a service.
    async fn for_builtins(state: &AppState, org: Uuid, parent: Uuid) -> ApiResult<Place> {
        match state.store.get::<Environment>(org, parent).await {
            Ok(_) => return Place::locate(state, org, VariableScope::Environment, parent).await,
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        match state.store.get::<Service>(org, parent).await {
            Ok(service) => Place::of_service(state, service).await,
            Err(StoreError::NotFound { .. }) => Err(ApiError::NotFound { what: "environment or service" }),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a variable defined elsewhere is visible from here.
    fn sees(&self, v: &Variable) -> bool {
        match v.scope {
            VariableScope::Project => v.parent_id == self.project_id,
            VariableScope::Environment => self.environment.as_ref().is_some_and(|e| e.id == v.parent_id),
            VariableScope::BuiltIn => false,
            _ => self.service.as_ref().is_some_and(|s| s.id == v.parent_id && self.scope.is_service()),
        }
    }

    /// The parents whose variables this place sees, broadest first.
    fn visible_parents(&self) -> Vec<Uuid> {
        let mut parents = vec![self.project_id];
        parents.extend(self.environment.as_ref().map(|e| e.id));
        parents.extend(self.service.as_ref().filter(|_| self.scope.is_service()).map(|s| s.id));
        parents
    }
}

/// The plural of a service scope's kind, for "not found".
fn service_what(scope: VariableScope) -> &'static str {
    match scope {
        VariableScope::Application => "application",
        VariableScope::Container => "container",
        VariableScope::Job => "job",
        VariableScope::Helm => "helm",
        VariableScope::Terraform => "terraform",
        _ => "service",
    }
}

/// A variable an alias or an override points to.
#[derive(Debug, Clone)]
struct Target {
    id: Uuid,
    key: String,
    scope: VariableScope,
    is_secret: bool,
    /// In clear, for non-secrets only.
    value: Option<String>,
    mount_path: Option<String>,
    variable_type: VariableType,
    /// Aliases and overrides cannot be pointed to.
    pointable: bool,
}

impl Target {
    fn of_variable(v: &Variable) -> Target {
        Target {
            id: v.id,
            key: v.key.clone(),
            scope: v.scope,
            is_secret: v.is_secret,
            value: plain_value(v),
            mount_path: v.mount_path.clone(),
            variable_type: VariableType::of(v),
            pointable: v.kind == VariableKind::Value,
        }
    }

    fn linked(&self) -> LinkedVariable {
        LinkedVariable {
            id: self.id,
            key: self.key.clone(),
            value: self.value.clone().filter(|_| !self.is_secret),
            mount_path: self.mount_path.clone().unwrap_or_default(),
            scope: self.scope,
            variable_type: self.variable_type,
        }
    }
}

/// The value a response may show: plain text of a non-secret.
fn plain_value(v: &Variable) -> Option<String> {
    match &v.value {
        StoredValue::Plain(text) if !v.is_secret => Some(text.clone()),
        _ => None,
    }
}

/// Everything needed to describe the variables seen from one place: the
/// stored ones, the built-ins, and the services they name.
struct View {
    place: Place,
    stored: Vec<Variable>,
    builtins: Vec<BuiltIn>,
    services: HashMap<Uuid, (String, ServiceType)>,
}

impl View {
    /// Loads what `place` sees; the built-ins only when `builtins` (they
    /// take a look at every service of the environment).
    async fn load(state: &AppState, org: Uuid, place: Place, builtins: bool) -> ApiResult<View> {
        let mut stored = Vec::new();
        for parent in place.visible_parents() {
            stored.extend(state.store.list::<Variable>(org, Filter::parent(parent)).await?);
        }
        let mut services = HashMap::new();
        if let Some(s) = &place.service {
            services.insert(s.id, (s.name().to_owned(), s.kind()));
        }
        let mut all_builtins = Vec::new();
        if let (true, Some(env)) = (builtins, &place.environment) {
            let vars =
                slipway_engine::variables::load(&state.store, &state.config.secrets, &state.config.base_domain, env)
                    .await?;
            all_builtins.extend(vars.builtins().iter().cloned());
            if let Some(s) = &place.service {
                all_builtins.extend(builtin::own_builtins(s.kind(), s.id));
            }
            let in_env: Vec<Service> = state.store.list(org, Filter::parent(env.id)).await?;
            services.extend(in_env.into_iter().map(|s| (s.id, (s.name().to_owned(), s.kind()))));
        }
        Ok(View { place, stored, builtins: all_builtins, services })
    }

    /// The view that describes one variable: its place, and the built-ins
    /// if it points to one.
    async fn around(state: &AppState, org: Uuid, v: &Variable) -> ApiResult<View> {
        let place = Place::locate(state, org, v.scope, v.parent_id).await?;
        let view = View::load(state, org, place.clone(), false).await?;
        match v.kind {
            VariableKind::Alias(t) if !view.stored.iter().any(|s| s.id == t) => {
                View::load(state, org, place, true).await
            }
            _ => Ok(view),
        }
    }

    fn builtin_id(&self, key: &str) -> Uuid {
        builtin_id(self.place.environment.as_ref().map(|e| e.id).unwrap_or_default(), key)
    }

    /// The variable or built-in `id`, if this place sees it.
    fn target(&self, id: Uuid) -> Option<Target> {
        if let Some(v) = self.stored.iter().find(|v| v.id == id) {
            return Some(Target::of_variable(v));
        }
        self.builtins.iter().find(|b| self.builtin_id(&b.key) == id).map(|b| Target {
            id,
            key: b.key.clone(),
            scope: VariableScope::BuiltIn,
            is_secret: b.is_secret,
            value: Some(b.value.clone()),
            mount_path: None,
            variable_type: VariableType::BuiltIn,
            pointable: true,
        })
    }

    fn service(&self, id: Option<Uuid>) -> (Option<Uuid>, Option<String>, Option<ServiceType>) {
        match id.and_then(|id| self.services.get(&id).map(|s| (id, s))) {
            Some((id, (name, kind))) => (Some(id), Some(name.clone()), Some(*kind)),
            None => (None, None, None),
        }
    }

    /// The response for a stored variable seen from here.
    fn respond(&self, v: &Variable) -> VariableResponse {
        let target = match v.kind {
            VariableKind::Alias(t) | VariableKind::Override(t) => self.target(t),
            VariableKind::Value => None,
        };
        let is_secret = v.is_secret || target.as_ref().is_some_and(|t| t.is_secret);
        let (value, mount_path) = match v.kind {
            VariableKind::Value => (plain_value(v), v.mount_path.clone()),
            VariableKind::Alias(_) => (target.as_ref().and_then(|t| t.value.clone()), v.mount_path.clone()),
            VariableKind::Override(_) => (plain_value(v), target.as_ref().and_then(|t| t.mount_path.clone())),
        };
        let linked = target.as_ref().map(Target::linked);
        let (service_id, service_name, service_type) = self.service(v.scope.is_service().then_some(v.parent_id));
        VariableResponse {
            id: v.id,
            created_at: v.created_at,
            updated_at: v.updated_at,
            key: v.key.clone(),
            value: value.filter(|_| !is_secret),
            mount_path,
            overridden_variable: linked.clone().filter(|_| matches!(v.kind, VariableKind::Override(_))),
            aliased_variable: linked.filter(|_| matches!(v.kind, VariableKind::Alias(_))),
            scope: v.scope,
            variable_type: VariableType::of(v),
            service_id,
            service_name,
            service_type,
            owned_by: OWNED_BY.to_owned(),
            is_secret,
            description: v.description.clone(),
            enable_interpolation_in_file: v.enable_interpolation_in_file,
        }
    }

    /// The responses for the built-ins seen from here.
    fn builtin_responses(&self) -> Vec<VariableResponse> {
        let created_at = self.place.environment.as_ref().map(|e| e.created_at).unwrap_or_default();
        self.builtins
            .iter()
            .map(|b| {
                let (service_id, service_name, service_type) = self.service(b.service_id);
                VariableResponse {
                    id: self.builtin_id(&b.key),
                    created_at,
                    updated_at: None,
                    key: b.key.clone(),
                    value: (!b.is_secret).then(|| b.value.clone()),
                    mount_path: None,
                    overridden_variable: None,
                    aliased_variable: None,
                    scope: VariableScope::BuiltIn,
                    variable_type: VariableType::BuiltIn,
                    service_id,
                    service_name,
                    service_type,
                    owned_by: OWNED_BY.to_owned(),
                    is_secret: b.is_secret,
                    description: None,
                    enable_interpolation_in_file: false,
                }
            })
            .collect()
    }
}

/// What a place sees (`listVariables`): at an environment or a service, the
/// built-ins first, then project, environment and service variables; at
/// BUILT_IN, only the built-ins of the environment or service `parent`.
pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    scope: VariableScope,
    parent: Uuid,
    is_secret: Option<bool>,
) -> ApiResult<Vec<VariableResponse>> {
    let org = caller.organization_id;
    let (place, only_builtins) = match scope {
        VariableScope::BuiltIn => (Place::for_builtins(state, org, parent).await?, true),
        _ => (Place::locate(state, org, scope, parent).await?, false),
    };
    let view = View::load(state, org, place, true).await?;
    let mut out = view.builtin_responses();
    if !only_builtins {
        out.extend(view.stored.iter().map(|v| view.respond(v)));
    }
    out.retain(|v| is_secret.is_none_or(|s| v.is_secret == s));
    Ok(out)
}

/// One stored variable's response, seen from its own place.
async fn respond_one(state: &AppState, org: Uuid, v: &Variable) -> ApiResult<VariableResponse> {
    Ok(View::around(state, org, v).await?.respond(v))
}

/// Slipway's effective view of a service: each key it runs with, where the
/// value comes from, and the value unless it is a secret.
pub(crate) async fn effective(
    state: &AppState,
    caller: &Caller,
    service_id: Uuid,
) -> ApiResult<Vec<slipway_api_types::EffectiveVariable>> {
    let service: Service = match state.store.get(caller.organization_id, service_id).await {
        Err(StoreError::NotFound { .. }) => return Err(ApiError::NotFound { what: "service" }),
        other => other?,
    };
    if VariableScope::of_service(service.kind()).is_none() {
        return Err(ApiError::BadRequest(format!(
            "{} services take no variables; ask for the effective variables of an application, container, job, helm or terraform service",
            service.kind().path()
        )));
    }
    let vars =
        slipway_engine::variables::load_for(&state.store, &state.config.secrets, &state.config.base_domain, &service)
            .await?;
    let effective = vars.effective(&service).map_err(|e| ApiError::Conflict(format!("{e}; fix or delete it")))?;
    Ok(effective
        .into_values()
        .map(|e| slipway_api_types::EffectiveVariable {
            value: (!e.is_secret).then_some(e.value),
            key: e.key,
            is_secret: e.is_secret,
            source_scope: e.source,
            variable_id: e.variable_id,
            mount_path: e.mount_path,
        })
        .collect())
}
