//! Per-backend state shared by every route that names the backend: in-flight count and cooldown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

/// One upstream address as the proxy sees it.
#[derive(Debug)]
pub(crate) struct BackendState {
    addr: SocketAddr,
    /// Requests picked for this backend whose response has not finished streaming.
    in_flight: AtomicUsize,
    /// Woken when `in_flight` drops to zero.
    idle: Notify,
    /// Milliseconds since `epoch` until which the backend is tried last; 0 when healthy.
    cooling_until_ms: AtomicU64,
    epoch: Instant,
    /// Tunnels (upgraded connections) open to the backend; each also counts in `in_flight`.
    tunnels_open: AtomicUsize,
    /// Failed exchanges in a row since the last good one.
    failures_in_a_row: AtomicU32,
    /// Bumped to ask the backend's tunnels (upgraded connections) to close.
    tunnels: watch::Sender<u64>,
}

impl BackendState {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Counts a request against this backend until the returned guard is dropped.
    pub(crate) fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight { backend: Arc::clone(self) }
    }

    /// Whether the backend recently refused a connection and should be tried after the others.
    pub(crate) fn is_cooling(&self, now: Instant) -> bool {
        let until = self.cooling_until_ms.load(Ordering::Relaxed);
        until != 0 && millis_since(self.epoch, now) < until
    }

    /// Records a failed connection: the backend is tried last for `cooldown` from now. Returns whether
    /// this call ejected it (it was not cooling already): of failures racing each other, exactly one.
    pub(crate) fn mark_unreachable(&self, cooldown: Duration) -> bool {
        let now = millis_since(self.epoch, Instant::now());
        let until = now.saturating_add(saturating_millis(cooldown)).max(1);
        let previous = self.cooling_until_ms.swap(until, Ordering::Relaxed);
        previous == 0 || now >= previous
    }

    /// Records a successful exchange: the backend leaves its cooldown.
    pub(crate) fn mark_reachable(&self) {
        if self.failures_in_a_row.load(Ordering::Relaxed) != 0 {
            self.failures_in_a_row.store(0, Ordering::Relaxed);
        }
        if self.cooling_until_ms.load(Ordering::Relaxed) != 0 {
            self.cooling_until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Records a failed exchange (reset, no response, or a gateway error from the backend); returns
    /// whether this failure ejected it: the `threshold`-th in a row while it was not already ejected.
    pub(crate) fn mark_failed(&self, threshold: u32, cooldown: Duration) -> bool {
        let in_a_row = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if in_a_row < threshold.max(1) || self.is_cooling(Instant::now()) {
            return false;
        }
        self.mark_unreachable(cooldown)
    }

    /// A signal that changes when the backend's tunnels are asked to close.
    pub(crate) fn tunnel_closer(&self) -> watch::Receiver<u64> {
        self.tunnels.subscribe()
    }

    /// Counts an open tunnel until the returned guard is dropped.
    pub(crate) fn tunnel_opened(self: &Arc<Self>) -> OpenTunnel {
        self.tunnels_open.fetch_add(1, Ordering::SeqCst);
        OpenTunnel(Arc::clone(self))
    }

    /// Tunnels open to the backend now.
    pub(crate) fn tunnels_open(&self) -> usize {
        self.tunnels_open.load(Ordering::SeqCst)
    }

    /// Asks every tunnel to this backend to close (at a message boundary where the protocol has one).
    pub(crate) fn close_tunnels(&self) {
        self.tunnels.send_modify(|generation| *generation += 1);
    }

    /// Resolves once no request is in flight to this backend.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Register before checking, so a drop to zero between the check and the await is not missed.
            notified.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }
}

fn saturating_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn millis_since(epoch: Instant, now: Instant) -> u64 {
    saturating_millis(now.saturating_duration_since(epoch))
}

/// A request in flight to a backend; dropping it ends the request as far as draining is concerned.
#[derive(Debug)]
pub(crate) struct InFlight {
    backend: Arc<BackendState>,
}

impl InFlight {
    pub(crate) fn backend(&self) -> &Arc<BackendState> {
        &self.backend
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.backend.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.backend.idle.notify_waiters();
        }
    }
}

