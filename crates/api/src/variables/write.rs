//! Creating, editing and deleting variables, aliases and overrides. Every
//! rule is checked before anything is written, so a refusal changes nothing.

use slipway_api_types::{
    VariableAliasRequest, VariableEditRequest, VariableOverrideRequest, VariableRequest, VariableResponse,
};
use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope, validate_key};
use slipway_model::{Role, Uuid, ValidationError, new_id, now};
use slipway_store::StoreError;

use super::{Legacy, Place, Target, View, respond_one};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A new variable's fields, before its place and kind are decided.
pub(super) struct Draft {
    pub key: String,
    /// In clear; sealed on the way to the store when the variable is secret.
    pub value: Option<String>,
    pub is_secret: bool,
    pub kind: VariableKind,
    pub mount_path: Option<String>,
    pub description: Option<String>,
    pub interpolate: bool,
}

impl Draft {
    /// The variable at `place`, checked, its value sealed if secret.
    pub(super) fn build(self, state: &AppState, org: Uuid, place: &Place) -> ApiResult<Variable> {
        let mut v = Variable {
            id: new_id(),
            organization_id: org,
            scope: place.scope,
            parent_id: place.parent_id,
            key: self.key,
            value: self.value.map(StoredValue::Plain).unwrap_or(StoredValue::None),
            is_secret: self.is_secret,
            kind: self.kind,
            mount_path: self.mount_path.filter(|p| !p.is_empty()),
            description: self.description.filter(|d| !d.is_empty()),
            enable_interpolation_in_file: self.interpolate,
            created_at: now(),
            updated_at: None,
        };
        v.validate()?;
        seal(state, &mut v);
        Ok(v)
    }
}

/// Seals a secret's plain value.
fn seal(state: &AppState, v: &mut Variable) {
    if let (true, StoredValue::Plain(text)) = (v.is_secret, &v.value) {
        v.value = StoredValue::Sealed(state.config.secrets.seal(text));
    }
}

/// Stores a new variable; a key already defined at its place is a conflict.
pub(super) async fn insert(state: &AppState, place: &Place, v: &Variable) -> ApiResult<()> {
    state.store.insert(v).await.map_err(|e| taken(e, place, &v.key))
}

fn taken(err: StoreError, place: &Place, key: &str) -> ApiError {
    match err {
        StoreError::NameTaken { .. } => ApiError::Conflict(format!(
            "`{key}` is already defined at {}: edit that variable (PUT /variable/{{id}}), or choose another key",
            place.label
        )),
        other => other.into(),
    }
}

/// `createVariable`, and the legacy creates.
pub(crate) async fn create(state: &AppState, caller: &Caller, req: VariableRequest) -> ApiResult<VariableResponse> {
    caller.require(Role::Developer, "create variables")?;
    let org = caller.organization_id;
    let place = Place::locate(state, org, req.variable_scope, req.variable_parent_id)
        .await
        .map_err(|e| renamed(e, "variable_scope"))?;
    let draft = Draft {
        key: req.key,
        value: Some(req.value),
        is_secret: req.is_secret,
        kind: VariableKind::Value,
        mount_path: req.mount_path,
        description: req.description,
        interpolate: req.enable_interpolation_in_file.unwrap_or(false),
    };
    let v = draft.build(state, org, &place)?;
    insert(state, &place, &v).await?;
    respond_one(state, org, &v).await
}

/// A refusal of the `scope` field, named as the request names it.
fn renamed(err: ApiError, field: &str) -> ApiError {
    match err {
        ApiError::Validation(v) if v.field == "scope" => ApiError::Validation(ValidationError::new(field, v.rule)),
        other => other,
    }
}

/// The stored variable `id`, checked against the legacy path when given.
async fn stored(state: &AppState, org: Uuid, id: Uuid, legacy: Option<Legacy>) -> ApiResult<Variable> {
    let what = legacy.map(Legacy::what).unwrap_or("variable");
    let v: Variable = match state.store.get(org, id).await {
        Err(StoreError::NotFound { .. }) => return Err(ApiError::NotFound { what }),
        other => other?,
    };
    if let Some(legacy) = legacy {
        legacy.owns(&v)?;
    }
    Ok(v)
}

/// `editVariable`, and the legacy edits: absent fields are kept.
pub(crate) async fn edit(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    req: VariableEditRequest,
    legacy: Option<Legacy>,
) -> ApiResult<VariableResponse> {
    caller.require(Role::Developer, "edit variables")?;
    let org = caller.organization_id;
    let mut v = stored(state, org, id, legacy).await?;
    if let Some(wanted) = req.is_secret.filter(|s| *s != v.is_secret) {
        let rule = if wanted {
            "cannot turn a plain variable into a secret: its value was stored in clear; create a secret and delete this variable"
        } else {
            "cannot turn a secret into a plain variable: that would reveal its value; create a plain variable and delete this secret"
        };
        return Err(ValidationError::new("is_secret", rule).into());
    }
    let kind = v.kind;
    match kind {
        VariableKind::Override(_) if req.key != v.key => {
            return Err(ValidationError::new(
                "key",
                format!("must stay `{}`: an override has the key of the variable it overrides", v.key),
            )
            .into());
        }
        VariableKind::Alias(_) if req.value.is_some() => {
            return Err(ValidationError::new(
                "value",
                "must be absent: an alias has no value of its own; edit the variable it points to",
            )
            .into());
        }
        VariableKind::Alias(_) | VariableKind::Override(_) if req.mount_path.is_some() => {
            return Err(ValidationError::new(
                "mount_path",
                "must be absent: aliases and overrides are mounted where the variable they point to is",
            )
            .into());
        }
        _ => {}
    }
    validate_key("key", &req.key)?;
    v.key = req.key;
    if let Some(d) = req.description {
        v.description = Some(d).filter(|d| !d.is_empty());
    }
    if let Some(i) = req.enable_interpolation_in_file {
        v.enable_interpolation_in_file = i;
    }
    if let Some(p) = req.mount_path {
        v.mount_path = Some(p).filter(|p| !p.is_empty());
    }
    // Check the new value in clear: a sealed value is longer than its text.
    let value = req.value.map(StoredValue::Plain).unwrap_or(StoredValue::None);
    Variable { value: value.clone(), ..v.clone() }.validate()?;
    if value != StoredValue::None {
        v.value = value;
        seal(state, &mut v);
    }
    v.updated_at = Some(now());
    let place = Place::locate(state, org, v.scope, v.parent_id).await?;
    state.store.update(&v).await.map_err(|e| taken(e, &place, &v.key))?;
    respond_one(state, org, &v).await
}

