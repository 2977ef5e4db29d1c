//! HTTPS through a real `slipway server`: the certificate the edge presents for a dev host verifies
//! against the CA `slipway ca export` prints, checked by a real TLS client (openssl).

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
