//! The route table: which backends answer for which host, and the choice of a backend per request.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use crate::backend::{BackendRegistry, BackendState, InFlight};
use crate::error::EdgeError;
use crate::host::HostName;

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
    backends: BackendRegistry,
    unknown_host: AtomicU64,
}

/// One host's backends plus its counters.
#[derive(Debug)]
struct Route {
    backends: Vec<Arc<BackendState>>,
    /// Kept across `set_route` so counters and rotation survive a switch.
    shared: Arc<RouteShared>,
}

/// Counters and rotation position of a route, kept while the host stays in the table.
#[derive(Debug, Default)]
pub(crate) struct RouteShared {
    cursor: AtomicUsize,
    requests: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
}

impl RouteShared {
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
}

/// The outcome of picking a backend for a request.
#[derive(Debug)]
pub(crate) enum Pick {
    /// No route for the host.
    UnknownHost,
    /// The route exists but lists no backend.
    NoBackend(Arc<RouteShared>),
    /// Every backend of the route was tried.
    Exhausted(Arc<RouteShared>),
    /// Send the request here; the guard counts it in flight.
    Backend(InFlight, Arc<RouteShared>),
}

impl Router {
    pub(crate) fn new() -> Self {
        Self { routes: RwLock::new(HashMap::new()), backends: BackendRegistry::new(), unknown_host: AtomicU64::new(0) }
    }

    /// Replaces the backends of `host` (creating the route if needed). Applies to the next request.
    pub fn set_route(&self, host: &str, backends: impl IntoIterator<Item = SocketAddr>) -> Result<(), EdgeError> {
        let host = HostName::parse(host)?;
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for addr in backends {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        let states: Vec<_> = addrs.iter().map(|addr| self.backends.resolve(*addr)).collect();
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let shared = routes.get(&host).map(|route| Arc::clone(&route.shared)).unwrap_or_default();
        tracing::info!(host = %host, backends = ?addrs, "route set");
        routes.insert(host, Arc::new(Route { backends: states, shared }));
        Ok(())
    }

    /// Removes the route of `host`; returns whether it existed. Later requests for it get a 404.
    pub fn remove_route(&self, host: &str) -> Result<bool, EdgeError> {
        let host = HostName::parse(host)?;
        let removed = self.routes.write().unwrap_or_else(PoisonError::into_inner).remove(&host).is_some();
        if removed {
            tracing::info!(host = %host, "route removed");
        }
        Ok(removed)
    }

    /// The current routes, sorted by host.
    pub fn routes(&self) -> Vec<RouteSnapshot> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<_> = routes
            .iter()
            .map(|(host, route)| RouteSnapshot {
                host: host.as_str().to_owned(),
                backends: route.backends.iter().map(|b| b.addr()).collect(),
            })
            .collect();
        list.sort_by(|a, b| a.host.cmp(&b.host));
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
        routes.values().any(|route| route.backends.iter().any(|b| b.addr() == backend))
    }

    pub(crate) fn backend_state(&self, backend: SocketAddr) -> Option<Arc<BackendState>> {
        self.backends.get(backend)
    }

    /// Picks the next backend for a request to `host` in round-robin order, skipping backends this
    /// request already tried and preferring backends that are not cooling down.
    pub(crate) fn pick(&self, host: &HostName, attempt: &mut Attempt) -> Pick {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let Some(route) = routes.get(host) else {
            if attempt.start.is_none() {
                self.unknown_host.fetch_add(1, Ordering::Relaxed);
            }
            return Pick::UnknownHost;
        };
        let shared = Arc::clone(&route.shared);
        let start = *attempt.start.get_or_insert_with(|| {
            shared.requests.fetch_add(1, Ordering::Relaxed);
            shared.cursor.fetch_add(1, Ordering::Relaxed)
        });
        let count = route.backends.len();
        if count == 0 {
            return Pick::NoBackend(shared);
        }
        let now = Instant::now();
        let mut cooling = None;
        for offset in 0..count {
            let backend = &route.backends[start.wrapping_add(offset) % count];
            if attempt.tried.contains(&backend.addr()) {
                continue;
            }
            if !backend.is_cooling(now) {
                attempt.tried.push(backend.addr());
                return Pick::Backend(backend.start_request(), shared);
            }
            cooling.get_or_insert(backend);
        }
        match cooling {
            Some(backend) => {
                attempt.tried.push(backend.addr());
                Pick::Backend(backend.start_request(), shared)
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
        match router.pick(&host(name), attempt) {
            Pick::Backend(guard, _) => Some(guard.backend().addr()),
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
        assert!(matches!(router.pick(&host("app.test"), &mut attempt), Pick::Exhausted(_)));
    }

    #[test]
    fn cooling_backends_go_last() {
        let router = Router::new();
        router.set_route("app.test", [addr(1), addr(2)]).expect("set");
        router.backend_state(addr(1)).expect("state").mark_unreachable(Duration::from_secs(60));
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
        let Pick::Backend(guard, _) = router.pick(&host("app.test"), &mut Attempt::default()) else {
            panic!("expected a backend");
        };
        router.set_route("app.test:443", [addr(2)]).expect("switch");
        assert_eq!(router.in_flight(addr(1)), 1, "a request picked before the switch stays counted");
        assert!(!router.is_routed(addr(1)));
        drop(guard);
        assert_eq!(router.in_flight(addr(1)), 0);
        assert_eq!(router.counters().routes["app.test"].requests, 1);
        assert!(matches!(router.pick(&host("other.test"), &mut Attempt::default()), Pick::UnknownHost));
        assert_eq!(router.counters().unknown_host, 1);
        assert!(router.remove_route("APP.TEST").expect("remove"));
        assert!(router.routes().is_empty());
    }

    #[test]
    fn empty_route_has_no_backend() {
        let router = Router::new();
        router.set_route("app.test", []).expect("set");
        assert!(matches!(router.pick(&host("app.test"), &mut Attempt::default()), Pick::NoBackend(_)));
        assert!(router.set_route("bad host", [addr(1)]).is_err());
    }
}
