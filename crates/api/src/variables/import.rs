//! `POST /variable/import`: many variables at once for a service, its
//! environment and its project, from the contract's JSON body or (Slipway)
//! a raw `.env` file. Every entry is checked before any is written.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use slipway_api_types::{ImportedVariable, VariableImport, VariableImportQuery, VariableImportRequest};
use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope, parse_dotenv, validate_key};
use slipway_model::{Role, Service, ServiceType, Uuid, ValidationError, now};
use slipway_store::Filter;

use super::write::{Draft, insert};
use super::{Place, plain_value};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, bytes_rejection, param};
use crate::state::AppState;

/// The body of an import: the contract's JSON, or `.env` text (`text/plain`).
#[derive(Debug)]
pub enum ImportBody {
    /// `VariableImportRequest`.
    Json(VariableImportRequest),
    /// Slipway: the text of a `.env` file.
    Dotenv(String),
}

impl FromRequest<AppState> for ImportBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let text = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim_start().starts_with("text/"));
        if !text {
            let Body(body) = Body::<VariableImportRequest>::from_request(req, state).await?;
            return Ok(ImportBody::Json(body));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| bytes_rejection(e, state))?;
        String::from_utf8(bytes.to_vec())
            .map(ImportBody::Dotenv)
            .map_err(|_| ApiError::BadRequest("the .env body is not UTF-8 text".into()))
    }
}

/// One variable to import, with the field it came from for refusals.
struct Entry {
    field: String,
    name: String,
    value: String,
    scope: VariableScope,
    is_secret: bool,
}

/// What an entry does once checked.
enum Write {
    /// A new variable, at the place of that index.
    Insert(usize, Variable),
    Update(Variable),
}

fn required(name: &str) -> ApiError {
    ValidationError::new(name, "is required").into()
}

/// The service named by `?service_id=&service_type=`.
async fn service_of(state: &AppState, caller: &Caller, query: &VariableImportQuery) -> ApiResult<Service> {
    let id = param::<Uuid>("service_id", query.service_id.as_deref(), "a service id")?
        .ok_or_else(|| required("service_id"))?;
    let wanted = query.service_type.as_deref().filter(|t| !t.is_empty()).ok_or_else(|| required("service_type"))?;
    let kind = ServiceType::parse(wanted).filter(|k| VariableScope::of_service(*k).is_some()).ok_or_else(|| {
        ValidationError::new(
            "service_type",
            format!("must be APPLICATION, CONTAINER, JOB, HELM or TERRAFORM, got `{wanted}`"),
        )
    })?;
    crate::routes::services::find(state, caller, kind, id).await
}

/// The entries of the body, and whether they may replace existing values.
fn entries(body: ImportBody, query: &VariableImportQuery, own: VariableScope) -> ApiResult<(Vec<Entry>, bool)> {
    match body {
        ImportBody::Json(req) => {
            let entries = req.vars.into_iter().enumerate().map(|(i, v)| Entry {
                field: format!("vars[{i}]"),
                name: v.name,
                value: v.value,
                scope: v.scope,
                is_secret: v.is_secret,
            });
            Ok((entries.collect(), req.overwrite))
        }
        ImportBody::Dotenv(text) => {
            let scope = match query.scope.as_deref().filter(|s| !s.is_empty()) {
                None => own,
                Some(s) => serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
                    ValidationError::new(
                        "scope",
                        format!("must be PROJECT, ENVIRONMENT or {}, got `{s}`", own.as_str()),
                    )
                })?,
            };
            let is_secret = param::<bool>("is_secret", query.is_secret.as_deref(), "true or false")?.unwrap_or(false);
            let overwrite = param::<bool>("overwrite", query.overwrite.as_deref(), "true or false")?.unwrap_or(false);
            let entries = parse_dotenv(&text)?.into_iter().map(|(name, value)| Entry {
                field: format!("`{name}`"),
                name,
                value,
                scope,
                is_secret,
            });
            Ok((entries.collect(), overwrite))
        }
    }
}

