//! The route table: which backends answer for which host, and the choice of a backend per request.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use crate::backend::{BackendRegistry, BackendState, InFlight};
use crate::error::EdgeError;
use crate::host::HostName;
use crate::metrics::{EdgeMetrics, RouteMetrics};

/// Maps host names to backends. Shared by the listener (reads per request) and the engine (writes).
///
/// Writers replace a route whole under the write lock; readers hold the read lock only to look up the
/// host, pick a backend and count the request in flight, never across an `.await`. Because the in-flight
/// count is taken under the same lock that guards the table, once [`Router::set_route`] returns every
/// request that may still reach an old backend is already counted, which is what makes
/// [`crate::Edge::drain`] exact.
#[derive(Debug)]
pub struct Router {
    routes: RwLock<HashMap<HostName, Arc<Route>>>,
    /// Hosts whose TLS is someone else's (a CDN in front of the edge): no certificate is ordered for
    /// them and plain HTTP is not redirected.
    without_certificate: RwLock<HashSet<HostName>>,
    backends: BackendRegistry,
    unknown_host: AtomicU64,
    metrics: EdgeMetrics,
}

/// One host's routes (by path prefix) plus its counters.
#[derive(Debug)]
struct Route {
    /// Longest prefix first, so the first match is the most specific one.
    paths: Vec<PathRoute>,
    /// Kept across `set_route` so counters and rotation survive a switch.
    shared: Arc<RouteShared>,
}

/// The backends that answer for the paths under `prefix` of a host.
#[derive(Debug, Clone)]
struct PathRoute {
    /// `/` or a path without a trailing `/`, e.g. `/api`.
    prefix: String,
    /// When set, `prefix` is replaced by it in the path sent upstream.
    rewrite: Option<Arc<str>>,
    backends: Vec<Arc<BackendState>>,
}

impl PathRoute {
    fn matches(&self, path: &str) -> bool {
        self.prefix == "/"
            || path
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    }
}

/// How a matched route changes the path sent upstream: the first `prefix_len` bytes become `rewrite`.
#[derive(Debug, Clone)]
pub(crate) struct Rewrite {
    prefix_len: usize,
    rewrite: Arc<str>,
}

impl Rewrite {
    /// The upstream path and query for a client's `path_and_query`.
    pub(crate) fn apply(&self, path_and_query: &str) -> String {
        let rest = path_and_query.get(self.prefix_len..).unwrap_or("");
        let base = self.rewrite.trim_end_matches('/');
        match rest.strip_prefix('/') {
            Some(rest) => format!("{base}/{rest}"),
            None if base.is_empty() => format!("/{rest}"),
            None => format!("{base}{rest}"),
        }
    }
}

/// A path prefix as routes key it: starts with `/`, no trailing `/` (but `/` itself).
fn normalise_prefix(prefix: &str) -> Result<String, EdgeError> {
    let invalid = |reason| EdgeError::InvalidPath { path: prefix.to_owned(), reason };
    if !prefix.starts_with('/') {
        return Err(invalid("a path must start with `/`"));
    }
    if prefix.contains(['?', '#', ' ']) {
        return Err(invalid("a path cannot hold `?`, `#` or spaces"));
    }
    let trimmed = prefix.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/".to_owned() } else { trimmed.to_owned() })
}

/// Counters and rotation position of a route, kept while the host stays in the table.
#[derive(Debug)]
pub(crate) struct RouteShared {
    cursor: AtomicUsize,
    requests: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
    metrics: Arc<RouteMetrics>,
}

impl RouteShared {
    fn new(metrics: Arc<RouteMetrics>) -> Self {
        Self {
            cursor: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            metrics,
        }
    }

    /// The route's request metrics.
    pub(crate) fn metrics(&self) -> &RouteMetrics {
        &self.metrics
    }

