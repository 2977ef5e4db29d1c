//! End-to-end tests of the `slipway` binary: a real server as a child
//! process, and the CLI commands against it, as a user would run them.

mod support;

use serde_json::{Value, json};
use support::{Server, User, free_ports, healthy, names, owner_only, slipway};

#[test]
fn login_then_manage_projects_and_environments() {
    let server = Server::start();
    let user = User::new();

    let out = user.run(&["login", "--url", &server.url(), "--token", &server.admin_token()]).success();
    assert!(out.contains("Logged in to") && out.contains("`default`"), "{out}");
    let config = std::fs::read_to_string(user.config_file()).unwrap();
    assert!(config.contains(&server.url()) && config.contains("organization"), "{config}");
    assert!(owner_only(&user.config_file()), "the config file holds a token and must be 0600");

    let orgs = user.run(&["org", "list", "--output", "json"]).json();
    assert_eq!(names(&orgs), ["default"]);

    let out = user.run(&["project", "create", "shop", "--description", "the web shop"]).success();
    assert!(out.contains("Created project `shop`"), "{out}");
    let projects = user.run(&["project", "list", "--output", "json"]).json();
    assert_eq!(names(&projects), ["shop"]);
    assert_eq!(projects[0]["description"], "the web shop");
    let table = user.run(&["project", "list"]).success();
    assert!(table.starts_with("NAME") && table.contains("shop") && table.contains("the web shop"), "{table}");

    let out = user.run(&["env", "create", "staging", "--project", "shop", "--mode", "staging"]).success();
    assert!(out.contains("Created environment `staging`"), "{out}");
    let table = user.run(&["env", "list", "--project", "shop"]).success();
    let row = table.lines().find(|l| l.starts_with("staging")).unwrap_or_else(|| panic!("no staging row:\n{table}"));
    assert!(row.contains(" staging ") && row.contains("local"), "{row}");
    let envs = user.run(&["env", "list", "--project", "shop", "-o", "json"]).json();
    assert_eq!(names(&envs), ["staging"]);
    assert_eq!(envs[0]["mode"], "STAGING");

    // Ids work wherever names do.
    let project_id = projects[0]["id"].as_str().unwrap();
    let env_id = envs[0]["id"].as_str().unwrap();
    let out = user.run(&["service", "list", "--project", project_id, "--env", env_id]).success();
    assert!(out.contains("No services"), "{out}");
    let services = user.run(&["service", "list", "--project", "shop", "--env", "staging", "--output", "json"]).json();
    assert_eq!(services, json!([]));

    let out = user.run(&["env", "delete", "staging", "--project", "shop"]).success();
    assert!(out.contains("Deleted environment `staging`"), "{out}");
    assert_eq!(user.run(&["env", "list", "--project", "shop", "-o", "json"]).json(), json!([]));
    let deleted = user.run(&["project", "delete", "shop", "--output", "json"]).json();
    assert_eq!(deleted["name"], "shop");
    assert_eq!(user.run(&["project", "list", "--output", "json"]).json(), json!([]));
}

