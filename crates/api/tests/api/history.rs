//! Histories, logs, links and stages, from deployments, releases and log
//! lines written straight to the store (as the engine would).

use axum::http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slipway_model::deployment::{
    CommitInfo, Deployment, DeploymentAction, DeploymentLog, DeploymentStatus, DeploymentTarget, LogLevel, Origin,
    Release, ServiceState, ServiceStep, StepStatus,
};
use slipway_model::{DeploymentState, Environment, Service, ServiceType, Uuid, new_id, now};
use tower::ServiceExt;

use crate::support::{App, bodies};

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

struct World {
    app: App,
    env: String,
    web: String,
    nginx: String,
    db: String,
    deployment: Deployment,
    web_release: Release,
}

fn step(service: &Service, stage: &str, status: StepStatus, release: Option<Uuid>) -> ServiceStep {
    ServiceStep {
        service_id: service.id,
        service_name: service.name().to_owned(),
        service_type: service.kind(),
        stage: stage.into(),
        status,
        release_id: release,
        previous_release_id: None,
        started_at: Some(now() - chrono::Duration::seconds(75)),
        finished_at: Some(now()),
        error: None,
    }
}

fn release(service: &Service, deployment: Uuid, commit: bool) -> Release {
    Release {
        id: new_id(),
        organization_id: service.organization_id,
        environment_id: service.environment_id,
        service_id: service.id,
        deployment_id: deployment,
        created_at: now(),
        image: format!("slipway/{}:1", service.name()),
        image_id: "sha256:abc".into(),
        digest: None,
        tag: (!commit).then(|| "1.27".into()),
        commit: commit.then(|| CommitInfo {
            id: "a1b2c3d4e5f6".into(),
            message: "Fix the cart".into(),
            author_name: "Ada".into(),
            committed_at: now(),
        }),
        cache_key: None,
        spec: service.spec.to_json(),
        variables: None,
        variables_digest: None,
    }
}

/// An environment with one finished deployment (the database and the
/// container succeeded, the application failed) and its log.
async fn world() -> World {
    let app = App::with_engine().await;
    let (_, env) = app.project_and_env().await;
    let registry = app.registry().await;
    let web = app.service(&env, "application", bodies::application("web")).await;
    let nginx = app.service(&env, "container", bodies::container("nginx", &registry)).await;
    let db = app.service(&env, "database", bodies::database("pg")).await;
    let org = app.org_id();
    let e: Environment = app.store.get(org, uuid(&env)).await.unwrap();
    let get = |id: &str| {
        let store = app.store.clone();
        let id = uuid(id);
        async move { store.get::<Service>(org, id).await.unwrap() }
    };
    let (web_s, nginx_s, db_s) = (get(&web).await, get(&nginx).await, get(&db).await);
    let mut d =
        Deployment::new(org, e.project_id, e.id, DeploymentAction::Deploy, Vec::new(), Origin::Cli, "ci".into());
    let web_release = release(&web_s, d.id, true);
    let nginx_release = release(&nginx_s, d.id, false);
    app.store.insert(&web_release).await.unwrap();
    app.store.insert(&nginx_release).await.unwrap();
    d.status = DeploymentStatus::Failed;
    d.started_at = Some(now() - chrono::Duration::seconds(80));
    d.finished_at = Some(now());
    d.error = Some("web failed its health check".into());
    d.steps = vec![
        step(&db_s, "DATABASE DEFAULT", StepStatus::Done, None),
        step(&nginx_s, "CONTAINER DEFAULT", StepStatus::RolledBack, Some(nginx_release.id)),
        step(&web_s, "APPLICATION DEFAULT", StepStatus::Failed, Some(web_release.id)),
    ];
    app.store.insert_deployment(&d).await.unwrap();
    for (service, level, message) in [
        (None, LogLevel::Info, "Deploy started"),
        (Some(nginx_s.id), LogLevel::Info, "pulled nginx:1.27"),
        (Some(web_s.id), LogLevel::Error, "web failed its health check"),
    ] {
        let line = DeploymentLog {
            seq: 0,
            deployment_id: d.id,
            environment_id: e.id,
            service_id: service,
            at: now(),
            stage: service.map(|_| "APPLICATION DEFAULT".into()),
            step: service.map(|_| "health".into()),
            level,
            message: message.into(),
        };
        app.store.append_log(&line).await.unwrap();
    }
    let mut st = ServiceState::new(web_s.id, org, e.id);
    st.state = DeploymentState::DeploymentError;
    st.current_release = Some(web_release.id);
    app.store.put_service_state(&st).await.unwrap();
    World { app, env, web, nginx, db, deployment: d, web_release }
}

