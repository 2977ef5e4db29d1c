//! Round-robin across backends, failover past a dead one, and ejection of failing ones.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hyper::StatusCode;
use slipway_edge::EdgeConfig;

use crate::support::{RunningEdge, Upstream, client, closed_port, eventually, full, send};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_replica_under_load_ejects_it_and_bounds_the_failures() {
    const CLIENTS: usize = 12;
    let config = EdgeConfig { backend_cooldown: Duration::from_secs(60), ..EdgeConfig::default() };
    let edge = Arc::new(RunningEdge::with_config(config).await);
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let killed = c.addr;
    edge.edge.set_route("replicas.test", [a.addr, b.addr, c.addr]).expect("route");

    // Clients keep POSTing (not replayable once sent, so a request cut by the kill is a real failure),
    // each noting whether it started after the edge had ejected the killed replica.
    let ejected = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (edge, ejected, running) = (Arc::clone(&edge), Arc::clone(&ejected), Arc::clone(&running));
            tokio::spawn(async move {
                let client = client();
                let (mut before, mut after) = (Outcomes::default(), Outcomes::default());
                while running.load(Ordering::SeqCst) {
                    let after_ejection = ejected.load(Ordering::SeqCst);
                    let request = edge.request("POST", "replicas.test", "/sleep/5", full("payload"));
                    let ok = matches!(send(&client, request).await, Ok(reply) if reply.status == StatusCode::OK);
                    if after_ejection { &mut after } else { &mut before }.count(ok);
                }
                (before, after)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    let served_before_kill = c.requests();
    c.kill().await;
    eventually("the killed replica to be ejected", || edge.edge.is_ejected(killed)).await;
    ejected.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(700)).await;
    running.store(false, Ordering::SeqCst);

    let (mut before, mut after) = (Outcomes::default(), Outcomes::default());
    for task in clients {
        let (b, a) = task.await.expect("client");
        before.add(b);
        after.add(a);
    }
    assert!(served_before_kill > 20, "the killed replica had its share of the load: {served_before_kill}");
    // Only requests in flight on the killed replica can fail: at most one per client.
    assert!(before.failed <= CLIENTS, "{} failures around the kill (bound {CLIENTS}): {before:?}", before.failed);
    assert_eq!(after.failed, 0, "no failure once the replica was ejected: {after:?}");
    assert!(after.ok > 50, "the load went on after the ejection: {after:?}");
    assert!(edge.edge.metrics_text().contains("slipway_edge_backend_ejections_total 1"));
    assert!(a.requests() > 0 && b.requests() > 0);
}

#[tokio::test]
async fn a_backend_answering_gateway_errors_is_ejected_after_three() {
    let edge = RunningEdge::start().await;
    let good = Upstream::start("good").await;
    let failing = FailingServer::start().await;
    edge.edge.set_route("sick.test", [failing.addr, good.addr]).expect("route");
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(edge.get(&client, "sick.test", "/").await.expect("reply").status.as_u16());
    }
    let errors = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(errors, 3, "the failing backend answered until its third error: {statuses:?}");
    assert_eq!(failing.requests.load(Ordering::SeqCst), 3);
    assert!(edge.edge.is_ejected(failing.addr));
    assert!(!edge.edge.is_ejected(good.addr));
    assert_eq!(good.requests(), 27);
}

#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    failed: usize,
}

impl Outcomes {
    fn count(&mut self, ok: bool) {
        if ok { self.ok += 1 } else { self.failed += 1 }
    }

    fn add(&mut self, other: Outcomes) {
        self.ok += other.ok;
        self.failed += other.failed;
    }
}

/// A server that answers every request with 503, as an application that lost its database would.
struct FailingServer {
    addr: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FailingServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let requests = Arc::clone(&requests);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let requests = Arc::clone(&requests);
                    let service = hyper::service::service_fn(move |_request| {
                        requests.fetch_add(1, Ordering::SeqCst);
                        async {
                            let mut response = hyper::Response::new(full("database unavailable"));
                            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    tokio::spawn(
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                    );
                }
            }
        });
        Self { addr, requests, task }
    }
}

impl Drop for FailingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
