//! Accepting client connections (HTTP/1.1 and cleartext HTTP/2) and shutting down gracefully.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::proxy::Proxy;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `listener` until `shutdown` resolves, then stops accepting and waits up to the configured
/// grace period for open connections to finish their requests.
pub(crate) async fn serve(proxy: Arc<Proxy>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(proxy.config().header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let grace = proxy.config().shutdown_grace;
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, "edge listening");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
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
                let proxy = Arc::clone(&proxy);
                let service = service_fn(move |request| {
                    let proxy = Arc::clone(&proxy);
                    async move { Ok::<_, Infallible>(proxy.handle(request, client).await) }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%client, error = %error, "client connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tracing::info!(addr = ?local, open_connections = connections.len(), "edge stopped accepting; finishing requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(addr = ?local, "edge shut down"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(addr = ?local, open_connections = connections.len(), "shutdown grace elapsed; closing connections");
        }
    }
    connections.shutdown().await;
}
