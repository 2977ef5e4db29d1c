//! Waiting for the requests still on their way to backends that no route lists any more.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::table::Router;

/// After a drain's timeout, how long the backends' tunnels get to finish their message and close.
const TUNNEL_CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How often a drain looks whether the tunnels it closed are gone.
const TUNNEL_CLOSE_POLL: Duration = Duration::from_millis(10);

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// No request is in flight to the drained backends: they can be stopped without cutting one.
    Drained {
        /// How long the drain waited.
        waited: Duration,
    },
    /// The timeout elapsed first; stopping the backends now cuts `in_flight` requests.
    TimedOut {
        /// Requests and tunnels still in flight to the drained backends at the timeout. The tunnels
        /// (websockets) were then asked to close at a message boundary.
        in_flight: usize,
        /// How long the drain waited (the timeout).
        waited: Duration,
    },
}

impl DrainOutcome {
    /// Whether every request to the drained backends completed.
    pub fn is_drained(&self) -> bool {
        matches!(self, Self::Drained { .. })
    }

    /// Requests still in flight when the drain ended (0 when drained).
    pub fn in_flight(&self) -> usize {
        match self {
            Self::Drained { .. } => 0,
            Self::TimedOut { in_flight, .. } => *in_flight,
        }
    }
}

/// Resolves when no request is in flight to `backends`, or at `timeout`.
///
/// The backends' state is captured now, so the future does not depend on when it is first polled.
pub(crate) fn drain(
    router: &Router,
    backends: Vec<SocketAddr>,
    timeout: Duration,
) -> impl Future<Output = DrainOutcome> + Send + 'static {
    for backend in &backends {
        if router.is_routed(*backend) {
            // New requests keep arriving there, so a drain would say little: a caller's ordering bug.
            tracing::warn!(%backend, "draining a backend that a route still lists; remove it from routes first");
        }
    }
    let states: Vec<_> = backends.iter().filter_map(|addr| router.backend_state(*addr)).collect();
    async move {
        let started = Instant::now();
        let wait_all = async {
            // Once removed from every route a backend gets no new request, so idle stays idle and
            // waiting for the backends one after the other suffices.
            for state in &states {
                state.wait_idle().await;
            }
        };
        let outcome = match tokio::time::timeout(timeout, wait_all).await {
            Ok(()) => DrainOutcome::Drained { waited: started.elapsed() },
            Err(_) => {
                let in_flight = states.iter().map(|state| state.in_flight()).sum();
                // Tunnels (websockets) stay up until now; close them cleanly, between messages, and
                // give them a moment to say goodbye before the caller stops the backends.
                for state in &states {
                    state.close_tunnels();
                }
                let closed = async {
                    while states.iter().any(|state| state.tunnels_open() > 0) {
                        tokio::time::sleep(TUNNEL_CLOSE_POLL).await;
                    }
                };
                let _ = tokio::time::timeout(TUNNEL_CLOSE_GRACE, closed).await;
                DrainOutcome::TimedOut { in_flight, waited: started.elapsed() }
            }
        };
        tracing::info!(backends = ?backends, outcome = ?outcome, "drain finished");
        outcome
    }
}
