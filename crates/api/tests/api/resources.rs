use serde_json::json;

use crate::support::{App, bodies};

#[tokio::test]
async fn organization_account_clusters_and_registries() {
    let app = App::new().await;
    let org = app.org.clone();
    let got = app.get(&format!("/organization/{org}")).await.expect(200);
    assert_eq!(got["name"], "acme");
    assert!(got["plan"].is_string() && got["created_at"].is_string());
    let edited = app.put(&format!("/organization/{org}"), json!({"description": "Widgets"})).await.expect(200);
    assert_eq!((edited["name"].as_str(), edited["description"].as_str()), (Some("acme"), Some("Widgets")));

    let account = app.get("/account").await.expect(200);
    assert_eq!(account["nickname"], "acme-token");

    let clusters = app.get(&format!("/organization/{org}/cluster")).await.expect(200);
    let local = &clusters["results"][0];
    assert_eq!(
        (local["cloud_provider"].as_str(), local["kubernetes"].as_str()),
        (Some("ON_PREMISE"), Some("SELF_MANAGED"))
    );
    assert_eq!(local["is_default"], true);
    let id = local["id"].as_str().unwrap();
    let status = app.get(&format!("/organization/{org}/cluster/{id}/status")).await.expect(200);
    assert_eq!((status["cluster_id"].as_str(), status["is_deployed"].as_bool()), (Some(id), Some(true)));
    let all = app.get(&format!("/organization/{org}/cluster/status")).await.expect(200);
    assert_eq!(all["results"][0]["cluster_id"], json!(id));

    let created = app
        .post(
            &format!("/organization/{org}/containerRegistry"),
            json!({"name": "private", "kind": "GENERIC_CR", "url": "https://registry.example.com",
                   "config": {"username": "bot", "password": "hunter2"}}),
        )
        .await
        .expect(201);
    assert_eq!(created["config"]["username"], "bot");
    assert!(!created.to_string().contains("hunter2"), "secrets are never returned: {created}");
    let rid = created["id"].as_str().unwrap();
    let edited = app
        .put(&format!("/organization/{org}/containerRegistry/{rid}"), json!({"description": "CI images"}))
        .await
        .expect(200);
    assert_eq!(
        (edited["description"].as_str(), edited["url"].as_str()),
        (Some("CI images"), Some("https://registry.example.com"))
    );
    app.delete(&format!("/organization/{org}/containerRegistry/{rid}")).await.expect(204);
    app.get(&format!("/organization/{org}/containerRegistry/{rid}")).await.refused(404, None);
}

#[tokio::test]
async fn projects_and_environments_round_trip() {
    let app = App::new().await;
    let org = app.org.clone();
    let project = app
        .post(&format!("/organization/{org}/project"), json!({"name": "shop", "description": "Store"}))
        .await
        .expect(200);
    assert_eq!(project["associated_environments_count"], 0);
    assert_eq!(project["organization"]["id"], json!(org));
    let pid = project["id"].as_str().unwrap();
    let env = app
        .post(&format!("/project/{pid}/environment"), json!({"name": "prod", "mode": "PRODUCTION"}))
        .await
        .expect(201);
    assert_eq!((env["mode"].as_str(), env["cluster_name"].as_str()), (Some("PRODUCTION"), Some("local")));
    assert_eq!(env["cloud_provider"]["provider"], "ON_PREMISE");
    assert_eq!(env["project"]["id"], json!(pid));
    let eid = env["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/project/{pid}")).await.expect(200)["associated_environments_count"], 1);
    let listed = app.get(&format!("/organization/{org}/project")).await.expect(200);
    assert_eq!(listed["results"][0]["associated_environments_count"], 1);

    let edited = app.put(&format!("/environment/{eid}"), json!({"mode": "STAGING"})).await.expect(200);
    assert_eq!((edited["name"].as_str(), edited["mode"].as_str()), (Some("prod"), Some("STAGING")));
    let renamed = app.put(&format!("/project/{pid}"), json!({"name": "store"})).await.expect(200);
    assert_eq!(renamed["name"], "store");

    let status = app.get(&format!("/environment/{eid}/status")).await.expect(200);
    assert_eq!((status["state"].as_str(), status["last_deployment_state"].as_str()), (Some("READY"), Some("READY")));
    let statuses = app.get(&format!("/project/{pid}/environment/status")).await.expect(200);
    assert_eq!(statuses["results"][0]["id"], json!(eid));

    app.delete(&format!("/project/{pid}")).await.expect(204);
    app.get(&format!("/environment/{eid}")).await.refused(404, None);
}

