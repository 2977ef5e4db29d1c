//! Round-robin across backends and failover past a dead one.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::StatusCode;

use crate::support::{RunningEdge, Upstream, client, closed_port};

#[tokio::test]
async fn round_robin_spreads_requests_evenly() {
    let edge = RunningEdge::start().await;
    let upstreams = [Upstream::start("a").await, Upstream::start("b").await, Upstream::start("c").await];
    edge.edge.set_route("rr.test", upstreams.iter().map(|u| u.addr)).expect("route");
    let client = client();

    let mut seen = BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let reply = edge.get(&client, "rr.test", "/").await.expect("reply");
        assert_eq!(reply.status, StatusCode::OK);
        *seen.entry(reply.text()).or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    for (name, count) in &seen {
        assert!((90..=110).contains(count), "{name} got {count} of 300: {seen:?}");
    }
    assert_eq!(edge.edge.counters().routes["rr.test"].requests, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_costs_no_client_visible_failure() {
    let edge = Arc::new(RunningEdge::start().await);
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let dead = closed_port().await;
    edge.edge.set_route("failover.test", [a.addr, dead, b.addr]).expect("route");

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let edge = Arc::clone(&edge);
            tokio::spawn(async move {
                let client = client();
                let mut failures = Vec::new();
                for _ in 0..50 {
                    match edge.get(&client, "failover.test", "/").await {
                        Ok(reply) if reply.status == StatusCode::OK && matches!(&*reply.text(), "a" | "b") => {}
                        other => failures.push(format!("{other:?}")),
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(task.await.expect("task"));
    }
    assert!(failures.is_empty(), "{} of 400 requests failed: {:?}", failures.len(), &failures[..failures.len().min(5)]);
    assert_eq!(a.requests() + b.requests(), 400);
    let counters = edge.edge.counters().routes["failover.test"];
    assert_eq!(counters.failures, 0);
    assert!(counters.retries >= 1, "the dead backend was tried at least once: {counters:?}");
}
