use std::time::Duration;

use serde_json::json;
use slipway_model::deployment::DeploymentStatus;
use slipway_model::{DeploymentState, ServiceType, naming};
use slipway_runtime::InstanceState;

use crate::support::{AppRepo, Harness, eventually};

#[tokio::test]
async fn services_reach_each_other_by_their_internal_host_names() {
    let h = Harness::new().await;
    let front_repo = AppRepo::new("front");
    let back_repo = AppRepo::new("back-v1");
    let front = h.add_service(ServiceType::Application, front_repo.application("front")).await;
    let mut back_body = back_repo.application("back-end");
    back_body["ports"][0]["publicly_accessible"] = json!(false);
    let back = h.add_service(ServiceType::Application, back_body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    assert!(h.engine.public_urls(&back).is_empty(), "a private service has no public URL");

    let internal = naming::host_internal(ServiceType::Application, back.id, "back-end");
    let instance = h.instances().await.into_iter().find(|i| i.name.contains("front")).unwrap();
    let url = format!("http://{internal}:8080/");
    let out = h
        .runtime
        .exec(&instance.id, &["/bin/busybox".into(), "wget".into(), "-qO-".into(), url], Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.output.trim()), (0, "back-v1"), "{out:?}");
    // The private service is not on the edge.
    assert!(h.get(&format!("back-end-{}.localhost", naming::short_dns(back.id)), "/").await.unwrap().0 == 404);
    assert_eq!(h.get(&h.host(&front), "/").await.unwrap().1.trim(), "front");
}

#[tokio::test]
async fn storage_outlives_redeploys() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("keeper");
    body["storage"] = json!([{"type": "FAST_SSD", "size": 1, "mount_point": "/data"}]);
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let exec = |id: String, script: &str| {
        let runtime = h.runtime.clone();
        let command = vec!["/bin/busybox".to_owned(), "sh".into(), "-c".into(), script.to_owned()];
        async move { runtime.exec(&id, &command, Duration::from_secs(10)).await.unwrap() }
    };
    let first = h.instances().await.remove(0);
    assert_eq!(exec(first.id.clone(), "echo kept > /data/note").await.exit_code, 0);

    repo.commit_version("v2", true);
    let d = h.deploy(vec![(app.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded);
    let second = h.instances().await.remove(0);
    assert_ne!(second.id, first.id, "a new instance");
    let out = exec(second.id.clone(), "cat /data/note").await;
    assert_eq!(out.output.trim(), "kept");
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.message.contains("persistent storage")), "the stop-first rollout is logged");
}

#[tokio::test]
async fn a_crash_loop_shows_in_the_status_with_the_last_log_lines() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("flaky");
    // Serves long enough to pass readiness, then dies, again and again.
    body["arguments"] = json!(["echo booting; /bin/busybox httpd -p 8080 -h /www; sleep 3; echo dying now; exit 3"]);
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let message = || async {
        let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
        states.iter().find(|s| s.service_id == app.id).unwrap().message.clone().unwrap_or_default()
    };
    eventually("a crash loop in the status", Duration::from_secs(60), || async {
        let m = message().await;
        m.contains("crash loop") && m.contains("dying now")
    })
    .await;
    let m = message().await;
    assert!(m.contains("exited with code 3"), "{m}");
    // It keeps being restarted.
    eventually("restarted", Duration::from_secs(30), || async {
        h.instances().await.iter().any(|i| i.state == InstanceState::Running)
    })
    .await;
}

#[tokio::test]
async fn a_failing_liveness_probe_restarts_the_instance() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("zombie");
    body["healthchecks"]["liveness_probe"] = json!({
        "type": {"http": {"port": 8080, "path": "/alive"}},
        "initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 1, "failure_threshold": 2
    });
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let first = h.instances().await.remove(0);
    eventually("a restart", Duration::from_secs(60), || async {
        let now = h.runtime.inspect(&first.id).await.unwrap().unwrap();
        now.started_at != first.started_at
    })
    .await;
    eventually("the restart reported in the status", Duration::from_secs(30), || async {
        let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
        let state = states.iter().find(|s| s.service_id == app.id).unwrap();
        matches!(state.state, DeploymentState::Deployed | DeploymentState::Unavailable)
            && state.message.as_deref().unwrap_or_default().contains("failed its liveness probe")
    })
    .await;
}

#[tokio::test]
async fn exec_and_tcp_probes_gate_traffic_and_a_restart_replaces_instances_without_failures() {
    let h = Harness::new().await;
    let repo = AppRepo::new("v1");
    let mut body = repo.application("probed");
    body["healthchecks"] = json!({
        "readiness_probe": {"type": {"exec": {"command": ["/bin/busybox", "test", "-f", "/www/health"]}},
                            "initial_delay_seconds": 0, "period_seconds": 1},
        "liveness_probe": {"type": {"tcp": {"port": 8080}}, "initial_delay_seconds": 0, "period_seconds": 1}
    });
    let app = h.add_service(ServiceType::Application, body).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    let host = h.host(&app);
    let before = h.current_instances().await;
    let load = crate::support::Load::start(h.edge_addr, &host, "/", 100, 4);
    let restart = h.submit(slipway_model::deployment::DeploymentAction::Restart, vec![(app.id, None)]).await;
    let done = h.finish(&restart).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (seen, failures) = load.stop().await;
    assert_eq!(done.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&done).await);
    assert!(failures.is_empty(), "{} failed requests during the restart: {failures:?}", failures.len());
    assert!(seen.iter().all(|b| b == "v1") && !seen.is_empty());
    // The replaced instance drains in the background; wait for it to go.
    eventually("the old instance retired", Duration::from_secs(60), || async {
        h.current_instances().await.len() == 1
    })
    .await;
    let after = h.current_instances().await;
    assert_ne!(after[0].id, before[0].id, "a fresh instance of the same release");
    assert_eq!(
        after[0].labels.get(slipway_runtime::label::RELEASE),
        before[0].labels.get(slipway_runtime::label::RELEASE)
    );
    // The TCP liveness probe passes: nothing is restarted behind our back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = h.runtime.inspect(&after[0].id).await.unwrap().unwrap();
    assert_eq!(now.started_at, after[0].started_at);
}