#[tokio::test]
async fn environment_history_v2_v1_and_deployment() {
    let World { app, env, web, nginx, db, deployment: d, .. } = world().await;
    let page = app.get(&format!("/environment/{env}/deploymentHistoryV2?pageSize=10")).await.expect(200);
    assert_eq!((page["page"].as_u64(), page["page_size"].as_u64()), (Some(1), Some(10)));
    let item = &page["results"][0];
    assert_eq!(item["identifier"], json!({"execution_id": d.id, "environment_id": env}));
    assert_eq!((item["status"].as_str(), item["trigger_action"].as_str()), (Some("DEPLOYMENT_ERROR"), Some("DEPLOY")));
    assert_eq!(item["action_status"], "ERROR");
    assert_eq!(item["total_duration"], "PT1M20S");
    assert_eq!(item["auditing_data"]["triggered_by"], "ci");
    assert_eq!(item["auditing_data"]["origin"], "CLI");
    let stages = item["stages"].as_array().unwrap();
    let summary: Vec<(&str, &str)> =
        stages.iter().map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        [("DATABASE DEFAULT", "DONE"), ("CONTAINER DEFAULT", "CANCELED"), ("APPLICATION DEFAULT", "ERROR")]
    );
    assert_eq!(stages[0]["duration"], "PT1M15S");
    let app_entry = &stages[2]["services"][0];
    assert_eq!(app_entry["identifier"]["service_id"], json!(web));
    assert_eq!(app_entry["identifier"]["service_type"], "APPLICATION");
    assert_eq!(app_entry["status"], "DEPLOYMENT_ERROR");
    assert_eq!(app_entry["status_details"], json!({"action": "DEPLOY", "status": "ERROR", "sub_action": "NONE"}));
    assert_eq!(app_entry["details"]["commit"]["git_commit_id"], "a1b2c3d4e5f6");
    assert_eq!(app_entry["details"]["commit"]["author_name"], "Ada");
    assert!(app_entry["details"]["build_pod_name"].is_string());
    assert!(app_entry["icon_uri"].is_string());
    let container_entry = &stages[1]["services"][0]["details"];
    assert_eq!(
        (container_entry["image_name"].as_str(), container_entry["tag"].as_str()),
        (Some("nginx"), Some("1.27"))
    );
    assert!(container_entry["arguments"].is_array());
    assert_eq!(stages[0]["services"][0]["details"], json!({}));
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    let second = app.get(&format!("/environment/{env}/deploymentHistoryV2?pageSize=10&page=2")).await.expect(200);
    assert_eq!(second["results"], json!([]));
    for bad in ["pageSize=0", "pageSize=101", "pageSize=ten", "page=0"] {
        let field = bad.split('=').next().unwrap();
        app.get(&format!("/environment/{env}/deploymentHistoryV2?{bad}")).await.refused(400, Some(field));
    }

    let v1 = app.get(&format!("/environment/{env}/deploymentHistory")).await.expect(200);
    assert_eq!((v1["page"].as_u64(), v1["page_size"].as_u64()), (Some(1), Some(20)));
    let item = &v1["results"][0];
    assert_eq!((item["id"].clone(), item["status"].as_str()), (json!(d.id), Some("DEPLOYMENT_ERROR")));
    assert_eq!(item["applications"][0]["id"], json!(web));
    assert_eq!(item["applications"][0]["commit"]["git_commit_id"], "a1b2c3d4e5f6");
    assert_eq!(item["containers"][0]["id"], json!(nginx));
    assert_eq!(item["containers"][0]["tag"], "1.27");
    assert_eq!(item["databases"][0]["id"], json!(db));
    let after = app.get(&format!("/environment/{env}/deploymentHistory?startId={}", d.id)).await.expect(200);
    assert_eq!(after["results"], json!([]));
    app.get(&format!("/environment/{env}/deploymentHistory?startId={}", new_id())).await.refused(400, Some("startId"));

    let got = app.get(&format!("/deployment/{}", d.id)).await.expect(200);
    assert_eq!((got["status"].as_str(), got["action"].as_str()), (Some("FAILED"), Some("DEPLOY")));
    assert_eq!(got["steps"][2]["status"], "FAILED");
    assert_eq!(got["duration_seconds"], 80);
    app.get(&format!("/deployment/{}", new_id())).await.refused(404, None);
    app.get(&format!("/environment/deploymentStatus?deploymentRequestId={}", new_id())).await.refused(404, None);
    app.get("/environment/deploymentStatus").await.refused(400, Some("deploymentRequestId"));
    app.get("/environment/deploymentStatus?deploymentRequestId=nope").await.refused(400, Some("deploymentRequestId"));
    assert_eq!(app.get(&format!("/environment/{env}/deploymentQueue")).await.expect(200), json!({"results": []}));
}

