//! Slipway's edge HTTP proxy: every public request to a Slipway service passes through it.
//!
//! # What it owns
//!
//! - The **route table** ([`Router`]): host name → the backends (upstream `SocketAddr`s) of the service
//!   revision that currently serves it. Hosts match exactly and case-insensitively, ignoring a `:port`
//!   suffix and a trailing dot ([`HostName`]).
//! - **Proxying**: HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge; `Upgrade: h2c` is not
//!   offered) from clients, HTTP/1.1 with pooled keep-alive connections to backends. Method, target, headers and both bodies are forwarded as streams; hop-by-hop
//!   headers are dropped; `X-Forwarded-For` is appended to, `X-Forwarded-Proto` and `X-Forwarded-Host` are
//!   set; the client's `Host` is kept.
//! - **Load balancing and failover**: round-robin over a route's backends. When a connection to a
//!   backend cannot be made, the request goes to the next backend (nothing was sent, so this is always
//!   safe); a backend that refused is tried last for a while ([`EdgeConfig::backend_cooldown`]).
//! - **Draining** ([`Edge::drain`]) and the edge's own answers: 404 for a host without a route, 400
//!   without a host, 502 when no backend answers, 503 for a route without backends, 504 when a backend
//!   does not answer in time — as a short HTML page, or JSON for clients that ask for it.
//!
//! - **HTTPS** ([`Edge::enable_tls`], [`Edge::serve_tls`]): another listener over the same proxy, with
//!   certificates chosen by SNI — from Slipway's local CA for `localhost`, `*.localhost` and configured
//!   dev domains, from an ACME CA (HTTP-01 answered by the plain listener, renewed before expiry) for
//!   other routed hosts — kept through a [`CertificateStore`]; optional redirect from plain HTTP.
//!
//! - **TCP exposure**: a listener per exposed port, forwarding raw TCP to the route's backends with the
//!   same balancing, switching and draining.
//!
//! # The route-switch and drain protocol
//!
//! This is how the engine replaces revision A of a service by revision B with no failed request:
//!
//! 1. start B and wait until its health probes pass;
//! 2. [`Edge::set_route`]`(host, B)`: the route's backends are replaced atomically; the next request
//!    goes to B; requests already on their way to A continue;
//! 3. [`Edge::drain`]`(A, timeout).await`: resolves when no request is in flight to A any more — a
//!    request counts until its response body has been streamed to the client or the client went away —
//!    or at the timeout, saying how many were still running;
//! 4. stop A.
//!
//! Step 3 is exact because a request is counted in flight to its backend under the same lock under which
//! it read the route table: when `set_route` returns, every request that picked A is already counted, and
//! every later request sees B. Retries re-read the table, so a failover never goes back to A either.
//!
//! # Concurrency model
//!
//! Client connections are served by worker threads, one per core, each with a single-threaded tokio
//! runtime (`workers`): the accept loop hands a connection to the next worker, which owns it and
//! everything it starts from then on: its requests, HTTP/2 streams, tunnels, and the upstream
//! connections they use, which come from that worker's own pool (`upstream`). A request is never handed
//! between threads. The route table is a `RwLock<HashMap<..>>` that request tasks hold for reading only
//! while they look up the host and pick a backend, never across an `.await`; writers replace a whole
//! route at once, so readers never see a half-updated table. Per-backend in-flight counts are atomics
//! with a `Notify` that wakes drains; counters are relaxed atomics. [`Edge`] is a cheap handle: clone it
//! into the engine, the listener and the API.

mod backend;
mod body;
mod config;
mod drain;
mod error;
mod headers;
mod host;
mod listener;
mod metrics;
mod pages;
mod proxy;
mod table;
mod tcp;
mod tls;
mod tunnel;
mod upstream;
mod workers;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::EdgeConfig;
pub use drain::DrainOutcome;
pub use error::EdgeError;
pub use host::HostName;
pub use proxy::ACCESS_LOG;
pub use table::{EdgeCounters, RouteCounters, RouteSnapshot, Router};
pub use tls::{
    ACME_ACCOUNT_NAME, AcmeConfig, CertificateInfo, CertificateStore, LOCAL_CA_NAME, MemoryCertificateStore,
    StoreError, StoredCertificate, TlsConfig, TlsError, export_local_ca,
};

use proxy::Proxy;

/// The edge proxy: a route table plus the machinery that serves it. Clones share everything.
#[derive(Debug, Clone)]
pub struct Edge {
    router: Arc<Router>,
    proxy: Arc<Proxy>,
    /// Certificates and ACME state, once [`Edge::enable_tls`] ran.
    tls: Arc<OnceLock<Arc<tls::Tls>>>,
    /// The exposed TCP ports.
    tcp: Arc<tcp::TcpRoutes>,
}

impl Default for Edge {
    fn default() -> Self {
        Self::new(EdgeConfig::default())
    }
}

impl Edge {
    /// An edge with an empty route table.
    pub fn new(config: EdgeConfig) -> Self {
        let router = Arc::new(Router::new());
        let proxy = Arc::new(Proxy::new(Arc::clone(&router), config));
        Self { router, proxy, tls: Arc::default(), tcp: Arc::default() }
    }

