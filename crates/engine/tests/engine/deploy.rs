use std::time::Duration;

use slipway_model::ServiceType;
use slipway_model::deployment::{DeploymentStatus, Release, StepStatus, VersionPin};
use slipway_store::Filter;

use crate::support::{AppRepo, Harness, Load, eventually};

#[tokio::test]
async fn an_application_from_git_answers_through_the_edge() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{d:?}\n{:#?}", h.log_of(&d).await);
    let host = h.host(&app);
    assert!(host.ends_with(".localhost"), "{host}");
    let (status, body) = h.get(&host, "/").await.unwrap();
    assert_eq!((status, body.trim()), (200, "v1"));
    // The link is the host on the edge's port.
    let url = &h.engine.public_urls(&app)[0].url;
    assert_eq!(url, &format!("http://{host}:{}", h.edge_addr.port()));
    // One release, recorded with its commit, and the build log in the deployment log.
    let releases: Vec<Release> = h.store.list(h.org, Filter::parent(app.id)).await.unwrap();
    assert_eq!(releases.len(), 1);
    assert!(releases[0].commit.as_ref().is_some_and(|c| c.message == "version v1"));
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.step.as_deref() == Some("build")), "build output is in the deployment log");
    assert!(log.iter().any(|l| l.message.contains("ready")));
    // The instance carries the service's limits.
    let instances = h.instances().await;
    assert_eq!(instances.len(), 1);
    assert_eq!((instances[0].cpu_millis, instances[0].memory_mib), (Some(250), Some(64)));
}

#[tokio::test]
async fn redeploys_under_load_drop_no_request() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);
    let load = Load::start(h.edge_addr, &host, "/", 200, 8);
    for version in ["v2", "v3", "v4"] {
        repo.commit_version(version, true);
        let d = h.deploy(vec![(app.id, None)]).await;
        assert_eq!(d.status, DeploymentStatus::Succeeded, "{version}: {:#?}", h.log_of(&d).await);
        let (_, body) = h.get(&host, "/").await.unwrap();
        assert_eq!(body.trim(), version);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (seen, failures) = load.stop().await;
    assert!(failures.is_empty(), "{} failed requests: {:?}", failures.len(), &failures[..failures.len().min(5)]);
    assert!(seen.len() > 200 * 3, "the load ran: {} requests", seen.len());
    for version in ["v1", "v2", "v3", "v4"] {
        assert!(seen.iter().any(|b| b == version), "no response from {version}");
    }
    assert_eq!(seen.last().map(String::as_str), Some("v4"));
    // Only the last revision runs, once the old ones have stopped.
    eventually("the old revisions stop", Duration::from_secs(60), || async { h.instances().await.len() == 1 }).await;
}

#[tokio::test]
async fn a_no_op_redeploy_changes_nothing() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    let first = h.deploy(vec![]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded);
    let before = h.instances().await;
    let again = h.deploy(vec![(app.id, None)]).await;
    assert_eq!(again.status, DeploymentStatus::Succeeded);
    assert_eq!(h.instances().await, before, "the same instance keeps running");
    let log = h.log_of(&again).await;
    assert!(log.iter().any(|l| l.message.contains("nothing changed")), "{log:#?}");
    assert!(log.iter().any(|l| l.message.contains("build cache hit")), "no rebuild");
    assert_eq!(again.steps[0].release_id, first.steps[0].release_id);
}

#[tokio::test]
async fn rolling_back_restores_an_earlier_image_and_config_without_a_build() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    let first = h.deploy(vec![]).await;
    let r1 = first.steps[0].release_id.unwrap();
    repo.commit_version("v2", true);
    let app = h.edit_service(&app, serde_json::json!({"cpu": 300, "memory": 96})).await;
    let second = h.deploy(vec![(app.id, None)]).await;
    assert_eq!(second.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);
    assert_eq!(h.get(&host, "/").await.unwrap().1.trim(), "v2");
    assert_eq!(h.current_instances().await[0].cpu_millis, Some(300));

    let back = h.deploy(vec![(app.id, Some(VersionPin::Release(r1)))]).await;
    assert_eq!(back.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&back).await);
    assert_eq!(back.steps[0].release_id, Some(r1), "what runs is the earlier release itself");
    assert_eq!(h.get(&host, "/").await.unwrap().1.trim(), "v1");
    let instances = h.current_instances().await;
    assert_eq!((instances[0].cpu_millis, instances[0].memory_mib), (Some(250), Some(64)), "its config came back too");
    let log = h.log_of(&back).await;
    assert!(!log.iter().any(|l| l.step.as_deref() == Some("build")), "no build step: {log:#?}");
    // By commit id, the contract's way: the code of that commit (a cached
    // build) with the current configuration.
    let v1: Release = h.store.get(h.org, r1).await.unwrap();
    let sha = v1.commit.expect("an application release records its commit").id;
    let h2 = h.deploy(vec![(app.id, None)]).await;
    assert_eq!(h2.status, DeploymentStatus::Succeeded);
    assert_eq!(h.get(&host, "/").await.unwrap().1.trim(), "v2");
    let pinned = h.deploy(vec![(app.id, Some(VersionPin::GitCommit(sha)))]).await;
    assert_eq!(pinned.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&pinned).await);
    assert_eq!(pinned.steps[0].status, StepStatus::Done);
    assert!(h.log_of(&pinned).await.iter().any(|l| l.message.contains("build cache hit")));
    eventually("v1 answers again", Duration::from_secs(5), || async {
        h.get(&host, "/").await.unwrap().1.trim() == "v1"
    })
    .await;
    assert_eq!(h.current_instances().await[0].cpu_millis, Some(300), "with the current configuration");
}

#[tokio::test]
async fn deleting_a_service_removes_what_it_ran_and_the_images_built_for_it() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    let first = h.deploy(vec![]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded);
    let release: Release = h.store.get(h.org, first.steps[0].release_id.unwrap()).await.unwrap();
    assert!(h.runtime.image(&release.image).await.unwrap().is_some());

    let mut delete = slipway_model::deployment::Deployment::new(
        h.org,
        app.project_id,
        h.env.id,
        slipway_model::deployment::DeploymentAction::Delete,
        vec![slipway_model::deployment::DeploymentTarget { service_id: app.id, version: None, plan_only: false }],
        slipway_model::deployment::Origin::Api,
        "test".into(),
    );
    delete.remove_config = true;
    h.engine.submit(&delete).await.unwrap();
    let done = h.finish(&delete).await;
    assert_eq!(done.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&done).await);
    assert!(h.instances().await.is_empty());
    assert!(h.runtime.image(&release.image).await.unwrap().is_none(), "its image is gone");
    eventually("the service's configuration is gone", Duration::from_secs(5), || async {
        h.store.get::<slipway_model::Service>(h.org, app.id).await.is_err()
    })
    .await;
}
