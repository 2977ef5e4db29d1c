//! Custom domains of applications, containers and helm services, and the
//! result of checking their DNS records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_model::custom_domain::CustomDomain;
use utoipa::ToSchema;
use uuid::Uuid;

/// A custom domain of a service (`CustomDomain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CustomDomain)]
pub struct CustomDomainResponse {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The custom domain.
    pub domain: String,
    /// Whether Slipway gets a certificate for the domain.
    pub generate_certificate: bool,
    /// Whether the domain is behind a CDN (the check then only asks that it
    /// resolves to an address).
    #[serde(default)]
    pub use_cdn: Option<bool>,
    /// The host to point the domain at: create a CNAME record from the
    /// domain to this host at your DNS provider.
    #[serde(default)]
    pub validation_domain: Option<String>,
}

impl CustomDomainResponse {
    /// The response for `domain`, whose service's generated host is `validation_domain`.
    pub fn new(domain: &CustomDomain, validation_domain: String) -> Self {
        CustomDomainResponse {
            id: domain.id,
            created_at: domain.created_at,
            updated_at: domain.updated_at,
            domain: domain.spec.domain.clone(),
            generate_certificate: domain.spec.generate_certificate,
            use_cdn: Some(domain.spec.use_cdn),
            validation_domain: Some(validation_domain),
        }
    }
}

/// What the DNS says of a custom domain (`CheckedCustomDomainStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CheckedCustomDomainStatus)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckedCustomDomainStatus {
    /// The domain has no CNAME to the validation domain but resolves to
    /// addresses (what a domain behind a CDN should do).
    ResolvesToIp,
    /// The domain's CNAME points at its validation domain.
    MatchesLoadBalancerHost,
    /// The domain has no record at all.
    DomainNotConfigured,
    /// The domain's CNAME points at another host.
    DomainLinkedToWrongHost,
    /// The lookup failed; `error_details` says how.
    GenericFailure,
}

/// The check of one custom domain (`CheckedCustomDomainResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckedCustomDomainResponse {
    /// The domain checked.
    pub domain_name: String,
    pub status: CheckedCustomDomainStatus,
    /// What was found instead, or why the check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
}

/// The checks of a service's custom domains (`CheckedCustomDomainsResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckedCustomDomainsResponse {
    pub results: Vec<CheckedCustomDomainResponse>,
}
