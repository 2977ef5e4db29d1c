//! Graceful shutdown of the listener.

use std::time::Duration;

use hyper::StatusCode;
use tokio::net::TcpStream;

use crate::support::{RunningEdge, SOON, Upstream, client, empty, eventually, send};

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let edge = RunningEdge::start().await;
    let up = Upstream::start("up").await;
    edge.edge.set_route("app.test", [up.addr]).expect("route");
    let addr = edge.addr;
    let handle = edge.edge.clone();

    let slow = tokio::spawn({
        let request = edge.request("GET", "app.test", "/sleep/1000", empty());
        async move { send(&client(), request).await }
    });
    eventually("the slow request to be in flight", || handle.in_flight(up.addr) == 1).await;
    let serving = edge.begin_shutdown();

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!serving.is_finished(), "the edge waits for the in-flight request");
    assert!(TcpStream::connect(addr).await.is_err(), "the edge no longer accepts connections");

    let reply = tokio::time::timeout(SOON, slow).await.expect("in time").expect("join").expect("reply");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "up");
    tokio::time::timeout(SOON, serving).await.expect("the edge stops once the request is done").expect("join");
}