#[tokio::test]
async fn service_list_shows_every_kind_and_jobs_list_their_runs() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start();
    let user = User::new();
    user.login(&server);
    user.run(&["project", "create", "shop"]).success();
    user.run(&["env", "create", "prod", "--project", "shop", "--mode", "production"]).success();
    let env = &user.run(&["env", "list", "--project", "shop", "-o", "json"]).json()[0];

    // The CLI cannot create services yet: use the API.
    let api = Api { http: reqwest::Client::new(), base: server.url(), token: server.admin_token() };
    let org = env["organization"]["id"].as_str().unwrap();
    let registry = api.get(&format!("/organization/{org}/containerRegistry")).await["results"][0]["id"].clone();
    let env_id = env["id"].as_str().unwrap();
    let container =
        json!({"name": "web", "registry_id": registry, "image_name": "nginx", "tag": "1.27", "healthchecks": {}});
    api.post(&format!("/environment/{env_id}/container"), container).await;
    let database = json!({"name": "db", "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"});
    api.post(&format!("/environment/{env_id}/database"), database).await;
    let job = json!({
        "name": "nightly", "healthchecks": {},
        "source": {"image": {"image_name": "busybox", "tag": "1.36", "registry_id": registry}},
        "schedule": {"cronjob": {"scheduled_at": "0 3 * * *", "timezone": "UTC"}},
    });
    api.post(&format!("/environment/{env_id}/job"), job).await;

    let table = user.run(&["service", "list", "--project", "shop", "--env", "prod"]).success();
    for (name, kind) in [("web", "container"), ("db", "database"), ("nightly", "job")] {
        let row = table.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} row:\n{table}"));
        assert!(row.split_whitespace().nth(1) == Some(kind), "{row}");
    }
    let services = user.run(&["service", "list", "--project", "shop", "--env", "prod", "-o", "json"]).json();
    let mut listed = names(&services);
    listed.sort();
    assert_eq!(listed, ["db", "nightly", "web"]);
    assert!(services.as_array().unwrap().iter().all(|s| s["service_type"].is_string()));

    // Jobs have runs; a cron job runs by hand once deployed.
    let at = ["--project", "shop", "--env", "prod", "--service"];
    let runs = user.run(&[&["runs"][..], &at[..], &["nightly"]].concat()).success();
    assert!(runs.contains("`nightly` has not run yet"), "{runs}");
    let refused = user.run(&[&["run"][..], &at[..], &["nightly"]].concat()).failure();
    assert!(refused.contains("never deployed"), "{refused}");
    let not_a_job = user.run(&[&["runs"][..], &at[..], &["web"]].concat()).failure();
    assert!(not_a_job.contains("`web` is not a job"), "{not_a_job}");
}

/// Raw API calls, for what the CLI does not do.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        support::api_call(&self.http, &self.base, &self.token, reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) {
        support::api_call(&self.http, &self.base, &self.token, reqwest::Method::POST, path, Some(body)).await;
    }
}

#[test]
fn login_reads_the_token_from_standard_input() {
    let server = Server::start();
    let user = User::new();
    let out = user.run_with_stdin(&["login", "--url", &server.url()], &format!("{}\n", server.admin_token())).success();
    assert!(out.contains("Logged in"), "{out}");
    user.run(&["project", "list"]).success();
}

#[test]
fn login_refuses_a_wrong_token_and_stores_nothing() {
    let server = Server::start();
    let user = User::new();
    let err = user.run(&["login", "--url", &server.url(), "--token", "not-a-token"]).failure();
    assert!(err.contains("refused this API token"), "{err}");
    assert!(!user.config_file().exists(), "a refused login must not be stored");
}

#[test]
fn an_unreachable_server_is_named_with_what_to_check() {
    let [closed] = free_ports();
    let url = format!("http://127.0.0.1:{closed}");
    let user = User::new();
    let err = user.run(&["login", "--url", &url, "--token", "anything"]).failure();
    assert!(err.contains(&format!("server at {url} is not reachable")) && err.contains("slipway server"), "{err}");
    let env = [("SLIPWAY_URL", url.as_str()), ("SLIPWAY_TOKEN", "anything")];
    let err = user.run_with_env(&["project", "list"], &env).failure();
    assert!(err.contains("is not reachable"), "{err}");
}