#[tokio::test]
async fn service_history_and_releases() {
    let World { app, env, web, nginx, deployment: d, web_release, .. } = world().await;
    // A queued deployment of the container alone shows in its history, not the application's.
    let e: Environment = app.store.get(app.org_id(), uuid(&env)).await.unwrap();
    let target = DeploymentTarget { service_id: uuid(&nginx), version: None, plan_only: false };
    let queued = Deployment::new(
        app.org_id(),
        e.project_id,
        e.id,
        DeploymentAction::Restart,
        vec![target],
        Origin::Api,
        "me".into(),
    );
    app.store.insert_deployment(&queued).await.unwrap();

    let history = app.get(&format!("/application/{web}/deploymentHistoryV2")).await.expect(200);
    assert_eq!((history["page"].as_u64(), history["page_size"].as_u64()), (Some(1), Some(20)));
    let results = history["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["identifier"]["execution_id"], json!(d.id));
    assert_eq!(results[0]["identifier"]["name"], "web");
    assert_eq!(results[0]["total_duration"], "PT1M15S");
    let history = app.get(&format!("/container/{nginx}/deploymentHistoryV2?pageSize=1")).await.expect(200);
    assert_eq!(history["results"][0]["identifier"]["execution_id"], json!(queued.id));
    assert_eq!(history["results"][0]["status"], "RESTART_QUEUED");
    let history = app.get(&format!("/container/{nginx}/deploymentHistoryV2?pageSize=1&page=2")).await.expect(200);
    assert_eq!(history["results"][0]["status"], "CANCELED", "rolled back");
    assert_eq!(history["results"][0]["status_details"]["status"], "CANCELED");
    let releases = app.get(&format!("/application/{web}/release")).await.expect(200);
    assert_eq!(releases["results"][0]["id"], json!(web_release.id));
    assert_eq!(releases["results"][0]["deployment_id"], json!(d.id));
    assert_eq!(releases["results"][0]["is_current"], true);
    let releases = app.get(&format!("/container/{nginx}/release")).await.expect(200);
    assert_eq!(
        (releases["results"][0]["tag"].as_str(), releases["results"][0]["is_current"].as_bool()),
        (Some("1.27"), Some(false))
    );
    app.get(&format!("/database/{web}/deploymentHistoryV2")).await.refused(404, None);

    let queue = app.get(&format!("/environment/{env}/deploymentQueue")).await.expect(200);
    assert_eq!(queue["results"][0]["identifier"]["deployment_request_id"], json!(queued.id));
    assert_eq!(queue["results"][0]["trigger_action"], "RESTART");
    assert_eq!(queue["results"][0]["stages"][0]["services"][0]["identifier"]["name"], "nginx");
}

#[tokio::test]
async fn environment_logs_in_both_shapes() {
    let World { app, env, web, deployment: d, .. } = world().await;
    let lines = app.get(&format!("/environment/{env}/logs")).await.expect(200);
    let lines = lines.as_array().expect("a bare JSON array");
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "info");
    assert_eq!(lines[0]["details"]["execution_id"], json!(d.id));
    assert_eq!(lines[0]["details"]["organization_id"], json!(app.org));
    assert!(lines[0]["details"]["cluster_id"].is_string());
    assert_eq!(lines[0]["details"]["transmitter"]["type"], "Environment");
    assert_eq!(lines[0]["message"], json!({"safe_message": "Deploy started", "full_details": "Deploy started"}));
    assert_eq!(lines[1]["details"]["transmitter"]["type"], "Container");
    assert_eq!(lines[1]["details"]["transmitter"]["name"], "nginx");
    assert_eq!(lines[2]["type"], "error");
    assert_eq!(lines[2]["error"]["user_log_message"], "web failed its health check");
    assert_eq!(lines[2]["details"]["transmitter"]["id"], json!(web));
    assert_eq!(lines[2]["details"]["stage"], json!({"name": "APPLICATION DEFAULT", "step": "health"}));
    let same = app.get(&format!("/environment/{env}/logs?version={}", d.id)).await.expect(200);
    assert_eq!(same.as_array().unwrap().len(), 3);
    app.get(&format!("/environment/{env}/logs?version=v1")).await.refused(400, Some("version"));
    app.get(&format!("/environment/{env}/logs?version={}", new_id())).await.refused(400, Some("version"));

    let legacy = app.get(&format!("/environment/{env}/log")).await.expect(200);
    let results = legacy["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["scope"]["type"], "ENVIRONMENT");
    assert_eq!(results[2]["scope"]["type"], "APPLICATION");
    assert_eq!(results[2]["message"], "web failed its health check");
    assert_eq!(results[2]["execution_id"], json!(d.id));
}

#[tokio::test]
async fn the_deployment_stream_replays_stored_lines_then_ends() {
    let World { app, deployment: d, .. } = world().await;
    let req = axum::http::Request::builder()
        .method(Method::GET)
        .uri(format!("/deployment/{}/logs/stream", d.id))
        .header("authorization", format!("Token {}", app.token))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("a finished deployment's stream ends")
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events, ["deployment", "log", "log", "log", "end"]);
    let data: Vec<Value> =
        text.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(data[1]["message"], "Deploy started");
    assert_eq!(data[3]["level"], "error");
    assert_eq!(data[4]["status"], "FAILED");
    app.get(&format!("/deployment/{}/logs/stream", new_id())).await.refused(404, None);
}

