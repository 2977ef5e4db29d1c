//! Accepting client connections — plain (HTTP/1.1 and cleartext HTTP/2) and TLS (HTTP/1.1 and HTTP/2
//! by ALPN) — and shutting down gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::headers::{ClientAddr, ClientScheme};
use crate::proxy::Proxy;
use crate::tls::Tls;
use crate::workers;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

type Builder = auto::Builder<TokioExecutor>;

/// Serves plain HTTP on `listener` until `shutdown` resolves, then stops accepting and waits up to the
/// configured grace period for open connections to finish their requests. Once TLS is enabled, ACME
/// challenges and HTTPS redirects are answered before routing.
pub(crate) async fn serve(
    proxy: Arc<Proxy>,
    tls: Arc<OnceLock<Arc<Tls>>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let builder = builder(&proxy);
    let grace = proxy.config().shutdown_grace;
    accept_loop(listener, shutdown, grace, move |stream, client, watcher| {
        let (proxy, tls, builder) = (Arc::clone(&proxy), Arc::clone(&tls), builder.clone());
        async move {
            let peer = ClientAddr::new(client);
            let service = service_fn(move |request: Request<Incoming>| {
                let (proxy, tls, client) = (Arc::clone(&proxy), Arc::clone(&tls), peer.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    if let Some(answer) = tls.get().and_then(|tls| tls.intercept(&parts)) {
                        return Ok::<_, Infallible>(answer);
                    }
                    Ok(proxy.handle(Request::from_parts(parts, body), &client).await)
                }
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%client, error = %error, "client connection ended with an error");
            }
        }
    })
    .await;
}

/// Serves HTTPS on `listener`: TLS handshakes (certificate by SNI, protocol by ALPN), then the same
/// proxy as plain HTTP, with requests marked as having come over HTTPS.
pub(crate) async fn serve_tls(
    proxy: Arc<Proxy>,
    acceptor: TlsAcceptor,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let builder = builder(&proxy);
    let grace = proxy.config().shutdown_grace;
    let handshake_timeout = proxy.config().header_read_timeout;
    accept_loop(listener, shutdown, grace, move |stream, client, watcher| {
        let (proxy, acceptor, builder) = (Arc::clone(&proxy), acceptor.clone(), builder.clone());
        async move {
            let stream = match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(%client, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%client, "TLS handshake timed out");
                    return;
                }
            };
            let peer = ClientAddr::new(client);
            let service = service_fn(move |mut request: Request<Incoming>| {
                let (proxy, client) = (Arc::clone(&proxy), peer.clone());
                request.extensions_mut().insert(ClientScheme::Https);
                async move { Ok::<_, Infallible>(proxy.handle(request, &client).await) }
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%client, error = %error, "client connection ended with an error");
            }
        }
    })
    .await;
}

/// The HTTP/1 and HTTP/2 server settings shared by both listeners.
fn builder(proxy: &Proxy) -> Builder {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(proxy.config().header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Accepts connections and runs `connection` for each until `shutdown` resolves; then stops accepting
/// and gives open connections `grace` to finish their requests.
///
/// Connections are served by [`workers`]: one thread per core, each with its own single-threaded
/// runtime, taking accepted connections in turn. A connection and everything it starts (its requests,
/// their upstream connections, tunnels) stay on one thread, so a request is never handed between
/// threads: what nginx's worker processes do, and measurably cheaper than a work-stealing pool.
async fn accept_loop<F, C>(listener: TcpListener, shutdown: impl Future<Output = ()>, grace: Duration, connection: C)
where
    C: Fn(TcpStream, SocketAddr, Watcher) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let local = listener.local_addr().ok();
    let pool = workers::Pool::start(connection);
    tracing::info!(addr = ?local, workers = pool.len(), "edge listening");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                pool.hand_over(stream, client, graceful.watcher());
            }
        }
    }
    drop(listener);
    tracing::info!(addr = ?local, open_connections = pool.open(), "edge stopped accepting; finishing requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(addr = ?local, "edge shut down"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(addr = ?local, open_connections = pool.open(), "shutdown grace elapsed; closing connections");
        }
    }
    pool.stop().await;
}
