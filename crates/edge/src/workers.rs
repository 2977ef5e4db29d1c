//! The threads that serve client connections: one per core, each with a single-threaded runtime.
//!
//! The accept loop hands each new connection to the next worker in turn; the worker owns it from then
//! on. The proxy keeps one upstream connection pool per worker ([`current`] says which one a request
//! runs on), so a request, its upstream exchange and its response all stay on one thread.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The index of the worker the calling thread is (0 outside the workers).
pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// How many workers an edge runs: one per core the process may use.
pub(crate) fn count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

type Handoff = (std::net::TcpStream, SocketAddr, Watcher);

/// Worker threads serving the connections of one listener.
pub(crate) struct Pool {
    senders: Vec<mpsc::UnboundedSender<Handoff>>,
    next: AtomicUsize,
    open: Arc<AtomicUsize>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Pool {
    /// Starts the workers; each runs `connection` for the connections it is handed.
    pub(crate) fn start<F, C>(connection: C) -> Self
    where
        C: Fn(TcpStream, SocketAddr, Watcher) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let connection = Arc::new(connection);
        let open = Arc::new(AtomicUsize::new(0));
        let (mut senders, mut stops, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for index in 0..count() {
            let (sender, receiver) = mpsc::unbounded_channel::<Handoff>();
            let (stop, stopped) = oneshot::channel();
            let (connection, open) = (Arc::clone(&connection), Arc::clone(&open));
            let thread = std::thread::Builder::new()
                .name(format!("slipway-edge-{index}"))
                .spawn(move || {
                    WORKER.with(|worker| worker.set(index));
                    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(error) => {
                            tracing::error!(%error, "cannot start an edge worker");
                            return;
                        }
                    };
                    runtime.block_on(serve(receiver, stopped, connection, open));
                })
                .expect("spawning an edge worker thread");
            senders.push(sender);
            stops.push(stop);
            threads.push(thread);
        }
        Self { senders, next: AtomicUsize::new(0), open, stops, threads }
    }

    pub(crate) fn len(&self) -> usize {
        self.senders.len()
    }

    /// Connections being served now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Gives a connection to the next worker.
    pub(crate) fn hand_over(&self, stream: TcpStream, client: SocketAddr, watcher: Watcher) {
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%client, %error, "cannot hand a connection to a worker");
                return;
            }
        };
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len();
        if self.senders[index].send((stream, client, watcher)).is_err() {
            tracing::warn!(%client, worker = index, "an edge worker is gone; connection dropped");
        }
    }

    /// Closes every connection still open and waits for the workers to end.
    pub(crate) async fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
        drop(self.senders);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

async fn serve<F, C>(
    mut connections: mpsc::UnboundedReceiver<Handoff>,
    mut stop: oneshot::Receiver<()>,
    connection: Arc<C>,
    open: Arc<AtomicUsize>,
) where
    C: Fn(TcpStream, SocketAddr, Watcher) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            handed = connections.recv() => {
                let Some((stream, client, watcher)) = handed else { break };
                let stream = match stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream)) {
                    Ok(stream) => stream,
                    Err(error) => {
                        tracing::warn!(%client, %error, "cannot take over a connection");
                        continue;
                    }
                };
                open.fetch_add(1, Ordering::Relaxed);
                let open = Arc::clone(&open);
                let served = connection(stream, client, watcher);
                tasks.spawn(async move {
                    served.await;
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }
    // Asked to stop (after the shutdown grace) or the listener is gone: cut what is left.
    tasks.shutdown().await;
}
