//! HTTPS for the edge: certificates chosen by SNI, from Slipway's local CA or from an ACME CA.
//!
//! - **Local CA** ([`ca`]): for `localhost`, `*.localhost` and the configured dev domains. The CA is made
//!   once and kept in the [`CertificateStore`]; leaf certificates are issued in the TLS handshake for the
//!   name the client asked for (SNI) and cached in memory. Users trust the CA once (`slipway ca export`).
//! - **ACME** ([`acme`]): for every other host that has a route. A background task orders a certificate
//!   with an HTTP-01 challenge that the plain listener answers itself, stores it, and renews it when less
//!   than [`TlsConfig::renew_remaining_fraction`] of its lifetime is left.
//!
//! The plain listener asks [`Tls::intercept`] first: ACME challenge answers, then (when enabled) the
//! redirect to HTTPS for hosts that have a certificate. Everything else goes to the proxy, which sets
//! `X-Forwarded-Proto` from the listener the request came in on.
//!
//! Certificates are looked up under a `std::sync` lock in the handshake (rustls resolves synchronously);
//! issuing a local-CA leaf is one ECDSA P-256 signature. ACME work runs in its own task, one order at a
//! time, and never holds a lock across an `.await`.

mod acme;
mod ca;
mod certificate;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::body::EdgeBody;
use crate::host::{HostName, request_host};
use crate::table::Router;
use crate::{Edge, listener};

pub use certificate::CertificateInfo;
pub use store::{CertificateStore, MemoryCertificateStore, StoreError, StoredCertificate};

use ca::LocalCa;
use certificate::Served;

/// Where ACME challenges are answered on the plain listener.
const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Name of the local CA in the [`CertificateStore`] (never a host name: `@` is not allowed in one).
pub const LOCAL_CA_NAME: &str = "@local-ca";
/// Name of the ACME account credentials in the [`CertificateStore`].
pub const ACME_ACCOUNT_NAME: &str = "@acme-account";

/// What went wrong setting up or running TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate store failed.
    #[error("certificate store: {0}")]
    Store(#[from] StoreError),
    /// A certificate or key could not be made or read.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The ACME server refused or failed.
    #[error("ACME: {0}")]
    Acme(String),
}

/// How the edge gets certificates. `TlsConfig::default()` serves `localhost` and `*.localhost` from the
/// local CA, with no ACME and no redirect.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    /// Domains served by the local CA: each name and its subdomains (default `localhost`).
    pub dev_domains: Vec<String>,
    /// The ACME CA for every other routed host; `None` serves those hosts over plain HTTP only.
    pub acme: Option<AcmeConfig>,
    /// Answer plain-HTTP requests for hosts that have a certificate with a 308 to HTTPS (default off).
    pub https_redirect: bool,
    /// The HTTPS port put in redirects when users reach the edge on another port than it listens on.
    pub public_https_port: Option<u16>,
    /// Renew an ACME certificate when less than this part of its lifetime is left (default 1/3).
    pub renew_remaining_fraction: f64,
    /// How often certificates are checked for renewal (default 1 h); new routes are handled at once.
    pub renewal_check_interval: Duration,
    /// How long a host whose order failed waits before the next attempt (default 10 min).
    pub retry_after_failure: Duration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            dev_domains: vec!["localhost".to_owned()],
            acme: None,
            https_redirect: false,
            public_https_port: None,
            renew_remaining_fraction: 1.0 / 3.0,
            renewal_check_interval: Duration::from_secs(3600),
            retry_after_failure: Duration::from_secs(600),
        }
    }
}

/// An ACME certificate authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    /// The directory URL (e.g. Let's Encrypt's).
    pub directory_url: String,
    /// A contact email for the account, if any.
    pub contact_email: Option<String>,
    /// A PEM root that verifies the ACME server's HTTPS (for test or private CAs); `None` uses the
    /// usual web roots.
    pub ca_file: Option<PathBuf>,
}

