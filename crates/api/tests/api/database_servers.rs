//! Database servers registered with a cluster: checked by logging in,
//! stored sealed, listed without their password.

use serde_json::json;

use crate::support::App;

#[tokio::test]
async fn database_servers_are_checked_sealed_and_listed_without_their_password() {
    let app = App::new().await;
    let pg = slipway_testkit::ReachablePg::start();
    let clusters = app.get(&format!("/organization/{}/cluster", app.org)).await.expect(200);
    let cluster = clusters["results"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/organization/{}/cluster/{cluster}/databaseServer", app.org);
    let url = pg.admin_url();
    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap().to_owned();

    // Bad input: refused, nothing kept.
    let body = |name: &str, kind: &str, url: &str| json!({"name": name, "type": kind, "admin_url": url});
    app.post(&path, body("main", "MYSQL", &url)).await.refused(400, Some("type"));
    app.post(&path, body("main", "POSTGRESQL", "mysql://x@y/z")).await.refused(400, Some("admin_url"));
    let wrong = url.replace(&password, "wrong-password");
    let refused = app.post(&path, body("main", "POSTGRESQL", &wrong)).await.refused(400, None);
    assert!(refused["message"].as_str().unwrap().contains("cannot log in"), "{refused}");
    assert!(!refused.to_string().contains("wrong-password"), "the password is not echoed: {refused}");
    assert_eq!(app.get(&path).await.expect(200)["results"], json!([]));

    let created = app.post(&path, body("main", "POSTGRESQL", &url)).await.expect(201);
    assert_eq!(created["name"], "main");
    assert_eq!(created["admin_url"], format!("postgres://slipway@127.0.0.1:{}/postgres", pg.port()));
    let listed = app.get(&path).await.expect(200);
    assert_eq!(listed["results"][0]["id"], created["id"]);
    assert!(!listed.to_string().contains(&password));
    app.post(&path, body("main", "POSTGRESQL", &url)).await.refused(409, None);

    // Sealed at rest: the password is not in the store's file.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(app.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("slipway.db") {
            bytes.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!bytes.is_empty());
    assert!(!bytes.windows(password.len()).any(|w| w == password.as_bytes()), "the admin password is sealed");

    let id = created["id"].as_str().unwrap();
    app.delete(&format!("{path}/{id}")).await.expect(204);
    assert_eq!(app.get(&path).await.expect(200)["results"], json!([]));
}