#[test]
fn environment_variables_override_the_stored_login() {
    let server = Server::start();
    let user = User::new();
    user.login(&server);
    let err = user.run_with_env(&["project", "list"], &[("SLIPWAY_TOKEN", "revoked")]).failure();
    assert!(err.contains("refused the API token") && err.contains("slipway login"), "{err}");
    let [closed] = free_ports();
    let err = user.run_with_env(&["org", "list"], &[("SLIPWAY_URL", &format!("http://127.0.0.1:{closed}"))]).failure();
    assert!(err.contains("is not reachable"), "{err}");
    // Both from the environment, with no stored login at all.
    let fresh = User::new();
    let env = [("SLIPWAY_URL", server.url()), ("SLIPWAY_TOKEN", server.admin_token())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fresh.run_with_env(&["project", "create", "api"], &env).success();
    assert_eq!(names(&user.run(&["project", "list", "-o", "json"]).json()), ["api"]);
}

#[test]
fn refusals_say_what_was_wrong() {
    let server = Server::start();
    let user = User::new();
    let err = user.run(&["project", "list"]).failure();
    assert!(err.contains("not logged in") && err.contains("slipway login"), "{err}");

    user.login(&server);
    let err = user.run(&["env", "list", "--project", "shop"]).failure();
    assert!(err.contains("no project `shop`") && err.contains("slipway project create"), "{err}");
    user.run(&["project", "create", "shop"]).success();
    user.run(&["project", "create", "blog"]).success();
    let err = user.run(&["env", "list", "--project", "shopp"]).failure();
    assert!(err.contains("`shop`") && err.contains("`blog`"), "an unknown name lists what exists: {err}");
    let err = user.run(&["project", "create", "shop"]).failure();
    assert!(err.contains("already exists") && err.contains("409"), "{err}");
    let err = user.run(&["env", "create", "dev", "--project", "shop", "--cluster", "big-iron"]).failure();
    assert!(err.contains("no cluster named `big-iron`") && err.contains("`local`"), "{err}");
    user.run(&["env", "create", "dev", "--project", "shop", "--cluster", "local"]).success();
    let err = user.run(&["service", "list", "--project", "shop", "--env", "prod"]).failure();
    assert!(err.contains("no environment named `prod` in project `shop`") && err.contains("`dev`"), "{err}");
}

#[tokio::test]
async fn works_against_a_postgresql_store() {
    let database_url = slipway_testkit::fresh_postgres_database().await;
    let server = Server::start_postgres(&database_url);
    let user = User::new();
    user.login(&server);
    user.run(&["project", "create", "shop"]).success();
    user.run(&["env", "create", "staging", "--project", "shop", "--mode", "staging"]).success();
    assert_eq!(names(&user.run(&["project", "list", "-o", "json"]).json()), ["shop"]);
    assert_eq!(names(&user.run(&["env", "list", "--project", "shop", "-o", "json"]).json()), ["staging"]);
    user.run(&["project", "delete", "shop"]).success();
    assert_eq!(user.run(&["project", "list", "-o", "json"]).json(), json!([]));
}

#[test]
fn server_settings_come_from_file_then_environment_then_flags() {
    let [from_file, from_env, from_flag] = free_ports();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("slipway.toml");
    std::fs::write(&config, format!("listen = \"127.0.0.1:{from_file}\"\n")).unwrap();
    let all = [from_file, from_env, from_flag];
    let listen = |port: u16| format!("127.0.0.1:{port}");

    let server = Server::spawn(|cmd| cmd.arg("--config").arg(&config), &all);
    assert_eq!(server.port, from_file, "the file alone sets the address");
    drop(server);

    let server = Server::spawn(|cmd| cmd.arg("--config").arg(&config).env("SLIPWAY_LISTEN", listen(from_env)), &all);
    assert_eq!(server.port, from_env, "the environment overrides the file");
    assert!(!healthy(from_file));
    drop(server);

    let server = Server::spawn(
        |cmd| {
            cmd.arg("--config")
                .arg(&config)
                .env("SLIPWAY_LISTEN", listen(from_env))
                .args(["--listen", &listen(from_flag)])
        },
        &all,
    );
    assert_eq!(server.port, from_flag, "the flag overrides the environment and the file");
    assert!(!healthy(from_file) && !healthy(from_env));
}

#[test]
fn server_refuses_an_unknown_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("slipway.toml");
    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let output =
        slipway().arg("server").arg("--config").arg(&config).arg("--data-dir").arg(dir.path()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid config file") && stderr.contains("lisen"), "{stderr}");
}
