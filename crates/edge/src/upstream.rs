//! Keep-alive HTTP/1.1 connections to backends: one pool per worker thread.
//!
//! A request takes an idle connection to its backend from the pool of the worker it runs on, or opens
//! one; the connection goes back to that pool when the response body has been read to its end, and is
//! closed otherwise (an interrupted body leaves nothing reusable). Each worker keeps its own pool, so
//! a request, its upstream connection and the connection's task stay on one thread, and the pool's lock
//! is never contended (see [`crate::workers`]).
//!
//! A pooled connection can close while it waits (the backend's own keep-alive timeout); a request that
//! finds it closed before anything was written is sent on another connection, so a stale connection
//! never fails a request. Idle connections are dropped after [`EdgeConfig::pool_idle_timeout`], checked
//! whenever the worker's pool is used.
//!
//! [`EdgeConfig::pool_idle_timeout`]: crate::EdgeConfig::pool_idle_timeout

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::UpstreamBody;
use crate::workers;

/// Idle connections kept per backend and worker; more are closed when they come back.
const MAX_IDLE_PER_BACKEND: usize = 1024;

/// Why an exchange with a backend failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// No connection could be made: nothing was sent.
    #[error("connecting to {addr}: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    /// The connection failed during the exchange.
    #[error("exchanging with {addr}")]
    Exchange {
        addr: SocketAddr,
        /// Whether the connection came from the pool (it may have been closed by the backend's own
        /// keep-alive timeout just as the request went out).
        reused: bool,
        #[source]
        source: hyper::Error,
    },
}

impl UpstreamError {
    /// Whether no connection could be made to the backend.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// Whether a pooled connection closed before any response came: most likely the backend timed it
    /// out as the request was sent, which says nothing about the backend's health, and a fresh
    /// connection may well succeed.
    pub(crate) fn is_stale_connection(&self) -> bool {
        matches!(self, Self::Exchange { reused: true, source, .. } if source.is_incomplete_message())
    }

    /// The HTTP-level cause of a failed exchange.
    pub(crate) fn hyper(&self) -> Option<&hyper::Error> {
        match self {
            Self::Connect { .. } => None,
            Self::Exchange { source, .. } => Some(source),
        }
    }
}

/// The upstream connection pools of an edge, one per worker thread.
#[derive(Debug)]
pub(crate) struct Upstreams {
    pools: Box<[Mutex<Pool>]>,
    connect_timeout: Duration,
    idle_timeout: Duration,
}

#[derive(Debug, Default)]
struct Pool {
    idle: HashMap<SocketAddr, VecDeque<Idle>>,
    /// When idle connections were last checked for expiry across every backend.
    swept: Option<Instant>,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<UpstreamBody>,
    since: Instant,
}

/// A connection busy with one exchange. [`Lease::release`] gives it back to its pool once the response
/// has been read whole; dropping it instead closes the connection.
#[derive(Debug)]
pub(crate) struct Lease {
    sender: SendRequest<UpstreamBody>,
    addr: SocketAddr,
    pool: usize,
    upstreams: Arc<Upstreams>,
}

impl Lease {
    /// Puts the connection back in the pool it came from, for the next request to the same backend.
    pub(crate) fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut pool = self.upstreams.lock(self.pool);
        let idle = pool.idle.entry(self.addr).or_default();
        if idle.len() < MAX_IDLE_PER_BACKEND {
            idle.push_back(Idle { sender: self.sender, since: now });
        }
    }
}

impl Upstreams {
    pub(crate) fn new(connect_timeout: Duration, idle_timeout: Duration) -> Self {
        let pools = (0..workers::count()).map(|_| Mutex::default()).collect();
        Self { pools, connect_timeout, idle_timeout }
    }

    fn lock(&self, pool: usize) -> std::sync::MutexGuard<'_, Pool> {
        self.pools[pool].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `request` to `addr` (its target in origin form, its `Host` header set) over a pooled
    /// connection or a new one. A request that a pooled connection could not take (it had closed) is
    /// sent again on another, so only a failure on a fresh connection, or after the request was
    /// written, is an error.
    pub(crate) async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        mut request: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        let pool = workers::current() % self.pools.len();
        loop {
            let (mut sender, reused) = match self.checkout(pool, addr) {
                Some(sender) => (sender, true),
                // Boxed: rare, and it would make every request's future larger.
                None => (Box::pin(self.connect(addr)).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease { sender, addr, pool, upstreams: Arc::clone(self) };
                    return Ok((response, lease));
                }
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if reused => {
                        tracing::debug!(%addr, error = %failed.error(), "pooled connection closed; sending again");
                        request = unsent;
                    }
                    _ => return Err(UpstreamError::Exchange { addr, reused, source: failed.into_error() }),
                },
            }
        }
    }

    /// The most recently used idle connection to `addr` that can take a request now, if any.
    fn checkout(&self, pool: usize, addr: SocketAddr) -> Option<SendRequest<UpstreamBody>> {
        let now = Instant::now();
        let mut pool = self.lock(pool);
        self.sweep(&mut pool, now);
        let idle = pool.idle.get_mut(&addr)?;
        // Connections that are still finishing their last exchange go back to the other end.
        for _ in 0..idle.len() {
            let entry = idle.pop_back()?;
            if entry.sender.is_closed() || self.expired(&entry, now) {
                continue;
            }
            if entry.sender.is_ready() {
                return Some(entry.sender);
            }
            idle.push_front(entry);
        }
        None
    }

    fn expired(&self, entry: &Idle, now: Instant) -> bool {
        now.saturating_duration_since(entry.since) > self.idle_timeout
    }

    /// Drops closed and expired idle connections to every backend, at most twice per idle timeout.
    fn sweep(&self, pool: &mut Pool, now: Instant) {
        if pool.swept.is_some_and(|swept| now.saturating_duration_since(swept) < self.idle_timeout / 2) {
            return;
        }
        pool.swept = Some(now);
        pool.idle.retain(|_, idle| {
            idle.retain(|entry| !entry.sender.is_closed() && !self.expired(entry, now));
            !idle.is_empty()
        });
    }

    /// Opens a connection to `addr` and starts its task on the current worker.
    async fn connect(&self, addr: SocketAddr) -> Result<SendRequest<UpstreamBody>, UpstreamError> {
        let connect_error = |source| UpstreamError::Connect { addr, source };
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| connect_error(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")))?
            .map_err(connect_error)?;
        stream.set_nodelay(true).map_err(connect_error)?;
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|source| UpstreamError::Exchange { addr, reused: false, source })?;
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%addr, %error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}
