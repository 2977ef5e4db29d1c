//! Variables: what a user sets at project, environment and service scope,
//! what Slipway provides (built-in), and how they resolve into the
//! environment of one service.
//!
//! Resolution is pure and happens in one place ([`resolve`]): precedence
//! service > environment > project > built-in, overrides replace a broader
//! scope's value for the narrower scope, aliases give a value a second name,
//! and `{{VAR}}` interpolates once (no nesting; an unknown name becomes empty).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Validation, ValidationError};
use crate::service::ServiceType;
use crate::{Timestamp, validate};

/// Where a variable is defined (`APIVariableScopeEnum`, minus the kinds
/// Slipway does not run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = APIVariableScopeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum VariableScope {
    BuiltIn,
    Project,
    Environment,
    Application,
    Container,
    Job,
    Helm,
    Terraform,
}

impl VariableScope {
    /// How specific the scope is: built-in 0, project 1, environment 2, service 3.
    pub fn rank(self) -> u8 {
        match self {
            VariableScope::BuiltIn => 0,
            VariableScope::Project => 1,
            VariableScope::Environment => 2,
            _ => 3,
        }
    }

    /// The service scope of a service kind; databases have no variables.
    pub fn of_service(kind: ServiceType) -> Option<VariableScope> {
        match kind {
            ServiceType::Application => Some(VariableScope::Application),
            ServiceType::Container => Some(VariableScope::Container),
            ServiceType::Job => Some(VariableScope::Job),
            ServiceType::Helm => Some(VariableScope::Helm),
            ServiceType::Terraform => Some(VariableScope::Terraform),
            ServiceType::Database => None,
        }
    }

    /// Whether this is a service's scope.
    pub fn is_service(self) -> bool {
        self.rank() == 3
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            VariableScope::BuiltIn => "BUILT_IN",
            VariableScope::Project => "PROJECT",
            VariableScope::Environment => "ENVIRONMENT",
            VariableScope::Application => "APPLICATION",
            VariableScope::Container => "CONTAINER",
            VariableScope::Job => "JOB",
            VariableScope::Helm => "HELM",
            VariableScope::Terraform => "TERRAFORM",
        }
    }
}

/// What a variable is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "target", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VariableKind {
    /// A value of its own.
    Value,
    /// Another name for the variable `target` (same or broader scope).
    Alias(Uuid),
    /// A value replacing that of `target` (a broader scope) for this scope.
    Override(Uuid),
}

/// A variable's value as stored: plain text, or sealed (encrypted) for
/// secrets. Aliases carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", content = "text", rename_all = "snake_case")]
pub enum StoredValue {
    /// Plain text.
    Plain(String),
    /// Ciphertext from the server's secret box; never leaves the server.
    Sealed(String),
    /// No value (aliases).
    None,
}

/// A user-defined variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The scope it is defined at.
    pub scope: VariableScope,
    /// The project, environment or service it belongs to.
    pub parent_id: Uuid,
    pub key: String,
    pub value: StoredValue,
    pub is_secret: bool,
    pub kind: VariableKind,
    /// Set for file variables: the value is mounted as a file at this path.
    #[serde(default)]
    pub mount_path: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// For file variables: interpolate `{{VAR}}` in the file's content.
    #[serde(default)]
    pub enable_interpolation_in_file: bool,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// The prefix reserved for built-in variables.
pub const RESERVED_PREFIX: &str = "QOVERY_";

/// Largest accepted value, in bytes.
pub const MAX_VALUE_LEN: usize = 256 * 1024;

/// Whether `key` is a POSIX environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a user variable's name: POSIX environment variable rules
/// (`[A-Za-z_][A-Za-z0-9_]*`), and not the `QOVERY_` prefix of built-ins.
pub fn validate_key(field: &str, key: &str) -> Validation {
    if !is_env_name(key) || key.len() > 255 {
        return Err(ValidationError::new(
            field,
            format!(
                "must be an environment variable name (letters, digits and `_`, not starting with a digit), got `{key}`"
            ),
        ));
    }
    if key.to_ascii_uppercase().starts_with(RESERVED_PREFIX) {
        return Err(ValidationError::new(
            field,
            format!("must not start with `{RESERVED_PREFIX}`: that prefix is reserved for built-in variables"),
        ));
    }
    Ok(())
}

impl Variable {
    /// Checks the user-given fields.
    pub fn validate(&self) -> Validation {
        validate_key("key", &self.key)?;
        if self.scope == VariableScope::BuiltIn {
            return Err(ValidationError::new(
                "variable_scope",
                "BUILT_IN variables are Slipway's; choose another scope",
            ));
        }
        if let StoredValue::Plain(v) | StoredValue::Sealed(v) = &self.value
            && v.len() > MAX_VALUE_LEN
        {
            return Err(ValidationError::new("value", format!("must be at most {MAX_VALUE_LEN} bytes")));
        }
        if let Some(path) = &self.mount_path {
            validate::absolute_path("mount_path", path)?;
            if path.ends_with('/') {
                return Err(ValidationError::new("mount_path", "must name a file, not a directory"));
            }
        }
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }

    /// The wire type (`APIVariableTypeEnum`).
    pub fn type_name(&self) -> &'static str {
        match (self.kind, &self.mount_path) {
            (VariableKind::Alias(_), _) => "ALIAS",
            (VariableKind::Override(_), _) => "OVERRIDE",
            (VariableKind::Value, Some(_)) => "FILE",
            (VariableKind::Value, None) => "VALUE",
        }
    }
}

/// A variable with its value in clear, as resolution takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub id: Uuid,
    pub scope: VariableScope,
    pub key: String,
    /// Plain text; empty for aliases.
    pub value: String,
    pub is_secret: bool,
    pub kind: VariableKind,
    pub mount_path: Option<String>,
    pub interpolate_file: bool,
}

/// One variable of a service's effective environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    pub key: String,
    pub value: String,
    pub is_secret: bool,
    /// The scope that decided the value.
    pub source: VariableScope,
    /// The variable that decided it.
    pub variable_id: Uuid,
    /// For file variables: where the file goes.
    pub mount_path: Option<String>,
}

/// Why a set of variables cannot resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// An alias or override names a variable that is not visible here.
    #[error("variable `{key}` refers to a variable that does not exist in its scope or a broader one")]
    DanglingReference {
        /// The alias or override's key.
        key: String,
    },
}

/// The effective variables of one service: built-ins, then project,
/// environment and service variables (each scope replacing the broader ones
/// for the same key), overrides applied, aliases added, then `{{VAR}}`
/// interpolated once. `inputs` may be in any order.
pub fn resolve(inputs: &[Input]) -> Result<BTreeMap<String, Effective>, ResolveError> {
    let by_id: BTreeMap<Uuid, &Input> = inputs.iter().map(|v| (v.id, v)).collect();
    let mut ordered: Vec<&Input> = inputs.iter().collect();
    ordered.sort_by_key(|v| (v.scope.rank(), matches!(v.kind, VariableKind::Alias(_))));
    let mut out: BTreeMap<String, Effective> = BTreeMap::new();
    let mut interpolate: BTreeMap<String, bool> = BTreeMap::new();
    for v in ordered {
        let entry = match v.kind {
            VariableKind::Value => Effective {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
                source: v.scope,
                variable_id: v.id,
                mount_path: v.mount_path.clone(),
            },
            VariableKind::Override(target) => {
                let t = by_id.get(&target).ok_or_else(|| ResolveError::DanglingReference { key: v.key.clone() })?;
                Effective {
                    key: t.key.clone(),
                    value: v.value.clone(),
                    is_secret: v.is_secret || t.is_secret,
                    source: v.scope,
                    variable_id: v.id,
                    mount_path: t.mount_path.clone(),
                }
            }
            VariableKind::Alias(target) => {
                let t = by_id.get(&target).ok_or_else(|| ResolveError::DanglingReference { key: v.key.clone() })?;
                // The alias takes the value its target has here, overrides included.
                let current = out.get(&t.key).cloned();
                let (value, is_secret) = match current {
                    Some(c) => (c.value, c.is_secret),
                    None => (t.value.clone(), t.is_secret),
                };
                Effective {
                    key: v.key.clone(),
                    value,
                    is_secret,
                    source: v.scope,
                    variable_id: v.id,
                    mount_path: v.mount_path.clone(),
                }
            }
        };
        let file = entry.mount_path.is_some();
        interpolate.insert(entry.key.clone(), !file || v.interpolate_file);
        out.insert(entry.key.clone(), entry);
    }
    let raw: BTreeMap<String, String> = out.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect();
    for (key, entry) in out.iter_mut() {
        if interpolate.get(key).copied().unwrap_or(true) && entry.value.contains("{{") {
            entry.value = interpolated(&entry.value, &raw);
        }
    }
    Ok(out)
}

