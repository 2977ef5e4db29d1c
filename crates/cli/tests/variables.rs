//! Variables and secrets from the command line, against a real server:
//! `slipway variable set --secret` reads the value from standard input,
//! `variable list` and `variable effective` mask it, `.env` imports; and
//! `slipway secrets rotate-key` re-encrypts every secret offline, after
//! which the server starts, reads and deploys with the new key.
//!
//! The deploy needs a container engine answering the Docker API (`bash
//! scripts/setup-engine.sh`).

#[allow(dead_code)]
mod support;

#[allow(dead_code)]
mod app;

use app::{Api, AppRepo, Sweep};
use serde_json::Value;
use slipway_model::variable::{StoredValue, Variable};
use support::{Server, User};

/// Creates project `shop`, environment `dev` and an application `web` built
/// from `repo`; returns the environment's and the application's ids.
async fn shop(server: &Server, user: &User, repo: &AppRepo) -> (String, String) {
    user.run(&["project", "create", "shop"]).success();
    user.run(&["env", "create", "dev", "--project", "shop"]).success();
    let env =
        user.run(&["env", "list", "--project", "shop", "-o", "json"]).json()[0]["id"].as_str().unwrap().to_owned();
    let api = Api::new(server.url(), server.admin_token());
    let web = api.post(&format!("/environment/{env}/application"), repo.application("web")).await;
    (env, web["id"].as_str().unwrap().to_owned())
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn row<'a>(table: &'a str, key: &str) -> &'a str {
    table.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_else(|| panic!("no `{key}` row in:\n{table}"))
}

#[tokio::test]
async fn secrets_come_from_standard_input_and_are_masked_everywhere() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start();
    let user = User::new();
    user.login(&server);
    let repo = AppRepo::new("one");
    let (_, web) = shop(&server, &user, &repo).await;
    let plaintext = format!("s3cr3t-{}", uuid::Uuid::new_v4().simple());
    let at_web = ["--project", "shop", "--env", "dev", "--service", "web"];
    let with = |args: &[&str], place: &[&str]| -> Vec<String> {
        args.iter().chain(place.iter()).map(|s| (*s).to_owned()).collect()
    };
    let run = |args: Vec<String>| user.run(&strs(&args));

    let args = with(&["variable", "set", "DB_PASSWORD", "--secret"], &at_web);
    let out = user.run_with_stdin(&strs(&args), &format!("{plaintext}\n")).success();
    assert!(out.contains("Set secret `DB_PASSWORD` on application `web`"), "{out}");
    let err = run(with(&["variable", "set", "LEAK", "--secret", "--value", "x"], &at_web)).failure();
    assert!(err.contains("standard input"), "{err}");
    run(with(&["variable", "set", "MODE", "--value", "prod"], &["--project", "shop"])).success();
    run(with(&["variable", "set", "MODE", "--value", "staging"], &["--project", "shop", "--env", "dev"])).success();
    let dotenv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(dotenv.path(), "# app settings\nGREETING=\"hello world\"\nPORT=8080\n").unwrap();
    let file = dotenv.path().to_str().unwrap();
    let out = run(with(&["variable", "import", "--file", file], &at_web)).success();
    assert!(out.contains("Imported 2 variables"), "{out}");

    let table = run(with(&["variable", "list"], &at_web)).success();
    assert!(row(&table, "DB_PASSWORD").contains("***"), "{table}");
    assert!(row(&table, "GREETING").contains("hello world"), "{table}");
    let table = run(with(&["variable", "effective", "web"], &["--project", "shop", "--env", "dev"])).success();
    assert!(table.starts_with("KEY"), "{table}");
    let mode = row(&table, "MODE");
    assert!(mode.contains("environment") && mode.contains("staging"), "{mode}");
    assert!(row(&table, "DB_PASSWORD").contains("***"), "{table}");
    assert!(row(&table, "QOVERY_APPLICATION_ID").contains(&web), "{table}");
    let json = user.run(&["variable", "effective", &web, "-o", "json"]).json();
    let password = json.as_array().unwrap().iter().find(|v| v["key"] == "DB_PASSWORD").unwrap();
    assert_eq!((password["value"].clone(), password["is_secret"].clone()), (Value::Null, Value::Bool(true)));
    assert_eq!(password["service"], Value::String(web.clone()));

    // Deleting the environment's MODE uncovers the project's.
    run(with(&["variable", "delete", "MODE"], &["--project", "shop", "--env", "dev"])).success();
    let table = user.run(&["variable", "effective", &web]).success();
    assert!(row(&table, "MODE").contains("project") && row(&table, "MODE").contains("prod"), "{table}");
    let err = run(with(&["variable", "delete", "NOPE"], &at_web)).failure();
    assert!(err.contains("no variable `NOPE`") && err.contains("DB_PASSWORD"), "{err}");
    let err = run(with(&["variable", "set", "DB_PASSWORD", "--value", "shown"], &at_web)).failure();
    assert!(err.contains("is a secret"), "{err}");

    let everything = [
        run(with(&["variable", "list", "-o", "json"], &at_web)).success(),
        table,
        json.to_string(),
        std::fs::read_to_string(user.config_file()).unwrap(),
        server.log(),
    ];
    assert!(everything.iter().all(|text| !text.contains(&plaintext)), "the secret's plaintext was printed");
}

