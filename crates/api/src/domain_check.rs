//! Checking a custom domain's DNS records: does its CNAME point at the
//! service's validation domain?
//!
//! Each check builds a fresh resolver, so that a record the user just fixed
//! is seen at once rather than after a cached negative answer expires.
//! Names are queried fully qualified, so that the system's search domains
//! never turn `shop.example.com` into `shop.example.com.corp.internal`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use slipway_api_types::{CheckedCustomDomainResponse, CheckedCustomDomainStatus};

/// The longest CNAME chain followed from a custom domain.
const MAX_CNAME_HOPS: usize = 8;

/// Where custom domains are looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DnsResolver {
    /// The system's resolvers (`/etc/resolv.conf`).
    #[default]
    System,
    /// One DNS server, over UDP (and TCP for long answers).
    Server(SocketAddr),
}

impl DnsResolver {
    fn build(&self) -> Result<TokioResolver, String> {
        let mut builder = match self {
            DnsResolver::System => TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
            DnsResolver::Server(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
                .with_options(ResolverOpts::default())
            }
        };
        let options = builder.options_mut();
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        options.cache_size = 0;
        builder.build().map_err(|e| format!("cannot set up the DNS resolver: {e}"))
    }

    /// Checks each `(domain, validation domain, behind a CDN)`, concurrently,
    /// in the order given.
    pub async fn check_all(&self, domains: &[(String, String, bool)]) -> Vec<CheckedCustomDomainResponse> {
        let resolver = match self.build() {
            Ok(r) => r,
            Err(why) => {
                return domains
                    .iter()
                    .map(|(domain, _, _)| checked(domain, CheckedCustomDomainStatus::GenericFailure, Some(why.clone())))
                    .collect();
            }
        };
        let checks = domains.iter().map(|(domain, validation, cdn)| check(&resolver, domain, validation, *cdn));
        futures_util::future::join_all(checks).await
    }
}

fn checked(domain: &str, status: CheckedCustomDomainStatus, details: Option<String>) -> CheckedCustomDomainResponse {
    CheckedCustomDomainResponse { domain_name: domain.to_owned(), status, error_details: details }
}

/// A host name as compared: lower case, without the final dot.
fn normalized(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `name` as a fully qualified query name.
fn fqdn(name: &str) -> String {
    format!("{}.", normalized(name))
}

/// What the DNS answered for one name and record type.
enum Answer<T> {
    Found(T),
    Nothing,
    Failed(String),
}

/// The CNAME target of `name`, if it has one.
async fn cname(resolver: &TokioResolver, name: &str) -> Answer<String> {
    match resolver.lookup(fqdn(name), RecordType::CNAME).await {
        Ok(lookup) => {
            let target = lookup.answers().iter().find_map(|r| match &r.data {
                RData::CNAME(target) if normalized(&r.name.to_ascii()) == normalized(name) => {
                    Some(normalized(&target.0.to_ascii()))
                }
                _ => None,
            });
            target.map_or(Answer::Nothing, Answer::Found)
        }
        Err(e) => no_records_or(e),
    }
}

/// The addresses `name` resolves to (following CNAMEs).
async fn addresses(resolver: &TokioResolver, name: &str) -> Answer<Vec<String>> {
    match resolver.lookup_ip(fqdn(name)).await {
        Ok(ips) => {
            let ips: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
            if ips.is_empty() { Answer::Nothing } else { Answer::Found(ips) }
        }
        Err(e) => no_records_or(e),
    }
}

fn no_records_or<T>(err: NetError) -> Answer<T> {
    if err.is_no_records_found() || err.is_nx_domain() {
        Answer::Nothing
    } else {
        Answer::Failed(format!("DNS lookup failed: {err}"))
    }
}

/// Checks one domain: a CNAME chain reaching `validation` matches; behind a
/// CDN, resolving to addresses is enough.
async fn check(resolver: &TokioResolver, domain: &str, validation: &str, cdn: bool) -> CheckedCustomDomainResponse {
    use CheckedCustomDomainStatus as S;
    let wanted = normalized(validation);
    let mut chain: Vec<String> = Vec::new();
    let mut name = normalized(domain);
    while chain.len() < MAX_CNAME_HOPS {
        match cname(resolver, &name).await {
            Answer::Found(target) if target == wanted => return checked(domain, S::MatchesLoadBalancerHost, None),
            Answer::Found(target) if chain.contains(&target) => break,
            Answer::Found(target) => {
                chain.push(target.clone());
                name = target;
            }
            Answer::Nothing => break,
            Answer::Failed(why) => return checked(domain, S::GenericFailure, Some(why)),
        }
    }
    let ips = match addresses(resolver, domain).await {
        Answer::Found(ips) => Some(ips),
        Answer::Nothing => None,
        Answer::Failed(why) if chain.is_empty() => return checked(domain, S::GenericFailure, Some(why)),
        Answer::Failed(_) => None,
    };
    match (chain.first(), ips) {
        (_, Some(_)) if cdn => checked(domain, S::ResolvesToIp, None),
        (Some(target), _) => checked(
            domain,
            S::DomainLinkedToWrongHost,
            Some(format!("the CNAME record points at `{target}`; point it at `{wanted}`")),
        ),
        (None, Some(ips)) => checked(
            domain,
            S::ResolvesToIp,
            Some(format!(
                "the domain resolves to {} without a CNAME record; create a CNAME record to `{wanted}`",
                ips.join(", ")
            )),
        ),
        (None, None) => checked(
            domain,
            S::DomainNotConfigured,
            Some(format!("the domain has no DNS record; create a CNAME record to `{wanted}`")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_or_final_dot() {
        assert_eq!(normalized("Web-Z1.Example.COM."), "web-z1.example.com");
        assert_eq!(fqdn("shop.example.com"), "shop.example.com.");
        assert_eq!(fqdn("shop.example.com."), "shop.example.com.");
    }
}
