//! WebSockets through the edge: upgrades are forwarded, tunnels survive other routes' switches, and a
//! tunnel whose own backend is drained stays up until the drain's timeout, then closes between messages.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{RunningEdge, SOON, Upstream, client};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket server that echoes every message prefixed with its name, and records the close frames
/// it receives.
struct EchoServer {
    addr: SocketAddr,
    closes: Arc<Mutex<Vec<Option<CloseFrame>>>>,
    task: JoinHandle<()>,
}

impl EchoServer {
    async fn start(name: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let closes = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let closes = Arc::clone(&closes);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let closes = Arc::clone(&closes);
                    tokio::spawn(async move {
                        let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else { return };
                        while let Some(Ok(message)) = socket.next().await {
                            match message {
                                Message::Binary(data) => {
                                    let mut reply = name.as_bytes().to_vec();
                                    reply.extend_from_slice(&data);
                                    if socket.send(Message::binary(reply)).await.is_err() {
                                        return;
                                    }
                                }
                                Message::Close(frame) => {
                                    closes.lock().expect("closes").push(frame);
                                    return;
                                }
                                _ => {}
                            }
                        }
                    });
                }
            }
        });
        Self { addr, closes, task }
    }

    fn closes(&self) -> Vec<Option<CloseFrame>> {
        self.closes.lock().expect("closes").clone()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect(edge: &RunningEdge, host: &str) -> Socket {
    let stream = TcpStream::connect(edge.addr).await.expect("connect to the edge");
    let (socket, response) =
        tokio_tungstenite::client_async(format!("ws://{host}/chat"), MaybeTlsStream::Plain(stream))
            .await
            .expect("websocket handshake through the edge");
    assert_eq!(response.status(), 101);
    socket
}

/// A message whose bytes say which message it is, so a truncated or mixed-up echo is detected.
fn message(index: usize, len: usize) -> Vec<u8> {
    let stamp = (index as u32).to_be_bytes();
    (0..len).map(|i| stamp[i % 4] ^ (i as u8)).collect()
}

/// Sends `message(i)` and expects its echo from `name`, for `i` in `range`.
async fn echo_round(socket: &mut Socket, name: &str, range: std::ops::Range<usize>, len: usize) {
    for index in range {
        socket.send(Message::binary(message(index, len))).await.expect("send");
        let reply = tokio::time::timeout(SOON, socket.next()).await.expect("echo in time").expect("open").expect("ok");
        let mut expected = name.as_bytes().to_vec();
        expected.extend(message(index, len));
        assert_eq!(reply.into_data().as_ref(), &expected[..], "echo of message {index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_stays_up_while_another_service_redeploys() {
    let edge = RunningEdge::start().await;
    let echo = EchoServer::start("e").await;
    edge.edge.set_route("ws.test", [echo.addr]).expect("route");
    let old = Upstream::start("old").await;
    edge.edge.set_route("other.test", [old.addr]).expect("route");

    let mut socket = connect(&edge, "ws.test").await;
    echo_round(&mut socket, "e", 0..20, 1024).await;

    // The other service is redeployed the way the engine does it: switch, drain, stop.
    let new = Upstream::start("new").await;
    edge.edge.set_route("other.test", [new.addr]).expect("switch");
    let drained = edge.edge.drain([old.addr], Duration::from_secs(5)).await;
    assert!(drained.is_drained(), "{drained:?}");
    old.stop().await;
    assert_eq!(edge.get(&client(), "other.test", "/").await.expect("reply").text(), "new");

    echo_round(&mut socket, "e", 20..40, 1024).await;
    assert_eq!(edge.edge.in_flight(echo.addr), 1, "the open websocket counts in flight to its backend");
    socket.close(None).await.expect("close");
    crate::support::eventually("the tunnel to end", || edge.edge.in_flight(echo.addr) == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_is_drained_on_its_own_redeploy_not_cut_mid_message() {
    let edge = RunningEdge::start().await;
    let old = EchoServer::start("old").await;
    edge.edge.set_route("ws.test", [old.addr]).expect("route");
    let mut socket = connect(&edge, "ws.test").await;
    echo_round(&mut socket, "old", 0..5, 1024).await;

    // Its own service is redeployed: new connections go to the new revision at once...
    let new = EchoServer::start("new").await;
    edge.edge.set_route("ws.test", [new.addr]).expect("switch");
    let timeout = Duration::from_millis(1500);
    let drain = tokio::spawn(edge.edge.drain([old.addr], timeout));
    let mut fresh = connect(&edge, "ws.test").await;
    echo_round(&mut fresh, "new", 0..3, 1024).await;

    // ...while the open one keeps working until the drain's timeout, with large messages in flight both
    // ways (each takes many reads to forward), so the timeout falls in the middle of one.
    let len = 128 * 1024;
    let (mut sink, mut stream) = socket.split();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        while sink.send(Message::binary(message(sent, len))).await.is_ok() {
            sent += 1;
            if sent == 10_000 {
                break;
            }
        }
        sent
    });
    let mut echoed = 0;
    let close = loop {
        match tokio::time::timeout(timeout + SOON, stream.next()).await.expect("the edge closes in time") {
            Some(Ok(Message::Binary(data))) => {
                let mut expected = b"old".to_vec();
                expected.extend(message(echoed, len));
                assert!(data.as_ref() == &expected[..], "echo {echoed} arrived whole and in order");
                echoed += 1;
            }
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
            Some(Err(error)) => panic!("the websocket was cut instead of closed, after {echoed} echoes: {error}"),
            None => panic!("the websocket ended without a close frame after {echoed} echoes"),
        }
    };
    // The client answers the Close by closing its end, which ends the edge's lingering close.
    drop(stream);
    let outcome = drain.await.expect("drain");
    let sent = sender.await.expect("sender");
    assert!(echoed >= 1, "the websocket stayed up during the drain: {echoed} echoes of {sent} messages");
    let close = close.expect("a close frame with a status");
    assert_eq!(close.code, CloseCode::Away, "closed as going away: {close:?}");
    assert!(!outcome.is_drained() && outcome.in_flight() == 1, "the drain timed out on the websocket: {outcome:?}");
    crate::support::eventually("the old server to see a close frame", || !old.closes().is_empty()).await;
    let server_close = old.closes()[0].clone().expect("a close frame with a status");
    assert_eq!(server_close.code, CloseCode::Away);
    crate::support::eventually("the tunnel to end", || edge.edge.in_flight(old.addr) == 0).await;

    echo_round(&mut fresh, "new", 3..6, 1024).await;
}
