use slipway_model::deployment::{DeploymentStage, DeploymentStatus, StageService, StepStatus};
use slipway_model::{DeploymentState, ServiceType};

use crate::support::{AppRepo, Harness, Load};

#[tokio::test]
async fn a_revision_that_never_gets_ready_leaves_the_old_one_serving() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);
    let load = Load::start(h.edge_addr, &host, "/", 100, 4);
    repo.commit_version("v2-broken", false);
    let d = h.deploy(vec![(app.id, None)]).await;
    let (seen, failures) = load.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert!(failures.is_empty(), "{} failed requests: {:?}", failures.len(), &failures[..failures.len().min(5)]);
    assert!(!seen.is_empty() && seen.iter().all(|b| b == "v1"), "only the old revision answered");
    assert_eq!(h.get(&host, "/").await.unwrap().1.trim(), "v1");

    let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    assert_eq!(states[0].state, DeploymentState::DeploymentError);
    assert!(states[0].message.as_deref().unwrap_or_default().contains("never got ready"));
    let log = h.log_of(&d).await;
    let text: Vec<&str> = log.iter().map(|l| l.message.as_str()).collect();
    assert!(text.iter().any(|m| m.contains("readiness probe failed") && m.contains("404")), "{text:#?}");
    assert!(text.iter().any(|m| m.contains("last") && m.contains("log lines")), "{text:#?}");
    assert!(text.iter().any(|m| m.contains("serving v2-broken")), "the container's own output: {text:#?}");
    // The broken instances are gone; the old one remains.
    assert_eq!(h.instances().await.len(), 1);
}

#[tokio::test]
async fn a_failed_environment_deploy_returns_switched_services_to_their_previous_release() {
    let h = Harness::new().await;
    let a_repo = AppRepo::new("a-v1");
    let b_repo = AppRepo::new("b-v1");
    let a = h.add_service(ServiceType::Application, a_repo.application("first")).await;
    let b = h.add_service(ServiceType::Application, b_repo.application("second")).await;
    // `first` deploys in an earlier stage than `second`.
    let mut stages = h.engine.stages(&h.env).await.unwrap();
    let early: &mut DeploymentStage = stages.iter_mut().find(|s| s.name == "JOB DEFAULT").unwrap();
    early.services.push(StageService { service_id: a.id, is_skipped: false });
    h.store.update(&*early).await.unwrap();

    let first = h.deploy(vec![]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&first).await);
    assert_eq!(first.steps.iter().map(|s| s.service_id).collect::<Vec<_>>(), vec![a.id, b.id]);

    a_repo.commit_version("a-v2", true);
    b_repo.commit_version("b-v2-broken", false);
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let step = |id| d.steps.iter().find(|s| s.service_id == id).unwrap();
    assert_eq!(step(a.id).status, StepStatus::RolledBack, "{:#?}", d.steps);
    assert_eq!(step(b.id).status, StepStatus::Failed);
    assert_eq!(h.get(&h.host(&a), "/").await.unwrap().1.trim(), "a-v1", "first is back on its previous release");
    assert_eq!(h.get(&h.host(&b), "/").await.unwrap().1.trim(), "b-v1");
    let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    let a_state = states.iter().find(|s| s.service_id == a.id).unwrap();
    assert_eq!(a_state.current_release, first.steps[0].release_id);
    assert!(a_state.message.as_deref().unwrap_or_default().contains("rolled back"));
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.message.contains("rolling back 1 service")), "the history says why");
}

#[tokio::test]
async fn a_canceled_deploy_stops_and_keeps_the_old_release_serving() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("web");
    body["healthchecks"]["readiness_probe"]["initial_delay_seconds"] = serde_json::json!(6);
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);

    repo.commit_version("v2", true);
    let d = h.submit(slipway_model::deployment::DeploymentAction::Deploy, vec![(app.id, None)]).await;
    // Cancel once the new instance is starting.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !h.log_of(&d).await.iter().any(|l| l.message.contains("started 1 instance")) {
        assert!(std::time::Instant::now() < deadline, "the deploy never started its instance");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(h.store.cancel_deployment(h.org, d.id).await.unwrap(), DeploymentStatus::Running);
    let done = h.finish(&d).await;
    assert_eq!(done.status, DeploymentStatus::Canceled, "{done:?}");
    assert_eq!(h.get(&host, "/").await.unwrap().1.trim(), "v1", "the old release still serves");
    assert_eq!(h.instances().await.len(), 1, "the new instance is gone");
}
