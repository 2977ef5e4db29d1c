//! Every resource refuses bad input with a 400 that names the field, and the
//! refusal changes nothing.

use serde_json::{Value, json};

use crate::support::{App, bodies};

/// `body` with `pointer` set to `value` (or removed when `value` is `None`).
fn with(mut body: Value, pointer: &str, value: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = body.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => target.insert(key.to_owned(), v),
        None => target.remove(key),
    };
    body
}

async fn count(app: &App, path: &str) -> usize {
    app.get(path).await.expect(200)["results"].as_array().unwrap().len()
}

#[tokio::test]
async fn organization_clusters_registries_and_tokens_refuse_bad_input() {
    let app = App::new().await;
    let org = app.org.clone();
    for (body, field) in [
        (json!({"website_url": "not a url"}), "website_url"),
        (json!({"name": ""}), "name"),
        (json!({"admin_emails": ["ops"]}), "admin_emails[0]"),
    ] {
        app.put(&format!("/organization/{org}"), body).await.refused(400, Some(field));
    }
    assert_eq!(app.get(&format!("/organization/{org}")).await.expect(200)["name"], "acme");

    let clusters = format!("/organization/{org}/cluster");
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "edge", "engine_endpoint": "/run/docker.sock"}), "engine_endpoint"),
        (json!({"name": "edge", "cloud_provider": "MARS"}), "cloud_provider"),
        (json!({"name": "edge", "region": "eu west"}), "region"),
    ] {
        app.post(&clusters, body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &clusters).await, 1);

    let registries = format!("/organization/{org}/containerRegistry");
    for (body, field) in [
        (json!({"kind": "GENERIC_CR"}), "name"),
        (json!({"name": "r", "kind": "FLOPPY_DISK"}), "kind"),
        (json!({"name": "r", "kind": "GENERIC_CR", "url": "registry.local"}), "url"),
        (json!({"name": "r", "kind": "GENERIC_CR", "config": {"username": 7}}), "config.username"),
    ] {
        app.post(&registries, body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &registries).await, 1);

    let tokens = format!("/organization/{org}/apiToken");
    for (body, field) in [
        (json!({"name": "", "role_id": null}), "name"),
        (json!({"role_id": null}), "name"),
        (json!({"name": "ci", "role_id": uuid::Uuid::new_v4()}), "role_id"),
        (json!({"name": "ci", "role_id": "admin"}), "role_id"),
        (json!({"name": "ci", "role_id": null, "scope": "ROOT"}), "scope"),
    ] {
        app.post(&tokens, body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &tokens).await, 1);
}

#[tokio::test]
async fn projects_and_environments_refuse_bad_input() {
    let app = App::new().await;
    let projects = format!("/organization/{}/project", app.org);
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": " shop"}), "name"),
        (json!({"name": "a\u{7}b"}), "name"),
        (json!({"name": "x".repeat(256)}), "name"),
        (json!({"name": "shop", "description": "d".repeat(2000)}), "description"),
    ] {
        app.post(&projects, body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &projects).await, 0);

    let (project, env) = app.project_and_env().await;
    let envs = format!("/project/{project}/environment");
    for (body, field) in [
        (json!({"name": "e", "mode": "PREVIEW"}), "mode"),
        (json!({"name": "e", "mode": "production"}), "mode"),
        (json!({"name": "e", "cluster": uuid::Uuid::new_v4()}), "cluster"),
        (json!({"name": "e", "cluster": "local"}), "cluster"),
        (json!({"name": ""}), "name"),
    ] {
        app.post(&envs, body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &envs).await, 1);
    app.put(&format!("/environment/{env}"), json!({"mode": "PREVIEW"})).await.refused(400, Some("mode"));
    app.put(&format!("/project/{project}"), json!({"name": ""})).await.refused(400, Some("name"));
    assert_eq!(app.get(&format!("/environment/{env}")).await.expect(200)["mode"], "DEVELOPMENT");
}

