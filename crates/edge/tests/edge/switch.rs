//! The zero-downtime promise: switching a route under load, draining and stopping the old backend,
//! costs no failed request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::StatusCode;
use tokio::time::Instant;

use crate::support::{RunningEdge, Upstream, client};

const TASKS: usize = 16;
/// Upper bound on requests per load task, so the generator stops by itself whatever happens.
const MAX_REQUESTS_PER_TASK: usize = 20_000;

#[derive(Default)]
struct Load {
    /// (when the request was sent, which backend answered)
    served: Vec<(Instant, String)>,
    failures: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_routes_under_load_fails_no_request() {
    let edge = Arc::new(RunningEdge::start().await);
    let mut current = Upstream::start("rev-0").await;
    edge.edge.set_route("app.test", [current.addr]).expect("route");

    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Mutex::new(Load::default()));
    let started = Instant::now();
    let generators: Vec<_> = (0..TASKS)
        .map(|_| {
            let (edge, stop, load) = (Arc::clone(&edge), Arc::clone(&stop), Arc::clone(&load));
            tokio::spawn(async move {
                let client = client();
                for _ in 0..MAX_REQUESTS_PER_TASK {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let sent = Instant::now();
                    let outcome = edge.get(&client, "app.test", "/sleep/5").await;
                    let mut load = load.lock().expect("load");
                    match outcome {
                        Ok(reply) if reply.status == StatusCode::OK => load.served.push((sent, reply.text())),
                        Ok(reply) => load.failures.push(format!("{}: {}", reply.status, reply.text())),
                        Err(error) => load.failures.push(error),
                    }
                }
            })
        })
        .collect();

    let mut switches = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for round in 1..=3 {
        let next = Upstream::start(&format!("rev-{round}")).await;
        edge.edge.set_route("app.test", [next.addr]).expect("switch");
        switches.push((Instant::now(), next.name().to_owned()));
        let outcome = edge.edge.drain([current.addr], Duration::from_secs(10)).await;
        assert!(outcome.is_drained(), "round {round}: {outcome:?}");
        assert_eq!(edge.edge.in_flight(current.addr), 0);
        let old = std::mem::replace(&mut current, next);
        assert!(old.requests() > 0, "{} served no request before the switch", old.name());
        // Killed, not stopped gracefully: only the drain protects the requests it was serving.
        old.kill().await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for generator in generators {
        generator.await.expect("load task");
    }
    let elapsed = started.elapsed();

    let load = load.lock().expect("load");
    assert!(
        load.failures.is_empty(),
        "{} of {} requests failed across the switches, e.g. {:?}",
        load.failures.len(),
        load.failures.len() + load.served.len(),
        &load.failures[..load.failures.len().min(5)]
    );
    let rate = load.served.len() as f64 / elapsed.as_secs_f64();
    assert!(rate >= 200.0, "the load was only {rate:.0} req/s ({} requests)", load.served.len());
    // Every request sent after a switch was served by the revision switched to, or a later one.
    let revision = |name: &str| name.trim_start_matches("rev-").parse::<usize>().expect("revision name");
    for (switched_at, name) in &switches {
        let after: Vec<_> = load.served.iter().filter(|(sent, _)| sent > switched_at).collect();
        assert!(!after.is_empty(), "no request was sent after the switch to {name}");
        let strays = after.iter().filter(|(_, by)| revision(by) < revision(name)).count();
        assert_eq!(strays, 0, "{strays} requests sent after the switch to {name} reached an older revision");
    }
    for round in 0..=3 {
        let name = format!("rev-{round}");
        assert!(load.served.iter().any(|(_, by)| *by == name), "{name} served no request");
    }
    println!("{} requests in {elapsed:.1?} ({rate:.0} req/s), 3 switches, 0 failed", load.served.len());
    let counters = edge.edge.counters().routes["app.test"];
    assert_eq!(counters.failures, 0);
    assert_eq!(counters.requests as usize, load.served.len());
}
