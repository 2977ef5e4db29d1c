use axum::http::Method;
use serde_json::json;
use slipway_model::Role;

use crate::support::{App, Backend, bodies, tenant};

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = App::new().await;
    for auth in [None, Some("Token nope"), Some("Basic dXNlcjpwYXNz"), Some("Token"), Some(app.token.as_str())] {
        let reply = app.raw(Method::GET, "/organization", auth, None).await;
        let body = reply.refused(401, None);
        assert_eq!(body["code"], "unauthorized");
    }
    // Health and the API document need no token.
    app.raw(Method::GET, "/healthz", None, None).await.expect(200);
    app.raw(Method::GET, "/openapi.json", None, None).await.expect(200);
}

#[tokio::test]
async fn token_and_bearer_schemes_are_both_accepted() {
    let app = App::new().await;
    for scheme in ["Token", "Bearer", "token", "bearer"] {
        let auth = format!("{scheme} {}", app.token);
        let body = app.raw(Method::GET, "/organization", Some(&auth), None).await.expect(200);
        assert_eq!(body["results"][0]["id"], json!(app.org));
    }
}

async fn isolation(backend: Backend) {
    let app = App::on(backend).await;
    let registry = app.registry().await;
    let (project, env) = app.project_and_env().await;
    let service =
        app.post(&format!("/environment/{env}/container"), bodies::container("web", &registry)).await.expect(201);
    let service = service["id"].as_str().unwrap().to_owned();
    let clusters = app.get(&format!("/organization/{}/cluster", app.org)).await.expect(200);
    let cluster = clusters["results"][0]["id"].as_str().unwrap().to_owned();

    let (other_org, other) = tenant(&app.store, "globex", Role::Owner).await;
    let as_other = |m: Method, p: String, b: Option<serde_json::Value>| {
        let app = &app;
        let other = other.clone();
        async move { app.call_as(&other, m, &p, b).await }
    };
    let orgs = as_other(Method::GET, "/organization".into(), None).await.expect(200);
    assert_eq!(orgs["results"].as_array().unwrap().len(), 1);
    assert_eq!(orgs["results"][0]["id"], json!(other_org));

    let org = &app.org;
    for path in [
        format!("/organization/{org}"),
        format!("/organization/{org}/project"),
        format!("/organization/{org}/cluster"),
        format!("/organization/{org}/cluster/{cluster}"),
        format!("/organization/{org}/containerRegistry/{registry}"),
        format!("/organization/{org}/apiToken"),
        format!("/project/{project}"),
        format!("/project/{project}/environment"),
        format!("/environment/{env}"),
        format!("/environment/{env}/services"),
        format!("/environment/{env}/statuses"),
        format!("/container/{service}"),
        format!("/container/{service}/status"),
    ] {
        let body = as_other(Method::GET, path.clone(), None).await.refused(404, None);
        assert_eq!(body["code"], "not_found", "{path}");
    }
    as_other(Method::PUT, format!("/project/{project}"), Some(json!({"name": "mine"}))).await.refused(404, None);
    as_other(Method::DELETE, format!("/environment/{env}"), None).await.refused(404, None);
    as_other(Method::DELETE, format!("/container/{service}"), None).await.refused(404, None);
    as_other(Method::POST, format!("/project/{project}/environment"), Some(json!({"name": "x"})))
        .await
        .refused(404, None);
    as_other(Method::POST, format!("/environment/{env}/database"), Some(bodies::database("db")))
        .await
        .refused(404, None);

    // A registry of another organization cannot be used either.
    let own = as_other(Method::POST, format!("/organization/{other_org}/project"), Some(json!({"name": "p"}))).await;
    let own_project = own.expect(200)["id"].as_str().unwrap().to_owned();
    let own_env = as_other(Method::POST, format!("/project/{own_project}/environment"), Some(json!({"name": "e"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    as_other(Method::POST, format!("/environment/{own_env}/container"), Some(bodies::container("web", &registry)))
        .await
        .refused(400, Some("registry_id"));

    // Nothing of the first organization changed.
    assert_eq!(app.get(&format!("/project/{project}")).await.expect(200)["name"], "shop");
    app.get(&format!("/container/{service}")).await.expect(200);
}

#[tokio::test]
async fn organizations_never_see_each_other_on_sqlite() {
    isolation(Backend::Sqlite).await;
}

#[tokio::test]
async fn organizations_never_see_each_other_on_postgres() {
    isolation(Backend::Postgres).await;
}

#[tokio::test]
async fn roles_limit_what_a_token_may_do() {
    let app = App::new().await;
    let (project, env) = app.project_and_env().await;
    let org = app.org.clone();
    let roles = app.get(&format!("/organization/{org}/availableRole")).await.expect(200);
    let role_id = |name: &str| {
        roles["results"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut tokens = std::collections::HashMap::new();
    for role in ["VIEWER", "DEVELOPER", "ADMIN"] {
        let created = app
            .post(&format!("/organization/{org}/apiToken"), json!({"name": role, "role_id": role_id(role)}))
            .await
            .expect(201);
        assert_eq!(created["role_name"], role);
        tokens.insert(role, created["token"].as_str().unwrap().to_owned());
    }
    let viewer = &tokens["VIEWER"];
    app.call_as(viewer, Method::GET, &format!("/project/{project}"), None).await.expect(200);
    app.call_as(viewer, Method::POST, &format!("/environment/{env}/database"), Some(bodies::database("db")))
        .await
        .refused(403, None);
    app.call_as(viewer, Method::DELETE, &format!("/project/{project}"), None).await.refused(403, None);

    let developer = &tokens["DEVELOPER"];
    app.call_as(developer, Method::POST, &format!("/environment/{env}/database"), Some(bodies::database("db")))
        .await
        .expect(201);
    app.call_as(developer, Method::POST, &format!("/organization/{org}/project"), Some(json!({"name": "p2"})))
        .await
        .refused(403, None);
    app.call_as(developer, Method::GET, &format!("/organization/{org}/apiToken"), None).await.refused(403, None);

    // An admin cannot mint a token more powerful than itself.
    let admin = &tokens["ADMIN"];
    app.call_as(
        admin,
        Method::POST,
        &format!("/organization/{org}/apiToken"),
        Some(json!({"name": "o", "role_id": role_id("OWNER")})),
    )
    .await
    .refused(403, None);
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = App::new().await;
    let org = app.org.clone();
    let created = app
        .post(
            &format!("/organization/{org}/apiToken"),
            json!({"name": "ci", "description": "pipelines", "role_id": null}),
        )
        .await
        .expect(201);
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("qov_"));
    assert_eq!(created["role_name"], "ADMIN");
    app.call_as(&secret, Method::GET, "/organization", None).await.expect(200);

    // Use is recorded in the background, off the request's path.
    let mut listed = serde_json::Value::Null;
    for _ in 0..50 {
        listed = app.get(&format!("/organization/{org}/apiToken")).await.expect(200);
        let ci = listed["results"].as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
        if ci["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = listed.to_string();
    assert!(!text.contains(&secret) && !text.contains("\"token\""), "{text}");
    let ci = listed["results"].as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
    assert!(ci["last_used_at"].is_string(), "use is recorded: {ci}");
    // The store holds only the digest.
    assert!(app.store.token_by_hash(&secret).await.unwrap().is_none());

    let id = created["id"].as_str().unwrap();
    app.delete(&format!("/organization/{org}/apiToken/{id}")).await.expect(204);
    app.call_as(&secret, Method::GET, "/organization", None).await.refused(401, None);
    app.delete(&format!("/organization/{org}/apiToken/{id}")).await.refused(404, None);
}
