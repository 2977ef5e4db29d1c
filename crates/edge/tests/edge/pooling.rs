//! The edge's keep-alive connections to upstreams: reused across requests, replaced when the upstream
//! closed them, never reused after an unfinished response, and closed once idle for too long.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::StatusCode;
use slipway_edge::EdgeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{RunningEdge, SOON, client, empty, eventually};

/// What a [`CountingUpstream`] does with a connection after answering a request on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterAnswer {
    /// Waits for the next request (HTTP/1.1 keep-alive).
    KeepOpen,
    /// Closes the connection a moment later without saying so in the response, as a server whose
    /// keep-alive timeout is shorter than the proxy's does.
    CloseSoon,
    /// Takes the next request on the connection and closes it unanswered, as a server whose keep-alive
    /// timeout fired just as the request arrived.
    HangUpOnNext,
}

/// A raw HTTP/1.1 server on loopback that counts the connections it accepts and sees closed.
///
/// `GET /` answers `ok`; `GET /stalled` sends headers announcing 1 MB and 10 bytes of it, then nothing.
struct CountingUpstream {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingUpstream {
    async fn start(after: AfterAnswer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let task = tokio::spawn({
            let (accepted, closed) = (Arc::clone(&accepted), Arc::clone(&closed));
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let closed = Arc::clone(&closed);
                    tokio::spawn(async move {
                        serve(stream, after).await;
                        closed.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }
        });
        Self { addr, accepted, closed, task }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Drop for CountingUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves requests on one connection until the peer closes it (or, for `CloseSoon`, after one).
async fn serve(mut stream: TcpStream, after: AfterAnswer) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut answered = 0;
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end + 4);
        if head.starts_with("GET /stalled ") {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n0123456789").await;
            // Never sends the rest; waits for the proxy to give up on the connection.
            let _ = stream.read(&mut chunk).await;
            return;
        }
        if after == AfterAnswer::HangUpOnNext && answered == 1 {
            return;
        }
        if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
            return;
        }
        answered += 1;
        if after == AfterAnswer::CloseSoon {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
    }
}

#[tokio::test]
async fn requests_to_a_backend_reuse_one_keep_alive_connection() {
    let edge = RunningEdge::start().await;
    let up = CountingUpstream::start(AfterAnswer::KeepOpen).await;
    edge.edge.set_route("pool.test", [up.addr]).expect("route");
    let client = client();
    for _ in 0..20 {
        let reply = edge.get(&client, "pool.test", "/").await.expect("reply");
        assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "ok"));
    }
    // One client connection is served by one worker, whose pool keeps the one upstream connection.
    assert_eq!(up.accepted(), 1, "20 requests in a row opened more than one upstream connection");
}

#[tokio::test]
async fn a_pooled_connection_the_upstream_closed_is_replaced_without_a_failure() {
    let edge = RunningEdge::start().await;
    let up = CountingUpstream::start(AfterAnswer::CloseSoon).await;
    edge.edge.set_route("stale.test", [up.addr]).expect("route");
    let client = client();
    for round in 1..=5 {
        let reply = edge.get(&client, "stale.test", "/").await.expect("reply");
        assert_eq!(reply.status, StatusCode::OK, "round {round}: {}", reply.text());
        // The next request goes out right after the close: the edge may find the connection closed
        // in its pool, or write to it before noticing; either way it must get an answer.
        eventually("the upstream to close its connection", || up.closed() == round).await;
    }
    assert_eq!(up.accepted(), 5, "every request needed a new connection");
    assert_eq!(edge.edge.counters().routes.get("stale.test").map(|route| route.failures), Some(0));
}

#[tokio::test]
async fn a_request_the_upstream_hung_up_on_is_sent_again_on_a_new_connection() {
    let edge = RunningEdge::start().await;
    let up = CountingUpstream::start(AfterAnswer::HangUpOnNext).await;
    edge.edge.set_route("hangup.test", [up.addr]).expect("route");
    let client = client();
    assert_eq!(edge.get(&client, "hangup.test", "/").await.expect("first").status, StatusCode::OK);
    // The pooled connection takes the second request and closes: the only backend is not at fault, so
    // the edge tries it again on a new connection rather than answering 502.
    let reply = edge.get(&client, "hangup.test", "/").await.expect("second");
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "ok"));
    assert_eq!(up.accepted(), 2);
    let counters = edge.edge.counters().routes.get("hangup.test").cloned().expect("route counters");
    assert_eq!(counters.failures, 0);
}

#[tokio::test]
async fn a_connection_whose_response_was_not_read_to_the_end_is_not_reused() {
    let edge = RunningEdge::start().await;
    let up = CountingUpstream::start(AfterAnswer::KeepOpen).await;
    edge.edge.set_route("cut.test", [up.addr]).expect("route");
    let client = client();

    let response = client.request(edge.request("GET", "cut.test", "/stalled", empty())).await.expect("headers");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = tokio::time::timeout(SOON, body.frame()).await.expect("first bytes").expect("a frame");
    assert_eq!(first.expect("data").into_data().expect("data").as_ref(), b"0123456789");
    // The client gives up on the rest: the edge must close that upstream connection, not pool it.
    drop(body);
    eventually("the edge to close the abandoned upstream connection", || up.closed() == 1).await;

    let reply = edge.get(&client, "cut.test", "/").await.expect("reply");
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "ok"));
    assert_eq!(up.accepted(), 2);
}

#[tokio::test]
async fn idle_upstream_connections_are_closed_after_the_idle_timeout() {
    let config = EdgeConfig { pool_idle_timeout: Duration::from_millis(200), ..EdgeConfig::default() };
    let edge = RunningEdge::with_config(config).await;
    let up = CountingUpstream::start(AfterAnswer::KeepOpen).await;
    edge.edge.set_route("idle.test", [up.addr]).expect("route");
    let client = client();

    assert_eq!(edge.get(&client, "idle.test", "/").await.expect("reply").status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(up.closed(), 0, "nothing closes an idle connection before the pool is used again");
    // The next request finds the pooled connection expired: it is closed and a new one opened.
    assert_eq!(edge.get(&client, "idle.test", "/").await.expect("reply").status, StatusCode::OK);
    assert_eq!(up.accepted(), 2);
    eventually("the expired connection to be closed", || up.closed() == 1).await;
}