#[tokio::test]
async fn applications_and_containers_refuse_bad_input() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    let a = bodies::application("web");
    let cases = [
        ("application", with(a.clone(), "/git_repository", None), "git_repository"),
        ("application", with(a.clone(), "/git_repository/url", Some(json!("ftp://x/y"))), "git_repository.url"),
        ("application", with(a.clone(), "/git_repository/branch", Some(json!("bad branch"))), "git_repository.branch"),
        ("application", with(a.clone(), "/git_repository/provider", Some(json!("SVN"))), "git_repository.provider"),
        ("application", with(a.clone(), "/git_repository/root_path", Some(json!("../up"))), "git_repository.root_path"),
        ("application", with(a.clone(), "/ports/0/internal_port", Some(json!(70000))), "ports[0].internal_port"),
        ("application", with(a.clone(), "/ports/0/internal_port", Some(json!("http"))), "ports[0].internal_port"),
        ("application", with(a.clone(), "/cpu", Some(json!(0))), "cpu"),
        ("application", with(a.clone(), "/memory", Some(json!(-5))), "memory"),
        (
            "application",
            with(with(a.clone(), "/min_running_instances", Some(json!(3))), "/max_running_instances", Some(json!(2))),
            "max_running_instances",
        ),
        (
            "application",
            with(a.clone(), "/healthchecks/readiness_probe/type/http/port", Some(json!(9999))),
            "healthchecks.readiness_probe.type.http.port",
        ),
        (
            "application",
            with(a.clone(), "/healthchecks/readiness_probe/type", Some(json!({}))),
            "healthchecks.readiness_probe.type",
        ),
        (
            "application",
            with(a.clone(), "/storage", Some(json!([{"type": "FAST_SSD", "size": 10, "mount_point": "data"}]))),
            "storage[0].mount_point",
        ),
        ("application", with(a.clone(), "/autoscaling", Some(json!({"mode": "KEDA"}))), "autoscaling"),
        ("application", with(a.clone(), "/annotations_groups", Some(json!([{"id": "x"}]))), "annotations_groups"),
        (
            "container",
            with(bodies::container("c", &registry), "/registry_id", Some(json!(uuid::Uuid::new_v4()))),
            "registry_id",
        ),
        ("container", with(bodies::container("c", &registry), "/tag", Some(json!(""))), "tag"),
        ("container", with(bodies::container("c", &registry), "/tag", None), "tag"),
        ("container", with(bodies::container("c", &registry), "/image_name", Some(json!("Bad Name"))), "image_name"),
        (
            "container",
            with(
                bodies::container("c", &registry),
                "/ports",
                Some(json!([{"internal_port": 53, "publicly_accessible": true, "protocol": "UDP"}])),
            ),
            "ports[0].protocol",
        ),
        ("container", with(bodies::container("", &registry), "/name", Some(json!(""))), "name"),
    ];
    for (kind, body, field) in cases {
        app.post(&format!("/environment/{env}/{kind}"), body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &format!("/environment/{env}/services")).await, 0);

    // A refused edit leaves the service as it was.
    let created = app.post(&format!("/environment/{env}/application"), a).await.expect(201);
    let id = created["id"].as_str().unwrap();
    app.put(&format!("/application/{id}"), json!({"ports": [{"internal_port": 0, "publicly_accessible": true}]}))
        .await
        .refused(400, Some("ports[0].internal_port"));
    assert_eq!(app.get(&format!("/application/{id}")).await.expect(200), created);
}

