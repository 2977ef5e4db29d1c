use serde::{Deserialize, Serialize};

use crate::error::{Validation, ValidationError};
use crate::{Timestamp, validate};
use uuid::Uuid;

/// Billing plans named by the API contract. Slipway has no billing; every
/// organization it creates is on `ENTERPRISE` so that no feature is gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Plan {
    Free,
    Team,
    TeamYearly,
    #[default]
    Enterprise,
    EnterpriseYearly,
    Professional,
    Business,
    #[serde(rename = "USER_2025")]
    User2025,
    #[serde(rename = "TEAM_2025")]
    Team2025,
    #[serde(rename = "BUSINESS_2025")]
    Business2025,
    #[serde(rename = "ENTERPRISE_2025")]
    Enterprise2025,
}

/// The editable part of an organization (`OrganizationEditRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OrganizationEditRequest))]
pub struct OrganizationSpec {
    /// Display name, unique on this Slipway server.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub website_url: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub icon_url: Option<String>,
    #[serde(default)]
    pub admin_emails: Option<Vec<String>>,
}

impl OrganizationSpec {
    /// Checks every field.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        for (field, value) in [
            ("website_url", &self.website_url),
            ("repository", &self.repository),
            ("logo_url", &self.logo_url),
            ("icon_url", &self.icon_url),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                validate::http_url(field, v)?;
            }
        }
        if let Some(emails) = &self.admin_emails {
            validate::each("admin_emails", emails, |e| {
                let ok = e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
                if ok { Ok(()) } else { Err(ValidationError::new("", format!("must be an e-mail address, got `{e}`"))) }
            })?;
        }
        Ok(())
    }
}

/// An organization: the tenant that owns clusters, registries, projects and
/// API tokens. Nothing crosses from one organization to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub plan: Plan,
    #[serde(flatten)]
    pub spec: OrganizationSpec,
}

impl Organization {
    /// A new organization with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            id: crate::new_id(),
            created_at: crate::now(),
            updated_at: None,
            plan: Plan::default(),
            spec: OrganizationSpec {
                name: name.into(),
                description: None,
                website_url: None,
                repository: None,
                logo_url: None,
                icon_url: None,
                admin_emails: None,
            },
        }
    }
}

/// The roles a member or API token can hold, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Everything, including the organization itself.
    Owner,
    /// Everything inside the organization.
    Admin,
    /// Deploys and edits services; cannot manage tokens or clusters.
    Developer,
    /// Reads only.
    Viewer,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Developer, Role::Viewer];

    /// The role's name on the wire (`ADMIN`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Developer => "DEVELOPER",
            Role::Viewer => "VIEWER",
        }
    }

    /// The stable id the API uses for this built-in role (`role_id`).
    /// Fixed values, so that scripts can hard-code them across servers.
    pub fn id(self) -> Uuid {
        let n = match self {
            Role::Owner => 1,
            Role::Admin => 2,
            Role::Developer => 3,
            Role::Viewer => 4,
        };
        uuid::Uuid::from_u128(0x5119_0a7e_0000_4000_8000_0000_0000_0000 | n)
    }

    /// The role with this id, if it is one.
    pub fn from_id(id: Uuid) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// An organization API token. The secret itself is never stored: the store
/// keeps only its SHA-256 digest, and the token is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl ApiToken {
    /// Checks the user-given fields.
    pub fn validate(&self) -> Validation {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_are_stable_and_distinct() {
        let ids: std::collections::HashSet<_> = Role::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), 4);
        for r in Role::ALL {
            assert_eq!(Role::from_id(r.id()), Some(r));
        }
        assert_eq!(Role::Admin.id().to_string(), "51190a7e-0000-4000-8000-000000000002");
    }

    #[test]
    fn organization_refuses_bad_urls_and_emails() {
        let mut spec = Organization::new("acme").spec;
        assert!(spec.validate().is_ok());
        spec.website_url = Some("not a url".into());
        assert_eq!(spec.validate().unwrap_err().field, "website_url");
        spec.website_url = None;
        spec.admin_emails = Some(vec!["ops@acme.dev".into(), "nobody".into()]);
        assert_eq!(spec.validate().unwrap_err().field, "admin_emails[1]");
    }
}
