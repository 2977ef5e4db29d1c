//! Draining: waiting for the requests still running on a backend that no route lists any more.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::StatusCode;
use slipway_edge::DrainOutcome;

use crate::support::{CHUNK, RunningEdge, SOON, Upstream, client, closed_port, empty, eventually};

/// Slack for scheduling on a loaded 2-core CI machine.
const SLACK: Duration = Duration::from_secs(2);

#[tokio::test]
async fn drain_waits_for_a_slow_request_to_finish() {
    let edge = RunningEdge::start().await;
    let old = Upstream::start("old").await;
    let new = Upstream::start("new").await;
    edge.edge.set_route("app.test", [old.addr]).expect("route");
    let client = client();

    let slow = tokio::spawn({
        let request = edge.request("GET", "app.test", "/sleep/1000", empty());
        let client = client.clone();
        async move { crate::support::send(&client, request).await }
    });
    eventually("the slow request to be in flight", || edge.edge.in_flight(old.addr) == 1).await;
    edge.edge.set_route("app.test", [new.addr]).expect("switch");
    assert_eq!(edge.get(&client, "app.test", "/").await.expect("reply").text(), "new");

    let started = Instant::now();
    let outcome = edge.edge.drain([old.addr], Duration::from_secs(10)).await;
    let waited = started.elapsed();
    assert!(outcome.is_drained(), "{outcome:?}");
    assert!(waited >= Duration::from_millis(300), "the drain waited for the slow request, only {waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    let reply = slow.await.expect("join").expect("the slow request completes normally");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "old");
}

#[tokio::test]
async fn drain_reports_requests_that_outlive_its_timeout() {
    let edge = RunningEdge::start().await;
    let old = Upstream::start("old").await;
    let new = Upstream::start("new").await;
    edge.edge.set_route("app.test", [old.addr]).expect("route");
    let client = client();

    let slow = tokio::spawn({
        let request = edge.request("GET", "app.test", "/sleep/3000", empty());
        let client = client.clone();
        async move { crate::support::send(&client, request).await }
    });
    eventually("the slow request to be in flight", || edge.edge.in_flight(old.addr) == 1).await;
    edge.edge.set_route("app.test", [new.addr]).expect("switch");

    let started = Instant::now();
    let outcome = edge.edge.drain([old.addr], Duration::from_millis(500)).await;
    let waited = started.elapsed();
    assert!(matches!(outcome, DrainOutcome::TimedOut { in_flight: 1, .. }), "{outcome:?}");
    assert_eq!(outcome.in_flight(), 1);
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_millis(500) + SLACK, "{waited:?}");

    // The request itself is not cut by the drain's timeout.
    let reply = slow.await.expect("join").expect("the slow request completes normally");
    assert_eq!(reply.text(), "old");
    assert!(edge.edge.drain([old.addr], Duration::from_secs(1)).await.is_drained());
}

/// A response counts as in flight until its body has been streamed, not just until its headers arrived:
/// stopping the backend earlier would cut the body.
#[tokio::test]
async fn drain_waits_for_a_response_body_still_streaming() {
    let edge = RunningEdge::start().await;
    let old = Upstream::start("old").await;
    let new = Upstream::start("new").await;
    edge.edge.set_route("files.test", [old.addr]).expect("route");
    let total = 3 * CHUNK;

    let response = client()
        .request(edge.request("GET", "files.test", &format!("/gated-download/{total}"), empty()))
        .await
        .expect("headers");
    edge.edge.set_route("files.test", [new.addr]).expect("switch");
    let outcome = edge.edge.drain([old.addr], Duration::from_millis(300)).await;
    assert_eq!(outcome.in_flight(), 1, "{outcome:?}");

    let drain = tokio::spawn(edge.edge.drain([old.addr], SOON));
    old.shared.gate.notify_one();
    let body = response.into_body().collect().await.expect("body streams to the end").to_bytes();
    assert_eq!(body.len(), total);
    assert!(drain.await.expect("join").is_drained());
    old.stop().await;
}

#[tokio::test]
async fn draining_an_unused_backend_resolves_at_once() {
    let edge = RunningEdge::start().await;
    let unknown = closed_port().await;
    let outcome = tokio::time::timeout(SOON, edge.edge.drain([unknown], Duration::from_secs(30))).await.expect("fast");
    assert!(outcome.is_drained());
}
