//! Variables and secrets through the unified `/variable` API and the legacy
//! per-scope APIs: scopes, listings, aliases, overrides, imports, built-ins,
//! the effective view, database credentials; every refusal changes nothing;
//! a secret's plaintext appears in no response and nowhere in the store.

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slipway_api::ApiConfig;
use slipway_model::service::database::DatabaseCredentials;
use slipway_model::variable::{StoredValue, Variable};
use slipway_model::{ContainerRegistry, Uuid, new_id, now, short_id};
use tower::ServiceExt;

use crate::support::{App, Backend, Reply, bodies, tenant};

struct Shop {
    app: App,
    project: String,
    env: String,
    web: String,
    db: String,
    secrets: slipway_secrets::SecretBox,
}

async fn shop_on(backend: Backend) -> Shop {
    let secrets = slipway_secrets::SecretBox::new(&slipway_secrets::generate_key(), &[]);
    let app = App::with_config(backend, ApiConfig { secrets: secrets.clone(), ..ApiConfig::default() }).await;
    let (project, env) = app.project_and_env().await;
    let web = app.service(&env, "application", bodies::application("web")).await;
    let db = app.service(&env, "database", bodies::database("main")).await;
    Shop { app, project, env, web, db, secrets }
}

async fn shop() -> Shop {
    shop_on(Backend::Sqlite).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

fn body(key: &str, value: &str, secret: bool, scope: &str, parent: &str) -> Value {
    json!({"key": key, "value": value, "is_secret": secret, "variable_scope": scope, "variable_parent_id": parent})
}

impl Shop {
    async fn create(&self, key: &str, value: &str, secret: bool, scope: &str, parent: &str) -> Value {
        self.app.post("/variable", body(key, value, secret, scope, parent)).await.expect(201)
    }

    async fn list(&self, scope: &str, parent: &str) -> Vec<Value> {
        let found = self.app.get(&format!("/variable?parent_id={parent}&scope={scope}")).await.expect(200);
        found["results"].as_array().unwrap().clone()
    }

    /// The variables `scope`/`parent` sees, without the built-ins.
    async fn own(&self, scope: &str, parent: &str) -> Vec<Value> {
        self.list(scope, parent).await.into_iter().filter(|v| v["scope"] != "BUILT_IN").collect()
    }

    /// Every listing, to compare before and after a refusal.
    async fn everything(&self) -> Vec<Vec<Value>> {
        vec![
            self.list("PROJECT", &self.project).await,
            self.list("ENVIRONMENT", &self.env).await,
            self.list("APPLICATION", &self.web).await,
        ]
    }

    async fn effective(&self, service: &str) -> Vec<Value> {
        let found = self.app.get(&format!("/service/{service}/effectiveVariable")).await.expect(200);
        found["results"].as_array().unwrap().clone()
    }

    async fn override_of(&self, target: &str, scope: &str, parent: &str) -> Reply {
        let request = json!({"value": "v", "override_scope": scope, "override_parent_id": parent});
        self.app.post(&format!("/variable/{target}/override"), request).await
    }

    async fn alias_of(&self, target: String, key: &str, scope: &str, parent: &str) -> Reply {
        let request = json!({"key": key, "alias_scope": scope, "alias_parent_id": parent});
        self.app.post(&format!("/variable/{target}/alias"), request).await
    }

    async fn edit(&self, target: String, request: Value) -> Reply {
        self.app.put(&format!("/variable/{target}"), request).await
    }

    /// A viewer token of the same organization.
    async fn viewer(&self) -> String {
        let org = &self.app.org;
        let roles = self.app.get(&format!("/organization/{org}/availableRole")).await.expect(200);
        let role = roles["results"].as_array().unwrap().iter().find(|r| r["name"] == "VIEWER").unwrap()["id"].clone();
        let created = self
            .app
            .post(&format!("/organization/{org}/apiToken"), json!({"name": "viewer", "role_id": role}))
            .await
            .expect(201);
        created["token"].as_str().unwrap().to_owned()
    }

    /// Gives the database generated credentials, as its first deploy would.
    async fn deployed_database(&self, password: &str) {
        let creds = DatabaseCredentials {
            id: new_id(),
            organization_id: self.app.org_id(),
            service_id: self.db.parse().unwrap(),
            login: "app".into(),
            password: self.secrets.seal(password),
            database: "postgres".into(),
            managed: None,
            external_port: None,
            created_at: now(),
        };
        self.app.store.insert(&creds).await.unwrap();
    }
}

fn find<'a>(list: &'a [Value], key: &str) -> &'a Value {
    list.iter().find(|v| v["key"] == key).unwrap_or_else(|| panic!("no `{key}` in {list:#?}"))
}

