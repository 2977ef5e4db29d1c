use serde::{Deserialize, Serialize};

use crate::error::{Validation, ValidationError};
use crate::{Timestamp, validate};
use uuid::Uuid;

/// A project: a group of environments that belong together (an app and its
/// stages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Project {
    /// Checks the user-given fields.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }
}

/// What an environment is for. `PREVIEW` environments are made by Slipway
/// for pull requests and cannot be chosen by a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EnvironmentModeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EnvironmentMode {
    #[default]
    Development,
    Preview,
    Production,
    Staging,
}

impl EnvironmentMode {
    /// Refuses the modes a user may not set by hand.
    pub fn validate_user_choice(self, field: &str) -> Validation {
        if self == EnvironmentMode::Preview {
            return Err(ValidationError::new(
                field,
                "must be DEVELOPMENT, STAGING or PRODUCTION: preview environments are created by Slipway",
            ));
        }
        Ok(())
    }
}

/// An environment: a set of services deployed together on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub cluster_id: Uuid,
    pub name: String,
    pub mode: EnvironmentMode,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Environment {
    /// Checks the user-given fields.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_mode_is_not_a_user_choice() {
        assert!(EnvironmentMode::Staging.validate_user_choice("mode").is_ok());
        assert!(EnvironmentMode::Preview.validate_user_choice("mode").is_err());
    }
}
