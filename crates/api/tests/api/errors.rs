use axum::http::Method;
use serde_json::json;
use slipway_api::ApiConfig;

use crate::support::{App, Backend, bodies};

#[tokio::test]
async fn malformed_bodies_are_400_never_500() {
    let app = App::new().await;
    let auth = format!("Token {}", app.token);
    let path = format!("/organization/{}/project", app.org);
    for body in [
        &b"{"[..],
        b"not json",
        b"[1,2]",
        b"\"shop\"",
        b"",
        b"{\"name\": 42}",
        b"{\"name\": \"a\", \"description\": []}",
    ] {
        let reply = app.raw(Method::POST, &path, Some(&auth), Some(body.to_vec())).await;
        assert_eq!(reply.status.as_u16(), 400, "{:?} -> {}", String::from_utf8_lossy(body), reply.body);
        assert!(reply.body["message"].is_string() && reply.body["code"].is_string());
    }
    let (_, env) = app.project_and_env().await;
    let reply = app
        .raw(Method::POST, &format!("/environment/{env}/application"), Some(&auth), Some(b"{\"name\":".to_vec()))
        .await;
    reply.refused(400, None);
    assert!(
        app.get(&format!("/environment/{env}/services")).await.expect(200)["results"].as_array().unwrap().is_empty()
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = App::with_config(Backend::Sqlite, ApiConfig { body_limit: 1024, ..ApiConfig::default() }).await;
    let big = json!({"name": "shop", "description": "x".repeat(4096)});
    let body = app.post(&format!("/organization/{}/project", app.org), big).await.refused(413, None);
    assert_eq!(body["code"], "payload_too_large");
    assert!(
        app.get(&format!("/organization/{}/project", app.org)).await.expect(200)["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_get_clear_errors() {
    let app = App::new().await;
    let body = app.get("/no/such/thing").await.refused(404, None);
    assert!(body["message"].as_str().unwrap().contains("/no/such/thing"));
    app.call_as(&app.token, Method::PATCH, "/organization", None).await.refused(405, None);
    let body = app.get("/project/not-a-uuid").await.refused(400, None);
    assert!(
        body["message"].as_str().unwrap().contains("UUID") || body["message"].as_str().unwrap().contains("uuid"),
        "{body}"
    );
    app.get(&format!("/project/{}", uuid::Uuid::new_v4())).await.refused(404, None);
    app.get(&format!("/application/{}", uuid::Uuid::new_v4())).await.refused(404, None);
}

#[tokio::test]
async fn duplicate_names_are_409_within_a_parent_only() {
    let app = App::new().await;
    let org = app.org.clone();
    let registry = app.registry().await;
    let (project, env) = app.project_and_env().await;
    app.post(&format!("/organization/{org}/project"), json!({"name": "shop"})).await.refused(409, None);
    app.post(&format!("/project/{project}/environment"), json!({"name": "staging"})).await.refused(409, None);
    app.post(&format!("/environment/{env}/database"), bodies::database("db")).await.expect(201);
    // Service names are unique across kinds within an environment.
    app.post(&format!("/environment/{env}/container"), bodies::container("db", &registry)).await.refused(409, None);
    app.post(&format!("/organization/{org}/cluster"), json!({"name": "local"})).await.refused(409, None);
    app.post(&format!("/organization/{org}/containerRegistry"), json!({"name": "local", "kind": "GENERIC_CR"}))
        .await
        .refused(409, None);
    // The same name under another parent is fine.
    let other = app.post(&format!("/organization/{org}/project"), json!({"name": "blog"})).await.expect(200);
    let other = other["id"].as_str().unwrap();
    app.post(&format!("/project/{other}/environment"), json!({"name": "staging"})).await.expect(201);
    // Renaming onto a taken name is refused and changes nothing.
    let blog_env = app.post(&format!("/project/{project}/environment"), json!({"name": "prod"})).await.expect(201);
    let blog_env = blog_env["id"].as_str().unwrap();
    app.put(&format!("/environment/{blog_env}"), json!({"name": "staging"})).await.refused(409, None);
    assert_eq!(app.get(&format!("/environment/{blog_env}")).await.expect(200)["name"], "prod");
}

#[tokio::test]
async fn resources_in_use_cannot_be_deleted() {
    let app = App::new().await;
    let org = app.org.clone();
    let registry = app.registry().await;
    let (_, env) = app.project_and_env().await;
    app.post(&format!("/environment/{env}/container"), bodies::container("web", &registry)).await.expect(201);
    let body = app.delete(&format!("/organization/{org}/containerRegistry/{registry}")).await.refused(409, None);
    assert!(body["message"].as_str().unwrap().contains("in use"), "{body}");
    let clusters = app.get(&format!("/organization/{org}/cluster")).await.expect(200);
    let default = clusters["results"][0]["id"].as_str().unwrap();
    app.delete(&format!("/organization/{org}/cluster/{default}")).await.refused(409, None);
    // A second cluster used by an environment is in use too.
    let edge = app
        .post(
            &format!("/organization/{org}/cluster"),
            json!({"name": "edge", "engine_endpoint": "tcp://10.0.0.5:2375"}),
        )
        .await
        .expect(201);
    let edge = edge["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/organization/{org}/cluster/{edge}")).await.expect(200)["is_default"], false);
    let (project, _) =
        (app.get(&format!("/environment/{env}")).await.expect(200)["project"]["id"].as_str().unwrap().to_owned(), ());
    app.post(&format!("/project/{project}/environment"), json!({"name": "edge-env", "cluster": edge}))
        .await
        .expect(201);
    app.delete(&format!("/organization/{org}/cluster/{edge}")).await.refused(409, None);
}
