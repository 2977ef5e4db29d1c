//! `slipway cluster database-server`: registering a server for MANAGED
//! databases reads its admin URL from standard input, never the command line.

#[allow(dead_code)]
mod support;

use support::{Server, User, names};

#[test]
fn database_servers_are_registered_from_stdin_listed_without_password_and_removed() {
    let server = Server::start();
    let user = User::new();
    user.login(&server);
    let pg = slipway_testkit::ReachablePg::start();
    let url = pg.admin_url();
    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap().to_owned();

    let out = user.run_with_stdin(&["cluster", "database-server", "add", "main"], &format!("{url}\n")).success();
    assert!(out.contains("Registered database server main"), "{out}");
    assert!(!out.contains(&password), "{out}");
    let listed = user.run(&["cluster", "database-server", "list", "-o", "json"]).json();
    assert_eq!(names(&listed), ["main"]);
    assert!(!listed.to_string().contains(&password));
    let table = user.run(&["cluster", "database-server", "list"]).success();
    assert!(table.contains("POSTGRESQL") && table.contains("postgres://slipway@127.0.0.1"), "{table}");

    // A wrong password is refused, and said so without echoing it.
    let wrong = url.replace(&password, "not-the-password");
    let err = user.run_with_stdin(&["cluster", "database-server", "add", "other"], &wrong).failure();
    assert!(err.contains("cannot log in") && !err.contains("not-the-password"), "{err}");
    let err = user.run_with_stdin(&["cluster", "database-server", "add", "other"], "").failure();
    assert!(err.contains("no admin URL"), "{err}");

    let out = user.run(&["cluster", "database-server", "remove", "main"]).success();
    assert!(out.contains("Removed database server main"), "{out}");
    assert_eq!(names(&user.run(&["cluster", "database-server", "list", "-o", "json"]).json()), Vec::<String>::new());
}
