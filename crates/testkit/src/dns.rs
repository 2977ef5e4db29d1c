//! A real DNS server with chosen records, for tests that look names up.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// One record a [`DnsServer`] serves.
#[derive(Debug, Clone)]
pub enum DnsRecord {
    /// `name` is an alias (CNAME) of `target`, which must be a [`DnsRecord::Host`]
    /// or another alias of this server (dnsmasq serves no other CNAMEs).
    Cname { name: String, target: String },
    /// `name` resolves to `ip` (A or AAAA).
    Host { name: String, ip: IpAddr },
}

/// dnsmasq on 127.0.0.1 (UDP and TCP) answering from the records it was
/// started with, authoritative for one zone: any other name under the zone
/// is NXDOMAIN, names outside it get no answer. Stopped when dropped.
#[derive(Debug)]
pub struct DnsServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl DnsServer {
    /// Serves `records` for `zone` (such as `example.test`).
    pub fn start(zone: &str, records: &[DnsRecord]) -> DnsServer {
        let binary = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("dnsmasq is needed: apt-get install -y dnsmasq-base");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port().expect("a free port");
        let mut command = Command::new(binary);
        command
            .args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces"])
            .args(["--listen-address=127.0.0.1", "--conf-file=/dev/null", "--cache-size=0"])
            .arg(format!("--port={port}"))
            .arg(format!("--local=/{zone}/"))
            .arg(format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()))
            .arg(format!("--log-facility={}", dir.path().join("dnsmasq.log").display()));
        if crate::is_root() {
            // Keep root rather than switch to `nobody`, which may not exist.
            command.args(["--user=root", "--group=root"]);
        }
        // Hosts first: a CNAME's target must be known when dnsmasq reads the alias.
        for record in records.iter().filter(|r| matches!(r, DnsRecord::Host { .. })) {
            if let DnsRecord::Host { name, ip } = record {
                command.arg(format!("--host-record={name},{ip}"));
            }
        }
        for record in records {
            if let DnsRecord::Cname { name, target } = record {
                command.arg(format!("--cname={name},{target}"));
            }
        }
        let child =
            command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("dnsmasq starts");
        let mut server = DnsServer { child, port, _dir: dir };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        // dnsmasq listens on TCP as well: a connection means it is ready.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("dnsmasq.log")).unwrap_or_default();
                panic!("dnsmasq exited before listening on {}: {status}\n{log}", self.port);
            }
            assert!(Instant::now() < deadline, "dnsmasq did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
