//! The names Slipway derives from ids and names: host names on an
//! environment's network, public host names on the edge, engine object
//! names. One place, so that the engine, the edge, the built-in variables and
//! the API always agree.

use uuid::Uuid;

use crate::service::ServiceType;

/// A DNS label made from a name: lower-case letters, digits and `-`, at most
/// 40 characters, never empty.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(40).collect();
    let trimmed = trimmed.trim_end_matches('-').to_owned();
    if trimmed.is_empty() { "service".to_owned() } else { trimmed }
}

/// `z` and the first 8 hex digits of an id, lower-case: the DNS form of
/// [`crate::short_id`].
pub fn short_dns(id: Uuid) -> String {
    crate::short_id(id).to_lowercase()
}

/// The service's host name on its environment's private network (the value
/// of its `QOVERY_<TYPE>_Z<ID8>_HOST_INTERNAL` built-in variable).
pub fn host_internal(kind: ServiceType, id: Uuid, name: &str) -> String {
    match kind {
        ServiceType::Database => format!("{}-{}", short_dns(id), slug(name)),
        ServiceType::Job => format!("job-{}-{}", short_dns(id), slug(name)),
        _ => format!("app-{}-{}", short_dns(id), slug(name)),
    }
}

/// The service's generated public host name on the edge:
/// `<name>-z<ID8>.<base domain>`.
pub fn public_host(id: Uuid, name: &str, base_domain: &str) -> String {
    format!("{}-{}.{}", slug(name), short_dns(id), base_domain.trim_matches('.'))
}

/// The engine network of an environment.
pub fn environment_network(environment_id: Uuid) -> String {
    format!("slipway-{}", environment_id.simple())
}

/// The engine volume behind one storage entry of a service; it outlives
/// deploys and is removed with the service.
pub fn volume(service_id: Uuid, storage_id: Uuid) -> String {
    format!("slipway-{}-{}", short_dns(service_id), storage_id.simple())
}

/// The engine name of one instance: the service, the rollout that started
/// it (a short token, so that a restart of the same release can run beside
/// the old instances) and its replica index.
pub fn instance(service_id: Uuid, name: &str, rollout: &str, replica: u32) -> String {
    format!("slipway-{}-{}-{rollout}-{replica}", slug(name), short_dns(service_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Uuid {
        "0430_8de2-0000-4000-8000-000000000001".replace('_', "").parse().unwrap()
    }

    #[test]
    fn slugs_are_dns_labels() {
        assert_eq!(slug("Back End"), "back-end");
        assert_eq!(slug("  api__v2!! "), "api-v2");
        assert_eq!(slug("Ünïcode"), "n-code");
        assert_eq!(slug("---"), "service");
        assert!(slug(&"x".repeat(100)).len() <= 40);
    }

    #[test]
    fn internal_hosts_follow_the_contract_shape() {
        assert_eq!(host_internal(ServiceType::Application, id(), "back-end"), "app-z04308de2-back-end");
        assert_eq!(host_internal(ServiceType::Database, id(), "postgresql"), "z04308de2-postgresql");
    }

    #[test]
    fn public_hosts_live_under_the_base_domain() {
        assert_eq!(public_host(id(), "Web", "localhost"), "web-z04308de2.localhost");
        assert_eq!(public_host(id(), "web", ".apps.example.com."), "web-z04308de2.apps.example.com");
    }
}