fn keys(list: &[Value]) -> Vec<String> {
    list.iter().map(|v| v["key"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_scope_sees_its_own_and_broader_variables() {
    let s = shop().await;
    let a = s.create("A", "project", false, "PROJECT", &s.project).await;
    assert_eq!((a["scope"].as_str(), a["variable_type"].as_str()), (Some("PROJECT"), Some("VALUE")));
    assert_eq!((a["value"].as_str(), a["is_secret"].as_bool()), (Some("project"), Some(false)));
    assert_eq!(a["owned_by"], "QOVERY");
    s.create("B", "environment", false, "ENVIRONMENT", &s.env).await;
    let c = s.create("C", "service", false, "APPLICATION", &s.web).await;
    assert_eq!(
        (c["service_id"].as_str(), c["service_name"].as_str(), c["service_type"].as_str()),
        (Some(s.web.as_str()), Some("web"), Some("APPLICATION"))
    );

    assert_eq!(keys(&s.list("PROJECT", &s.project).await), ["A"]);
    let at_env = s.list("ENVIRONMENT", &s.env).await;
    assert_eq!(keys(&at_env.iter().filter(|v| v["scope"] != "BUILT_IN").cloned().collect::<Vec<_>>()), ["A", "B"]);
    assert!(at_env.iter().any(|v| v["key"] == "QOVERY_ENVIRONMENT_ID" && v["value"] == json!(s.env)));
    let at_app = s.list("APPLICATION", &s.web).await;
    assert_eq!(find(&at_app, "QOVERY_APPLICATION_ID")["value"], json!(s.web));
    assert_eq!(keys(&s.own("APPLICATION", &s.web).await), ["A", "B", "C"]);

    // Edit: key, value, description; a file variable.
    let edited = s
        .app
        .put(&format!("/variable/{}", id(&c)), json!({"key": "C2", "value": "service2", "description": "why"}))
        .await
        .expect(200);
    assert_eq!((edited["key"].as_str(), edited["value"].as_str()), (Some("C2"), Some("service2")));
    assert_eq!(edited["description"], "why");
    assert!(edited["updated_at"].is_string());
    let file = s
        .app
        .post(
            "/variable",
            json!({"key": "CONF", "value": "x=1", "is_secret": false, "mount_path": "/etc/app.conf",
            "variable_scope": "APPLICATION", "variable_parent_id": s.web}),
        )
        .await
        .expect(201);
    assert_eq!((file["variable_type"].as_str(), file["mount_path"].as_str()), (Some("FILE"), Some("/etc/app.conf")));

    // Filtering on secrecy, then delete.
    s.create("TOKEN", "t0ps3cret", true, "APPLICATION", &s.web).await;
    let secrets =
        s.app.get(&format!("/variable?parent_id={}&scope=APPLICATION&is_secret=true", s.web)).await.expect(200);
    assert_eq!(keys(secrets["results"].as_array().unwrap()), ["TOKEN"]);
    s.app.delete(&format!("/variable/{}", id(&file))).await.expect(204);
    s.app.delete(&format!("/variable/{}", id(&file))).await.refused(404, None);
    assert_eq!(keys(&s.own("APPLICATION", &s.web).await), ["A", "B", "C2", "TOKEN"]);
}

#[tokio::test]
async fn the_legacy_apis_split_variables_from_secrets() {
    let s = shop().await;
    let web = &s.web;
    let path = format!("/application/{web}/environmentVariable");
    let plain = s.app.post(&path, json!({"key": "PLAIN", "value": "v"})).await.expect(201);
    assert_eq!((plain["value"].as_str(), plain["variable_type"].as_str()), (Some("v"), Some("VALUE")));
    let path = format!("/application/{web}/secret");
    let secret = s.app.post(&path, json!({"key": "PASS", "value": "hunter22"})).await.expect(201);
    assert_eq!(secret["value"], Value::Null);
    s.app
        .post(&format!("/project/{}/environmentVariable", s.project), json!({"key": "P", "value": "p"}))
        .await
        .expect(201);

    let vars = s.app.get(&format!("/application/{web}/environmentVariable")).await.expect(200);
    let vars = vars["results"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["key"] == "PLAIN") && vars.iter().any(|v| v["key"] == "P"));
    assert!(vars.iter().any(|v| v["variable_type"] == "BUILT_IN"), "built-ins are listed too");
    assert!(!vars.iter().any(|v| v["key"] == "PASS"));
    let secrets = s.app.get(&format!("/application/{web}/secret")).await.expect(200);
    assert_eq!(keys(secrets["results"].as_array().unwrap()), ["PASS"]);

    // Each family and place acts only on its own.
    let pass = id(&secret);
    s.app
        .put(&format!("/application/{web}/environmentVariable/{pass}"), json!({"key": "PASS"}))
        .await
        .refused(404, None);
    s.app.delete(&format!("/container/{web}/secret/{pass}")).await.refused(404, None);
    let path = format!("/application/{web}/secret/{pass}");
    assert_eq!(s.app.put(&path, json!({"key": "PASS", "value": "hunter23"})).await.expect(200)["value"], Value::Null);
    let alias = s.app.post(&format!("/application/{web}/secret/{pass}/alias"), json!({"key": "DB_PASS"})).await;
    let alias = alias.expect(201);
    assert_eq!(alias["aliased_secret"]["key"], "PASS");
    assert!(alias["aliased_secret"].get("value").is_none(), "{alias}");
    let p = keys(&s.own("PROJECT", &s.project).await);
    let p_id = id(find(&s.own("PROJECT", &s.project).await, &p[0]));
    let path = format!("/environment/{}/environmentVariable/{p_id}/override", s.env);
    let over = s.app.post(&path, json!({"value": "e"})).await.expect(201);
    assert_eq!((over["key"].as_str(), over["value"].as_str()), (Some("P"), Some("e")));
    assert_eq!(over["overridden_variable"]["value"], "p");
    s.app.delete(&format!("/application/{web}/secret/{pass}")).await.expect(204);
    let secrets = s.app.get(&format!("/application/{web}/secret")).await.expect(200);
    assert_eq!(secrets["results"], json!([]), "the alias went with its target");
}

#[tokio::test]
async fn aliases_and_overrides_follow_their_targets() {
    let s = shop().await;
    let mode = s.create("MODE", "prod", false, "PROJECT", &s.project).await;
    let mode_id = id(&mode);
    let over = s
        .app
        .post(
            &format!("/variable/{mode_id}/override"),
            json!({"value": "staging", "override_scope": "ENVIRONMENT", "override_parent_id": s.env}),
        )
        .await
        .expect(201);
    assert_eq!((over["variable_type"].as_str(), over["key"].as_str()), (Some("OVERRIDE"), Some("MODE")));
    assert_eq!(over["overridden_variable"]["id"], json!(mode_id));
    assert_eq!(over["overridden_variable"]["scope"], "PROJECT");
    let alias = s
        .app
        .post(
            &format!("/variable/{mode_id}/alias"),
            json!({"key": "APP_MODE", "alias_scope": "APPLICATION", "alias_parent_id": s.web}),
        )
        .await
        .expect(201);
    assert_eq!((alias["variable_type"].as_str(), alias["value"].as_str()), (Some("ALIAS"), Some("prod")));
    assert_eq!(alias["aliased_variable"]["key"], "MODE");

    // A built-in can be aliased, by the id the BUILT_IN listing gives it.
    let builtins = s.list("BUILT_IN", &s.env).await;
    let env_id = find(&builtins, "QOVERY_ENVIRONMENT_ID");
    let again = s.list("BUILT_IN", &s.env).await;
    assert_eq!(find(&again, "QOVERY_ENVIRONMENT_ID")["id"], env_id["id"], "built-in ids are stable");
    s.app
        .post(
            &format!("/variable/{}/alias", id(env_id)),
            json!({"key": "ENV_ID", "alias_scope": "APPLICATION", "alias_parent_id": s.web}),
        )
        .await
        .expect(201);

    let effective = s.effective(&s.web).await;
    let mode = find(&effective, "MODE");
    assert_eq!((mode["value"].as_str(), mode["source_scope"].as_str()), (Some("staging"), Some("ENVIRONMENT")));
    assert_eq!(find(&effective, "APP_MODE")["value"], "staging", "an alias takes the value its target has here");
    assert_eq!(find(&effective, "ENV_ID")["value"], json!(s.env));
    assert_eq!(find(&effective, "QOVERY_APPLICATION_ID")["source_scope"], "BUILT_IN");
    let sorted = keys(&effective);
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "sorted by key: {sorted:?}");

    // Deleting the target takes its aliases and overrides.
    s.app.delete(&format!("/variable/{mode_id}")).await.expect(204);
    assert_eq!(keys(&s.own("APPLICATION", &s.web).await), ["ENV_ID"]);
}

#[tokio::test]
async fn builtins_name_the_database_and_hide_its_secrets() {
    let s = shop().await;
    s.deployed_database("pw-0f-the-db").await;
    let z = short_id(s.db.parse().unwrap());
    let builtins = s.list("BUILT_IN", &s.env).await;
    assert!(builtins.iter().all(|v| v["scope"] == "BUILT_IN" && v["variable_type"] == "BUILT_IN"));
    for suffix in [
        "HOST",
        "HOST_INTERNAL",
        "PORT",
        "LOGIN",
        "PASSWORD",
        "DEFAULT_DATABASE_NAME",
        "DATABASE_URL",
        "DATABASE_URL_INTERNAL",
    ] {
        let v = find(&builtins, &format!("QOVERY_POSTGRESQL_{z}_{suffix}"));
        assert_eq!((v["service_id"].as_str(), v["service_type"].as_str()), (Some(s.db.as_str()), Some("DATABASE")));
        let secret = matches!(suffix, "PASSWORD" | "DATABASE_URL" | "DATABASE_URL_INTERNAL");
        assert_eq!(v["is_secret"], secret, "{suffix}");
        assert_eq!(v["value"].is_null(), secret, "{suffix}: {v}");
    }
    assert_eq!(find(&builtins, &format!("QOVERY_POSTGRESQL_{z}_LOGIN"))["value"], "app");
    assert!(!serde_json::to_string(&builtins).unwrap().contains("pw-0f-the-db"));
    let at_service = s.list("BUILT_IN", &s.web).await;
    assert_eq!(find(&at_service, "QOVERY_APPLICATION_ID")["value"], json!(s.web));
    assert!(at_service.iter().all(|v| v["scope"] == "BUILT_IN"));

    // The database's own endpoints.
    let creds = s.app.get(&format!("/database/{}/masterCredentials", s.db)).await.expect(200);
    assert_eq!(creds["login"], "app");
    assert_eq!(creds["password"], "pw-0f-the-db");
    assert_eq!(creds["port"], 5432);
    assert!(creds["host"].as_str().unwrap().starts_with(&z.to_lowercase()), "{creds}");
    let versions = s.app.get(&format!("/database/{}/version", s.db)).await.expect(200);
    assert!(versions["results"].as_array().unwrap().contains(&json!({"name": "16"})), "{versions}");
    let fresh = s.app.service(&s.env, "database", bodies::database("other")).await;
    let refused = s.app.get(&format!("/database/{fresh}/masterCredentials")).await.refused(400, None);
    assert!(refused["message"].as_str().unwrap().contains("deploy"), "{refused}");
    let viewer = s.viewer().await;
    let path = format!("/database/{}/masterCredentials", s.db);
    s.app.call_as(&viewer, Method::GET, &path, None).await.refused(403, None);
    s.app.get(&format!("/database/{}/masterCredentials", s.web)).await.refused(404, None);
}

/// Sends a `.env` file to the import endpoint.
async fn import_dotenv(app: &App, query: &str, text: &str) -> (u16, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/variable/import?{query}"))
        .header("authorization", format!("Token {}", app.token))
        .header("content-type", "text/plain")
        .body(Body::from(text.to_owned()))
        .unwrap();
    let response = app.router.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn imports_check_every_entry_before_writing() {
    let s = shop().await;
    let path = format!("/variable/import?service_id={}&service_type=APPLICATION", s.web);
    let vars = |entries: Value, overwrite: bool| json!({"overwrite": overwrite, "vars": entries});
    let first = json!([
        {"name": "A", "value": "1", "scope": "APPLICATION", "is_secret": false},
        {"name": "P", "value": "imp0rted-secret", "scope": "PROJECT", "is_secret": true},
    ]);
    let imported = s.app.post(&path, vars(first.clone(), false)).await.expect(201);
    assert_eq!(imported["total_variables_to_import"], 2);
    let done = imported["successful_imported_variables"].as_array().unwrap();
    assert_eq!(done[0], json!({"name": "A", "value": "1", "scope": "APPLICATION", "is_secret": false}));
    assert!(done[1].get("value").is_none() && done[1]["is_secret"] == true);
    assert_eq!(keys(&s.own("APPLICATION", &s.web).await), ["P", "A"]);

    let before = s.everything().await;
    s.app.post(&path, vars(first, false)).await.refused(409, None);
    let refusals = [
        (
            json!([{"name": "A", "value": "2", "scope": "APPLICATION", "is_secret": false},
                {"name": "1BAD", "value": "x", "scope": "APPLICATION", "is_secret": false}]),
            "vars[1].name",
        ),
        (json!([{"name": "N", "value": "x", "scope": "CONTAINER", "is_secret": false}]), "vars[0].scope"),
        (json!([{"name": "P", "value": "clear", "scope": "PROJECT", "is_secret": false}]), "vars[0].is_secret"),
        (
            json!([{"name": "N", "value": "x", "scope": "PROJECT", "is_secret": false},
                {"name": "N", "value": "y", "scope": "PROJECT", "is_secret": false}]),
            "vars[1].name",
        ),
    ];
    for (entries, field) in refusals {
        s.app.post(&path, vars(entries, true)).await.refused(400, Some(field));
    }
    s.app
        .post(&format!("/variable/import?service_id={}", s.web), vars(json!([]), false))
        .await
        .refused(400, Some("service_type"));
    s.app
        .post("/variable/import?service_type=APPLICATION", vars(json!([]), false))
        .await
        .refused(400, Some("service_id"));
    let wrong_kind = format!("/variable/import?service_id={}&service_type=CONTAINER", s.web);
    s.app.post(&wrong_kind, vars(json!([]), false)).await.refused(404, None);
    assert_eq!(s.everything().await, before, "refused imports change nothing");

    let replaced = json!([{"name": "A", "value": "10", "scope": "APPLICATION", "is_secret": false}]);
    s.app.post(&path, vars(replaced, true)).await.expect(201);
    assert_eq!(find(&s.own("APPLICATION", &s.web).await, "A")["value"], "10");

    // Slipway: a raw `.env` file.
    let query = format!("service_id={}&service_type=APPLICATION&scope=ENVIRONMENT", s.web);
    let (status, reply) = import_dotenv(&s.app, &query, "# settings\nX=1\nexport Y=\"two words\"\n").await;
    assert_eq!(status, 201, "{reply}");
    let at_env = s.own("ENVIRONMENT", &s.env).await;
    assert_eq!(find(&at_env, "Y")["value"], "two words");
    assert_eq!(find(&at_env, "X")["scope"], "ENVIRONMENT");
    let (status, reply) = import_dotenv(&s.app, &query, "Z=1\nnot a pair\n").await;
    assert_eq!((status, reply["field"].as_str()), (400, Some("line 2")), "{reply}");
    assert!(!keys(&s.own("ENVIRONMENT", &s.env).await).contains(&"Z".to_owned()));
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let s = shop().await;
    let p_var = s.create("SHARED", "p", false, "PROJECT", &s.project).await;
    let s_var = s.create("OWN", "s", false, "APPLICATION", &s.web).await;
    let secret = s.create("PASS", "s3cret-value", true, "ENVIRONMENT", &s.env).await;
    let alias = s
        .app
        .post(
            &format!("/variable/{}/alias", id(&p_var)),
            json!({"key": "ALIASED", "alias_scope": "ENVIRONMENT", "alias_parent_id": s.env}),
        )
        .await
        .expect(201);
    let over = s
        .app
        .post(
            &format!("/variable/{}/override", id(&p_var)),
            json!({"value": "o", "override_scope": "APPLICATION", "override_parent_id": s.web}),
        )
        .await
        .expect(201);
    // Another project, and another organization.
    let other_project =
        s.app.post(&format!("/organization/{}/project", s.app.org), json!({"name": "blog"})).await.expect(200);
    let foreign = s.create("FOREIGN", "f", false, "PROJECT", &id(&other_project)).await;
    let (other_org, other_token) = tenant(&s.app.store, "globex", slipway_model::Role::Owner).await;
    let theirs = s
        .app
        .call_as(&other_token, Method::POST, &format!("/organization/{other_org}/project"), Some(json!({"name": "x"})))
        .await
        .expect(200);
    s.edit(id(&s_var), json!({"key": "OWN2"})).await.expect(200);
    s.edit(id(&s_var), json!({"key": "OWN"})).await.expect(200);
    let before = s.everything().await;

    let (project, env, web) = (s.project.clone(), s.env.clone(), s.web.clone());
    let big = "x".repeat(300 * 1024);
    for (request, field) in [
        (body("1ABC", "v", false, "PROJECT", &project), "key"),
        (body("MY-VAR", "v", false, "PROJECT", &project), "key"),
        (body("QOVERY_MINE", "v", false, "PROJECT", &project), "key"),
        (body("BIG", &big, false, "PROJECT", &project), "value"),
        (body("X", "v", false, "BUILT_IN", &env), "variable_scope"),
        (
            json!({"key": "F", "value": "v", "is_secret": false, "mount_path": "etc/app.conf",
                "variable_scope": "PROJECT", "variable_parent_id": project}),
            "mount_path",
        ),
        (json!({"key": "F", "value": "v", "variable_scope": "PROJECT", "variable_parent_id": project}), "is_secret"),
        (
            json!({"key": "F", "value": "v", "is_secret": false, "variable_scope": "GALAXY",
                "variable_parent_id": project}),
            "variable_scope",
        ),
    ] {
        let refused = s.app.post("/variable", request).await.refused(400, Some(field));
        if field == "key" && refused["message"].as_str().unwrap().contains("QOVERY_") {
            assert!(refused["message"].as_str().unwrap().contains("reserved"), "{refused}");
        }
    }
    s.app.post("/variable", body("SHARED", "again", false, "PROJECT", &project)).await.refused(409, None);
    s.app.post("/variable", body("X", "v", false, "ENVIRONMENT", &project)).await.refused(404, None);
    s.app.post("/variable", body("X", "v", false, "CONTAINER", &web)).await.refused(404, None);
    s.app.post("/variable", body("X", "v", false, "PROJECT", &id(&theirs))).await.refused(404, None);

    s.override_of(&id(&s_var), "ENVIRONMENT", &env).await.refused(400, None);
    s.override_of(&id(&p_var), "PROJECT", &project).await.refused(400, Some("override_scope"));
    s.override_of(&id(&foreign), "ENVIRONMENT", &env).await.refused(400, None);
    s.override_of(&id(&alias), "APPLICATION", &web).await.refused(400, None);
    let builtin = id(find(&s.list("BUILT_IN", &env).await, "QOVERY_ENVIRONMENT_ID"));
    s.override_of(&builtin, "APPLICATION", &web).await.refused(400, None);
    s.override_of(&id(&p_var), "APPLICATION", &web).await.refused(409, None);

    s.alias_of(Uuid::new_v4().to_string(), "GHOST", "ENVIRONMENT", &env).await.refused(404, None);
    s.alias_of(id(&alias), "TWICE", "APPLICATION", &web).await.refused(400, None);
    s.alias_of(id(&over), "TWICE", "APPLICATION", &web).await.refused(400, None);
    s.alias_of(id(&p_var), "bad-key", "ENVIRONMENT", &env).await.refused(400, Some("key"));
    s.alias_of(id(&p_var), "ALIASED", "ENVIRONMENT", &env).await.refused(409, None);
    s.alias_of(id(&s_var), "UP", "PROJECT", &project).await.refused(400, None);

    s.edit(id(&secret), json!({"key": "PASS", "is_secret": false})).await.refused(400, Some("is_secret"));
    s.edit(id(&alias), json!({"key": "ALIASED", "value": "v"})).await.refused(400, Some("value"));
    s.edit(id(&over), json!({"key": "RENAMED", "value": "v"})).await.refused(400, Some("key"));
    s.edit(id(&s_var), json!({"key": "QOVERY_OWN"})).await.refused(400, Some("key"));
    s.edit(id(&s_var), json!({"key": "OWN", "mount_path": "relative"})).await.refused(400, Some("mount_path"));
    // The override of SHARED holds that key at the application already.
    s.edit(id(&s_var), json!({"key": "SHARED"})).await.refused(409, None);
    s.edit(Uuid::new_v4().to_string(), json!({"key": "X"})).await.refused(404, None);

    s.app.get("/variable?scope=PROJECT").await.refused(400, Some("parent_id"));
    s.app.get(&format!("/variable?parent_id={project}")).await.refused(400, Some("scope"));
    s.app.get(&format!("/variable?parent_id={project}&scope=NOPE")).await.refused(400, Some("scope"));
    s.app.get("/variable?parent_id=abc&scope=PROJECT").await.refused(400, Some("parent_id"));
    s.app.get(&format!("/variable?parent_id={}&scope=PROJECT", id(&theirs))).await.refused(404, None);

    // Roles and tenants.
    let viewer = s.viewer().await;
    s.app
        .call_as(&viewer, Method::GET, &format!("/variable?parent_id={project}&scope=PROJECT"), None)
        .await
        .expect(200);
    let denied = s.app.call_as(&viewer, Method::POST, "/variable", Some(body("V", "v", false, "PROJECT", &project)));
    denied.await.refused(403, None);
    s.app.call_as(&viewer, Method::DELETE, &format!("/variable/{}", id(&p_var)), None).await.refused(403, None);
    let path = format!("/variable?parent_id={env}&scope=ENVIRONMENT");
    s.app.call_as(&other_token, Method::GET, &path, None).await.refused(404, None);
    let path = format!("/variable/{}", id(&p_var));
    s.app.call_as(&other_token, Method::PUT, &path, Some(json!({"key": "HACKED"}))).await.refused(404, None);
    s.app.call_as(&other_token, Method::DELETE, &path, None).await.refused(404, None);
    let path = format!("/service/{web}/effectiveVariable");
    s.app.call_as(&other_token, Method::GET, &path, None).await.refused(404, None);
    s.app.get(&format!("/service/{}/effectiveVariable", s.db)).await.refused(400, None);

    assert_eq!(s.everything().await, before, "refusals change nothing");
}

/// Every table of a PostgreSQL database, as text.
async fn postgres_dump(url: &str) -> String {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.contains(&"variables".to_owned()), "{tables:?}");
    let mut dump = String::new();
    for table in tables {
        let sql = format!("SELECT CAST(row_to_json(t) AS TEXT) FROM \"{table}\" t");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
            dump.push_str(&row.get::<String, _>(0));
            dump.push('\n');
        }
    }
    dump
}

