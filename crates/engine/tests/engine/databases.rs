//! CONTAINER databases on the real engine, from the images
//! `slipway images build` makes: applications reach them through the
//! built-in variables only, their data outlives redeploys and stop/start,
//! and secrets never show in logs.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use slipway_model::deployment::{DeploymentAction, DeploymentStatus};
use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope};
use slipway_model::{Service, ServiceType, new_id, now, short_id};
use slipway_store::Filter;

use crate::support::{Harness, client_app, database, eventually, sh, sh_eventually};

fn z(service: &Service) -> String {
    short_id(service.id)
}

#[tokio::test]
async fn applications_reach_postgresql_mysql_and_redis_through_built_ins_and_the_data_survives() {
    let h = Harness::new().await;
    let pg = h.add_service(ServiceType::Database, database("pg", "POSTGRESQL", "15")).await;
    let my = h.add_service(ServiceType::Database, database("my", "MYSQL", "10.11")).await;
    let redis = h.add_service(ServiceType::Database, database("cache", "REDIS", "7")).await;
    let pg_app = client_app(&h, "pg-app", "localhost/slipway/postgresql:15").await;
    let my_app = client_app(&h, "my-app", "localhost/slipway/mysql:10.11").await;
    let redis_app = client_app(&h, "redis-app", "localhost/slipway/redis:7").await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);

    let psql = format!(r#"psql "$QOVERY_POSTGRESQL_{}_DATABASE_URL_INTERNAL" -v ON_ERROR_STOP=1 -Atc"#, z(&pg));
    let mysql = format!(
        r#"MYSQL_PWD="$QOVERY_MYSQL_{z}_PASSWORD" mariadb -h "$QOVERY_MYSQL_{z}_HOST_INTERNAL" -P "$QOVERY_MYSQL_{z}_PORT" -u "$QOVERY_MYSQL_{z}_LOGIN" -N -B "$QOVERY_MYSQL_{z}_DEFAULT_DATABASE_NAME" -e"#,
        z = z(&my)
    );
    let redis_cli = format!(r#"redis-cli --no-auth-warning -u "$QOVERY_REDIS_{}_DATABASE_URL_INTERNAL""#, z(&redis));

    sh_eventually(&h, &pg_app, &format!("{psql} 'CREATE TABLE t (v text); INSERT INTO t VALUES ($$kept$$)'")).await;
    sh_eventually(&h, &my_app, &format!("{mysql} 'CREATE TABLE t (v text); INSERT INTO t VALUES (\"kept\")'")).await;
    sh_eventually(&h, &redis_app, &format!("{redis_cli} SET k kept")).await;
    let read_all = || async {
        assert_eq!(sh_eventually(&h, &pg_app, &format!("{psql} 'SELECT v FROM t'")).await.trim(), "kept");
        assert_eq!(sh_eventually(&h, &my_app, &format!("{mysql} 'SELECT v FROM t'")).await.trim(), "kept");
        assert_eq!(sh_eventually(&h, &redis_app, &format!("{redis_cli} GET k")).await.trim(), "kept");
    };
    read_all().await;

    // A wrong password is refused: the built-ins carry the real one.
    let wrong = format!(
        r#"psql "postgresql://slipway:wrong@$QOVERY_POSTGRESQL_{}_HOST_INTERNAL:5432/postgres" -c 'SELECT 1' 2>&1 || echo refused"#,
        z(&pg)
    );
    assert!(sh(&h, &pg_app, &wrong).await.contains("refused"));

    // A redeploy of the databases with a new configuration replaces their
    // instances on the same volumes.
    let before: Vec<String> = h.current_instances().await.iter().map(|i| i.id.clone()).collect();
    let mut edited = Vec::new();
    for db in [&pg, &my, &redis] {
        edited.push(h.edit_service(db, json!({"memory": 320})).await);
    }
    let d = h.deploy(edited.iter().map(|s| (s.id, None)).collect()).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    let after = h.current_instances().await;
    for db in &edited {
        let instance = after.iter().find(|i| i.labels.get(slipway_runtime::label::SERVICE) == Some(&db.id.to_string()));
        assert!(!before.contains(&instance.unwrap().id), "{} runs a new instance", db.name());
    }
    read_all().await;

    // Stop and start the whole environment.
    let stop = h.submit(DeploymentAction::Stop, vec![]).await;
    assert_eq!(h.finish(&stop).await.status, DeploymentStatus::Succeeded);
    eventually("nothing runs", Duration::from_secs(30), || async { h.instances().await.is_empty() }).await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    read_all().await;

    // Deleting a database removes its volume and its credentials.
    let delete = h.submit(DeploymentAction::Delete, vec![(redis.id, None)]).await;
    assert_eq!(h.finish(&delete).await.status, DeploymentStatus::Succeeded);
    let creds: Vec<slipway_model::service::database::DatabaseCredentials> =
        h.store.list(h.org, Filter::parent(redis.id)).await.unwrap();
    assert!(creds.is_empty(), "credentials go with the data");
}

#[tokio::test]
async fn a_secret_shows_as_stars_in_deployment_and_service_logs() {
    let h = Harness::new().await;
    let plaintext = format!("s3cret-{}", new_id().simple());
    let secret = Variable {
        id: new_id(),
        organization_id: h.org,
        scope: VariableScope::Environment,
        parent_id: h.env.id,
        key: "API_KEY".into(),
        value: StoredValue::Sealed(h.engine.secrets().seal(&plaintext)),
        is_secret: true,
        kind: VariableKind::Value,
        mount_path: None,
        description: None,
        enable_interpolation_in_file: false,
        created_at: now(),
        updated_at: None,
    };
    h.store.insert(&secret).await.unwrap();
    let file = Variable {
        id: new_id(),
        key: "CONFIG".into(),
        value: StoredValue::Plain("key={{API_KEY}}".into()),
        is_secret: false,
        mount_path: Some("/etc/app/config".into()),
        enable_interpolation_in_file: true,
        ..secret.clone()
    };
    h.store.insert(&file).await.unwrap();
    let app = client_app(&h, "talker", "localhost/slipway/redis:7").await;
    let app = h
        .edit_service(
            &app,
            json!({"entrypoint": "/bin/sh", "arguments": ["-c", "echo \"starting with $API_KEY\"; while true; do echo \"key is $API_KEY\"; cat /etc/app/config; echo; sleep 1; done"]}),
        )
        .await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);

    // The instance does get the value, as a variable and in the file.
    assert_eq!(sh(&h, &app, "printf %s \"$API_KEY\"").await, plaintext);
    assert_eq!(sh(&h, &app, "cat /etc/app/config").await, format!("key={plaintext}"));

    let service_lines = || async {
        let options = slipway_engine::LogOptions { follow: false, tail: Some(50), since: None };
        let mut lines = h.engine.service_logs(&app, options).await.unwrap();
        let mut seen = Vec::new();
        while let Ok(Some((_, line))) = tokio::time::timeout(Duration::from_secs(5), lines.next()).await {
            seen.push(line.line);
        }
        seen
    };
    eventually("the service printed its key twice", Duration::from_secs(30), || async {
        service_lines().await.iter().filter(|l| l.starts_with("key is")).count() >= 2
    })
    .await;
    let seen = service_lines().await;
    assert!(seen.iter().any(|l| l.contains("key is ***")), "masked in service logs: {seen:?}");
    assert!(seen.iter().any(|l| l.contains("key=***")), "masked in the file's content too: {seen:?}");
    assert!(!seen.iter().any(|l| l.contains(&plaintext)), "{seen:?}");

    // A deployment whose instance prints its secret while failing readiness
    // logs those lines masked.
    let failing = h
        .edit_service(&app, json!({"entrypoint": "/bin/sh", "arguments": ["-c", "echo \"boom $API_KEY\"; exit 3"]}))
        .await;
    let d = h.deploy(vec![(failing.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.message.contains("boom ***")), "{log:#?}");
    assert!(!log.iter().any(|l| l.message.contains(&plaintext)));
}

/// The names Slipway gives a MANAGED database and its role.
fn managed_name(service: &Service) -> String {
    format!("sw_{}", short_id(service.id).to_lowercase())
}

async fn server_has(admin_url: &str, what: &str, name: &str) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    let sql = match what {
        "database" => "SELECT count(*) FROM pg_database WHERE datname = $1",
        _ => "SELECT count(*) FROM pg_roles WHERE rolname = $1",
    };
    let n: i64 = sqlx::query_scalar(sql).bind(name).fetch_one(&mut conn).await.unwrap();
    n == 1
}

