//! A real OCI registry for push and pull tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the registry did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A real OCI registry (Debian's `docker-registry`, distribution 2.8) on
/// 127.0.0.1 over TLS with a throwaway certificate; stopped and its
/// certificate untrusted when dropped.
///
/// Why TLS: Podman refuses plain HTTP to any registry not marked insecure in
/// registries.conf, and a running Podman API service reads that file once, so
/// a registry on a fresh port cannot be allowed without restarting the
/// service. Certificate directories (`/etc/containers/certs.d/<host:port>/`,
/// `/etc/docker/certs.d/<host:port>/`) are read on every push and pull by
/// both engines.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    port: u16,
    trust_dirs: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Self {
        let binary = ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("a local registry is needed: apt-get install -y docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port().expect("a free port");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .output()
            .expect("openssl makes the registry's certificate (apt-get install -y openssl)");
        assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("data").display(),
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let mut trust_dirs = Vec::new();
        for engine_dir in ["/etc/containers", "/etc/docker"] {
            if Path::new(engine_dir).is_dir() {
                let trust = Path::new(engine_dir).join("certs.d").join(format!("127.0.0.1:{port}"));
                std::fs::create_dir_all(&trust).expect("trust the registry's certificate (run the tests as root)");
                std::fs::copy(&cert, trust.join("ca.crt")).unwrap();
                trust_dirs.push(trust);
            }
        }
        let registry = Self { child, port, trust_dirs, _dir: dir };
        wait_for_port(port);
        registry
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for dir in &self.trust_dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