/// The TLS state of an edge: certificates, challenges, and the settings they come from.
pub(crate) struct Tls {
    config: TlsConfig,
    dev_domains: Vec<String>,
    ca: LocalCa,
    /// Local-CA leaves issued so far, by host.
    leaves: Mutex<HashMap<HostName, Served>>,
    /// ACME certificates, by host.
    issued: RwLock<HashMap<HostName, Served>>,
    /// HTTP-01 tokens → key authorizations.
    challenges: Mutex<HashMap<String, String>>,
    /// The port the HTTPS listener is bound to, for redirects (0 before it is).
    https_port: AtomicU16,
    store: Arc<dyn CertificateStore>,
    /// Wakes the ACME task (a route was added, or a check was asked for).
    wake: Notify,
    router: Arc<Router>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Tls {
    /// Whether `host` is served by the local CA.
    pub(crate) fn is_dev_host(&self, host: &HostName) -> bool {
        let name = host.as_str();
        self.dev_domains.iter().any(|d| name == d || name.strip_suffix(d.as_str()).is_some_and(|p| p.ends_with('.')))
    }

    /// The certificate served for `host`, issuing a local-CA leaf when it is a dev host.
    fn certified_key(&self, host: &HostName) -> Option<Arc<CertifiedKey>> {
        if let Some(served) = read(&self.issued).get(host) {
            return Some(Arc::clone(&served.key));
        }
        if !self.is_dev_host(host) {
            return None;
        }
        let mut leaves = lock(&self.leaves);
        let now = SystemTime::now();
        if let Some(served) = leaves.get(host)
            && !served.needs_renewal(now, self.config.renew_remaining_fraction)
        {
            return Some(Arc::clone(&served.key));
        }
        match self.ca.issue_leaf(host.as_str()) {
            Ok(served) => {
                let key = Arc::clone(&served.key);
                leaves.insert(host.clone(), served);
                Some(key)
            }
            Err(error) => {
                tracing::error!(host = %host, %error, "cannot issue a local certificate");
                None
            }
        }
    }

    /// Whether HTTPS can be served for `host` right now.
    fn has_certificate(&self, host: &HostName) -> bool {
        self.is_dev_host(host) || read(&self.issued).contains_key(host)
    }

    /// The edge's own answer to a plain-HTTP request, if it has one: an ACME challenge response, or a
    /// redirect to HTTPS.
    pub(crate) fn intercept(&self, parts: &Parts) -> Option<Response<EdgeBody>> {
        let path = parts.uri.path();
        if let Some(token) = path.strip_prefix(CHALLENGE_PREFIX) {
            // Unknown tokens go on to the service, which may run its own ACME client.
            let answer = lock(&self.challenges).get(token).cloned()?;
            tracing::debug!(token, "answering an ACME challenge");
            let mut response = Response::new(EdgeBody::page(answer));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return Some(response);
        }
        if !self.config.https_redirect {
            return None;
        }
        let host = request_host(parts).ok()?;
        if !self.router.wants_certificate(&host.name) || !self.has_certificate(&host.name) {
            return None;
        }
        let port = self.config.public_https_port.unwrap_or_else(|| self.https_port.load(Ordering::Relaxed));
        if port == 0 {
            return None;
        }
        let authority = match host.name.as_str() {
            name if port == 443 => name.to_owned(),
            name => format!("{name}:{port}"),
        };
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let location = HeaderValue::from_str(&format!("https://{authority}{target}")).ok()?;
        let mut response = Response::new(EdgeBody::page(String::new()));
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        response.headers_mut().insert(header::LOCATION, location);
        Some(response)
    }

    /// The local CA's certificate in PEM.
    pub(crate) fn local_ca_pem(&self) -> &str {
        self.ca.pem()
    }
}

/// rustls's view of the edge's certificates.
#[derive(Debug)]
struct SniResolver(Arc<Tls>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // Without SNI (clients that connect by IP), the local `localhost` certificate.
        let name = hello.server_name().unwrap_or("localhost");
        let host = HostName::parse(name).ok()?;
        let key = self.0.certified_key(&host);
        if key.is_none() {
            tracing::debug!(host = %host, "no certificate for this name");
        }
        key
    }
}

