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
    /// How long an ejected backend (one that refused a connection, or failed repeatedly) is tried only
    /// after the route's other backends (default 5 s). It is still used when no other backend is left,
    /// so ejection never causes a refusal.
    pub backend_cooldown: Duration,
    /// How long an idle pooled upstream connection is kept (default 30 s).
    pub pool_idle_timeout: Duration,
    /// Longest wait for a client's request headers on HTTP/1 (default 30 s), counted from when the
    /// connection became ready for its next request: bounds slow-header clients, and closes keep-alive
    /// connections left idle for longer.
    pub header_read_timeout: Duration,
    /// After shutdown is requested, how long in-flight requests may take before their connections are
    /// closed (default 30 s).
    pub shutdown_grace: Duration,
    /// Whether every request is logged (an `info` event of target `slipway_edge::access`; default on).
    pub access_log: bool,
    /// Consecutive failed exchanges with a backend (connection reset, no response, 502/503/504) after
    /// which it is ejected: tried only when no other backend is left, for [`Self::backend_cooldown`]
    /// (default 3). A refused connection ejects at once.
    pub eject_after_failures: u32,
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
            access_log: true,
            eject_after_failures: 3,
        }
    }
}