    /// The route table this edge serves.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Replaces the backends of `host` atomically (creating the route if needed); duplicates are
    /// ignored. Applies to the next request, without restarting the listener or dropping connections.
    pub fn set_route(&self, host: &str, backends: impl IntoIterator<Item = SocketAddr>) -> Result<(), EdgeError> {
        self.router.set_route(host, backends)?;
        // A new host may need a certificate.
        self.check_certificates();
        Ok(())
    }

    /// Replaces the backends that answer for `host` under the path `prefix` (the longest matching
    /// prefix wins; `/api` matches `/api` and `/api/...`); with `rewrite`, the prefix is replaced by it
    /// in the path sent upstream. Applies to the next request.
    pub fn set_path_route(
        &self,
        host: &str,
        prefix: &str,
        rewrite: Option<&str>,
        backends: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(), EdgeError> {
        self.router.set_path_route(host, prefix, rewrite, backends)?;
        self.check_certificates();
        Ok(())
    }

    /// Whether the edge gets a certificate for `host` (the default: ACME, or the local CA for dev
    /// domains) or leaves TLS to what is in front of it, a CDN for instance; then no certificate is
    /// ordered for it and plain HTTP for it is never redirected to HTTPS.
    pub fn set_certificate_wanted(&self, host: &str, wanted: bool) -> Result<(), EdgeError> {
        self.router.set_certificate_wanted(host, wanted)?;
        self.check_certificates();
        Ok(())
    }

    /// Exposes the TCP port `listen` (bound on first use; port 0 picks a free one) and sends its new
    /// connections to `backends`, replacing what it had; open connections stay where they are.
    /// Must be called within the tokio runtime. Returns the bound address.
    pub fn set_tcp_route(&self, listen: SocketAddr, backends: Vec<SocketAddr>) -> Result<SocketAddr, EdgeError> {
        let config = self.proxy.config();
        self.tcp.set(&self.router, listen, backends, config.connect_timeout, config.backend_cooldown)
    }

    /// Stops exposing the TCP port `port`; returns whether it was exposed.
    pub fn remove_tcp_route(&self, port: u16) -> bool {
        self.tcp.remove(port)
    }

    /// The exposed TCP ports and their backends, sorted by port.
    pub fn tcp_routes(&self) -> Vec<(u16, Vec<SocketAddr>)> {
        self.tcp.list()
    }

    /// Like [`Edge::set_path_route`], and the host's routes under other prefixes go in the same atomic
    /// step: the host answers under `prefix` only (a service's port whose public path changed).
    pub fn set_only_path_route(
        &self,
        host: &str,
        prefix: &str,
        rewrite: Option<&str>,
        backends: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(), EdgeError> {
        self.router.set_only_path_route(host, prefix, rewrite, backends)?;
        self.check_certificates();
        Ok(())
    }

    /// Removes the route of `host` under `prefix` only; returns whether it existed.
    pub fn remove_path_route(&self, host: &str, prefix: &str) -> Result<bool, EdgeError> {
        self.router.remove_path_route(host, prefix)
    }

    /// Removes every route of `host`; returns whether it had one.
    pub fn remove_route(&self, host: &str) -> Result<bool, EdgeError> {
        self.router.remove_route(host)
    }

    /// A snapshot of the route table, sorted by host.
    pub fn routes(&self) -> Vec<RouteSnapshot> {
        self.router.routes()
    }

    /// Request counters per route and for unknown hosts.
    pub fn counters(&self) -> EdgeCounters {
        self.router.counters()
    }

    /// Requests currently in flight to `backend`, over all routes.
    pub fn in_flight(&self, backend: SocketAddr) -> usize {
        self.router.in_flight(backend)
    }

    /// The edge's metrics in the Prometheus text format: requests by host and status class, latency
    /// histograms by host, open tunnels, ejections, requests for unknown hosts.
    pub fn metrics_text(&self) -> String {
        self.router.metrics().render()
    }

    /// Whether `backend` is ejected now (it refused a connection or failed repeatedly, and is tried
    /// only when no other backend of its route is left).
    pub fn is_ejected(&self, backend: SocketAddr) -> bool {
        self.router.backend_state(backend).is_some_and(|state| state.is_cooling(std::time::Instant::now()))
    }

    /// Resolves when no request is in flight to any of `backends`, or after `timeout` with the number
    /// still in flight. Call it after removing the backends from every route (see the crate docs).
    pub fn drain(
        &self,
        backends: impl IntoIterator<Item = SocketAddr>,
        timeout: Duration,
    ) -> impl Future<Output = DrainOutcome> + Send + 'static {
        drain::drain(&self.router, backends.into_iter().collect(), timeout)
    }

    /// Serves HTTP/1.1 and h2c on `listener` until `shutdown` resolves; then stops accepting and lets
    /// in-flight requests finish (for at most [`EdgeConfig::shutdown_grace`]) before returning.
    pub async fn serve(&self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        listener::serve(Arc::clone(&self.proxy), Arc::clone(&self.tls), listener, shutdown).await;
    }
}
