//! A web application to deploy in end-to-end tests, and what checks it: a
//! git repository holding a `FROM scratch` image with the static busybox
//! serving `www/`, raw API calls for what the CLI does not do (creating
//! services), requests to the edge proxy, and a sweep of what the engine
//! runs for an environment.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_runtime::{Labels, Runtime, label};

/// A git repository of the test web app: `/` answers the version,
/// `/health` exists while the version is healthy (the readiness probe's path).
pub struct AppRepo {
    dir: tempfile::TempDir,
}

impl AppRepo {
    /// A repository whose first commit serves `version`.
    pub fn new(version: &str) -> AppRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.email", "test@slipway.invalid"]);
        git(root, &["config", "user.name", "Slipway Test"]);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox"))
            .expect("the static busybox (busybox-static) at /bin/busybox");
        std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
        std::fs::create_dir_all(root.join("www")).unwrap();
        // Says what it serves on start, then logs each request (-v).
        std::fs::write(
            root.join("Dockerfile"),
            "FROM scratch\nCOPY bin /bin\nCOPY www /www\nENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
             CMD [\"echo serving $(cat /www/index.html); exec /bin/busybox httpd -f -v -p 8080 -h /www\"]\n",
        )
        .unwrap();
        let repo = AppRepo { dir };
        repo.commit_version(version, true);
        repo
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits a version: `/` answers `version`; `/health` exists when
    /// `healthy`. Returns the commit's id.
    pub fn commit_version(&self, version: &str, healthy: bool) -> String {
        let root = self.dir.path();
        std::fs::write(root.join("www/index.html"), format!("{version}\n")).unwrap();
        let health = root.join("www/health");
        if healthy {
            std::fs::write(&health, "ok\n").unwrap();
        } else if health.exists() {
            std::fs::remove_file(&health).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", &format!("version {version}")]);
        let out = Command::new("git").arg("-C").arg(root).args(["rev-parse", "HEAD"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The request body of an application built from this repository,
    /// public on port 8080, ready when `/health` answers.
    pub fn application(&self, name: &str) -> Value {
        json!({
            "name": name,
            "git_repository": {"url": self.url(), "branch": "main", "provider": "GITHUB"},
            "healthchecks": {"readiness_probe": {
                "type": {"http": {"port": 8080, "path": "/health"}},
                "initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 2, "failure_threshold": 3
            }},
            "ports": [{"internal_port": 8080, "publicly_accessible": true}],
            "cpu": 250, "memory": 64,
        })
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").arg("-C").arg(dir).args(args).status().unwrap();
    assert!(status.success(), "git {args:?} failed");
}

/// Raw API calls.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(base: String, token: String) -> Api {
        Api { http: reqwest::Client::new(), base, token }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("Authorization", format!("Token {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Waits until deployment `id` ends; returns it.
    pub async fn wait_for_deployment(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.get(&format!("/deployment/{id}")).await;
            if matches!(d["status"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELED")) {
                return d;
            }
            assert!(Instant::now() < deadline, "deployment {id} did not end: {d}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// `GET url` through the edge proxy, as a browser on this host would: the
/// `*.localhost` host name resolves to 127.0.0.1. Returns the status and
/// the body.
pub async fn browse(url: &str) -> (u16, String) {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("`{url}` is not a URL: {e}"));
    let host = parsed.host_str().unwrap().to_owned();
    let port = parsed.port_or_known_default().unwrap();
    let client = reqwest::Client::builder()
        .resolve(&host, SocketAddr::from(([127, 0, 0, 1], port)))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The first `http://` URL in `text`.
pub fn first_url(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in:\n{text}"))
        .to_owned()
}

/// Removes, when dropped (also when a test fails), every instance the
/// engine runs for an environment, found by its label, without the
/// engine's command-line tool.
pub struct Sweep {
    pub environment: String,
}

impl Sweep {
    /// What runs for the environment now.
    pub async fn instances(&self) -> Vec<String> {
        let runtime = slipway_runtime_docker::DockerRuntime::connect(None).await.expect("a container engine");
        let labels = Labels::from([(label::ENVIRONMENT.to_owned(), self.environment.clone())]);
        runtime.list(&labels).await.unwrap().into_iter().map(|i| i.name).collect()
    }

    async fn remove_all(environment: String) {
        let Ok(runtime) = slipway_runtime_docker::DockerRuntime::connect(None).await else { return };
        let labels = Labels::from([(label::ENVIRONMENT.to_owned(), environment)]);
        for instance in runtime.list(&labels).await.unwrap_or_default() {
            let _ = runtime.remove(&instance.id).await;
        }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let environment = self.environment.clone();
        // Its own thread and runtime: this may run inside a test's runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(Sweep::remove_all(environment));
        })
        .join();
    }
}