/// The rustls server configuration over `tls`: SNI resolution, ALPN `h2` and `http/1.1`.
fn server_config(tls: &Arc<Tls>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(Arc::clone(tls))));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The local CA certificate (PEM) kept in `store`, created and saved there first if there is none:
/// what `slipway ca export` prints.
pub async fn export_local_ca(store: &dyn CertificateStore) -> Result<String, TlsError> {
    Ok(LocalCa::load_or_create(store).await?.pem().to_owned())
}

impl Edge {
    /// Turns on HTTPS: loads (or creates) the local CA from `store`, loads stored ACME certificates of
    /// routed hosts, and starts the ACME task when [`TlsConfig::acme`] is set. Call once, before
    /// [`Edge::serve_tls`]; the plain listener then answers ACME challenges and redirects.
    pub async fn enable_tls(&self, config: TlsConfig, store: Arc<dyn CertificateStore>) -> Result<(), TlsError> {
        let ca = LocalCa::load_or_create(store.as_ref()).await?;
        let dev_domains = config
            .dev_domains
            .iter()
            .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        let tls = Arc::new(Tls {
            dev_domains,
            ca,
            leaves: Mutex::default(),
            issued: RwLock::default(),
            challenges: Mutex::default(),
            https_port: AtomicU16::new(0),
            store,
            wake: Notify::new(),
            router: Arc::clone(&self.router),
            config,
        });
        if self.tls.set(Arc::clone(&tls)).is_err() {
            return Err(TlsError::Certificate("TLS is already enabled on this edge".to_owned()));
        }
        if let Some(acme) = tls.config.acme.clone() {
            tokio::spawn(acme::run(Arc::clone(&tls), acme));
        }
        Ok(())
    }

    /// Serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on `listener` until `shutdown` resolves, with the
    /// certificates [`Edge::enable_tls`] set up; requests go through the same proxy as plain ones,
    /// marked `X-Forwarded-Proto: https`.
    pub async fn serve_tls(&self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), TlsError> {
        let tls = self.tls.get().cloned().ok_or_else(|| {
            TlsError::Certificate("call enable_tls before serve_tls: there are no certificates yet".to_owned())
        })?;
        if let Ok(addr) = listener.local_addr() {
            tls.https_port.store(addr.port(), Ordering::Relaxed);
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&tls)?);
        listener::serve_tls(Arc::clone(&self.proxy), acceptor, listener, shutdown).await;
        Ok(())
    }

    /// The local CA's certificate in PEM, once TLS is enabled: what clients trust for dev domains.
    pub fn local_ca_pem(&self) -> Option<String> {
        self.tls.get().map(|tls| tls.local_ca_pem().to_owned())
    }

    /// The public port HTTPS requests for `host` reach the edge at, when it serves `host` over HTTPS now:
    /// TLS is on, its listener serving, and it has a certificate for `host` (a dev domain's, or one issued).
    pub fn https_port_for(&self, host: &str) -> Option<u16> {
        let tls = self.tls.get()?;
        let host = HostName::parse(host).ok()?;
        if !tls.has_certificate(&host) {
            return None;
        }
        let port = tls.config.public_https_port.unwrap_or_else(|| tls.https_port.load(Ordering::Relaxed));
        (port != 0).then_some(port)
    }

    /// The ACME certificate the edge serves for `host`, if it has one.
    pub fn acme_certificate(&self, host: &str) -> Option<CertificateInfo> {
        let tls = self.tls.get()?;
        let host = HostName::parse(host).ok()?;
        read(&tls.issued).get(&host).map(Served::info)
    }

    /// Asks the ACME task to look at every route now (new hosts, renewals) rather than at its next check.
    pub fn check_certificates(&self) {
        if let Some(tls) = self.tls.get() {
            tls.wake.notify_one();
        }
    }
}