#[tokio::test]
async fn managed_postgresql_gets_a_database_and_role_that_delete_drops_and_foreign_ones_are_left_alone() {
    use sqlx::Connection;
    let h = Harness::new().await;
    let pg = slipway_testkit::ReachablePg::start();
    let server = slipway_model::service::database::DatabaseServer {
        id: new_id(),
        organization_id: h.org,
        cluster_id: h.env.cluster_id,
        name: "main-pg".into(),
        kind: slipway_model::service::database::DatabaseType::Postgresql,
        admin_url: h.engine.secrets().seal(&pg.admin_url()),
        host: Some(pg.host_for_containers()),
        created_at: now(),
    };
    h.store.insert(&server).await.unwrap();
    let mut body = database("orders", "POSTGRESQL", "15");
    body["mode"] = json!("MANAGED");
    let db = h.add_service(ServiceType::Database, body.clone()).await;
    let app = client_app(&h, "orders-app", "localhost/slipway/postgresql:15").await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    let name = managed_name(&db);
    assert!(server_has(&pg.admin_url(), "database", &name).await);
    assert!(server_has(&pg.admin_url(), "role", &name).await);

    let psql = format!(r#"psql "$QOVERY_POSTGRESQL_{}_DATABASE_URL_INTERNAL" -v ON_ERROR_STOP=1 -Atc"#, z(&db));
    sh_eventually(&h, &app, &format!("{psql} 'CREATE TABLE t (v text); INSERT INTO t VALUES ($$stored$$)'")).await;
    assert_eq!(sh(&h, &app, &format!("{psql} 'SELECT v FROM t'")).await.trim(), "stored");
    // The role owns its database and nothing else.
    let url = sh(&h, &app, &format!("printf %s \"$QOVERY_POSTGRESQL_{}_DATABASE_URL_INTERNAL\"", z(&db))).await;
    assert!(url.contains(&format!("/{name}")), "{url}");
    let other = sh(&h, &app, &format!(r#"{psql} 'CREATE DATABASE other' 2>&1 || echo refused"#)).await;
    assert!(other.contains("refused"), "{other}");

    // A database of the same name that Slipway did not create is never
    // taken over, nor dropped.
    let squatted = h
        .add_service(ServiceType::Database, {
            let mut b = body.clone();
            b["name"] = json!("squatted");
            b
        })
        .await;
    let foreign = managed_name(&squatted);
    let mut admin = sqlx::PgConnection::connect(&pg.admin_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{foreign}\""))).execute(&mut admin).await.unwrap();
    let d = h.deploy(vec![(squatted.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert!(h.log_of(&d).await.iter().any(|l| l.message.contains("did not create it")), "{:#?}", h.log_of(&d).await);
    let delete = h.submit(DeploymentAction::Delete, vec![(squatted.id, None)]).await;
    h.finish(&delete).await;
    assert!(server_has(&pg.admin_url(), "database", &foreign).await, "the foreign database is still there");

    // Delete drops what Slipway created.
    let stop_app = h.submit(DeploymentAction::Stop, vec![(app.id, None)]).await;
    h.finish(&stop_app).await;
    let delete = h.submit(DeploymentAction::Delete, vec![(db.id, None)]).await;
    assert_eq!(h.finish(&delete).await.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&delete).await);
    assert!(!server_has(&pg.admin_url(), "database", &name).await);
    assert!(!server_has(&pg.admin_url(), "role", &name).await);
}

/// Sends Redis inline commands over a fresh connection to `addr`; the first reply line of each.
async fn redis_replies(addr: std::net::SocketAddr, commands: &[String]) -> Result<Vec<String>, String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let mut stream = BufReader::new(stream);
    let mut replies = Vec::new();
    for command in commands {
        stream.get_mut().write_all(format!("{command}\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_line(&mut line)).await;
        read.map_err(|_| "no reply in time".to_owned())?.map_err(|e| e.to_string())?;
        replies.push(line.trim_end().to_owned());
    }
    Ok(replies)
}

#[tokio::test]
async fn a_public_database_answers_on_its_edge_tcp_port_across_redeploys() {
    let h = Harness::new().await;
    let mut body = database("cache", "REDIS", "7");
    body["accessibility"] = json!("PUBLIC");
    let cache = h.add_service(ServiceType::Database, body).await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);

    let creds: Vec<slipway_model::service::database::DatabaseCredentials> =
        h.store.list(h.org, Filter::parent(cache.id)).await.unwrap();
    let port = creds[0].external_port.expect("a PUBLIC database gets an edge port");
    let password = h.engine.secrets().open(&creds[0].password).unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let auth = format!("AUTH default {password}");
    let ask = |commands: Vec<String>| async move {
        let mut last = String::new();
        for _ in 0..30 {
            match redis_replies(addr, &commands).await {
                Ok(replies) => return replies,
                Err(error) => last = error,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("the database never answered on {addr}: {last}");
    };
    let replies = ask(vec![auth.clone(), "SET greeting hello".into(), "PING".into()]).await;
    assert_eq!(replies, ["+OK", "+OK", "+PONG"]);
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.message.contains(&format!("TCP port {port}"))), "the log says where it is public");

    // A new revision (more memory) keeps the port, and the data.
    let mut body = database("cache", "REDIS", "7");
    body["accessibility"] = json!("PUBLIC");
    body["memory"] = json!(300);
    let cache = h.edit_service(&cache, body).await;
    let d = h.submit(DeploymentAction::Deploy, vec![(cache.id, None)]).await;
    assert_eq!(h.finish(&d).await.status, DeploymentStatus::Succeeded);
    let replies = ask(vec![auth.clone(), "GET greeting".into()]).await;
    assert_eq!(replies, ["+OK", "$5"], "the value is still there");

    // A stopped database is not exposed.
    let stop = h.submit(DeploymentAction::Stop, vec![(cache.id, None)]).await;
    assert_eq!(h.finish(&stop).await.status, DeploymentStatus::Succeeded);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "a stopped database's port is closed");
}