#[tokio::test]
async fn every_service_kind_round_trips() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    let cases = [
        ("application", bodies::application("web"), "APPLICATION"),
        ("container", bodies::container("proxy", &registry), "CONTAINER"),
        ("database", bodies::database("db"), "DATABASE"),
        ("job", bodies::cron_job("nightly", &registry), "JOB"),
        ("job", bodies::lifecycle_job("seed", &registry), "JOB"),
        ("helm", bodies::helm("chart"), "HELM"),
        ("terraform", bodies::terraform("infra"), "TERRAFORM"),
    ];
    let mut ids = vec![];
    for (kind, body, service_type) in &cases {
        let created = app.post(&format!("/environment/{env}/{kind}"), body.clone()).await.expect(201);
        assert_eq!(created["service_type"], *service_type);
        assert_eq!(created["environment"]["id"], json!(env));
        assert!(created["icon_uri"].is_string());
        let id = created["id"].as_str().unwrap().to_owned();
        let got = app.get(&format!("/{kind}/{id}")).await.expect(200);
        assert_eq!(got, created, "{kind}: get differs from create");
        let status = app.get(&format!("/{kind}/{id}/status")).await.expect(200);
        assert_eq!(status["service_deployment_status"], "NEVER_DEPLOYED");
        assert!(
            status.as_object().unwrap().contains_key("deployment_request_id")
                && status["deployment_request_id"].is_null()
        );
        ids.push((*kind, id));
    }
    let all = app.get(&format!("/environment/{env}/services")).await.expect(200);
    let types: Vec<&str> =
        all["results"].as_array().unwrap().iter().map(|s| s["service_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["APPLICATION", "CONTAINER", "DATABASE", "JOB", "JOB", "HELM", "TERRAFORM"]);
    let jobs = app.get(&format!("/environment/{env}/job")).await.expect(200);
    let job_types: Vec<&str> =
        jobs["results"].as_array().unwrap().iter().map(|j| j["job_type"].as_str().unwrap()).collect();
    assert_eq!(job_types, ["CRON", "LIFECYCLE"]);
    let statuses = app.get(&format!("/environment/{env}/statuses")).await.expect(200);
    assert_eq!(statuses["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(statuses["helms"].as_array().unwrap().len(), 1);

    // Another kind's path does not find a service.
    let (_, app_id) = &ids[0];
    app.get(&format!("/container/{app_id}")).await.refused(404, None);

    for (kind, id) in &ids {
        app.delete(&format!("/{kind}/{id}")).await.expect(204);
        app.get(&format!("/{kind}/{id}")).await.refused(404, None);
    }
}

#[tokio::test]
async fn responses_carry_the_contracts_required_fields() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    let application =
        app.post(&format!("/environment/{env}/application"), bodies::application("web")).await.expect(201);
    let git = &application["git_repository"];
    assert_eq!(
        (git["owner"].as_str(), git["name"].as_str(), git["provider"].as_str()),
        (Some("acme"), Some("web"), Some("GITHUB"))
    );
    let port = &application["ports"][0];
    assert!(
        port["id"].is_string()
            && port["protocol"] == "HTTP"
            && port["is_default"] == true
            && port["external_port"] == 443
    );
    assert_eq!((application["cpu"].as_u64(), application["memory"].as_u64()), (Some(500), Some(512)));
    assert!(application["maximum_cpu"].as_u64().unwrap() >= 500);

    let container =
        app.post(&format!("/environment/{env}/container"), bodies::container("proxy", &registry)).await.expect(201);
    for field in [
        "registry",
        "maximum_cpu",
        "maximum_memory",
        "maximum_gpu",
        "cpu",
        "memory",
        "gpu",
        "min_running_instances",
        "max_running_instances",
        "auto_preview",
        "icon_uri",
        "healthchecks",
    ] {
        assert!(!container[field].is_null(), "container response lacks {field}: {container}");
    }
    assert_eq!(container["registry"]["id"], json!(registry));
    assert!(container["registry"]["url"].is_string());

    let cron = app.post(&format!("/environment/{env}/job"), bodies::cron_job("nightly", &registry)).await.expect(201);
    assert_eq!(cron["schedule"]["cronjob"]["timezone"], "Europe/Paris");
    assert_eq!(cron["source"]["image"]["registry"]["id"], json!(registry));

    let terraform = app.post(&format!("/environment/{env}/terraform"), bodies::terraform("infra")).await.expect(201);
    let var = &terraform["terraform_variables_source"]["tf_vars"][0];
    assert_eq!((var["key"].as_str(), var["secret"].as_bool()), (Some("token"), Some(true)));
    assert!(!terraform.to_string().contains("s3cr3t"), "secret tf var leaked: {terraform}");
    assert_eq!(terraform["terraform_files_source"]["git"]["git_repository"]["url"], "file:///srv/git/infra");
}

#[tokio::test]
async fn edits_change_what_is_sent_and_keep_the_rest() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    let created = app.post(&format!("/environment/{env}/application"), bodies::application("web")).await.expect(201);
    let id = created["id"].as_str().unwrap();
    let edited = app
        .put(&format!("/application/{id}"), json!({"cpu": 1000, "name": "frontend", "healthchecks": {}}))
        .await
        .expect(200);
    assert_eq!((edited["cpu"].as_u64(), edited["name"].as_str()), (Some(1000), Some("frontend")));
    assert_eq!(edited["ports"], created["ports"], "ports kept, with their ids");
    assert_eq!(edited["git_repository"], created["git_repository"]);
    assert!(edited["updated_at"].is_string());

    let c = app.post(&format!("/environment/{env}/container"), bodies::container("proxy", &registry)).await.expect(201);
    let cid = c["id"].as_str().unwrap();
    let mut full = bodies::container("proxy", &registry);
    full["tag"] = json!("1.28");
    assert_eq!(app.put(&format!("/container/{cid}"), full).await.expect(200)["tag"], "1.28");

    let db = app.post(&format!("/environment/{env}/database"), bodies::database("db")).await.expect(201);
    let dbid = db["id"].as_str().unwrap();
    let edited = app.put(&format!("/database/{dbid}"), json!({"storage": 20, "version": "17"})).await.expect(200);
    assert_eq!(
        (edited["storage"].as_u64(), edited["version"].as_str(), edited["name"].as_str()),
        (Some(20), Some("17"), Some("db"))
    );
}

#[tokio::test]
async fn the_api_document_and_its_page_are_served() {
    let app = App::new().await;
    let doc = app.get("/openapi.json").await.expect(200);
    assert!(doc["paths"]["/environment/{environmentId}/services"]["get"].is_object());
    let page = app.raw(axum::http::Method::GET, "/docs/", None, None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.body.as_str().is_some_and(|html| html.contains("swagger-ui-bundle.js")), "{}", page.body);
    // The page's scripts are bundled into the binary: the docs work offline.
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"] {
        let reply = app.raw(axum::http::Method::GET, asset, None, None).await;
        assert_eq!(reply.status.as_u16(), 200, "{asset}");
    }
    let init = app.raw(axum::http::Method::GET, "/docs/swagger-initializer.js", None, None).await;
    assert!(init.body.as_str().unwrap().contains("/openapi.json"));
}

