//! Variables and secrets: the unified `/variable` API, the legacy per-scope
//! `environmentVariable` and `secret` APIs, Slipway's effective view, and
//! the database credential and version endpoints.
//!
//! A secret's value never appears in any of these responses: `value` is
//! `null` for secrets, for aliases of secrets and for overrides of secrets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::ServiceType;
use slipway_model::variable::VariableScope;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// What a variable is (`APIVariableTypeEnum`, the values Slipway emits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = APIVariableTypeEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum VariableType {
    Value,
    Alias,
    Override,
    BuiltIn,
    File,
}

impl VariableType {
    /// The type of a stored variable.
    pub fn of(variable: &slipway_model::variable::Variable) -> VariableType {
        match variable.type_name() {
            "ALIAS" => VariableType::Alias,
            "OVERRIDE" => VariableType::Override,
            "FILE" => VariableType::File,
            _ => VariableType::Value,
        }
    }
}

/// A request to create a variable (`VariableRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableRequest {
    pub key: String,
    pub value: String,
    /// Makes the variable a file mounted at this absolute path.
    #[serde(default)]
    pub mount_path: Option<String>,
    /// Secrets are encrypted at rest and never returned.
    pub is_secret: bool,
    pub variable_scope: VariableScope,
    /// The project, environment or service the variable belongs to, per `variable_scope`.
    pub variable_parent_id: Uuid,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
}

/// A request to edit a variable (`VariableEditRequest`); also the body of
/// the legacy `environmentVariable` and `secret` edits. Absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableEditRequest {
    /// The key; an override keeps the key of the variable it overrides.
    pub key: String,
    /// The new value. Aliases have none.
    #[serde(default)]
    pub value: Option<String>,
    /// An empty description clears it.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
    /// Where a file variable is mounted (absolute path); an empty string makes
    /// it a plain variable again.
    #[serde(default)]
    pub mount_path: Option<String>,
    /// Slipway: if given, must match the variable's: a secret stays a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_secret: Option<bool>,
}

/// A request to give a variable another name (`VariableAliasRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableAliasRequest {
    /// The alias's name.
    pub key: String,
    /// Where the alias is defined: the target's scope or a narrower one.
    pub alias_scope: VariableScope,
    /// The project, environment or service the alias belongs to.
    pub alias_parent_id: Uuid,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
}

/// A request to replace a broader scope's value (`VariableOverrideRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableOverrideRequest {
    pub value: String,
    /// Where the override applies: strictly narrower than the target's scope.
    pub override_scope: VariableScope,
    /// The environment or service the override belongs to.
    pub override_parent_id: Uuid,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
}

/// One variable to import (`VariableImportRequestVarsInner`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = VariableImportRequestVarsInner)]
#[allow(missing_docs)]
pub struct ImportedVariableRequest {
    pub name: String,
    pub value: String,
    /// PROJECT, ENVIRONMENT, or the service's own scope.
    pub scope: VariableScope,
    pub is_secret: bool,
}

/// A batch of variables for a service and its environment and project
/// (`VariableImportRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableImportRequest {
    /// Replace the values of variables that exist already; otherwise they are refused.
    pub overwrite: bool,
    pub vars: Vec<ImportedVariableRequest>,
}

/// One imported variable (`VariableImportSuccessfulImportedVariablesInner`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = VariableImportSuccessfulImportedVariablesInner)]
#[allow(missing_docs)]
pub struct ImportedVariable {
    pub name: String,
    /// Absent for secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub scope: VariableScope,
    pub is_secret: bool,
}

/// The result of an import (`VariableImport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableImport {
    pub total_variables_to_import: u64,
    pub successful_imported_variables: Vec<ImportedVariable>,
}

/// `?service_id=&service_type=` of an import; Slipway adds `scope`,
/// `is_secret` and `overwrite` for a raw `.env` body (`text/plain`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariableImportQuery {
    /// The service whose project, environment and own scope receive the variables.
    #[serde(default)]
    #[param(value_type = Uuid)]
    pub service_id: Option<String>,
    /// Its kind (`ServiceTypeForVariableEnum`: APPLICATION, CONTAINER, JOB, HELM, TERRAFORM).
    #[serde(default)]
    #[param(value_type = String)]
    pub service_type: Option<String>,
    /// Slipway, `.env` bodies only: the scope of every variable (default: the service's).
    #[serde(default)]
    #[param(value_type = Option<VariableScope>)]
    pub scope: Option<String>,
    /// Slipway, `.env` bodies only: import every variable as a secret.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    pub is_secret: Option<String>,
    /// Slipway, `.env` bodies only: replace existing values.
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    pub overwrite: Option<String>,
}

/// `?parent_id=&scope=[&is_secret=]` of `listVariables`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariableListQuery {
    /// The project, environment or service (or, for BUILT_IN, environment or service) to list for.
    #[serde(default)]
    #[param(value_type = Uuid)]
    pub parent_id: Option<String>,
    /// The scope of `parent_id`.
    #[serde(default)]
    #[param(value_type = VariableScope)]
    pub scope: Option<String>,
    /// Only secrets (`true`) or only non-secrets (`false`).
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    pub is_secret: Option<String>,
}