#[tokio::test]
async fn databases_jobs_helm_and_terraform_refuse_bad_input() {
    let app = App::new().await;
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    let cron = bodies::cron_job("nightly", &registry);
    let tf = bodies::terraform("infra");
    let cases = [
        ("database", with(bodies::database("db"), "/version", Some(json!("99"))), "version"),
        ("database", with(bodies::database("db"), "/type", Some(json!("ORACLE"))), "type"),
        ("database", with(bodies::database("db"), "/mode", None), "mode"),
        ("database", with(bodies::database("db"), "/instance_type", Some(json!("db.t3.micro"))), "instance_type"),
        ("database", with(bodies::database("db"), "/storage", Some(json!(0))), "storage"),
        (
            "job",
            with(cron.clone(), "/schedule/cronjob/scheduled_at", Some(json!("*/5 * *"))),
            "schedule.cronjob.scheduled_at",
        ),
        (
            "job",
            with(cron.clone(), "/schedule/cronjob/scheduled_at", Some(json!("61 * * * *"))),
            "schedule.cronjob.scheduled_at",
        ),
        (
            "job",
            with(cron.clone(), "/schedule/cronjob/timezone", Some(json!("Mars/Olympus"))),
            "schedule.cronjob.timezone",
        ),
        ("job", with(cron.clone(), "/schedule", Some(json!({}))), "schedule"),
        ("job", with(cron.clone(), "/schedule/on_start", Some(json!({}))), "schedule"),
        ("job", with(cron.clone(), "/source", Some(json!({}))), "source"),
        (
            "job",
            with(cron.clone(), "/source/image/registry_id", Some(json!(uuid::Uuid::new_v4()))),
            "source.image.registry_id",
        ),
        ("job", with(cron.clone(), "/max_duration_seconds", Some(json!(0))), "max_duration_seconds"),
        ("helm", with(bodies::helm("h"), "/source", Some(json!({}))), "source"),
        (
            "helm",
            with(
                bodies::helm("h"),
                "/source",
                Some(
                    json!({"helm_repository": {"repository": uuid::Uuid::new_v4(), "chart_name": "nginx", "chart_version": "1"}}),
                ),
            ),
            "source.helm_repository",
        ),
        (
            "helm",
            with(bodies::helm("h"), "/values_override/set", Some(json!([["only-a-key"]]))),
            "values_override.set[0]",
        ),
        (
            "helm",
            with(bodies::helm("h"), "/values_override/set_json", Some(json!([["k", "{not json"]]))),
            "values_override.set_json[0][1]",
        ),
        ("helm", with(bodies::helm("h"), "/arguments", None), "arguments"),
        (
            "terraform",
            with(tf.clone(), "/terraform_files_source/git_repository/root_path", None),
            "terraform_files_source.git_repository.root_path",
        ),
        ("terraform", with(tf.clone(), "/engine", Some(json!("OPEN_TOFU"))), "engine"),
        ("terraform", with(tf.clone(), "/description", None), "description"),
        (
            "terraform",
            with(tf.clone(), "/action_extra_arguments", Some(json!({"import": ["-x"]}))),
            "action_extra_arguments.import",
        ),
        ("terraform", with(tf.clone(), "/backend", Some(json!({"s3": {}}))), "backend"),
    ];
    for (kind, body, field) in cases {
        app.post(&format!("/environment/{env}/{kind}"), body).await.refused(400, Some(field));
    }
    assert_eq!(count(&app, &format!("/environment/{env}/services")).await, 0);

    // What may not change on edit.
    let db = app.post(&format!("/environment/{env}/database"), bodies::database("db")).await.expect(201);
    let id = db["id"].as_str().unwrap();
    app.put(&format!("/database/{id}"), json!({"type": "MYSQL", "version": "8.0"})).await.refused(400, Some("type"));
    app.put(&format!("/database/{id}"), json!({"mode": "MANAGED"})).await.refused(400, Some("mode"));
    let job = app.post(&format!("/environment/{env}/job"), cron).await.expect(201);
    let id = job["id"].as_str().unwrap();
    app.put(&format!("/job/{id}"), json!({"schedule": {"on_stop": {}}})).await.refused(400, Some("schedule"));
    assert_eq!(app.get(&format!("/job/{id}")).await.expect(200), job);
}
