use std::time::Duration;

use slipway_model::ServiceType;
use slipway_model::deployment::DeploymentStatus;
use slipway_runtime::InstanceState;

use crate::support::{AppRepo, Harness, Load, eventually};

#[tokio::test]
async fn a_cpu_bound_service_scales_out_and_back_in_without_failures() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("burner");
    body["cpu"] = serde_json::json!(100);
    body["min_running_instances"] = serde_json::json!(1);
    body["max_running_instances"] = serde_json::json!(3);
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);
    let running = || async { h.instances().await.iter().filter(|i| i.state == InstanceState::Running).count() };
    assert_eq!(running().await, 1);

    let burn = Load::start(h.edge_addr, &host, "/cgi-bin/burn", 20, 10);
    eventually("scale out to 2 or more", Duration::from_secs(90), || async { running().await >= 2 }).await;
    let (served, failures) = burn.stop().await;
    assert!(
        failures.is_empty(),
        "{} failed requests under load: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(served.iter().all(|b| b == "burned"));

    let idle = Load::start(h.edge_addr, &host, "/", 20, 2);
    eventually("scale back in to 1", Duration::from_secs(90), || async { running().await == 1 }).await;
    let (_, failures) = idle.stop().await;
    assert!(failures.is_empty(), "{} failed requests while scaling in: {failures:?}", failures.len());
    for instance in h.instances().await {
        assert_eq!((instance.cpu_millis, instance.memory_mib), (Some(100), Some(64)), "limits on {}", instance.name);
    }
}