/// Replaces each `{{NAME}}` by the raw value of `NAME` (empty when unknown).
pub fn interpolated(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                out.push_str(values.get(name).map(String::as_str).unwrap_or(""));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a secret's value becomes in logs.
pub const MASK: &str = "***";

/// Secret values shorter than this are not masked in logs: masking every
/// `1` or `on` would garble lines and protect nothing.
pub const MIN_MASKED_LEN: usize = 4;

/// `line` with every occurrence of each of `secrets` replaced by [`MASK`].
/// `secrets` should be sorted longest first, so that a secret containing
/// another is masked whole.
pub fn redact<'a>(line: &'a str, secrets: &[String]) -> std::borrow::Cow<'a, str> {
    let mut out = std::borrow::Cow::Borrowed(line);
    for secret in secrets.iter().filter(|s| s.len() >= MIN_MASKED_LEN) {
        if out.contains(secret.as_str()) {
            out = std::borrow::Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Orders secrets for [`redact`]: longest first, no duplicates.
pub fn masking_order(mut secrets: Vec<String>) -> Vec<String> {
    secrets.retain(|s| s.len() >= MIN_MASKED_LEN);
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    secrets.dedup();
    secrets
}

/// The stable id of a built-in variable of an environment, so that aliases
/// can name it and listings show the same id every time.
pub fn builtin_id(environment_id: Uuid, key: &str) -> Uuid {
    Uuid::new_v5(&environment_id, key.as_bytes())
}

/// Parses `.env` text: `KEY=value` lines, `#` comments, blank lines,
/// optional `export `, and single- or double-quoted values (`\n`, `\"` and
/// `\\` unescaped in double quotes). Errors name the line.
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, ValidationError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let field = format!("line {}", n + 1);
        let (key, value) = line.split_once('=').ok_or_else(|| ValidationError::new(&field, "must be `KEY=value`"))?;
        let key = key.trim();
        validate_key(&field, key)?;
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            inner.replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\")
        } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_owned()
        } else {
            value.split(" #").next().unwrap_or("").trim_end().to_owned()
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_masks_every_secret_longest_first() {
        let secrets = masking_order(vec!["abcd".into(), "xxabcdxx".into(), "ok".into(), "abcd".into()]);
        assert_eq!(secrets, vec!["xxabcdxx".to_owned(), "abcd".to_owned()]);
        assert_eq!(redact("pw=xxabcdxx and abcd, ok", &secrets), "pw=*** and ***, ok");
        assert!(matches!(redact("nothing here", &secrets), std::borrow::Cow::Borrowed(_)));
    }

    fn input(scope: VariableScope, key: &str, value: &str) -> Input {
        Input {
            id: crate::new_id(),
            scope,
            key: key.into(),
            value: value.into(),
            is_secret: false,
            kind: VariableKind::Value,
            mount_path: None,
            interpolate_file: false,
        }
    }

    #[test]
    fn keys_follow_posix_and_keep_the_reserved_prefix() {
        assert!(validate_key("key", "DATABASE_URL").is_ok());
        assert!(validate_key("key", "_private1").is_ok());
        for bad in ["", "1ABC", "A-B", "A B", "é"] {
            assert!(validate_key("key", bad).is_err(), "{bad}");
        }
        assert!(validate_key("key", "QOVERY_X").unwrap_err().rule.contains("reserved"));
        assert!(validate_key("key", "qovery_x").is_err());
    }

    #[test]
    fn narrower_scopes_win_and_builtins_lose() {
        let vars = vec![
            input(VariableScope::Application, "LEVEL", "service"),
            input(VariableScope::Project, "LEVEL", "project"),
            input(VariableScope::BuiltIn, "QOVERY_ENVIRONMENT_ID", "env-1"),
            input(VariableScope::Environment, "LEVEL", "environment"),
            input(VariableScope::Project, "ONLY_PROJECT", "p"),
        ];
        let out = resolve(&vars).unwrap();
        assert_eq!(out["LEVEL"].value, "service");
        assert_eq!(out["LEVEL"].source, VariableScope::Application);
        assert_eq!(out["ONLY_PROJECT"].value, "p");
        assert_eq!(out["QOVERY_ENVIRONMENT_ID"].source, VariableScope::BuiltIn);
    }

    #[test]
    fn overrides_and_aliases_follow_their_targets() {
        let db = input(VariableScope::BuiltIn, "QOVERY_POSTGRESQL_ZABC_DATABASE_URL", "postgres://a");
        let mut alias = input(VariableScope::Environment, "DATABASE_URL", "");
        alias.kind = VariableKind::Alias(db.id);
        let project = input(VariableScope::Project, "MODE", "prod");
        let mut over = input(VariableScope::Application, "ignored", "debug");
        over.kind = VariableKind::Override(project.id);
        let out = resolve(&[alias, db, project, over]).unwrap();
        assert_eq!(out["DATABASE_URL"].value, "postgres://a");
        assert_eq!(out["MODE"].value, "debug");
        assert_eq!(out["MODE"].source, VariableScope::Application);
        let mut dangling = input(VariableScope::Environment, "X", "");
        dangling.kind = VariableKind::Alias(crate::new_id());
        assert!(resolve(&[dangling]).is_err());
    }

    #[test]
    fn interpolation_is_one_level_and_unknown_names_are_empty() {
        let vars = vec![
            input(VariableScope::Project, "HOST", "db.internal"),
            input(VariableScope::Project, "URL", "postgres://{{HOST}}:5432/{{ MISSING }}x"),
            input(VariableScope::Project, "NESTED", "<{{URL}}>"),
        ];
        let out = resolve(&vars).unwrap();
        assert_eq!(out["URL"].value, "postgres://db.internal:5432/x");
        assert_eq!(out["NESTED"].value, "<postgres://{{HOST}}:5432/{{ MISSING }}x>", "no nesting");
    }

    #[test]
    fn dotenv_files_parse_with_quotes_comments_and_exports() {
        let parsed =
            parse_dotenv("# comment\nA=1\nexport B=\"two\\nlines\"\nC='raw $x'\n\nD=plain # trailing\n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two\nlines".into()),
                ("C".into(), "raw $x".into()),
                ("D".into(), "plain".into())
            ]
        );
        assert_eq!(parse_dotenv("A=1\nnot a pair\n").unwrap_err().field, "line 2");
        assert!(parse_dotenv("QOVERY_X=1").is_err());
    }
}