    /// Counts a request the proxy answered itself because no backend did (502, 503, 504).
    pub(crate) fn record_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request sent to another backend after an attempt on one failed without reaching it.
    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn counters(&self) -> RouteCounters {
        RouteCounters {
            requests: self.requests.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// A route as listed by [`Router::routes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSnapshot {
    /// The normalised host name.
    pub host: String,
    /// The path prefix it answers for (`/` for every path).
    pub path: String,
    /// What the prefix becomes in the path sent upstream, if anything.
    pub rewrite: Option<String>,
    /// Its backends, in rotation order.
    pub backends: Vec<SocketAddr>,
}

/// Request counters of one route since it was first set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteCounters {
    /// Requests received for the host.
    pub requests: u64,
    /// Requests the proxy had to answer itself (502, 503, 504) because no backend answered.
    pub failures: u64,
    /// Times a request was sent to another backend after a connection to one failed.
    pub retries: u64,
}

/// Counters of the whole edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeCounters {
    /// Per route, by normalised host name.
    pub routes: BTreeMap<String, RouteCounters>,
    /// Requests for hosts that have no route (answered 404).
    pub unknown_host: u64,
}

/// Which backends a request has already tried, so a retry moves on.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    start: Option<usize>,
    tried: Vec<SocketAddr>,
}

impl Attempt {
    /// How many backends were picked so far.
    pub(crate) fn count(&self) -> usize {
        self.tried.len()
    }

    /// Lets the backend picked last be picked again (once its connection, not the backend, failed).
    pub(crate) fn forget_last(&mut self) {
        self.tried.pop();
    }
}

/// The outcome of picking a backend for a request.
#[derive(Debug)]
pub(crate) enum Pick {
    /// No route for the host.
    UnknownHost,
    /// The host has routes, but none for the path.
    UnknownPath(Arc<RouteShared>),
    /// The route exists but lists no backend.
    NoBackend(Arc<RouteShared>),
    /// Every backend of the route was tried.
    Exhausted(Arc<RouteShared>),
    /// Send the request here, with the path rewritten if the route says so; the guard counts it in
    /// flight.
    Backend(InFlight, Arc<RouteShared>, Option<Rewrite>),
}

impl Router {
    pub(crate) fn new() -> Self {
        Self {
            routes: RwLock::new(HashMap::new()),
            without_certificate: RwLock::default(),
            backends: BackendRegistry::new(),
            unknown_host: AtomicU64::new(0),
            metrics: EdgeMetrics::default(),
        }
    }

    /// Replaces the backends of `host` for every path (creating the route if needed). Applies to the
    /// next request. Routes of the host under a longer path prefix stay.
    pub fn set_route(&self, host: &str, backends: impl IntoIterator<Item = SocketAddr>) -> Result<(), EdgeError> {
        self.set_path_route(host, "/", None, backends)
    }