/// `importEnvironmentVariables`.
pub(crate) async fn import(
    state: &AppState,
    caller: &Caller,
    query: VariableImportQuery,
    body: ImportBody,
) -> ApiResult<VariableImport> {
    caller.require(Role::Developer, "import variables")?;
    let org = caller.organization_id;
    let service = service_of(state, caller, &query).await?;
    let own = VariableScope::of_service(service.kind()).unwrap_or(VariableScope::BuiltIn);
    let (entries, overwrite) = entries(body, &query, own)?;
    let places = [
        Place::locate(state, org, VariableScope::Project, service.project_id).await?,
        Place::locate(state, org, VariableScope::Environment, service.environment_id).await?,
        Place::of_service(state, service).await?,
    ];
    let mut existing: Vec<Vec<Variable>> = Vec::new();
    for place in &places {
        existing.push(state.store.list(org, Filter::parent(place.parent_id)).await?);
    }

    let mut writes = Vec::with_capacity(entries.len());
    let mut seen: Vec<(VariableScope, &str)> = Vec::new();
    for e in &entries {
        let Some(at) = places.iter().position(|p| p.scope == e.scope) else {
            let rule = format!("must be PROJECT, ENVIRONMENT or {} (the service's own scope)", own.as_str());
            return Err(ValidationError::new(format!("{}.scope", e.field), rule).into());
        };
        validate_key(&format!("{}.name", e.field), &e.name)?;
        if seen.contains(&(e.scope, e.name.as_str())) {
            let rule = format!("`{}` is given twice for {}", e.name, e.scope.as_str());
            return Err(ValidationError::new(format!("{}.name", e.field), rule).into());
        }
        seen.push((e.scope, &e.name));
        let place = &places[at];
        let write = match existing[at].iter().find(|v| v.key == e.name) {
            None => {
                let draft = Draft {
                    key: e.name.clone(),
                    value: Some(e.value.clone()),
                    is_secret: e.is_secret,
                    kind: VariableKind::Value,
                    mount_path: None,
                    description: None,
                    interpolate: false,
                };
                Write::Insert(at, draft.build(state, org, place).map_err(|err| within(err, &e.field))?)
            }
            Some(_) if !overwrite => {
                return Err(ApiError::Conflict(format!(
                    "`{}` already exists at {}: import with overwrite to replace its value",
                    e.name, place.label
                )));
            }
            Some(v) => Write::Update(replaced(state, v, e, place)?),
        };
        writes.push(write);
    }

    for write in &writes {
        match write {
            Write::Insert(at, v) => insert(state, &places[*at], v).await?,
            Write::Update(v) => state.store.update(v).await?,
        }
    }
    let imported = writes
        .iter()
        .map(|w| {
            let (Write::Insert(_, v) | Write::Update(v)) = w;
            ImportedVariable { name: v.key.clone(), value: plain_value(v), scope: v.scope, is_secret: v.is_secret }
        })
        .collect::<Vec<_>>();
    Ok(VariableImport { total_variables_to_import: entries.len() as u64, successful_imported_variables: imported })
}

/// `v` with the imported value, if the import may replace it.
fn replaced(state: &AppState, v: &Variable, e: &Entry, place: &Place) -> ApiResult<Variable> {
    if v.kind != VariableKind::Value {
        return Err(ApiError::Conflict(format!(
            "`{}` at {} is an alias or an override: delete it before importing a value under that key",
            e.name, place.label
        )));
    }
    if v.is_secret != e.is_secret {
        let rule = if v.is_secret {
            "must be true: the existing variable is a secret, and importing it in clear would reveal it"
        } else {
            "must be false: the existing variable is not a secret; delete it to import a secret under that key"
        };
        return Err(ValidationError::new(format!("{}.is_secret", e.field), rule).into());
    }
    let mut new = Variable { value: StoredValue::Plain(e.value.clone()), updated_at: Some(now()), ..v.clone() };
    new.validate().map_err(|err| within(err.into(), &e.field))?;
    if new.is_secret {
        new.value = StoredValue::Sealed(state.config.secrets.seal(&e.value));
    }
    Ok(new)
}

/// A refusal of one entry, named by its place in the body.
fn within(err: ApiError, field: &str) -> ApiError {
    match err {
        ApiError::Validation(v) => {
            let name = if v.field == "key" { "name".to_owned() } else { v.field.clone() };
            ApiError::Validation(ValidationError::new(format!("{field}.{name}"), v.rule))
        }
        other => other,
    }
}
