//! Real components for tests, started by the tests themselves.
//!
//! [`Registry`] runs Debian's `docker-registry` on loopback over TLS.
//! [`DnsServer`] runs dnsmasq on loopback with chosen CNAME and host records.
//! [`Pebble`] runs a real ACME server and [`Dnsmasq`] the DNS server it resolves names with.
//! [`postgres`] starts one throwaway PostgreSQL server per test process (with
//! `initdb` and `pg_ctl` from the host's PostgreSQL packages) and hands each
//! test its own fresh database. A watchdog shell stops the server and removes
//! its files when the test process exits, however it exits.

mod acme;
mod dns;
mod registry;

pub use acme::{Dnsmasq, Pebble, PebbleOptions};
pub use dns::{DnsRecord, DnsServer};
pub use registry::Registry;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A running throwaway PostgreSQL server.
#[derive(Debug)]
pub struct PgServer {
    port: u16,
    _dir: PathBuf,
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `$SLIPWAY_PG_BIN`,
/// else the newest `/usr/lib/postgresql/<version>/bin`.
fn pg_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("SLIPWAY_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL server binaries not found: install the `postgresql` package or set SLIPWAY_PG_BIN")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| "no /usr/lib/postgresql/<version>/bin/initdb found".to_owned())
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the
/// server refuses to run as root).
fn run_pg(tool: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    let out = cmd.args(args).stdin(Stdio::null()).output().map_err(|e| format!("{}: {e}", tool.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}{}",
            tool.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A throwaway PostgreSQL server containers can reach: password
/// authentication, listening on every address. Stops with the test process.
#[derive(Debug)]
pub struct ReachablePg {
    server: PgServer,
    password: String,
}

impl ReachablePg {
    /// Starts one; each call starts a new server.
    pub fn start() -> ReachablePg {
        let password = format!("admin{}", uuid::Uuid::new_v4().simple());
        match PgServer::start_with(Some(&password)) {
            Ok(server) => ReachablePg { server, password },
            Err(e) => panic!("cannot start a PostgreSQL server: {e}"),
        }
    }

    /// The superuser's URL, over loopback.
    pub fn admin_url(&self) -> String {
        format!("postgres://slipway:{}@127.0.0.1:{}/postgres", self.password, self.server.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// An address of this host that containers reach it at (its first
    /// non-loopback IPv4 address).
    pub fn host_for_containers(&self) -> String {
        let out = Command::new("hostname").arg("-I").output().expect("hostname -I");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().find(|a| a.contains('.') && !a.starts_with("127.")).expect("a host address").to_owned()
    }
}

impl PgServer {
    fn start() -> Result<PgServer, String> {
        PgServer::start_with(None)
    }

    /// With `password`: password authentication for TCP connections from
    /// anywhere, listening on every address. Without: trust, loopback only.
    fn start_with(password: Option<&str>) -> Result<PgServer, String> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("slipway-pg-").tempdir().map_err(|e| e.to_string())?.keep();
        let data = dir.join("data");
        if is_root() {
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err("cannot hand the test directory to the `postgres` user".into());
            }
        }
        let data_s = data.to_string_lossy().into_owned();
        let dir_s = dir.to_string_lossy().into_owned();
        let listen = match password {
            None => {
                let args = ["-D", &data_s, "-U", "slipway", "--auth=trust", "-E", "UTF8", "--no-sync"];
                run_pg(&bin.join("initdb"), &args)?;
                "127.0.0.1"
            }
            Some(password) => {
                let pwfile = dir.join("pwfile");
                std::fs::write(&pwfile, password).map_err(|e| e.to_string())?;
                if is_root() {
                    let _ = Command::new("chown").args(["postgres:postgres"]).arg(&pwfile).status();
                }
                let pwfile = pwfile.to_string_lossy().into_owned();
                let args = [
                    "-D",
                    &data_s,
                    "-U",
                    "slipway",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--pwfile",
                    &pwfile,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ];
                run_pg(&bin.join("initdb"), &args)?;
                let hba = data.join("pg_hba.conf");
                let mut rules = std::fs::read_to_string(&hba).map_err(|e| e.to_string())?;
                rules.push_str("\nhost all all 0.0.0.0/0 scram-sha-256\n");
                std::fs::write(&hba, rules).map_err(|e| e.to_string())?;
                "0.0.0.0"
            }
        };
        let port = free_port()?;
        let opts = format!("-p {port} -k {dir_s} -c listen_addresses={listen} -c fsync=off -c max_connections=200");
        let log = format!("{dir_s}/server.log");
        run_pg(&bin.join("pg_ctl"), &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"])?;
        // Stop the server and remove its files once this process is gone.
        let pg_ctl = bin.join("pg_ctl").to_string_lossy().into_owned();
        let stop = if is_root() { format!("runuser -u postgres -- {pg_ctl}") } else { pg_ctl };
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} -D {data_s} -m immediate stop >/dev/null 2>&1; rm -rf {dir_s}",
            pid = std::process::id()
        );
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the watchdog: {e}"))?;
        Ok(PgServer { port, _dir: dir })
    }

    /// The URL of the server's maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://slipway@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// The process's PostgreSQL server, started on first use.
pub fn postgres() -> &'static PgServer {
    match SERVER.get_or_init(PgServer::start) {
        Ok(server) => server,
        Err(e) => panic!("cannot start a throwaway PostgreSQL server: {e}"),
    }
}

/// A URL to a new, empty database on the process's PostgreSQL server.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let server = postgres();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server.admin_url()).await.expect("connect to the test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    format!("postgres://slipway@127.0.0.1:{}/{name}", server.port)
}
