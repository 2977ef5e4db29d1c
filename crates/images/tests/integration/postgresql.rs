//! PostgreSQL 15: POSTGRES_* on first start, password logins over TCP,
//! data kept on its volume.

use slipway_runtime::Runtime;

use crate::support::{on_each_engine, password};

#[tokio::test]
async fn postgresql_takes_password_logins_over_tcp_and_keeps_its_data() {
    on_each_engine("postgresql", |scope| async move {
        let image = slipway_images::find("postgresql").expect("postgresql");
        let password = password();
        let volume = scope.volume("data").await;
        let env = [("POSTGRES_PASSWORD", password.as_str()), ("POSTGRES_USER", "app"), ("POSTGRES_DB", "appdb")];
        let server = scope.server("server", image, &env, &volume).await;
        let client = scope.client(image, &[("GOOD", &password), ("BAD", "not-the-password")]).await;
        let ip = scope.ip(&server).await;
        let psql = |var: &str, sql: &str| {
            format!("PGPASSWORD=\"${var}\" psql -w -h {ip} -U app -d appdb -v ON_ERROR_STOP=1 -qAtc \"{sql}\" 2>&1")
        };

        let who =
            scope.until_ok(&client, &server, &psql("GOOD", "SELECT current_user || '@' || current_database()")).await;
        assert_eq!(who.trim(), "app@appdb");
        let sql = "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept'); \
                   SELECT body FROM notes";
        let out = scope.sh(&client, &psql("GOOD", sql)).await;
        assert_eq!((out.exit_code, out.output.trim()), (0, "kept"), "{out:?}");
        let out = scope.sh(&client, &psql("GOOD", "SHOW password_encryption")).await;
        assert_eq!(out.output.trim(), "scram-sha-256");

        for wrong in ["BAD", "NO_SUCH_VARIABLE"] {
            let out = scope.sh(&client, &psql(wrong, "SELECT 1")).await;
            assert_ne!(out.exit_code, 0, "{wrong}: {out:?}");
            let refused = ["password authentication failed", "no password supplied"];
            assert!(refused.iter().any(|r| out.output.contains(r)), "{wrong}: {out:?}");
        }
        // Also on the loopback address inside the server's own container.
        let local = "PGPASSWORD=wrong psql -w -h 127.0.0.1 -U app -d appdb -Atc 'SELECT 1' 2>&1";
        let out = scope.sh(&server, local).await;
        assert!(out.exit_code != 0 && out.output.contains("password authentication failed"), "{out:?}");
        scope.assert_pid_1(&server, "postgres", "postgres").await;

        // A clean stop (SIGINT: fast shutdown), then a new instance on the
        // same volume: no initialization (no password needed), same data.
        scope.stop_cleanly(&server).await;
        let again = scope.server("again", image, &[], &volume).await;
        let ip = scope.ip(&again).await;
        let select = format!("PGPASSWORD=\"$GOOD\" psql -w -h {ip} -U app -d appdb -Atc 'SELECT body FROM notes' 2>&1");
        let out = scope.until_ok(&client, &again, &select).await;
        assert_eq!(out.trim(), "kept");
        let log = scope.log(&again).await;
        assert!(!log.contains("initdb") && !log.contains("PostgreSQL is initialized"), "{log}");
    })
    .await;
}

#[tokio::test]
async fn postgresql_refuses_to_initialize_without_a_password() {
    on_each_engine("postgresql_no_password", |scope| async move {
        let image = slipway_images::find("postgresql").expect("postgresql");
        let volume = scope.volume("data").await;
        let server = scope.server("server", image, &[], &volume).await;
        let code = tokio::time::timeout(std::time::Duration::from_secs(60), scope.runtime.wait(&server.id))
            .await
            .expect("exits")
            .expect("wait");
        assert_eq!(code, 1);
        let log = scope.log(&server).await;
        assert!(log.contains("POSTGRES_PASSWORD is not set"), "{log}");
    })
    .await;
}
