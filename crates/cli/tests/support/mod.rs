//! Running the real `slipway` binary: a server as a child process, and CLI
//! commands against it with their own configuration directory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const SLIPWAY: &str = env!("CARGO_BIN_EXE_slipway");

/// `n` distinct ports that were free a moment ago.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// A `slipway` command with no `SLIPWAY_*` variables from the test's own environment.
pub fn slipway() -> Command {
    let mut cmd = Command::new(SLIPWAY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SLIPWAY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("SLIPWAY_LOG", "warn");
    cmd
}

/// Whether something on `port` answers `GET /healthz` with 200.
pub fn healthy(port: u16) -> bool {
    let addr = ([127, 0, 0, 1], port).into();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

/// A `slipway server` child process, killed on drop.
pub struct Server {
    child: Child,
    /// The port it answered on.
    pub port: u16,
    data_dir: TempDir,
}

impl Server {
    /// A server on SQLite in a fresh data directory.
    pub fn start() -> Server {
        let [port] = free_ports();
        Server::spawn(|cmd| cmd.arg("--listen").arg(format!("127.0.0.1:{port}")), &[port])
    }

    /// A server on a fresh PostgreSQL database at `database_url`.
    pub fn start_postgres(database_url: &str) -> Server {
        let [port] = free_ports();
        Server::spawn(
            |cmd| cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--database-url", database_url]),
            &[port],
        )
    }

    /// Starts `slipway server --data-dir <tmp>` with more arguments from
    /// `configure`, and waits until one of `ports` answers `/healthz`.
    pub fn spawn(configure: impl FnOnce(&mut Command) -> &mut Command, ports: &[u16]) -> Server {
        Server::spawn_in(tempfile::tempdir().unwrap(), configure, ports)
    }

    /// A server on SQLite in the data directory a stopped one left, on `port`.
    #[allow(dead_code)] // Not every test binary restarts servers.
    pub fn start_in(data_dir: TempDir, port: u16) -> Server {
        Server::spawn_in(data_dir, |cmd| cmd.arg("--listen").arg(format!("127.0.0.1:{port}")), &[port])
    }

    /// Stops the server; returns its data directory, to start another on it.
    #[allow(dead_code)]
    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap())
    }

    /// Its data directory.
    #[allow(dead_code)]
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    fn spawn_in(data_dir: TempDir, configure: impl FnOnce(&mut Command) -> &mut Command, ports: &[u16]) -> Server {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(data_dir.path().join("server.log")).unwrap();
        let mut cmd = slipway();
        // Each test server gets its own edge port, so that servers run side by side.
        cmd.arg("server").arg("--data-dir").arg(data_dir.path()).args(["--edge-listen", "127.0.0.1:0"]);
        configure(&mut cmd);
        let child = cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
        let mut server = Server { child, port: 0, data_dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(&port) = ports.iter().find(|&&p| healthy(p)) {
                server.port = port;
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("slipway server exited ({status}) before answering:\n{}", server.log());
            }
            assert!(Instant::now() < deadline, "slipway server did not answer on {ports:?}:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The admin token the server wrote on first start.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("admin-token")).unwrap().trim().to_owned()
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user of the CLI, with their own configuration directory.
pub struct User {
    config_home: TempDir,
}

impl User {
    pub fn new() -> User {
        User { config_home: tempfile::tempdir().unwrap() }
    }

    /// The file `slipway login` writes.
    pub fn config_file(&self) -> PathBuf {
        self.config_home.path().join("config.toml")
    }

    /// `slipway <args>` as this user.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = slipway();
        cmd.env("SLIPWAY_CONFIG_HOME", self.config_home.path()).args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs `slipway <args>` as this user.
    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::of(args, self.command(args).output().unwrap())
    }

    /// Runs `slipway <args>` with `env` set.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        Outcome::of(args, cmd.output().unwrap())
    }

    /// Runs `slipway <args>` with `input` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Outcome {
        let mut cmd = self.command(args);
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Dropping the handle closes the pipe: the command sees the end of its input.
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        Outcome::of(args, child.wait_with_output().unwrap())
    }

    /// Logs in to `server` with its admin token.
    pub fn login(&self, server: &Server) {
        self.run(&["login", "--url", &server.url(), "--token", &server.admin_token()]).success();
    }
}

/// How a command ended.
pub struct Outcome {
    args: String,
    output: Output,
}

impl Outcome {
    fn of(args: &[&str], output: Output) -> Outcome {
        Outcome { args: args.join(" "), output }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts that the command succeeded; returns its standard output.
    #[track_caller]
    pub fn success(&self) -> String {
        assert!(self.output.status.success(), "`slipway {}` failed:\n{}{}", self.args, self.stdout(), self.stderr());
        self.stdout()
    }

    /// Asserts that the command failed with an `error:` line; returns its standard error.
    #[track_caller]
    pub fn failure(&self) -> String {
        assert!(!self.output.status.success(), "`slipway {}` succeeded:\n{}", self.args, self.stdout());
        let stderr = self.stderr();
        assert!(stderr.starts_with("error: "), "`slipway {}` printed no error line:\n{stderr}", self.args);
        stderr
    }

    /// The standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        let out = self.success();
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("`slipway {}` printed invalid JSON ({e}):\n{out}", self.args))
    }
}

/// The names in a JSON array of API objects.
pub fn names(list: &serde_json::Value) -> Vec<String> {
    list.as_array().expect("a JSON array").iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
}

/// Whether `path` is readable and writable by its owner only.
pub fn owner_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777 == 0o600
}

/// One API call with a token: the JSON answer (`null` for none); any status but a success fails the test,
/// showing the answer.
pub async fn api_call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut request = http.request(method, format!("{base}{path}")).header("Authorization", format!("Token {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}