#[tokio::test]
async fn links_come_from_the_engine() {
    let World { app, web, nginx, db, .. } = world().await;
    let links = app.get(&format!("/application/{web}/link")).await.expect(200);
    let link = &links["results"][0];
    assert_eq!(link["service_id"], json!(web));
    assert_eq!(link["service_type"], "APPLICATION");
    assert_eq!((link["internal_port"].as_u64(), link["is_default"].as_bool()), (Some(8080), Some(true)));
    assert_eq!(link["is_qovery_domain"], true);
    assert!(link["url"].as_str().unwrap().starts_with("http://"));
    assert!(link["external_port"].is_u64());
    assert_eq!(links["results"].as_array().unwrap().len(), 1);
    // A custom domain is a link too, after the generated one, and not a generated domain.
    let domain = json!({"domain": "www.shop.example.com", "generate_certificate": false});
    app.post(&format!("/application/{web}/customDomain"), domain).await.expect(201);
    let links = app.get(&format!("/application/{web}/link")).await.expect(200);
    let links = links["results"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0]["is_qovery_domain"], true);
    assert_eq!(links[1]["is_qovery_domain"], false);
    assert!(links[1]["url"].as_str().unwrap().starts_with("http://www.shop.example.com"), "{links:?}");
    assert_eq!((links[1]["internal_port"].as_u64(), links[1]["is_default"].as_bool()), (Some(8080), Some(true)));
    // No public port: no link.
    assert_eq!(app.get(&format!("/container/{nginx}/link")).await.expect(200), json!({"results": []}));
    app.get(&format!("/database/{db}/link")).await.refused(404, None);
    // Without an engine there is nothing to ask.
    let bare = App::new().await;
    let (_, env) = bare.project_and_env().await;
    let id = bare.service(&env, "application", bodies::application("web")).await;
    assert_eq!(bare.get(&format!("/application/{id}/link")).await.refused(503, None)["code"], "engine_unavailable");
    bare.get(&format!("/application/{id}/log")).await.refused(503, None);
    bare.get(&format!("/application/{id}/logs/stream")).await.refused(503, None);
}

