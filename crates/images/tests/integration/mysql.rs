//! MySQL (MariaDB 10.11): MYSQL_* (and MARIADB_*) on first start, a user
//! with every right on its database from any host, root's password, data
//! kept on its volume.

use slipway_runtime::Instance;

use crate::support::{Scope, on_each_engine, password};

/// `mariadb` from the client as `user` with the password in `$var`, running `sql`.
fn mariadb(ip: std::net::IpAddr, var: &str, user: &str, sql: &str) -> String {
    format!("MYSQL_PWD=\"${var}\" mariadb -h {ip} -u {user} -N -B -e \"{sql}\" 2>&1")
}

async fn ready(scope: &Scope, client: &Instance, server: &Instance, user: &str) -> std::net::IpAddr {
    let ip = scope.ip(server).await;
    scope.until_ok(client, server, &mariadb(ip, "GOOD", user, "SELECT 1")).await;
    ip
}

#[tokio::test]
async fn mysql_takes_password_logins_over_tcp_and_keeps_its_data() {
    on_each_engine("mysql", |scope| async move {
        let image = slipway_images::find("mysql").expect("mysql");
        let (password, root_password) = (password(), password());
        let volume = scope.volume("data").await;
        let env = [
            ("MYSQL_ROOT_PASSWORD", root_password.as_str()),
            ("MYSQL_USER", "app"),
            ("MYSQL_PASSWORD", password.as_str()),
            ("MYSQL_DATABASE", "app_db"),
        ];
        let server = scope.server("server", image, &env, &volume).await;
        let client =
            scope.client(image, &[("GOOD", &password), ("ROOT", &root_password), ("BAD", "not-the-password")]).await;
        let ip = ready(&scope, &client, &server, "app").await;

        let sql = "CREATE TABLE app_db.notes (id INT PRIMARY KEY, body TEXT); \
                   INSERT INTO app_db.notes VALUES (1, 'kept'); SELECT body FROM app_db.notes";
        let out = scope.sh(&client, &mariadb(ip, "GOOD", "app", sql)).await;
        assert_eq!((out.exit_code, out.output.trim()), (0, "kept"), "{out:?}");
        // Every right on its database, none elsewhere.
        let out = scope.sh(&client, &mariadb(ip, "GOOD", "app", "CREATE DATABASE other")).await;
        assert!(out.exit_code != 0 && out.output.contains("Access denied"), "{out:?}");
        // Root logs in over TCP with its own password.
        let out = scope.sh(&client, &mariadb(ip, "ROOT", "root", "SELECT CURRENT_USER()")).await;
        assert_eq!((out.exit_code, out.output.trim()), (0, "root@%"), "{out:?}");
        for (var, user) in [("BAD", "app"), ("BAD", "root"), ("GOOD", "root"), ("NO_SUCH_VARIABLE", "app")] {
            let out = scope.sh(&client, &mariadb(ip, var, user, "SELECT 1")).await;
            assert!(out.exit_code != 0 && out.output.contains("Access denied"), "{user} with ${var}: {out:?}");
        }
        scope.assert_pid_1(&server, "mariadbd", "mysql").await;

        scope.stop_cleanly(&server).await;
        let again = scope.server("again", image, &[], &volume).await;
        let ip = ready(&scope, &client, &again, "app").await;
        let out = scope.sh(&client, &mariadb(ip, "GOOD", "app", "SELECT body FROM app_db.notes")).await;
        assert_eq!((out.exit_code, out.output.trim()), (0, "kept"), "{out:?}");
        assert!(!scope.log(&again).await.contains("Initializing MariaDB"));
    })
    .await;
}

#[tokio::test]
async fn mysql_accepts_the_mariadb_spellings() {
    on_each_engine("mariadb_env", |scope| async move {
        let image = slipway_images::find("mariadb").expect("mariadb");
        let password = password();
        let volume = scope.volume("data").await;
        let env = [
            ("MARIADB_RANDOM_ROOT_PASSWORD", "yes"),
            ("MARIADB_USER", "reader"),
            ("MARIADB_PASSWORD", password.as_str()),
            ("MARIADB_DATABASE", "reports"),
        ];
        let server = scope.server("server", image, &env, &volume).await;
        let client = scope.client(image, &[("GOOD", &password)]).await;
        let ip = ready(&scope, &client, &server, "reader").await;
        let out = scope
            .sh(&client, &mariadb(ip, "GOOD", "reader", "CREATE TABLE reports.t (x INT); SHOW TABLES FROM reports"))
            .await;
        assert_eq!((out.exit_code, out.output.trim()), (0, "t"), "{out:?}");
        assert!(scope.log(&server).await.contains("GENERATED ROOT PASSWORD: "));
    })
    .await;
}
