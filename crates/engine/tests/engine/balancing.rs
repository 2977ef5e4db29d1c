//! Load balancing over real replicas through the real edge: requests spread over three instances, and
//! killing one under load costs a bounded number of failed requests before the edge ejects it.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use slipway_model::ServiceType;
use slipway_model::deployment::DeploymentStatus;
use slipway_runtime::LogOptions;

use crate::support::{AppRepo, Harness, Load};

/// Requests an instance's web server logged (busybox httpd logs one line per response with `-v`).
async fn served(h: &Harness, instance: &str) -> usize {
    let options = LogOptions { follow: false, tail: None, since: None };
    let lines: Vec<_> = h.runtime.logs(instance, options).await.unwrap().collect().await;
    lines.into_iter().filter_map(Result::ok).filter(|l| l.line.contains("response:200")).count()
}

#[tokio::test]
async fn requests_spread_over_three_replicas_and_a_killed_one_costs_few_failures() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("web");
    body["min_running_instances"] = json!(3);
    body["max_running_instances"] = json!(3);
    let web = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&web);
    let instances = h.current_instances().await;
    assert_eq!(instances.len(), 3);

    // Spread: each replica serves about a third.
    for _ in 0..90 {
        assert_eq!(h.get(&host, "/").await.unwrap().0, 200);
    }
    let mut counts = Vec::new();
    for instance in &instances {
        counts.push(served(&h, &instance.id).await);
    }
    assert!(counts.iter().all(|c| (20..=40).contains(c)), "requests per replica: {counts:?}");

    // Kill one replica (no grace) under load.
    const WORKERS: u32 = 4;
    let load = Load::start(h.edge_addr, &host, "/", 100, WORKERS);
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.runtime.stop(&instances[0].id, Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (seen, failures) = load.stop().await;
    assert!(seen.len() > 250, "the load ran: {} answers", seen.len());
    assert!(
        failures.len() <= WORKERS as usize,
        "at most the requests in flight on the killed replica fail: {} failures: {failures:?}",
        failures.len()
    );
}
