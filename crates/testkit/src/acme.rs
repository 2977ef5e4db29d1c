//! A real ACME server (Debian's `pebble`) and the DNS server it resolves names with (`dnsmasq`), for
//! certificate issuance tests.
//!
//! Pebble validates HTTP-01 challenges by connecting to the name being issued for, on the port its
//! config names (`httpPort`): a test starts the edge's plain listener first and passes its port here.
//! Names under the [`Dnsmasq`] domain resolve to 127.0.0.1, so validation reaches the edge on loopback.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

fn wait_for_tcp(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on {port}: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn binary(candidates: &[&'static str], package: &str) -> &'static str {
    candidates
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("`{}` is needed: apt-get install -y {package}", candidates[0]))
}

/// A DNS server on 127.0.0.1 (UDP and TCP) answering `127.0.0.1` for every name under one domain;
/// stopped when dropped.
#[derive(Debug)]
pub struct Dnsmasq {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Serves `*.<domain>` (and `<domain>`) → 127.0.0.1; every other name gets no answer.
    pub fn start(domain: &str) -> Self {
        let dnsmasq = binary(&["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"], "dnsmasq-base");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port().expect("a free port");
        let mut child = Command::new(dnsmasq)
            .args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces"])
            .args(["--listen-address=127.0.0.1", "--conf-file=/dev/null", "--user=root", "--group=root"])
            .arg(format!("--port={port}"))
            .arg(format!("--address=/{domain}/127.0.0.1"))
            .arg(format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        // dnsmasq listens on TCP too: a connection means it is ready.
        wait_for_tcp(port, "dnsmasq", &mut child);
        Self { child, port, _dir: dir }
    }

    /// `127.0.0.1:<port>`, as pebble's `-dnsserver` takes it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a [`Pebble`] is started.
#[derive(Debug, Clone)]
pub struct PebbleOptions {
    /// The port HTTP-01 challenges are validated on (the edge's plain listener).
    pub http_port: u16,
    /// `host:port` of the DNS server names are resolved with.
    pub dns_server: String,
    /// Lifetime of the certificates it issues, in seconds (pebble's default when `None`: years).
    pub certificate_validity: Option<u64>,
}

/// A real ACME server on 127.0.0.1 (pebble, Let's Encrypt's test server): its directory over HTTPS with
/// a throwaway certificate ([`Pebble::ca_file`] verifies it), and its management API, which serves the
/// issuing root at `/roots/0`. Its CA is new on every start. Stopped when dropped.
#[derive(Debug)]
pub struct Pebble {
    child: Child,
    port: u16,
    management_port: u16,
    dir: tempfile::TempDir,
}

impl Pebble {
    pub fn start(options: &PebbleOptions) -> Self {
        let pebble = binary(&["/usr/bin/pebble"], "pebble");
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            // A server certificate, not a CA: rustls-based clients refuse a CA as an end entity.
            .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .output()
            .expect("openssl makes pebble's certificate (apt-get install -y openssl)");
        assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
        let (port, management_port, tls_port) =
            (free_port().expect("port"), free_port().expect("port"), free_port().expect("port"));
        let mut config = serde_like_json(&[
            ("listenAddress", format!("\"127.0.0.1:{port}\"")),
            ("managementListenAddress", format!("\"127.0.0.1:{management_port}\"")),
            ("certificate", format!("\"{}\"", cert.display())),
            ("privateKey", format!("\"{}\"", key.display())),
            ("httpPort", options.http_port.to_string()),
            ("tlsPort", tls_port.to_string()),
            ("ocspResponderURL", "\"\"".to_owned()),
            ("externalAccountBindingRequired", "false".to_owned()),
        ]);
        if let Some(validity) = options.certificate_validity {
            config = config.replacen('{', &format!("{{\"certificateValidityPeriod\": {validity}, "), 1);
        }
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, format!("{{\"pebble\": {config}}}")).expect("write pebble config");
        let log = std::fs::File::create(dir.path().join("pebble.log")).expect("pebble log");
        let mut child = Command::new(pebble)
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &options.dns_server, "-strict=false"])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start pebble");
        wait_for_tcp(port, "pebble", &mut child);
        wait_for_tcp(management_port, "pebble's management API", &mut child);
        Self { child, port, management_port, dir }
    }

    /// The ACME directory URL.
    pub fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// The management API's base URL (`/roots/0` is the issuing root in PEM).
    pub fn management_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.management_port)
    }

    /// The management API's port.
    pub fn management_port(&self) -> u16 {
        self.management_port
    }

    /// The PEM file that verifies pebble's own HTTPS endpoints (directory and management).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// What pebble logged so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `{"k": v, ...}` from already-encoded values (testkit has no JSON dependency).
fn serde_like_json(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    format!("{{{}}}", body.join(", "))
}
