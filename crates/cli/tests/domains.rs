//! `slipway domain list|add|remove|check` against a real server, whose
//! custom-domain checks go to a real DNS server (dnsmasq) given with
//! `slipway server --dns-resolver`.

#[allow(dead_code)]
mod support;

#[allow(dead_code)]
mod app;

use app::Api;
use serde_json::json;
use slipway_testkit::{DnsRecord, DnsServer};
use support::{Server, User, free_ports};

#[tokio::test]
async fn domains_are_added_listed_checked_and_removed_from_the_command_line() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Only this DNS server knows `bare.example.test`: its answer in the
    // check shows that the server asked it.
    let dns = DnsServer::start(
        "example.test",
        &[DnsRecord::Host { name: "bare.example.test".into(), ip: [127, 0, 0, 9].into() }],
    );
    let [port] = free_ports();
    let server = Server::spawn(
        |cmd| cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--dns-resolver", &dns.addr().to_string()]),
        &[port],
    );
    let user = User::new();
    user.login(&server);
    user.run(&["project", "create", "shop"]).success();
    user.run(&["env", "create", "dev", "--project", "shop"]).success();
    let env =
        user.run(&["env", "list", "--project", "shop", "-o", "json"]).json()[0]["id"].as_str().unwrap().to_owned();
    let api = Api::new(server.url(), server.admin_token());
    let org = api.get("/organization").await["results"][0]["id"].as_str().unwrap().to_owned();
    let registry = api.get(&format!("/organization/{org}/containerRegistry")).await["results"][0]["id"].clone();
    let body =
        json!({"name": "web", "registry_id": registry, "image_name": "nginx", "tag": "1.27", "healthchecks": {}});
    let web = api.post(&format!("/environment/{env}/container"), body).await["id"].as_str().unwrap().to_owned();
    let by_name = ["--service", "web", "--project", "shop", "--env", "dev"];
    let run = |args: &[&str], place: &[&str]| user.run(&[args, place].concat());

    let out = run(&["domain", "list"], &by_name).success();
    assert!(out.contains("No custom domains on container `web`"), "{out}");
    let out = run(&["domain", "add", "Bare.Example.test"], &by_name).success();
    let short = format!("z{}", &web.replace('-', "")[..8]);
    let target = format!("web-{short}.localhost");
    assert!(out.contains("Added bare.example.test to container `web`") && out.contains(&target), "{out}");
    run(&["domain", "add", "missing.example.test", "--cdn", "--no-certificate"], &["--service", &web]).success();
    let err = run(&["domain", "add", "*.example.test"], &by_name).failure();
    assert!(err.contains("domain") && err.contains("wildcard"), "{err}");
    let err = run(&["domain", "add", "bare.example.test"], &["--service", &web]).failure();
    assert!(err.contains("already used"), "{err}");

    let table = run(&["domain", "list"], &by_name).success();
    let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{table}")).to_owned();
    assert!(table.starts_with("DOMAIN") && table.contains("CNAME TARGET"), "{table}");
    assert!(row("bare.example.test").contains(&target), "{table}");
    let missing = row("missing.example.test");
    assert!(missing.contains("no") && missing.contains("yes"), "certificate no, cdn yes: {missing}");
    let listed = run(&["domain", "list", "-o", "json"], &["--service", &web]).json();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    let checked = run(&["domain", "check", "-o", "json"], &by_name).json();
    let status =
        |domain: &str| checked.as_array().unwrap().iter().find(|c| c["domain_name"] == domain).unwrap().clone();
    let bare = status("bare.example.test");
    assert_eq!(bare["status"], "RESOLVES_TO_IP", "{checked}");
    assert!(bare["error_details"].as_str().unwrap().contains("127.0.0.9"), "{checked}");
    assert_eq!(status("missing.example.test")["status"], "DOMAIN_NOT_CONFIGURED", "{checked}");
    let table = run(&["domain", "check"], &by_name).success();
    assert!(table.contains("RESOLVES_TO_IP") && table.contains("DOMAIN_NOT_CONFIGURED"), "{table}");

    let out = run(&["domain", "remove", "bare.example.test"], &by_name).success();
    assert!(out.contains("Removed bare.example.test from container `web`"), "{out}");
    let err = run(&["domain", "remove", "bare.example.test"], &by_name).failure();
    assert!(err.contains("missing.example.test"), "names the domains it has: {err}");
    let id = listed.as_array().unwrap().iter().find(|d| d["domain"] == "missing.example.test").unwrap()["id"].clone();
    run(&["domain", "remove", id.as_str().unwrap()], &["--service", &web]).success();
    let out = run(&["domain", "list"], &["--service", &web]).success();
    assert!(out.contains("No custom domains"), "{out}");
    let err = user.run(&["domain", "list", "--service", "web"]).failure();
    assert!(err.contains("--project and --env"), "{err}");
}