#[tokio::test]
async fn deployment_stages_crud_attach_and_move() {
    let World { app, env, web, nginx, db, .. } = world().await;
    let list = app.get(&format!("/environment/{env}/deploymentStage")).await.expect(200);
    let stages = list["results"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "DATABASE DEFAULT",
            "JOB DEFAULT",
            "CONTAINER DEFAULT",
            "APPLICATION DEFAULT",
            "HELM DEFAULT",
            "TERRAFORM DEFAULT"
        ]
    );
    assert_eq!(stages[0]["deployment_order"], 0);
    assert_eq!(stages[0]["environment"]["id"], json!(env));
    assert_eq!(stages[0]["services"][0]["service_id"], json!(db));
    assert_eq!(stages[0]["services"][0]["service_type"], "DATABASE");
    assert_eq!(stages[3]["services"][0]["service_id"], json!(web));
    let app_stage = stages[3]["id"].as_str().unwrap().to_owned();
    let db_stage = stages[0]["id"].as_str().unwrap().to_owned();

    let created = app
        .post(&format!("/environment/{env}/deploymentStage"), json!({"name": "warmup", "description": "first"}))
        .await
        .expect(200);
    assert_eq!((created["deployment_order"].as_u64(), created["services"].clone()), (Some(6), json!([])));
    let warmup = created["id"].as_str().unwrap().to_owned();
    app.post(&format!("/environment/{env}/deploymentStage"), json!({"name": "warmup"})).await.refused(409, None);
    app.post(&format!("/environment/{env}/deploymentStage"), json!({"name": ""})).await.refused(400, Some("name"));
    app.post(&format!("/environment/{env}/deploymentStage"), json!({})).await.refused(400, Some("name"));
    let edited = app.put(&format!("/deploymentStage/{warmup}"), json!({"name": "warm-up"})).await.expect(200);
    assert_eq!((edited["name"].as_str(), edited.get("description")), (Some("warm-up"), None));

    // Attach the container to the new stage, skipped; move the stage first.
    let list = app.put(&format!("/deploymentStage/{warmup}/service/{nginx}"), json!({"is_skipped": true})).await;
    let list = list.expect(200);
    let warm = list["results"].as_array().unwrap().iter().find(|s| s["id"] == json!(warmup)).unwrap().clone();
    assert_eq!(warm["services"][0]["service_id"], json!(nginx));
    assert_eq!(warm["services"][0]["is_skipped"], true);
    let stage = app.get(&format!("/service/{nginx}/deploymentStage")).await.expect(200);
    assert_eq!(stage["id"], json!(warmup));
    let list = app.put(&format!("/deploymentStage/{warmup}/moveBefore/{db_stage}"), json!({})).await.expect(200);
    let order: Vec<&str> = list["results"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(order[..2], ["warm-up", "DATABASE DEFAULT"]);
    let orders: Vec<u64> =
        list["results"].as_array().unwrap().iter().map(|s| s["deployment_order"].as_u64().unwrap()).collect();
    assert_eq!(orders, [0, 1, 2, 3, 4, 5, 6]);
    let list = app.put(&format!("/deploymentStage/{warmup}/moveAfter/{app_stage}"), json!({})).await.expect(200);
    let order: Vec<&str> = list["results"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(order[3..5], ["APPLICATION DEFAULT", "warm-up"]);
    // The stored order is what the next list shows.
    let again = app.get(&format!("/environment/{env}/deploymentStage")).await.expect(200);
    assert_eq!(again["results"], list["results"]);
    // A queued environment deployment follows it (the skipped container is left out).
    app.post(&format!("/environment/{env}/deploy"), json!({})).await.expect(202);
    let queue = app.get(&format!("/environment/{env}/deploymentQueue")).await.expect(200);
    let planned: Vec<&str> =
        queue["results"][0]["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(planned, ["DATABASE DEFAULT", "APPLICATION DEFAULT"]);

    app.put(&format!("/deploymentStage/{warmup}/moveAfter/{warmup}"), json!({})).await.refused(400, Some("stageId"));
    app.put(&format!("/deploymentStage/{warmup}/moveAfter/{}", new_id()), json!({}))
        .await
        .refused(400, Some("stageId"));
    app.put(&format!("/deploymentStage/{warmup}/service/{}", new_id()), json!({})).await.refused(404, None);
    app.put(&format!("/deploymentStage/{warmup}/service/{web}"), json!({"is_skipped": "yes"}))
        .await
        .refused(400, Some("is_skipped"));
    app.delete(&format!("/deploymentStage/{warmup}")).await.refused(409, None);
    app.delete(&format!("/deploymentStage/{db_stage}")).await.refused(409, None);
    // Moving the container back to its default stage empties the new one.
    app.put(&format!("/deploymentStage/{}/service/{nginx}", list["results"][2]["id"].as_str().unwrap()), json!({}))
        .await
        .expect(200);
    app.delete(&format!("/deploymentStage/{warmup}")).await.expect(204);
    app.get(&format!("/deploymentStage/{warmup}")).await.refused(404, None);
    let list = app.get(&format!("/environment/{env}/deploymentStage")).await.expect(200);
    let orders: Vec<u64> =
        list["results"].as_array().unwrap().iter().map(|s| s["deployment_order"].as_u64().unwrap()).collect();
    assert_eq!(orders, [0, 1, 2, 3, 4, 5]);
    assert_eq!(list["results"][2]["services"][0]["service_id"], json!(nginx));
    assert_eq!(list["results"][2]["services"][0]["is_skipped"], false);
    let _ = ServiceType::Container;
}
