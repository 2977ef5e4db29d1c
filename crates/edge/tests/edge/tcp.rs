//! TCP exposure: connections to an exposed port reach the service's backends, whole and both ways;
//! route changes apply to new connections only, and drains wait for open ones.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{RunningEdge, SOON, closed_port};

/// A line-echo server that prefixes each line with its name, as a database protocol peer stand-in.
struct LineServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LineServer {
    async fn start(name: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if write.write_all(format!("{name}:{line}\n").as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, task }
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Conn(BufReader<TcpStream>);

impl Conn {
    async fn open(addr: SocketAddr) -> Self {
        Self(BufReader::new(TcpStream::connect(addr).await.expect("connect to the exposed port")))
    }

    async fn ask(&mut self, line: &str) -> String {
        self.0.get_mut().write_all(format!("{line}\n").as_bytes()).await.expect("write");
        let mut reply = String::new();
        tokio::time::timeout(SOON, self.0.read_line(&mut reply)).await.expect("reply in time").expect("read");
        reply.trim_end().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exposed_tcp_port_balances_switches_and_drains() {
    let edge = RunningEdge::start().await;
    let (a, b, c) = (LineServer::start("a").await, LineServer::start("b").await, LineServer::start("c").await);
    let dead = closed_port().await;
    let port = edge.edge.set_tcp_route("127.0.0.1:0".parse().unwrap(), vec![a.addr, dead, b.addr]).expect("expose");
    assert_ne!(port.port(), 0);

    // New connections rotate over the live backends; the dead one costs no failure.
    let mut seen = Vec::new();
    for i in 0..6 {
        seen.push(Conn::open(port).await.ask(&format!("hello {i}")).await);
    }
    assert!(seen.iter().all(|r| r.starts_with("a:hello") || r.starts_with("b:hello")), "{seen:?}");
    assert!(seen.iter().any(|r| r.starts_with("a:")) && seen.iter().any(|r| r.starts_with("b:")), "{seen:?}");
    assert!(edge.edge.is_ejected(dead));

    // A connection opened before a switch stays on its backend; new ones go to the new backend.
    let mut open = Conn::open(port).await;
    let before = open.ask("first").await;
    let old_backend = if before.starts_with("a:") { a.addr } else { b.addr };
    assert_eq!(edge.edge.set_tcp_route(port, vec![c.addr]).expect("switch"), port, "same port, no rebind");
    assert_eq!(Conn::open(port).await.ask("new").await, "c:new");
    assert_eq!(open.ask("still").await, format!("{}:still", &before[..1]));
    assert_eq!(edge.edge.tcp_routes(), vec![(port.port(), vec![c.addr])]);

    // The drain waits for the open connection, and ends when it closes.
    let drain = tokio::spawn(edge.edge.drain([old_backend], Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!drain.is_finished(), "an open connection holds the drain");
    drop(open);
    let outcome = tokio::time::timeout(SOON, drain).await.expect("drained in time").expect("join");
    assert!(outcome.is_drained(), "{outcome:?}");

    // Once removed, the port refuses connections.
    assert!(edge.edge.remove_tcp_route(port.port()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(port).await.is_err(), "nothing listens after removal");
}