/// A tunnel open to a backend; dropping it ends the tunnel's count.
#[derive(Debug)]
pub(crate) struct OpenTunnel(Arc<BackendState>);

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        self.0.tunnels_open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Finds the shared state of a backend by address.
///
/// Holds weak references: a backend's state lives as long as a route names it or a request is in flight
/// to it, so a drain after the route switch still sees the requests that remain.
#[derive(Debug)]
pub(crate) struct BackendRegistry {
    backends: Mutex<HashMap<SocketAddr, Weak<BackendState>>>,
    epoch: Instant,
}

impl BackendRegistry {
    pub(crate) fn new() -> Self {
        Self { backends: Mutex::new(HashMap::new()), epoch: Instant::now() }
    }

    /// The state of `addr`, created when no route or request holds it.
    pub(crate) fn resolve(&self, addr: SocketAddr) -> Arc<BackendState> {
        let mut backends = self.backends.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = backends.get(&addr).and_then(Weak::upgrade) {
            return state;
        }
        backends.retain(|_, weak| weak.strong_count() > 0);
        let state = Arc::new(BackendState {
            addr,
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            cooling_until_ms: AtomicU64::new(0),
            epoch: self.epoch,
            failures_in_a_row: AtomicU32::new(0),
            tunnels_open: AtomicUsize::new(0),
            tunnels: watch::Sender::new(0),
        });
        backends.insert(addr, Arc::downgrade(&state));
        state
    }

    /// The state of `addr` if a route or an in-flight request still holds it.
    pub(crate) fn get(&self, addr: SocketAddr) -> Option<Arc<BackendState>> {
        let backends = self.backends.lock().unwrap_or_else(PoisonError::into_inner);
        backends.get(&addr).and_then(Weak::upgrade)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn state_is_shared_while_held_and_forgotten_after() {
        let registry = BackendRegistry::new();
        let a = registry.resolve(addr(1));
        let guard = a.start_request();
        assert!(Arc::ptr_eq(&a, &registry.resolve(addr(1))));
        drop(a);
        // The in-flight request keeps the state alive for a drain to find.
        assert_eq!(registry.get(addr(1)).map(|s| s.in_flight()), Some(1));
        drop(guard);
        assert!(registry.get(addr(1)).is_none());
    }

    #[test]
    fn cooldown_expires() {
        let registry = BackendRegistry::new();
        let a = registry.resolve(addr(2));
        assert!(!a.is_cooling(Instant::now()));
        assert!(a.mark_unreachable(Duration::from_secs(60)), "the first failure ejects");
        assert!(!a.mark_unreachable(Duration::from_secs(60)), "a cooling backend is not ejected again");
        assert!(a.is_cooling(Instant::now()));
        assert!(!a.is_cooling(Instant::now() + Duration::from_secs(61)));
        a.mark_reachable();
        assert!(!a.is_cooling(Instant::now()));
    }

    #[test]
    fn repeated_failures_eject_once_and_a_success_forgives() {
        let registry = BackendRegistry::new();
        let a = registry.resolve(addr(4));
        let cooldown = Duration::from_secs(60);
        assert!(!a.mark_failed(3, cooldown));
        assert!(!a.mark_failed(3, cooldown));
        a.mark_reachable();
        assert!(!a.mark_failed(3, cooldown), "the count starts again after a success");
        assert!(!a.mark_failed(3, cooldown));
        assert!(a.mark_failed(3, cooldown), "the third failure in a row ejects");
        assert!(a.is_cooling(Instant::now()));
        assert!(!a.mark_failed(3, cooldown), "an ejected backend is not ejected again");
    }

    #[tokio::test]
    async fn wait_idle_wakes_when_the_last_request_ends() {
        let registry = BackendRegistry::new();
        let a = registry.resolve(addr(3));
        let guards = vec![a.start_request(), a.start_request()];
        let waiter = tokio::spawn({
            let a = Arc::clone(&a);
            async move { a.wait_idle().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(guards);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").expect("joined");
    }
}