/// The variable an alias or an override points to (`VariableAlias`,
/// `VariableOverride`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct LinkedVariable {
    pub id: Uuid,
    pub key: String,
    /// `null` for secrets.
    pub value: Option<String>,
    /// Empty unless the target is a file.
    pub mount_path: String,
    pub scope: VariableScope,
    pub variable_type: VariableType,
}

/// A variable as listed or returned (`VariableResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct VariableResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub key: String,
    /// `null` for secrets, aliases of secrets and overrides of secrets.
    pub value: Option<String>,
    #[serde(default)]
    pub mount_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_variable: Option<LinkedVariable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliased_variable: Option<LinkedVariable>,
    pub scope: VariableScope,
    pub variable_type: VariableType,
    /// The service the variable belongs to, or (built-ins) describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Who manages the variable: always `QOVERY` (the platform), as clients expect.
    #[serde(default)]
    pub owned_by: String,
    pub is_secret: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: bool,
}

/// The request of the legacy creates (`EnvironmentVariableRequest`, `SecretRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct EnvironmentVariableRequest {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub mount_path: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
}

/// The body of the legacy alias creates (`Key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Key)]
#[allow(missing_docs)]
pub struct KeyRequest {
    pub key: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// The body of the legacy override creates (`Value`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Value)]
#[allow(missing_docs)]
pub struct ValueRequest {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: Option<bool>,
}

/// The target of a legacy alias or override (`EnvironmentVariableAlias`,
/// `SecretAlias`, ...): secrets have no `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct LegacyLinkedVariable {
    pub id: Uuid,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub mount_path: String,
    pub scope: VariableScope,
    pub variable_type: VariableType,
}

impl From<LinkedVariable> for LegacyLinkedVariable {
    fn from(l: LinkedVariable) -> Self {
        LegacyLinkedVariable {
            id: l.id,
            key: l.key,
            value: l.value,
            mount_path: l.mount_path,
            scope: l.scope,
            variable_type: l.variable_type,
        }
    }
}

/// A variable as the legacy APIs return it: `EnvironmentVariable` under
/// `/environmentVariable`, `Secret` under `/secret`. The two shapes differ
/// only in the names of the links (`*_variable` or `*_secret`), and a
/// secret's `value` is always `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = EnvironmentVariable)]
#[allow(missing_docs)]
pub struct LegacyVariable {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub key: String,
    /// `null` for secrets.
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub mount_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub enable_interpolation_in_file: bool,
    /// Plain variables: the variable this one overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_variable: Option<LegacyLinkedVariable>,
    /// Plain variables: the variable this one is another name for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliased_variable: Option<LegacyLinkedVariable>,
    /// Secrets: the secret this one overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_secret: Option<LegacyLinkedVariable>,
    /// Secrets: the secret this one is another name for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliased_secret: Option<LegacyLinkedVariable>,
    pub scope: VariableScope,
    pub variable_type: VariableType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    #[serde(default)]
    pub owned_by: String,
}

impl From<VariableResponse> for LegacyVariable {
    fn from(v: VariableResponse) -> Self {
        let secret = v.is_secret;
        let link = |l: LinkedVariable| LegacyLinkedVariable { value: l.value.clone().filter(|_| !secret), ..l.into() };
        let (overridden, aliased) = (v.overridden_variable.map(link), v.aliased_variable.map(link));
        let (overridden_variable, overridden_secret) = if secret { (None, overridden) } else { (overridden, None) };
        let (aliased_variable, aliased_secret) = if secret { (None, aliased) } else { (aliased, None) };
        LegacyVariable {
            id: v.id,
            created_at: v.created_at,
            updated_at: v.updated_at,
            key: v.key,
            value: v.value.filter(|_| !secret),
            mount_path: v.mount_path,
            description: v.description,
            enable_interpolation_in_file: v.enable_interpolation_in_file,
            overridden_variable,
            aliased_variable,
            overridden_secret,
            aliased_secret,
            scope: v.scope,
            variable_type: v.variable_type,
            service_id: v.service_id,
            service_name: v.service_name,
            service_type: v.service_type,
            owned_by: v.owned_by,
        }
    }
}

/// Slipway: one variable of a service's effective environment, as the
/// service would run with it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EffectiveVariable {
    /// The name the service sees.
    pub key: String,
    /// The value after overrides, aliases and interpolation; `null` (masked) for secrets.
    pub value: Option<String>,
    /// Whether the value is a secret.
    pub is_secret: bool,
    /// The scope that decided the value (BUILT_IN, PROJECT, ENVIRONMENT or the service's).
    pub source_scope: VariableScope,
    /// The variable that decided it (an override, an alias, a built-in's stable id...).
    pub variable_id: Uuid,
    /// For file variables: where the file is mounted.
    #[serde(default)]
    pub mount_path: Option<String>,
}

/// How to reach a database as its administrator (`Credentials`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Credentials {
    pub host: String,
    pub port: u16,
    pub login: String,
    pub password: String,
}

/// A version (`Version`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct Version {
    pub name: String,
}