/// The variables of a service, as stored.
async fn stored_variables(data_dir: &std::path::Path, org: &str, service: &str) -> Vec<Variable> {
    let store =
        slipway_store::Store::open(&slipway_store::StoreConfig::Sqlite(data_dir.join("slipway.db"))).await.unwrap();
    store.list(org.parse().unwrap(), slipway_store::Filter::parent(service.parse().unwrap())).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_key_reencrypts_every_secret_and_the_server_goes_on() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Server::start();
    let user = User::new();
    user.login(&server);
    let repo = AppRepo::new("one");
    let (env, web) = shop(&server, &user, &repo).await;
    let _sweep = Sweep { environment: env.clone() };
    let at_web = ["variable", "set", "API_TOKEN", "--secret", "--project", "shop", "--env", "dev", "--service", "web"];
    user.run_with_stdin(&at_web, "t0ken-before-rotation\n").success();
    let org = Api::new(server.url(), server.admin_token()).get("/organization").await["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let port = server.port;
    let key_file = server.data_dir().join("secret.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let old_box = slipway_secrets::SecretBox::load_or_create(&key_file, None).unwrap();
    let data_dir = server.stop();

    let out = support::slipway().args(["secrets", "rotate-key", "--data-dir"]).arg(data_dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 secrets re-encrypted"), "{stdout}");
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    assert!(!new_key.contains(old_key.trim()), "the old key is gone from the key file");
    assert!(!data_dir.path().join("secret.key.next").exists());
    let new_box = slipway_secrets::SecretBox::load_or_create(&key_file, None).unwrap();
    let stored = stored_variables(data_dir.path(), &org, &web).await;
    let StoredValue::Sealed(sealed) = &stored.iter().find(|v| v.key == "API_TOKEN").unwrap().value else {
        panic!("not sealed: {stored:?}")
    };
    assert_eq!(new_box.open(sealed).unwrap(), "t0ken-before-rotation");
    assert!(old_box.open(sealed).is_err(), "the old key opens nothing any more");

    // The server starts on the new key, reads and deploys.
    let server = Server::start_in(data_dir, port);
    let table = user.run(&["variable", "effective", &web]).success();
    assert!(row(&table, "API_TOKEN").contains("***"), "{table}");
    let out = user.run(&["deploy", "--project", "shop", "--env", "dev"]).success();
    assert!(out.contains("succeeded in"), "{out}");
    assert!(!server.log().contains("t0ken-before-rotation"));
}
