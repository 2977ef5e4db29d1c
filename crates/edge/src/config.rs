//! Tunables of the edge proxy.

use std::time::Duration;

/// How the edge proxy talks to clients and upstreams. `EdgeConfig::default()` suits most setups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Longest wait for a TCP connection to an upstream before trying the next backend (default 2 s).
    pub connect_timeout: Duration,
    /// Longest wait for an upstream's response headers once the request was sent; past it the client
    /// gets a 504 (default 60 s). Response bodies then stream without a deadline.
    pub response_timeout: Duration,
    /// How long a backend that refused a connection is tried only after the route's other backends
    /// (default 5 s). It is still used when no other backend is left, so this never causes a refusal.
    pub backend_cooldown: Duration,
    /// How long an idle pooled upstream connection is kept (default 30 s).
    pub pool_idle_timeout: Duration,
    /// Longest wait for a client's request headers on HTTP/1 (default 30 s): bounds slow-header clients.
    pub header_read_timeout: Duration,
    /// After shutdown is requested, how long in-flight requests may take before their connections are
    /// closed (default 30 s).
    pub shutdown_grace: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(60),
            backend_cooldown: Duration::from_secs(5),
            pool_idle_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