    /// Replaces the backends that answer for `host` under `prefix` (`/api` matches `/api` and
    /// `/api/...`, not `/apis`); the longest matching prefix wins. With `rewrite`, the prefix is replaced
    /// by it in the path sent upstream (`/api/users` with rewrite `/` becomes `/users`).
    pub fn set_path_route(
        &self,
        host: &str,
        prefix: &str,
        rewrite: Option<&str>,
        backends: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(), EdgeError> {
        self.set_paths(host, prefix, rewrite, backends, false)
    }

    /// Like [`Self::set_path_route`], and the host's routes under other prefixes go, in the same
    /// atomic step: the host answers under `prefix` only.
    pub fn set_only_path_route(
        &self,
        host: &str,
        prefix: &str,
        rewrite: Option<&str>,
        backends: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(), EdgeError> {
        self.set_paths(host, prefix, rewrite, backends, true)
    }

    fn set_paths(
        &self,
        host: &str,
        prefix: &str,
        rewrite: Option<&str>,
        backends: impl IntoIterator<Item = SocketAddr>,
        only: bool,
    ) -> Result<(), EdgeError> {
        let host = HostName::parse(host)?;
        let prefix = normalise_prefix(prefix)?;
        if let Some(rewrite) = rewrite {
            normalise_prefix(rewrite)?;
        }
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for addr in backends {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        let states: Vec<_> = addrs.iter().map(|addr| self.backends.resolve(*addr)).collect();
        let path = PathRoute { prefix, rewrite: rewrite.map(Arc::from), backends: states };
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let (shared, mut paths) = match routes.get(&host) {
            Some(route) => (Arc::clone(&route.shared), route.paths.clone()),
            None => (Arc::new(RouteShared::new(self.metrics.route(host.as_str()))), Vec::new()),
        };
        tracing::info!(host = %host, path = %path.prefix, rewrite = ?path.rewrite, backends = ?addrs, "route set");
        paths.retain(|p| !only && p.prefix != path.prefix);
        paths.push(path);
        paths.sort_by(|a, b| b.prefix.len().cmp(&a.prefix.len()).then_with(|| a.prefix.cmp(&b.prefix)));
        routes.insert(host, Arc::new(Route { paths, shared }));
        Ok(())
    }

    /// Removes every route of `host`; returns whether it had one. Later requests for it get a 404.
    /// Whether the edge gets a certificate for `host` (the default) or leaves its TLS to whatever is in
    /// front of it; in that case plain HTTP for it is not redirected to HTTPS either.
    pub fn set_certificate_wanted(&self, host: &str, wanted: bool) -> Result<(), EdgeError> {
        let host = HostName::parse(host)?;
        let mut without = self.without_certificate.write().unwrap_or_else(PoisonError::into_inner);
        if wanted {
            without.remove(&host);
        } else {
            without.insert(host);
        }
        Ok(())
    }

    /// Whether the edge should hold a certificate for `host`.
    pub(crate) fn wants_certificate(&self, host: &HostName) -> bool {
        !self.without_certificate.read().unwrap_or_else(PoisonError::into_inner).contains(host)
    }

    pub fn remove_route(&self, host: &str) -> Result<bool, EdgeError> {
        let host = HostName::parse(host)?;
        let removed = self.routes.write().unwrap_or_else(PoisonError::into_inner).remove(&host).is_some();
        if removed {
            tracing::info!(host = %host, "route removed");
        }
        Ok(removed)
    }

    /// Removes the route of `host` under `prefix` only; returns whether it existed.
    pub fn remove_path_route(&self, host: &str, prefix: &str) -> Result<bool, EdgeError> {
        let host = HostName::parse(host)?;
        let prefix = normalise_prefix(prefix)?;
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let Some(route) = routes.get(&host) else { return Ok(false) };
        if !route.paths.iter().any(|p| p.prefix == prefix) {
            return Ok(false);
        }
        let paths: Vec<_> = route.paths.iter().filter(|p| p.prefix != prefix).cloned().collect();
        tracing::info!(host = %host, path = %prefix, "route removed");
        if paths.is_empty() {
            routes.remove(&host);
        } else {
            let shared = Arc::clone(&route.shared);
            routes.insert(host, Arc::new(Route { paths, shared }));
        }
        Ok(true)
    }

    /// The current routes, sorted by host.
    pub fn routes(&self) -> Vec<RouteSnapshot> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<_> = routes
            .iter()
            .flat_map(|(host, route)| {
                route.paths.iter().map(|path| RouteSnapshot {
                    host: host.as_str().to_owned(),
                    path: path.prefix.clone(),
                    rewrite: path.rewrite.as_deref().map(str::to_owned),
                    backends: path.backends.iter().map(|b| b.addr()).collect(),
                })
            })
            .collect();
        list.sort_by(|a, b| a.host.cmp(&b.host).then_with(|| a.path.cmp(&b.path)));
        list
    }

    /// Request counters of every current route and of unknown hosts.
    pub fn counters(&self) -> EdgeCounters {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        EdgeCounters {
            routes: routes.iter().map(|(host, route)| (host.as_str().to_owned(), route.shared.counters())).collect(),
            unknown_host: self.unknown_host.load(Ordering::Relaxed),
        }
    }

    /// Requests currently in flight to `backend`, across all routes.
    pub fn in_flight(&self, backend: SocketAddr) -> usize {
        self.backends.get(backend).map_or(0, |state| state.in_flight())
    }

    /// Whether any route currently lists `backend`.
    pub(crate) fn is_routed(&self, backend: SocketAddr) -> bool {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        routes.values().any(|route| route.paths.iter().any(|p| p.backends.iter().any(|b| b.addr() == backend)))
    }

    /// The edge's metrics.
    pub(crate) fn metrics(&self) -> &EdgeMetrics {
        &self.metrics
    }

    /// The shared state of `addr`, created if nothing holds it.
    pub(crate) fn resolve_backend(&self, addr: SocketAddr) -> Arc<BackendState> {
        self.backends.resolve(addr)
    }

    pub(crate) fn backend_state(&self, backend: SocketAddr) -> Option<Arc<BackendState>> {
        self.backends.get(backend)
    }

    /// Picks the next backend for a request to `path` of `host` in round-robin order, skipping backends
    /// this request already tried and preferring backends that are not cooling down.
    pub(crate) fn pick(&self, host: &HostName, path: &str, attempt: &mut Attempt) -> Pick {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let Some(route) = routes.get(host) else {
            if attempt.start.is_none() {
                self.unknown_host.fetch_add(1, Ordering::Relaxed);
                self.metrics.unknown_host();
            }
            return Pick::UnknownHost;
        };
        let shared = Arc::clone(&route.shared);
        let start = *attempt.start.get_or_insert_with(|| {
            shared.requests.fetch_add(1, Ordering::Relaxed);
            shared.cursor.fetch_add(1, Ordering::Relaxed)
        });
        let Some(matched) = route.paths.iter().find(|p| p.matches(path)) else {
            return Pick::UnknownPath(shared);
        };
        let rewrite = matched.rewrite.as_ref().map(|rewrite| Rewrite {
            prefix_len: if matched.prefix == "/" { 0 } else { matched.prefix.len() },
            rewrite: Arc::clone(rewrite),
        });
        let backends = &matched.backends;
        let count = backends.len();
        if count == 0 {
            return Pick::NoBackend(shared);
        }
        let now = Instant::now();
        let mut cooling = None;
        for offset in 0..count {
            let backend = &backends[start.wrapping_add(offset) % count];
            if attempt.tried.contains(&backend.addr()) {
                continue;
            }
            if !backend.is_cooling(now) {
                attempt.tried.push(backend.addr());
                return Pick::Backend(backend.start_request(), shared, rewrite);
            }
            cooling.get_or_insert(backend);
        }
        match cooling {
            Some(backend) => {
                attempt.tried.push(backend.addr());
                Pick::Backend(backend.start_request(), shared, rewrite)
            }
            None => Pick::Exhausted(shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn host(name: &str) -> HostName {
        HostName::parse(name).expect("host")
    }

    fn picked(router: &Router, name: &str, attempt: &mut Attempt) -> Option<SocketAddr> {
        match router.pick(&host(name), "/", attempt) {
            Pick::Backend(guard, ..) => Some(guard.backend().addr()),
            _ => None,
        }
    }

    #[test]
    fn round_robin_and_retry_order() {
        let router = Router::new();
        router.set_route("app.test", [addr(1), addr(2), addr(3), addr(1)]).expect("set");
        assert_eq!(router.routes()[0].backends, vec![addr(1), addr(2), addr(3)], "duplicates removed");
        let firsts: Vec<_> = (0..6).map(|_| picked(&router, "app.test", &mut Attempt::default())).collect();
        let expected = [1, 2, 3, 1, 2, 3].map(|p| Some(addr(p)));
        assert_eq!(firsts, expected);

        let mut attempt = Attempt::default();
        let tried: Vec<_> = std::iter::from_fn(|| picked(&router, "app.test", &mut attempt)).collect();
        assert_eq!(tried, vec![addr(1), addr(2), addr(3)], "each backend once, then exhausted");
        assert!(matches!(router.pick(&host("app.test"), "/", &mut attempt), Pick::Exhausted(_)));
    }

    #[test]
    fn cooling_backends_go_last() {
        let router = Router::new();
        router.set_route("app.test", [addr(1), addr(2)]).expect("set");
        let _ = router.backend_state(addr(1)).expect("state").mark_unreachable(Duration::from_secs(60));
        for _ in 0..4 {
            let mut attempt = Attempt::default();
            assert_eq!(picked(&router, "app.test", &mut attempt), Some(addr(2)));
            assert_eq!(picked(&router, "app.test", &mut attempt), Some(addr(1)), "still used as a last resort");
        }
    }

    #[test]
    fn switching_keeps_counters_and_counts_in_flight() {
        let router = Router::new();
        router.set_route("App.Test", [addr(1)]).expect("set");
        let Pick::Backend(guard, ..) = router.pick(&host("app.test"), "/", &mut Attempt::default()) else {
            panic!("expected a backend");
        };
        router.set_route("app.test:443", [addr(2)]).expect("switch");
        assert_eq!(router.in_flight(addr(1)), 1, "a request picked before the switch stays counted");
        assert!(!router.is_routed(addr(1)));
        drop(guard);
        assert_eq!(router.in_flight(addr(1)), 0);
        assert_eq!(router.counters().routes["app.test"].requests, 1);
        assert!(matches!(router.pick(&host("other.test"), "/", &mut Attempt::default()), Pick::UnknownHost));
        assert_eq!(router.counters().unknown_host, 1);
        assert!(router.remove_route("APP.TEST").expect("remove"));
        assert!(router.routes().is_empty());
    }

    #[test]
    fn empty_route_has_no_backend() {
        let router = Router::new();
        router.set_route("app.test", []).expect("set");
        assert!(matches!(router.pick(&host("app.test"), "/", &mut Attempt::default()), Pick::NoBackend(_)));
        assert!(router.set_route("bad host", [addr(1)]).is_err());
    }

    fn picked_for(router: &Router, path: &str) -> Option<(SocketAddr, String)> {
        match router.pick(&host("app.test"), path, &mut Attempt::default()) {
            Pick::Backend(guard, _, rewrite) => {
                Some((guard.backend().addr(), rewrite.map_or_else(|| path.to_owned(), |r| r.apply(path))))
            }
            _ => None,
        }
    }

    #[test]
    fn the_longest_path_prefix_wins_and_rewrites_apply() {
        let router = Router::new();
        router.set_route("app.test", [addr(1)]).expect("set");
        router.set_path_route("app.test", "/api/", Some("/"), [addr(2)]).expect("set");
        router.set_path_route("app.test", "/api/v2", Some("/next"), [addr(3)]).expect("set");
        assert_eq!(picked_for(&router, "/"), Some((addr(1), "/".into())));
        assert_eq!(picked_for(&router, "/apis"), Some((addr(1), "/apis".into())), "a prefix ends at a `/`");
        assert_eq!(picked_for(&router, "/api"), Some((addr(2), "/".into())));
        assert_eq!(picked_for(&router, "/api?x=1"), Some((addr(2), "/?x=1".into())));
        assert_eq!(picked_for(&router, "/api/users?x=1"), Some((addr(2), "/users?x=1".into())));
        assert_eq!(picked_for(&router, "/api/v2/users"), Some((addr(3), "/next/users".into())));
        assert_eq!(router.routes().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/", "/api", "/api/v2"]);

        assert!(router.remove_path_route("app.test", "/").expect("remove"));
        assert!(matches!(router.pick(&host("app.test"), "/other", &mut Attempt::default()), Pick::UnknownPath(_)));
        assert!(router.remove_path_route("app.test", "/api").expect("remove"));
        assert!(router.remove_path_route("app.test", "/api/v2").expect("remove"));
        assert!(router.routes().is_empty(), "the host goes with its last path");
        assert!(router.set_path_route("app.test", "api", None, [addr(1)]).is_err());

        router.set_route("app.test", [addr(1)]).expect("set");
        router.set_path_route("app.test", "/api", None, [addr(2)]).expect("set");
        router.set_only_path_route("app.test", "/v2", None, [addr(3)]).expect("set");
        assert_eq!(router.routes().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/v2"], "the others went");
        assert!(router.set_path_route("app.test", "/a?b", None, [addr(1)]).is_err());
    }
}
