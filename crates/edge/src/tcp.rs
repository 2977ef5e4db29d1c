//! TCP exposure: a port of the edge whose connections go, whole, to a service's TCP port (PUBLIC
//! databases, any public port of protocol TCP).
//!
//! Each exposed port has its own accept task and its own backends, replaced atomically like HTTP
//! routes: connections already open stay on their backend (counted in flight, so the same drain
//! protocol applies), new ones go to the new backends. A connection that cannot be made moves on to the
//! next backend and ejects the one that refused, exactly as for HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::backend::{BackendState, InFlight};
use crate::error::EdgeError;
use crate::table::Router;

/// The TCP ports the edge exposes.
#[derive(Debug, Default)]
pub(crate) struct TcpRoutes {
    ports: Mutex<HashMap<u16, TcpRoute>>,
}

#[derive(Debug)]
struct TcpRoute {
    backends: Arc<RwLock<Vec<Arc<BackendState>>>>,
    task: JoinHandle<()>,
}

impl Drop for TcpRoute {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What an exposed port needs to forward a connection.
#[derive(Debug, Clone)]
struct Forwarder {
    router: Arc<Router>,
    backends: Arc<RwLock<Vec<Arc<BackendState>>>>,
    cursor: Arc<AtomicUsize>,
    connect_timeout: Duration,
    cooldown: Duration,
}

impl TcpRoutes {
    /// Exposes `listen` (binding it on first use) and sends its new connections to `backends`.
    /// Returns the bound address (useful with port 0).
    pub(crate) fn set(
        &self,
        router: &Arc<Router>,
        listen: SocketAddr,
        backends: Vec<SocketAddr>,
        connect_timeout: Duration,
        cooldown: Duration,
    ) -> Result<SocketAddr, EdgeError> {
        let states: Vec<_> = dedup(backends).into_iter().map(|addr| router.resolve_backend(addr)).collect();
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(route) = ports.get(&listen.port()) {
            *route.backends.write().unwrap_or_else(PoisonError::into_inner) = states;
            tracing::info!(port = listen.port(), "tcp route set");
            return Ok(listen);
        }
        let bind_error = |error: std::io::Error| EdgeError::Listen { addr: listen, reason: error.to_string() };
        let listener = std::net::TcpListener::bind(listen).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let listener = TcpListener::from_std(listener).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let backends = Arc::new(RwLock::new(states));
        let forwarder = Forwarder {
            router: Arc::clone(router),
            backends: Arc::clone(&backends),
            cursor: Arc::new(AtomicUsize::new(0)),
            connect_timeout,
            cooldown,
        };
        let task = tokio::spawn(accept(listener, forwarder));
        tracing::info!(addr = %bound, "tcp route set");
        ports.insert(bound.port(), TcpRoute { backends, task });
        Ok(bound)
    }

    /// Stops exposing `port`; connections already open stay. Returns whether it was exposed.
    pub(crate) fn remove(&self, port: u16) -> bool {
        let removed = self.ports.lock().unwrap_or_else(PoisonError::into_inner).remove(&port).is_some();
        if removed {
            tracing::info!(port, "tcp route removed");
        }
        removed
    }

    /// The exposed ports and their backends, sorted by port.
    pub(crate) fn list(&self) -> Vec<(u16, Vec<SocketAddr>)> {
        let ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<_> = ports
            .iter()
            .map(|(port, route)| {
                let backends = route.backends.read().unwrap_or_else(PoisonError::into_inner);
                (*port, backends.iter().map(|b| b.addr()).collect())
            })
            .collect();
        list.sort_by_key(|(port, _)| *port);
        list
    }
}

fn dedup(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let mut unique = Vec::with_capacity(addrs.len());
    for addr in addrs {
        if !unique.contains(&addr) {
            unique.push(addr);
        }
    }
    unique
}

async fn accept(listener: TcpListener, forwarder: Forwarder) {
    loop {
        match listener.accept().await {
            Ok((client, peer)) => {
                let forwarder = forwarder.clone();
                tokio::spawn(async move { forwarder.forward(client, peer).await });
            }
            Err(error) => {
                tracing::warn!(%error, "accepting a tcp connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Forwarder {
    /// Connects `client` to a backend and copies both ways until either side closes.
    async fn forward(self, mut client: TcpStream, peer: SocketAddr) {
        let _ = client.set_nodelay(true);
        let Some((mut upstream, in_flight)) = self.connect().await else {
            tracing::warn!(%peer, "no backend accepted a tcp connection");
            return;
        };
        let backend = in_flight.backend().addr();
        let copied = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        tracing::debug!(%peer, %backend, ?copied, "tcp connection closed");
        drop(in_flight);
    }

    /// The first backend, in round-robin order with ejected ones last, that accepts a connection.
    async fn connect(&self) -> Option<(TcpStream, InFlight)> {
        let order = {
            let backends = self.backends.read().unwrap_or_else(PoisonError::into_inner);
            let start = self.cursor.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let mut order: Vec<_> =
                (0..backends.len()).map(|offset| Arc::clone(&backends[(start + offset) % backends.len()])).collect();
            order.sort_by_key(|backend| backend.is_cooling(now));
            // Counted in flight while still under the lock, as HTTP requests are: a drain that
            // starts after the route changed sees this connection.
            order.into_iter().map(|backend| backend.start_request()).collect::<Vec<_>>()
        };
        for in_flight in order {
            let addr = in_flight.backend().addr();
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    in_flight.backend().mark_reachable();
                    return Some((stream, in_flight));
                }
                Ok(Err(error)) => tracing::debug!(backend = %addr, %error, "tcp backend refused"),
                Err(_) => tracing::debug!(backend = %addr, "tcp backend did not accept in time"),
            }
            if in_flight.backend().mark_unreachable(self.cooldown) {
                self.router.metrics().ejected();
            }
        }
        None
    }
}
