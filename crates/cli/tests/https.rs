//! HTTPS through a real `slipway server`: the certificate the edge presents for a dev host verifies
//! against the CA `slipway ca export` prints, checked by a real TLS client (openssl); links name HTTPS for
//! the hosts the edge has a certificate for.

#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};

use support::{Server, free_ports, slipway};

/// `openssl s_client` to `port` with `server_name`, trusting only `ca_file`; its output.
fn s_client(port: u16, server_name: &str, ca_file: &std::path::Path) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", server_name])
        .arg("-CAfile")
        .arg(ca_file)
        .args(["-verify_return_error", "-brief"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed (scripts/lib.sh)");
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn the_exported_local_ca_verifies_the_edges_https_certificate() {
    let [port, https] = free_ports();
    let server = Server::spawn(
        |cmd| cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--https-listen", &format!("127.0.0.1:{https}")]),
        &[port],
    );
    let out = slipway().args(["ca", "export", "--data-dir"]).arg(server.data_dir()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let ca_file = server.data_dir().join("exported-ca.pem");
    std::fs::write(&ca_file, &pem).unwrap();

    let verified = s_client(https, "shop-z1234abcd.localhost", &ca_file);
    assert!(verified.contains("Verification: OK"), "{verified}");

    // Another CA does not verify it: the check above means something.
    let other = server.data_dir().join("other-ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=not slipway", "-keyout"])
        .arg(server.data_dir().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let refused = s_client(https, "shop-z1234abcd.localhost", &other);
    assert!(!refused.contains("Verification: OK"), "{refused}");
}

/// A blocking API call with the server's admin token; the JSON answer.
fn api(server: &Server, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    runtime.block_on(support::api_call(&http, &server.url(), &server.admin_token(), method, path, body))
}

#[test]
fn links_use_https_for_hosts_the_edge_has_a_certificate_for() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let [port, https] = free_ports();
    let server = Server::spawn(
        |cmd| cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--https-listen", &format!("127.0.0.1:{https}")]),
        &[port],
    );
    let post = |path: &str, body: serde_json::Value| api(&server, reqwest::Method::POST, path, Some(body));
    let org =
        api(&server, reqwest::Method::GET, "/organization", None)["results"][0]["id"].as_str().unwrap().to_owned();
    let registry =
        api(&server, reqwest::Method::GET, &format!("/organization/{org}/containerRegistry"), None)["results"][0]["id"]
            .clone();
    let project = post(&format!("/organization/{org}/project"), serde_json::json!({"name": "shop"}));
    let env =
        post(&format!("/project/{}/environment", project["id"].as_str().unwrap()), serde_json::json!({"name": "dev"}));
    let web = post(
        &format!("/environment/{}/container", env["id"].as_str().unwrap()),
        serde_json::json!({"name": "web", "registry_id": registry, "image_name": "nginx", "tag": "1.27", "healthchecks": {},
               "ports": [{"internal_port": 80, "publicly_accessible": true}]}),
    );
    let id = web["id"].as_str().unwrap();
    // A custom domain outside the dev domains, with no ACME: no certificate, so plain HTTP.
    post(
        &format!("/container/{id}/customDomain"),
        serde_json::json!({"domain": "www.shop.test", "generate_certificate": true}),
    );
    let links = api(&server, reqwest::Method::GET, &format!("/container/{id}/link"), None);
    let urls: Vec<&str> = links["results"].as_array().unwrap().iter().map(|l| l["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 2, "{links}");
    // The generated host is under `localhost`, a dev domain: the local CA certifies it.
    assert!(urls[0].starts_with("https://web-z") && urls[0].ends_with(&format!(".localhost:{https}")), "{urls:?}");
    assert!(urls[1].starts_with("http://www.shop.test:"), "{urls:?}");
}
