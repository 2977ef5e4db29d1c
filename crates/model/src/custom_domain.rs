//! Custom domains: host names of the user's own that reach a service on the
//! edge, beside its generated `<name>-z<ID8>.<base domain>`.
//!
//! A custom domain belongs to one application, container or helm service and
//! is unique across the whole installation (two services cannot both answer
//! for one host). The user points it at the service with a CNAME record to
//! the service's generated host, its *validation domain*; the edge routes it
//! to the same backends as the service's default public port.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Validation, ValidationError};
use crate::service::ServiceType;
use crate::{Service, Timestamp, naming};

/// The longest host name DNS allows (without the final dot).
pub const MAX_DOMAIN_LEN: usize = 253;

/// What a user asks for (`CustomDomainRequest`): the request body of create
/// and edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CustomDomainRequest))]
#[serde(deny_unknown_fields)]
pub struct CustomDomainSpec {
    /// The custom domain, such as `shop.example.com`.
    pub domain: String,
    /// Whether Slipway gets a certificate for the domain (default `true`);
    /// `false` when a CDN or another proxy in front terminates TLS.
    #[serde(default = "yes")]
    pub generate_certificate: bool,
    /// Whether the domain is behind a CDN: the check then only asks that it
    /// resolves to an address, not that it points at the service.
    #[serde(default, deserialize_with = "null_is_false")]
    pub use_cdn: bool,
}

fn yes() -> bool {
    true
}

fn null_is_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl CustomDomainSpec {
    /// Normalizes the domain (lower case, no final dot) and checks it.
    /// `base_domain` is the suffix of generated host names: a custom domain
    /// may not sit under it, or it could take over another service's host.
    pub fn prepare(&mut self, base_domain: &str) -> Validation {
        let domain = self.domain.trim();
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        self.domain = domain.to_ascii_lowercase();
        host_name("domain", &self.domain)?;
        let base = base_domain.trim_matches('.').to_ascii_lowercase();
        if !base.is_empty() && (self.domain == base || self.domain.ends_with(&format!(".{base}"))) {
            return Err(ValidationError::new(
                "domain",
                format!("must not be `{base}` or under it: Slipway generates the host names there"),
            ));
        }
        Ok(())
    }
}

/// A custom domain of a service, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDomain {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The application, container or helm service it reaches.
    pub service_id: Uuid,
    pub spec: CustomDomainSpec,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

impl CustomDomain {
    /// Whether services of `kind` take custom domains.
    pub fn applies_to(kind: ServiceType) -> bool {
        matches!(kind, ServiceType::Application | ServiceType::Container | ServiceType::Helm)
    }

    /// The host the domain's CNAME record must point at: the service's
    /// generated public host.
    pub fn validation_domain(service: &Service, base_domain: &str) -> String {
        naming::public_host(service.id, service.name(), base_domain)
    }
}

/// A fully qualified host name: 2 to 127 labels of lower-case letters,
/// digits and inner `-`, each at most 63 characters, at most 253 in all; the
/// last label not all digits (no IP addresses), and no wildcards.
pub fn host_name(field: &str, value: &str) -> Validation {
    let refuse = |rule: String| Err(ValidationError::new(field, rule));
    if value.is_empty() {
        return refuse("must not be empty".into());
    }
    if value.len() > MAX_DOMAIN_LEN {
        return refuse(format!("must be at most {MAX_DOMAIN_LEN} characters"));
    }
    if value.contains('*') {
        return refuse(format!("must be one host name; wildcards are not supported, got `{value}`"));
    }
    let labels: Vec<&str> = value.split('.').collect();
    if labels.len() < 2 {
        return refuse(format!("must be a fully qualified domain name such as `shop.example.com`, got `{value}`"));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return refuse(format!(
                "must be a host name of dot-separated labels of 1 to 63 letters, digits or inner `-`, got `{value}`"
            ));
        }
    }
    if labels.last().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit())) {
        return refuse(format!("must be a host name, not an IP address, got `{value}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(domain: &str) -> CustomDomainSpec {
        CustomDomainSpec { domain: domain.into(), generate_certificate: true, use_cdn: false }
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        let mut s = spec(" Shop.Example.COM. ");
        s.prepare("localhost").unwrap();
        assert_eq!(s.domain, "shop.example.com");
        for ok in ["a.b", "xn--bcher-kva.example", "a-1.b-2.example.org", "x.y.z.w.example"] {
            assert!(spec(ok).prepare("localhost").is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_domains_are_refused_naming_the_field() {
        let long = format!("{}.example.com", "a".repeat(64));
        let too_long = format!("{}.com", ["a"; 130].join("."));
        for bad in
            ["", "shop", "*.example.com", "-a.example.com", "a-.example.com", "a..b", "a_b.example", "10.0.0.1", &long]
        {
            let err = spec(bad).prepare("localhost").unwrap_err();
            assert_eq!(err.field, "domain", "{bad}");
        }
        assert!(spec(&too_long).prepare("localhost").unwrap_err().rule.contains("253"));
        assert!(spec("exämple.com").prepare("localhost").is_err());
    }

    #[test]
    fn domains_under_the_base_domain_are_refused() {
        let err = spec("web-z12345678.apps.example.com").prepare(".apps.example.com.").unwrap_err();
        assert!(err.rule.contains("apps.example.com"), "{err}");
        assert!(spec("apps.example.com").prepare("apps.example.com").is_err());
        assert!(spec("myapps.example.com").prepare("apps.example.com").is_ok());
    }

    #[test]
    fn requests_default_like_the_contract() {
        let s: CustomDomainSpec = serde_json::from_str(r#"{"domain": "a.example"}"#).unwrap();
        assert!(s.generate_certificate && !s.use_cdn);
        let s: CustomDomainSpec = serde_json::from_str(r#"{"domain": "a.example", "use_cdn": null}"#).unwrap();
        assert!(!s.use_cdn);
        assert!(serde_json::from_str::<CustomDomainSpec>(r#"{"domain": "a.example", "cdn": true}"#).is_err());
    }

    #[test]
    fn only_services_with_public_http_take_custom_domains() {
        assert!(CustomDomain::applies_to(ServiceType::Container));
        assert!(!CustomDomain::applies_to(ServiceType::Database));
        assert!(!CustomDomain::applies_to(ServiceType::Job));
    }
}
