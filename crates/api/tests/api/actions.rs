//! Actions queue durable deployments with the right action, targets and
//! version pins, statuses show them, cancel undoes them, and deletes of
//! deployed resources go through the engine. The engine's workers never
//! start here: deployments stay queued.

use serde_json::{Value, json};
use slipway_model::deployment::{
    CommitInfo, Deployment, DeploymentAction, DeploymentStatus, Origin, Release, ServiceState, VersionPin,
};
use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope};
use slipway_model::{DeploymentState, Role, Service, Uuid, new_id, now};

use crate::support::{App, bodies, tenant};

struct Shop {
    app: App,
    env: String,
    web: String,
    nginx: String,
    db: String,
}

async fn shop() -> Shop {
    let app = App::with_engine().await;
    let (_, env) = app.project_and_env().await;
    let registry = app.registry().await;
    let web = app.service(&env, "application", bodies::application("web")).await;
    let nginx = app.service(&env, "container", bodies::container("nginx", &registry)).await;
    let db = app.service(&env, "database", bodies::database("pg")).await;
    Shop { app, env, web, nginx, db }
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

/// Records what the engine would: the service runs `release` (whose spec is
/// the service's current one unless `spec` says otherwise).
async fn deployed(app: &App, service: &str, state: DeploymentState, spec: Option<Value>) -> Release {
    let org = app.org_id();
    let service: Service = app.store.get(org, uuid(service)).await.unwrap();
    let release = Release {
        id: new_id(),
        organization_id: org,
        environment_id: service.environment_id,
        service_id: service.id,
        deployment_id: new_id(),
        created_at: now(),
        image: format!("slipway/{}:1", service.name()),
        image_id: "sha256:abc".into(),
        digest: None,
        tag: Some("1.27".into()),
        commit: Some(CommitInfo {
            id: "a1b2c3d4e5f6".into(),
            message: "Fix the cart".into(),
            author_name: "Ada".into(),
            committed_at: now(),
        }),
        cache_key: None,
        spec: spec.unwrap_or_else(|| service.spec.to_json()),
        variables: None,
        variables_digest: None,
    };
    app.store.insert(&release).await.unwrap();
    let mut st = ServiceState::new(service.id, org, service.environment_id);
    st.state = state;
    st.current_release = Some(release.id);
    st.last_action = Some(DeploymentAction::Deploy);
    st.last_action_status = Some(DeploymentStatus::Succeeded);
    st.last_deployment_at = Some(now());
    app.store.put_service_state(&st).await.unwrap();
    release
}

#[tokio::test]
async fn without_an_engine_actions_answer_503_and_reads_still_work() {
    let app = App::new().await;
    let (_, env) = app.project_and_env().await;
    app.service(&env, "database", bodies::database("pg")).await;
    let body = app.post(&format!("/environment/{env}/deploy"), json!({})).await.refused(503, None);
    assert_eq!(body["code"], "engine_unavailable");
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["databases"][0]["state"], "READY");
    assert_eq!(statuses["databases"][0]["deployment_request_id"], Value::Null);
    // Cancel only writes to the store; with nothing queued it is a 400.
    app.post(&format!("/environment/{env}/cancelDeployment"), json!({})).await.refused(400, None);
    // Stages work from the store alone.
    let stages = app.get(&format!("/environment/{env}/deploymentStage")).await.expect(200);
    assert_eq!(stages["results"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn deploying_an_environment_queues_one_deployment_and_statuses_show_it() {
    let Shop { app, env, web, nginx, db } = shop().await;
    let status = app.post(&format!("/environment/{env}/deploy"), json!({})).await.expect(202);
    assert_eq!(status["id"], json!(env));
    assert_eq!(status["state"], "DEPLOYMENT_QUEUED");
    assert_eq!(status["status_details"], json!({"action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE"}));
    let pending = app.pending(&env).await;
    assert_eq!(pending.len(), 1);
    let d = &pending[0];
    assert_eq!((d.action, d.status, d.targets.is_empty()), (DeploymentAction::Deploy, DeploymentStatus::Queued, true));
    assert_eq!((d.origin, d.triggered_by.as_str()), (Origin::Api, "acme-token"));
    assert_eq!(status["deployment_request_id"], json!(d.id));

    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["environment"]["state"], "DEPLOYMENT_QUEUED");
    assert_eq!(statuses["environment"]["deployment_request_id"], json!(d.id));
    for (list, id) in [("applications", &web), ("containers", &nginx), ("databases", &db)] {
        let s = &statuses[list][0];
        assert_eq!(s["id"], json!(id));
        assert_eq!(s["state"], "DEPLOYMENT_QUEUED", "{list}: {s}");
        assert_eq!(s["service_deployment_status"], "NEVER_DEPLOYED");
        assert_eq!(
            (s["deployment_request_id"].clone(), s["deployment_requests_count"].clone()),
            (json!(d.id), json!(1))
        );
        assert_eq!(s["is_part_last_deployment"], true);
    }
    let one = app.get(&format!("/container/{nginx}/status")).await.expect(200);
    assert_eq!(one["state"], "DEPLOYMENT_QUEUED");
    let by_kind = app.get(&format!("/environment/{env}/database/status")).await.expect(200);
    assert_eq!(by_kind["results"][0]["state"], "DEPLOYMENT_QUEUED");
    let project_envs = app.get(&format!("/project/{}/environment/status", d.project_id)).await.expect(200);
    assert_eq!(project_envs["results"][0]["state"], "DEPLOYMENT_QUEUED");
    let by_request = app.get(&format!("/environment/deploymentStatus?deploymentRequestId={}", d.id)).await.expect(200);
    assert_eq!(
        by_request,
        json!({"deployment_request_id": d.id, "environment_id": env, "status": "DEPLOYMENT_QUEUED"})
    );

    // The queue shows the plan: databases, then containers, then applications.
    let queue = app.get(&format!("/environment/{env}/deploymentQueue")).await.expect(200);
    let stages = queue["results"][0]["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["DATABASE DEFAULT", "CONTAINER DEFAULT", "APPLICATION DEFAULT"]);
    assert_eq!(stages[0]["status"], "QUEUED");
    assert_eq!(stages[0]["services"][0]["identifier"]["service_id"], json!(db));
    assert_eq!(queue["results"][0]["trigger_action"], "DEPLOY");

    // Cancel: the queued deployment is canceled and the statuses go back.
    let canceled = app.post(&format!("/environment/{env}/cancelDeployment"), json!({"force_cancel": true})).await;
    let canceled = canceled.expect(202);
    assert_eq!(
        (canceled["state"].as_str(), canceled["last_deployment_state"].as_str()),
        (Some("READY"), Some("CANCELED"))
    );
    assert!(app.pending(&env).await.is_empty());
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["applications"][0]["state"], "READY");
    assert_eq!(statuses["applications"][0]["deployment_request_id"], Value::Null);
    let by_request = app.get(&format!("/environment/deploymentStatus?deploymentRequestId={}", d.id)).await.expect(200);
    assert_eq!(by_request["status"], "CANCELED");
}

#[tokio::test]
async fn deploy_all_services_pins_versions_per_service() {
    let Shop { app, env, web, nginx, db } = shop().await;
    let body = json!({
        "applications": [{"application_id": web, "git_commit_id": "a1b2c3d"}],
        "containers": [{"id": nginx, "image_tag": "1.28"}],
        "databases": [db],
    });
    let status = app.post(&format!("/environment/{env}/service/deploy"), body).await.expect(202);
    assert_eq!(status["state"], "DEPLOYMENT_QUEUED");
    assert!(status["last_deployment_state"].is_string());
    let d = app.pending(&env).await.remove(0);
    assert_eq!(d.targets.len(), 3);
    assert_eq!(d.pin(uuid(&web)), Some(&VersionPin::GitCommit("a1b2c3d".into())));
    assert_eq!(d.pin(uuid(&nginx)), Some(&VersionPin::ImageTag("1.28".into())));
    assert_eq!(d.pin(uuid(&db)), None);
    assert!(d.targets_service(uuid(&db)));

    // Deploying one service leaves the others alone.
    let status = app.post(&format!("/container/{nginx}/deploy"), json!({"image_tag": "1.29"})).await.expect(202);
    assert_eq!((status["id"].as_str(), status["state"].as_str()), (Some(nginx.as_str()), Some("DEPLOYMENT_QUEUED")));
    assert_eq!(status["deployment_requests_count"], 2);
    let pending = app.pending(&env).await;
    assert_eq!(pending[1].targets.len(), 1);
    assert_eq!(pending[1].pin(uuid(&nginx)), Some(&VersionPin::ImageTag("1.29".into())));
    // An application without a body deploys its configuration.
    app.post(&format!("/application/{web}/deploy"), json!({})).await.expect(202);
    let raw = app
        .raw(
            axum::http::Method::POST,
            &format!("/application/{web}/deploy"),
            Some(&format!("Token {}", app.token)),
            None,
        )
        .await;
    assert_eq!(raw.status, 202);
    let pending = app.pending(&env).await;
    assert_eq!(pending.len(), 4);
    assert_eq!(pending[3].pin(uuid(&web)), None);
}

#[tokio::test]
async fn a_cron_job_runs_now_only_once_deployed_and_lists_its_runs() {
    let app = App::with_engine().await;
    let (_, env) = app.project_and_env().await;
    let registry = app.registry().await;
    let cron = app.service(&env, "job", bodies::cron_job("nightly", &registry)).await;
    let refused = app.post(&format!("/job/{cron}/deploy?forceEvent=CRON"), json!({})).await.refused(400, None);
    assert!(refused["message"].as_str().unwrap().contains("never deployed"), "{refused}");
    app.post(&format!("/job/{cron}/redeploy?forceEvent=CRON"), json!({})).await.refused(400, None);
    app.post(&format!("/job/{cron}/deploy?forceEvent=CRON"), json!({"image_tag": "2"})).await.refused(400, None);
    // No run yet; an unknown run is a 404.
    assert_eq!(app.get(&format!("/job/{cron}/run")).await.expect(200), json!({"results": []}));
    app.get(&format!("/job/{cron}/run/{}", uuid::Uuid::new_v4())).await.refused(404, None);
    app.get(&format!("/job/{cron}/run?pageSize=0")).await.refused(400, Some("pageSize"));
}

#[tokio::test]
async fn a_terraform_plan_only_deploy_says_so_in_the_status() {
    let app = App::with_engine().await;
    let (_, env) = app.project_and_env().await;
    let tf = app.service(&env, "terraform", bodies::terraform("infra")).await;
    let plan = app.post(&format!("/terraform/{tf}/deploy"), json!({"action": "PLAN"})).await.expect(202);
    assert_eq!(plan["status_details"]["sub_action"], "TERRAFORM_PLAN_ONLY", "{plan}");
    let status = app.get(&format!("/terraform/{tf}/status")).await.expect(200);
    assert_eq!(status["status_details"]["sub_action"], "TERRAFORM_PLAN_ONLY", "{status}");
}

#[tokio::test]
async fn job_events_helm_and_terraform_deploys() {
    let app = App::with_engine().await;
    let (_, env) = app.project_and_env().await;
    let registry = app.registry().await;
    let job = app.service(&env, "job", bodies::lifecycle_job("seed", &registry)).await;
    let helm = app.service(&env, "helm", bodies::helm("chart")).await;
    let tf = app.service(&env, "terraform", bodies::terraform("infra")).await;

    app.post(&format!("/job/{job}/deploy"), json!({"image_tag": "1.37"})).await.expect(202);
    app.post(&format!("/job/{job}/deploy?forceEvent=STOP"), json!({})).await.expect(202);
    app.post(&format!("/job/{job}/deploy?forceEvent=DELETE"), json!({})).await.expect(202);
    app.post(&format!("/job/{job}/deploy?forceEvent=CRON"), json!({})).await.refused(400, Some("forceEvent"));
    app.post(&format!("/job/{job}/deploy?forceEvent=LATER"), json!({})).await.refused(400, Some("forceEvent"));
    app.post(&format!("/job/{job}/deploy"), json!({"git_commit_id": "a1b2c3d"}))
        .await
        .refused(400, Some("git_commit_id"));
    app.post(&format!("/job/{job}/deploy?forceEvent=STOP"), json!({"image_tag": "2"})).await.refused(400, None);
    let actions: Vec<(DeploymentAction, bool)> =
        app.pending(&env).await.iter().map(|d| (d.action, d.remove_config)).collect();
    assert_eq!(
        actions,
        [(DeploymentAction::Deploy, false), (DeploymentAction::Stop, false), (DeploymentAction::Delete, false)]
    );
    assert_eq!(app.pending(&env).await[0].pin(uuid(&job)), Some(&VersionPin::ImageTag("1.37".into())));

    app.post(&format!("/helm/{helm}/deploy"), json!({})).await.expect(202);
    app.post(&format!("/helm/{helm}/deploy"), json!({"chart_version": "1.2.0"}))
        .await
        .refused(400, Some("chart_version"));
    app.post(&format!("/helm/{helm}/deploy?forceEvent=DIFF"), json!({})).await.refused(400, Some("forceEvent"));
    let apply = app.post(&format!("/terraform/{tf}/deploy"), json!({})).await.expect(202);
    assert_eq!(apply["status_details"]["sub_action"], "TERRAFORM_PLAN_AND_APPLY", "{apply}");
    app.post(&format!("/terraform/{tf}/deploy"), json!({"action": "PLAN"})).await.expect(202);
    app.post(&format!("/terraform/{tf}/deploy"), json!({"action": "FORCE_UNLOCK"})).await.refused(400, Some("action"));
    let body = json!({"helms": [{"id": helm, "git_commit_id": "a1b2c3d"}]});
    app.post(&format!("/environment/{env}/service/deploy"), body).await.refused(400, Some("helms[0].git_commit_id"));
    let pending = app.pending(&env).await;
    assert_eq!(pending.len(), 6);
    let plans: Vec<bool> =
        pending.iter().filter(|d| d.targets_service(uuid(&tf))).map(|d| d.plans_only(uuid(&tf))).collect();
    assert_eq!(plans, [false, true], "the second Terraform deploy only plans");
}

#[tokio::test]
async fn action_bodies_refuse_bad_input_and_queue_nothing() {
    let Shop { app, env, web, nginx, db } = shop().await;
    let other_env = {
        let project = app.get(&format!("/environment/{env}")).await.expect(200)["project"]["id"].clone();
        let created = app
            .post(&format!("/project/{}/environment", project.as_str().unwrap()), json!({"name": "prod"}))
            .await
            .expect(201);
        created["id"].as_str().unwrap().to_owned()
    };
    let stranger = app.service(&other_env, "database", bodies::database("other")).await;
    app.post(&format!("/application/{web}/deploy"), json!({"git_commit_id": "main"}))
        .await
        .refused(400, Some("git_commit_id"));
    app.post(&format!("/application/{web}/deploy"), json!({"git_commit_id": 42}))
        .await
        .refused(400, Some("git_commit_id"));
    app.post(&format!("/container/{nginx}/deploy"), json!({"image_tag": "bad tag"}))
        .await
        .refused(400, Some("image_tag"));
    app.post(&format!("/database/{db}/deploy?applyImmediately=maybe"), json!({}))
        .await
        .refused(400, Some("applyImmediately"));
    app.post(&format!("/application/{web}/deploy"), json!([1])).await.refused(400, None);

    let deploy_all = format!("/environment/{env}/service/deploy");
    for (body, field) in [
        (json!({"applications": [{"application_id": new_id()}]}), Some("applications[0].application_id")),
        (json!({"applications": [{"application_id": nginx}]}), Some("applications[0].application_id")),
        (
            json!({"applications": [{"application_id": web, "git_commit_id": "zzz"}]}),
            Some("applications[0].git_commit_id"),
        ),
        (json!({"containers": [{"id": nginx, "image_tag": "a b"}]}), Some("containers[0].image_tag")),
        (json!({"containers": [{"id": web, "image_tag": "1.0"}]}), Some("containers[0].id")),
        (json!({"databases": [stranger]}), Some("databases[0]")),
        (json!({"databases": [db, db]}), Some("databases[1]")),
        (json!({"jobs": [{"image_tag": "1"}]}), Some("jobs[0].id")),
        (json!({"applications": [{}]}), Some("applications[0].application_id")),
        (json!({"databases": ["not-a-uuid"]}), Some("databases[0]")),
        (json!({}), None),
    ] {
        app.post(&deploy_all, body).await.refused(400, field);
    }
    let reboot = format!("/environment/{env}/service/restart-service");
    app.post(&reboot, json!({"application_ids": [db]})).await.refused(400, Some("application_ids[0]"));
    app.post(&reboot, json!({"container_ids": [new_id()]})).await.refused(400, Some("container_ids[0]"));
    // Nothing was deployed: nothing to restart, stop or uninstall.
    app.post(&reboot, json!({"application_ids": [web]})).await.refused(400, None);
    app.post(&format!("/environment/{env}/stop"), json!({})).await.refused(400, None);
    app.post(&format!("/environment/{env}/uninstall"), json!({})).await.refused(400, None);
    app.post(&format!("/application/{web}/restart-service"), json!({})).await.refused(400, None);
    app.post(&format!("/container/{nginx}/stop"), json!({})).await.refused(400, None);
    let stop = format!("/environment/{env}/service/stop");
    app.post(&stop, json!({"job_ids": [web]})).await.refused(400, Some("job_ids[0]"));
    app.post(&stop, json!({})).await.refused(400, None);
    app.post(&format!("/environment/{other_env}/redeploy"), json!({})).await.expect(202);
    assert!(app.pending(&env).await.is_empty());

    // An environment with no services has nothing to deploy.
    let empty = app.get(&format!("/environment/{env}")).await.expect(200)["project"]["id"].clone();
    let empty = app
        .post(&format!("/project/{}/environment", empty.as_str().unwrap()), json!({"name": "empty"}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app.post(&format!("/environment/{empty}/deploy"), json!({})).await.refused(400, None);
    assert!(refused["message"].as_str().unwrap().contains("no services"));
}

#[tokio::test]
async fn statuses_follow_service_states_releases_and_running_deployments() {
    let Shop { app, env, web, nginx, db } = shop().await;
    deployed(&app, &web, DeploymentState::Deployed, None).await;
    deployed(&app, &nginx, DeploymentState::Deployed, Some(json!({"name": "older"}))).await;
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    let web_status = &statuses["applications"][0];
    assert_eq!(web_status["state"], "DEPLOYED");
    assert_eq!(web_status["service_deployment_status"], "UP_TO_DATE");
    assert_eq!(web_status["status_details"], json!({"action": "DEPLOY", "status": "SUCCESS", "sub_action": "NONE"}));
    assert!(web_status["last_deployment_date"].is_string());
    assert_eq!(statuses["containers"][0]["service_deployment_status"], "OUT_OF_DATE");
    assert_eq!(statuses["databases"][0]["service_deployment_status"], "NEVER_DEPLOYED");
    // Something serves: the environment is deployed, and out of date.
    assert_eq!(statuses["environment"]["state"], "DEPLOYED");
    assert_eq!(statuses["environment"]["deployment_status"], "OUT_OF_DATE");

    // Editing the service makes what runs out of date.
    app.put(&format!("/application/{web}"), json!({"cpu": 750})).await.expect(200);
    let s = app.get(&format!("/application/{web}/status")).await.expect(200);
    assert_eq!(s["service_deployment_status"], "OUT_OF_DATE");

    // A crash loop shows with its message; an error wins the aggregate.
    let org = app.org_id();
    let mut states = app.store.service_states(org, Some(uuid(&env))).await.unwrap();
    let st = states.iter_mut().find(|s| s.service_id == uuid(&nginx)).unwrap();
    st.state = DeploymentState::Unavailable;
    st.message = Some("crash loop: nginx exited 1".into());
    app.store.put_service_state(st).await.unwrap();
    let s = app.get(&format!("/container/{nginx}/status")).await.expect(200);
    assert_eq!((s["state"].as_str(), s["message"].as_str()), (Some("UNAVAILABLE"), Some("crash loop: nginx exited 1")));
    assert_eq!(app.get(&format!("/environment/{env}/status")).await.expect(200)["state"], "UNAVAILABLE");
    st.state = DeploymentState::DeploymentError;
    app.store.put_service_state(st).await.unwrap();
    assert_eq!(app.get(&format!("/environment/{env}/status")).await.expect(200)["state"], "DEPLOYMENT_ERROR");

    // A running deployment: services it reached show what the engine wrote,
    // the others wait; the environment shows the ongoing state.
    let (project, environment) = {
        let e: slipway_model::Environment = app.store.get(org, uuid(&env)).await.unwrap();
        (e.project_id, e.id)
    };
    let mut d =
        Deployment::new(org, project, environment, DeploymentAction::Stop, Vec::new(), Origin::Cli, "ci".into());
    d.status = DeploymentStatus::Running;
    d.started_at = Some(now());
    app.store.insert_deployment(&d).await.unwrap();
    let st = states.iter_mut().find(|s| s.service_id == uuid(&web)).unwrap();
    st.state = DeploymentState::Stopping;
    st.last_deployment_id = Some(d.id);
    st.last_action = Some(DeploymentAction::Stop);
    st.last_action_status = Some(DeploymentStatus::Running);
    app.store.put_service_state(st).await.unwrap();
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["environment"]["state"], "STOPPING");
    assert_eq!(statuses["environment"]["origin"], "CLI");
    assert_eq!(statuses["environment"]["triggered_by"], "ci");
    assert_eq!(statuses["applications"][0]["state"], "STOPPING");
    assert_eq!(statuses["applications"][0]["status_details"]["status"], "ONGOING");
    assert_eq!(statuses["databases"][0]["state"], "STOP_QUEUED");
    assert_eq!(statuses["databases"][0]["status_details"]["status"], "QUEUED");
    let _ = db;
}

#[tokio::test]
async fn deleting_deployed_resources_goes_through_the_engine() {
    let Shop { app, env, web, nginx, db } = shop().await;
    // Never deployed: gone at once.
    app.delete(&format!("/database/{db}")).await.expect(204);
    app.get(&format!("/database/{db}")).await.refused(404, None);
    // Deployed: a delete deployment that removes the configuration after.
    deployed(&app, &web, DeploymentState::Deployed, None).await;
    app.delete(&format!("/application/{web}")).await.expect(204);
    app.delete(&format!("/application/{web}")).await.expect(204);
    let pending = app.pending(&env).await;
    assert_eq!(pending.len(), 1, "a second delete queues nothing more");
    assert_eq!((pending[0].action, pending[0].remove_config), (DeploymentAction::Delete, true));
    assert_eq!(pending[0].targets.len(), 1);
    let s = app.get(&format!("/application/{web}/status")).await.expect(200);
    assert_eq!(s["state"], "DELETE_QUEUED");
    // Uninstall keeps the configuration.
    deployed(&app, &nginx, DeploymentState::Deployed, None).await;
    app.post(&format!("/container/{nginx}/uninstall"), json!({})).await.expect(202);
    let last = app.pending(&env).await.pop().unwrap();
    assert_eq!((last.action, last.remove_config), (DeploymentAction::Delete, false));
    // The environment: queued, and still there until the engine is done.
    app.delete(&format!("/environment/{env}")).await.expect(204);
    let last = app.pending(&env).await.pop().unwrap();
    assert!(last.targets.is_empty() && last.remove_config);
    assert_eq!(app.get(&format!("/environment/{env}")).await.expect(200)["id"], json!(env));
    // The first pending one (the application's delete) drives the state.
    assert_eq!(app.get(&format!("/environment/{env}/status")).await.expect(200)["state"], "DELETE_QUEUED");
}

#[tokio::test]
async fn restart_stop_redeploy_and_rollback() {
    let Shop { app, env, web, nginx, db: _ } = shop().await;
    let release = deployed(&app, &web, DeploymentState::Deployed, None).await;
    deployed(&app, &nginx, DeploymentState::Deployed, None).await;
    // Redeploy keeps the commit an application runs.
    app.post(&format!("/application/{web}/redeploy"), json!({})).await.expect(202);
    let d = app.pending(&env).await.pop().unwrap();
    assert_eq!(d.pin(uuid(&web)), Some(&VersionPin::GitCommit("a1b2c3d4e5f6".into())));
    let status = app.post(&format!("/environment/{env}/redeploy"), json!({})).await.expect(202);
    assert_eq!(status["id"], json!(env));
    let d = app.pending(&env).await.pop().unwrap();
    assert_eq!(d.targets.len(), 3);
    assert_eq!(d.pin(uuid(&nginx)), None);

    let status = app.post(&format!("/environment/{env}/service/restart-service"), json!({})).await.expect(202);
    assert_eq!(status["id"], json!(env));
    let d = app.pending(&env).await.pop().unwrap();
    assert_eq!((d.action, d.targets.len()), (DeploymentAction::Restart, 3));
    let s = app.post(&format!("/container/{nginx}/restart-service"), json!({})).await.expect(202);
    assert_eq!(s["status_details"]["action"], "DEPLOY", "the oldest pending deployment acts first");
    let stopped = app.post(&format!("/environment/{env}/service/stop"), json!({"container_ids": [nginx]})).await;
    assert_eq!(stopped.expect(200)["id"], json!(env));
    app.post(&format!("/environment/{env}/stop"), json!({})).await.expect(202);
    assert_eq!(app.pending(&env).await.pop().unwrap().action, DeploymentAction::Stop);

    // Releases, newest first, and rollback to one of them.
    let releases = app.get(&format!("/application/{web}/release")).await.expect(200);
    assert_eq!(releases["results"][0]["id"], json!(release.id));
    assert_eq!(releases["results"][0]["is_current"], true);
    assert_eq!(releases["results"][0]["commit"]["git_commit_id"], "a1b2c3d4e5f6");
    let s = app.post(&format!("/application/{web}/rollback"), json!({"release_id": release.id})).await.expect(202);
    assert_eq!(s["id"], json!(web));
    let d = app.pending(&env).await.pop().unwrap();
    assert_eq!(d.pin(uuid(&web)), Some(&VersionPin::Release(release.id)));
    // Another service's release, or none at all, is refused.
    app.post(&format!("/container/{nginx}/rollback"), json!({"release_id": release.id}))
        .await
        .refused(400, Some("release_id"));
    app.post(&format!("/container/{nginx}/rollback"), json!({"release_id": new_id()}))
        .await
        .refused(400, Some("release_id"));
    app.post(&format!("/container/{nginx}/rollback"), json!({})).await.refused(400, Some("release_id"));
}

#[tokio::test]
async fn viewers_read_statuses_but_may_not_act() {
    let Shop { app, env, web, .. } = shop().await;
    let (_, viewer) = {
        // A viewer token of the same organization.
        let org: slipway_model::Organization = app.store.get_organization(app.org_id()).await.unwrap();
        let secret = slipway_api::auth::generate_token();
        let token = slipway_model::ApiToken {
            id: new_id(),
            organization_id: org.id,
            name: "viewer".into(),
            description: None,
            role: Role::Viewer,
            created_at: now(),
            last_used_at: None,
        };
        app.store.insert_token(&token, &slipway_api::auth::token_digest(&secret)).await.unwrap();
        (org.id, secret)
    };
    let as_viewer = |m, p: String| {
        let app = &app;
        let viewer = viewer.clone();
        async move { app.call_as(&viewer, m, &p, Some(json!({}))).await }
    };
    use axum::http::Method;
    as_viewer(Method::POST, format!("/environment/{env}/deploy")).await.refused(403, None);
    as_viewer(Method::POST, format!("/application/{web}/deploy")).await.refused(403, None);
    as_viewer(Method::POST, format!("/environment/{env}/cancelDeployment")).await.refused(403, None);
    as_viewer(Method::DELETE, format!("/application/{web}")).await.refused(403, None);
    app.call_as(&viewer, Method::GET, &format!("/environment/{env}/statuses"), None).await.expect(200);
    app.call_as(&viewer, Method::GET, &format!("/environment/{env}/deploymentHistoryV2"), None).await.expect(200);
    assert!(app.pending(&env).await.is_empty());
    // Other tenants see nothing.
    let (_, other) = tenant(&app.store, "globex", Role::Owner).await;
    app.call_as(&other, Method::POST, &format!("/environment/{env}/deploy"), None).await.refused(404, None);
}

/// Records that `service` runs a release deployed with its variables as they are now.
async fn deployed_with_current_variables(app: &App, service: &str) {
    let org = app.org_id();
    let svc: Service = app.store.get(org, uuid(service)).await.unwrap();
    let env: slipway_model::Environment = app.store.get(org, svc.environment_id).await.unwrap();
    // Only plain variables here: any key opens them.
    let keys = slipway_secrets::SecretBox::new(&slipway_secrets::generate_key(), &[]);
    let all = slipway_engine::variables::load(&app.store, &keys, "localhost", &env).await.unwrap();
    let digest = slipway_engine::variables::digest(&all.effective(&svc).unwrap());
    let release = deployed(app, service, DeploymentState::Deployed, None).await;
    let mut release = release;
    release.variables_digest = Some(digest);
    app.store.update(&release).await.unwrap();
}

fn plain_variable(org: Uuid, scope: VariableScope, parent: Uuid, key: &str, value: &str) -> Variable {
    Variable {
        id: new_id(),
        organization_id: org,
        scope,
        parent_id: parent,
        key: key.into(),
        value: StoredValue::Plain(value.into()),
        is_secret: false,
        kind: VariableKind::Value,
        mount_path: None,
        description: None,
        enable_interpolation_in_file: false,
        created_at: now(),
        updated_at: None,
    }
}

#[tokio::test]
async fn a_variable_change_makes_the_services_that_see_it_out_of_date() {
    let Shop { app, env, web, nginx, .. } = shop().await;
    deployed_with_current_variables(&app, &web).await;
    deployed_with_current_variables(&app, &nginx).await;
    let status = |kind: &'static str, id: String| {
        let app = &app;
        async move { app.get(&format!("/{kind}/{id}/status")).await.expect(200)["service_deployment_status"].clone() }
    };
    assert_eq!(status("application", web.clone()).await, "UP_TO_DATE");
    assert_eq!(status("container", nginx.clone()).await, "UP_TO_DATE");

    // A variable of the container only: the application is unaffected.
    let org = app.org_id();
    let own = plain_variable(org, VariableScope::Container, uuid(&nginx), "WORKERS", "4");
    app.store.insert(&own).await.unwrap();
    assert_eq!(status("application", web.clone()).await, "UP_TO_DATE");
    assert_eq!(status("container", nginx.clone()).await, "OUT_OF_DATE");

    // An environment variable reaches both; taking it back restores them.
    let shared = plain_variable(org, VariableScope::Environment, uuid(&env), "REGION", "eu");
    app.store.insert(&shared).await.unwrap();
    assert_eq!(status("application", web.clone()).await, "OUT_OF_DATE");
    app.store.delete::<Variable>(org, shared.id).await.unwrap();
    assert_eq!(status("application", web.clone()).await, "UP_TO_DATE");
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["environment"]["deployment_status"], "OUT_OF_DATE", "the container still is");
}