#[tokio::test]
async fn statuses_with_stages_group_services_by_deployment_stage() {
    let app = App::new().await;
    let (_, env) = app.project_and_env().await;
    let db = app.post(&format!("/environment/{env}/database"), bodies::database("db")).await.expect(201);
    let web = app.post(&format!("/environment/{env}/application"), bodies::application("web")).await.expect(201);
    let body = app.get(&format!("/environment/{env}/statusesWithStages")).await.expect(200);
    assert_eq!(body["environment"]["id"], json!(env));
    let stages = body["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"]["name"].as_str().unwrap()).collect();
    assert_eq!(names[..4], ["DATABASE DEFAULT", "JOB DEFAULT", "CONTAINER DEFAULT", "APPLICATION DEFAULT"]);
    assert_eq!(stages[0]["databases"][0]["id"], db["id"]);
    assert_eq!(stages[3]["applications"][0]["id"], web["id"]);
    assert_eq!(stages[3]["applications"][0]["state"], "READY");
    assert!(stages[1]["jobs"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_public_tcp_edge_port_belongs_to_one_service_of_the_organization() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (project, staging) = app.project_and_env().await;
    let production =
        app.post(&format!("/project/{project}/environment"), json!({"name": "production"})).await.expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let tcp = |external: u32| json!([{"internal_port": 6379, "publicly_accessible": true, "protocol": "TCP", "external_port": external}]);
    let with_ports = |name: &str, external: u32| {
        let mut body = bodies::container(name, &registry);
        body["ports"] = tcp(external);
        body
    };

    let first_id = app.service(&staging, "container", with_ports("cache", 16379)).await;
    // Another environment's service cannot take the same edge port: one edge serves them all.
    let refused =
        app.post(&format!("/environment/{production}/container"), with_ports("cache", 16379)).await.refused(409, None);
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("16379") && message.contains("cache") && message.contains(&first_id), "{refused}");
    let second_id = app.service(&production, "container", with_ports("cache", 16380)).await;
    // Nor can an edit move onto it; editing a service that keeps its own port is fine.
    app.put(&format!("/container/{second_id}"), with_ports("cache", 16379)).await.refused(409, None);
    app.put(&format!("/container/{first_id}"), with_ports("cache", 16379)).await.expect(200);
    // Once the first gives the port up, the second may take it.
    app.put(&format!("/container/{first_id}"), with_ports("cache", 16381)).await.expect(200);
    let moved = app.put(&format!("/container/{second_id}"), with_ports("cache", 16379)).await.expect(200);
    assert_eq!(moved["ports"][0]["external_port"], 16379);
}