/// The bytes of the SQLite store: the database file, its WAL and shared memory.
fn sqlite_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("slipway.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "the store files were not found");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn secrets_stay_secret(backend: Backend) {
    let s = shop_on(backend).await;
    let unique = new_id().simple().to_string();
    let plain = |n: u32| format!("pl41n{n}-{unique}");
    let mut replies: Vec<Value> = Vec::new();

    let secret = s.create("API_KEY", &plain(1), true, "ENVIRONMENT", &s.env).await;
    let path = format!("/application/{}/secret", s.web);
    replies.push(s.app.post(&path, json!({"key": "LEGACY", "value": plain(2)})).await.expect(201));
    let over = s
        .app
        .post(
            &format!("/variable/{}/override", id(&secret)),
            json!({"value": plain(3), "override_scope": "APPLICATION", "override_parent_id": s.web}),
        )
        .await
        .expect(201);
    assert!(over["is_secret"] == true && over["value"].is_null() && over["overridden_variable"]["value"].is_null());
    let alias = s
        .app
        .post(
            &format!("/variable/{}/alias", id(&secret)),
            json!({"key": "ALIAS_KEY", "alias_scope": "APPLICATION", "alias_parent_id": s.web}),
        )
        .await
        .expect(201);
    assert!(alias["is_secret"] == true && alias["value"].is_null() && alias["aliased_variable"]["value"].is_null());
    let path = format!("/variable/import?service_id={}&service_type=APPLICATION", s.web);
    let import = json!({"overwrite": false, "vars": [{"name": "IMPORTED", "value": plain(4), "scope": "PROJECT", "is_secret": true}]});
    replies.push(s.app.post(&path, import).await.expect(201));
    let path = format!("/variable/{}", id(&secret));
    replies.push(s.app.put(&path, json!({"key": "API_KEY", "value": plain(5)})).await.expect(200));
    let registry = s
        .app
        .post(
            &format!("/organization/{}/containerRegistry", s.app.org),
            json!({"name": "private", "kind": "GENERIC_CR", "url": "https://registry.example.com",
                   "config": {"username": "bot", "password": plain(6)}}),
        )
        .await
        .expect(201);
    let edited_registry = s
        .app
        .put(
            &format!("/organization/{}/containerRegistry/{}", s.app.org, id(&registry)),
            json!({"config": {"username": "bot", "password": plain(7)}}),
        )
        .await
        .expect(200);
    replies.extend([secret.clone(), over, alias, registry.clone(), edited_registry]);

    // Everything the API can list.
    for (scope, parent) in
        [("PROJECT", &s.project), ("ENVIRONMENT", &s.env), ("APPLICATION", &s.web), ("BUILT_IN", &s.env)]
    {
        replies.push(s.app.get(&format!("/variable?parent_id={parent}&scope={scope}")).await.expect(200));
    }
    for (kind, parent) in [("project", &s.project), ("environment", &s.env), ("application", &s.web)] {
        for family in ["environmentVariable", "secret"] {
            replies.push(s.app.get(&format!("/{kind}/{parent}/{family}")).await.expect(200));
        }
    }
    replies.push(s.app.get(&format!("/organization/{}/containerRegistry", s.app.org)).await.expect(200));
    let effective = s.effective(&s.web).await;
    for key in ["API_KEY", "LEGACY", "ALIAS_KEY", "IMPORTED"] {
        let v = find(&effective, key);
        assert!(v["is_secret"] == true && v["value"].is_null(), "masked: {v}");
    }
    replies.push(Value::Array(effective));
    let text = serde_json::to_string(&replies).unwrap();
    for n in 1..=7 {
        assert!(!text.contains(&plain(n)), "plaintext {n} in an API response");
    }
    assert!(text.contains("ALIAS_KEY") && text.contains("LEGACY"), "the listings did list the secrets");

    // The store holds them sealed: they open, and their text is nowhere.
    let stored: Variable = s.app.store.get(s.app.org_id(), id(&secret).parse().unwrap()).await.unwrap();
    let StoredValue::Sealed(sealed) = &stored.value else { panic!("not sealed: {stored:?}") };
    assert_eq!(s.secrets.open(sealed).unwrap(), plain(5));
    let registry: ContainerRegistry = s.app.store.get(s.app.org_id(), id(&registry).parse().unwrap()).await.unwrap();
    let password = registry.spec.config.password.unwrap();
    assert!(slipway_secrets::is_sealed(&password));
    assert_eq!(s.secrets.open(&password).unwrap(), plain(7));
    match &s.app.postgres_url {
        Some(url) => {
            let dump = postgres_dump(url).await;
            assert!(dump.contains("API_KEY"), "the dump has the variables");
            for n in 1..=7 {
                assert!(!dump.contains(&plain(n)), "plaintext {n} in a PostgreSQL table");
            }
        }
        None => {
            let bytes = sqlite_bytes(s.app.dir());
            assert!(contains(&bytes, "API_KEY"), "the files hold the variables");
            for n in 1..=7 {
                assert!(!contains(&bytes, &plain(n)), "plaintext {n} in the SQLite files");
            }
        }
    }
}

#[tokio::test]
async fn a_secrets_plaintext_appears_nowhere_on_sqlite() {
    secrets_stay_secret(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_secrets_plaintext_appears_nowhere_on_postgres() {
    secrets_stay_secret(Backend::Postgres).await;
}