/// `deleteVariable`, and the legacy deletes: the variable goes with its
/// aliases and overrides.
pub(crate) async fn delete(state: &AppState, caller: &Caller, id: Uuid, legacy: Option<Legacy>) -> ApiResult<()> {
    caller.require(Role::Developer, "delete variables")?;
    let org = caller.organization_id;
    let v = stored(state, org, id, legacy).await?;
    state.store.delete_using::<Variable>(org, v.id).await?;
    state.store.delete::<Variable>(org, v.id).await?;
    Ok(())
}

/// The variable `id` as seen from `place`, for an alias or an override.
async fn target(
    state: &AppState,
    org: Uuid,
    id: Uuid,
    place: &Place,
    legacy: Option<Legacy>,
) -> ApiResult<(View, Target)> {
    let what = legacy.map(Legacy::what).unwrap_or("variable");
    let stored = match state.store.get::<Variable>(org, id).await {
        Ok(v) => Some(v),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(v) = &stored
        && !place.sees(v)
    {
        return Err(ApiError::BadRequest(format!(
            "variable `{}` ({} scope) is not visible from {}: point only to variables of the same scope or a broader \
             one of the same project, environment or service",
            v.key,
            v.scope.as_str(),
            place.label
        )));
    }
    let view = View::load(state, org, place.clone(), stored.is_none()).await?;
    let found = view.target(id).ok_or(ApiError::NotFound { what })?;
    if legacy.is_some_and(|l| l.secret != found.is_secret) {
        return Err(ApiError::NotFound { what });
    }
    if !found.pointable {
        return Err(ApiError::BadRequest(format!(
            "`{}` is itself an {}: point to the variable it stands for instead",
            found.key,
            found.variable_type_name()
        )));
    }
    Ok((view, found))
}

impl Target {
    fn variable_type_name(&self) -> &'static str {
        match self.variable_type {
            slipway_api_types::VariableType::Alias => "alias",
            _ => "override",
        }
    }
}

/// Stores what `draft` makes of the variable `target_id` (which must be
/// visible from the place `at`): an alias or an override.
async fn point_to(
    state: &AppState,
    caller: &Caller,
    what: &str,
    (scope, parent, field): (VariableScope, Uuid, &str),
    target_id: Uuid,
    legacy: Option<Legacy>,
    draft: impl FnOnce(&Place, &Target) -> ApiResult<Draft>,
) -> ApiResult<VariableResponse> {
    caller.require(Role::Developer, &format!("create {what}"))?;
    let org = caller.organization_id;
    let place = Place::locate(state, org, scope, parent).await.map_err(|e| renamed(e, field))?;
    let (view, found) = target(state, org, target_id, &place, legacy).await?;
    let v = draft(&place, &found)?.build(state, org, &place)?;
    insert(state, &place, &v).await?;
    Ok(view.respond(&v))
}

/// `createVariableAlias`, and the legacy alias creates.
pub(crate) async fn alias(
    state: &AppState,
    caller: &Caller,
    target_id: Uuid,
    req: VariableAliasRequest,
    legacy: Option<Legacy>,
) -> ApiResult<VariableResponse> {
    let at = (req.alias_scope, req.alias_parent_id, "alias_scope");
    point_to(state, caller, "aliases", at, target_id, legacy, |_, found| {
        Ok(Draft {
            key: req.key,
            value: None,
            is_secret: found.is_secret,
            kind: VariableKind::Alias(found.id),
            mount_path: None,
            description: req.description,
            interpolate: req.enable_interpolation_in_file.unwrap_or(false),
        })
    })
    .await
}

/// `createVariableOverride`, and the legacy override creates.
pub(crate) async fn override_variable(
    state: &AppState,
    caller: &Caller,
    target_id: Uuid,
    req: VariableOverrideRequest,
    legacy: Option<Legacy>,
) -> ApiResult<VariableResponse> {
    let at = (req.override_scope, req.override_parent_id, "override_scope");
    point_to(state, caller, "overrides", at, target_id, legacy, |place, found| {
        if found.scope == VariableScope::BuiltIn {
            return Err(ApiError::BadRequest(format!(
                "`{}` is a built-in variable and cannot be overridden: create an alias to it, or a variable of your own",
                found.key
            )));
        }
        if found.scope.rank() >= place.scope.rank() {
            return Err(ValidationError::new(
                "override_scope",
                format!(
                    "must be narrower than {} (the scope of `{}`): an override replaces a broader scope's value; \
                     edit the variable itself instead",
                    found.scope.as_str(),
                    found.key
                ),
            )
            .into());
        }
        Ok(Draft {
            key: found.key.clone(),
            value: Some(req.value),
            is_secret: found.is_secret,
            kind: VariableKind::Override(found.id),
            mount_path: None,
            description: req.description,
            interpolate: req.enable_interpolation_in_file.unwrap_or(false),
        })
    })
    .await
}
