//! Crash safety with the real binary: `kill -9` the server in the middle of a
//! deployment, start it again, and the deployment is resumed by the new
//! process; the environment converges with no orphan or duplicate instance.
//! The same for a cron run, and a Terraform service keeps its state.

#[allow(dead_code)]
mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slipway_runtime::{Labels, Runtime, label};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
}

impl Server {
    fn start(data: &Path, api: u16, edge: u16) -> Server {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["server", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{api}"), "--edge-listen", &format!("127.0.0.1:{edge}")])
            .env("SLIPWAY_DEPLOYMENT_LEASE", "3")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", api)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        support::api_call(&self.http, &self.base, &self.token, method, path, body).await
    }
    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// A client of the server started in `data` with its admin token, and a new project `project` with an
/// environment `test` in its organization: the client, the organization's id and the environment's.
async fn api_with_environment(data: &Path, api_port: u16, project: &str) -> (Api, String, String) {
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap().trim().to_owned();
    // No pooled connections: the server is killed and restarted under the client.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let api = Api { base: format!("http://127.0.0.1:{api_port}"), token, http };
    let org = api.get("/organization").await["results"][0]["id"].as_str().unwrap().to_owned();
    let project = api.post(&format!("/organization/{org}/project"), json!({"name": project})).await;
    let env =
        api.post(&format!("/project/{}/environment", project["id"].as_str().unwrap()), json!({"name": "test"})).await;
    let env_id = env["id"].as_str().unwrap().to_owned();
    (api, org, env_id)
}

fn git(dir: &Path, args: &[&str]) {
    assert!(Command::new("git").arg("-C").arg(dir).args(args).status().unwrap().success(), "git {args:?}");
}

fn write_version(repo: &Path, version: &str) {
    std::fs::write(repo.join("www/index.html"), format!("{version}\n")).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", version]);
}

async fn wait_for_deployment(api: &Api, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(d) = tokio::time::timeout(Duration::from_secs(5), api.get(&format!("/deployment/{id}"))).await
            && done(&d)
        {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {id} did not reach the expected state");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn edge_get(edge: u16, host: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{edge}/"))
        .header("Host", host)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    response.status().is_success().then_some(())?;
    Some(response.text().await.ok()?.trim().to_owned())
}

#[tokio::test]
async fn a_server_killed_mid_deploy_resumes_and_leaves_no_orphans() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    git(r, &["config", "user.email", "test@slipway.invalid"]);
    git(r, &["config", "user.name", "Slipway Test"]);
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::fs::create_dir_all(r.join("www")).unwrap();
    std::fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
    std::fs::write(
        r.join("Dockerfile"),
        "FROM scratch\nCOPY bin /bin\nCOPY www /www\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]\n",
    )
    .unwrap();
    write_version(r, "v1");

    let (api_port, edge_port) = (free_port(), free_port());
    let server = Server::start(data.path(), api_port, edge_port);
    let (api, _, env_id) = api_with_environment(data.path(), api_port, "crash").await;
    // A readiness probe that passes only after a few seconds: the deploy
    // spends them with its new instance started and not yet switched.
    let app = api
        .post(
            &format!("/environment/{env_id}/application"),
            json!({
                "name": "web",
                "git_repository": {"url": format!("file://{}", r.display()), "provider": "GITHUB"},
                "healthchecks": {"readiness_probe": {"type": {"http": {"port": 8080, "path": "/"}},
                    "initial_delay_seconds": 4, "period_seconds": 1}},
                "ports": [{"internal_port": 8080, "publicly_accessible": true}],
            }),
        )
        .await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    let first = api.post(&format!("/application/{app_id}/deploy"), json!({})).await;
    let first_id = first["deployment_request_id"].as_str().unwrap().to_owned();
    let d = wait_for_deployment(&api, &first_id, |d| d["status"] != "QUEUED" && d["status"] != "RUNNING").await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let host = api.get(&format!("/application/{app_id}/link")).await["results"][0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(edge_get(edge_port, &host).await.as_deref(), Some("v1"));

    // Deploy v2 and kill the server while the new instance is starting.
    write_version(r, "v2");
    let second = api.post(&format!("/application/{app_id}/deploy"), json!({})).await;
    let second_id = second["deployment_request_id"].as_str().unwrap().to_owned();
    let logs = format!("/environment/{env_id}/logs?version={second_id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = api.get(&logs).await;
        let text = lines.to_string();
        if text.contains("started 1 instance") {
            break;
        }
        assert!(Instant::now() < deadline, "the second deploy never started its instance: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill_9();

    // Start again: the deployment is resumed, not lost and not stuck.
    let _server = Server::start(data.path(), api_port, edge_port);
    let d = wait_for_deployment(&api, &second_id, |d| d["status"] != "QUEUED" && d["status"] != "RUNNING").await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert!(d["resumed"].as_u64().unwrap_or(0) >= 1, "{d}");
    let text = api.get(&logs).await.to_string();
    assert!(text.contains("resumed by"), "the log says it was resumed: {text}");
    assert_eq!(edge_get(edge_port, &host).await.as_deref(), Some("v2"));

    // The containers match the store: one instance, of the current release.
    let runtime = slipway_runtime_docker::DockerRuntime::connect(None).await.unwrap();
    let filter = Labels::from([(label::ENVIRONMENT.to_owned(), env_id.clone())]);
    let status = api.get(&format!("/application/{app_id}/status")).await;
    assert_eq!(status["state"], "DEPLOYED", "{status}");
    let releases = api.get(&format!("/application/{app_id}/release")).await;
    let current = releases["results"].as_array().unwrap().iter().find(|r| r["is_current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let instances = runtime.list(&filter).await.unwrap();
        let of_current = instances.iter().filter(|i| i.labels.get(label::RELEASE) == Some(&current)).count();
        if instances.len() == 1 && of_current == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "orphans or duplicates remain: {instances:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Clean up what the test deployed.
    api.post(&format!("/environment/{env_id}/uninstall"), json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match runtime.list(&filter).await {
            Ok(left) if left.is_empty() => break,
            Ok(_) => {}
            Err(err) => eprintln!("listing instances failed, retrying: {err}"),
        }
        assert!(Instant::now() < deadline, "uninstall left instances behind");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The runs of a job, as the API lists them.
async fn job_runs(api: &Api, job: &str) -> Vec<Value> {
    api.get(&format!("/job/{job}/run?pageSize=100")).await["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_server_killed_during_a_cron_run_finishes_it_after_a_restart_and_runs_no_occurrence_twice() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().unwrap();
    let (api_port, edge_port) = (free_port(), free_port());
    let server = Server::start(data.path(), api_port, edge_port);
    let (api, org, env_id) = api_with_environment(data.path(), api_port, "cron").await;
    let registries = api.get(&format!("/organization/{org}/containerRegistry")).await;
    let local = registries["results"].as_array().unwrap().iter().find(|r| r["name"] == "local").unwrap()["id"].clone();
    // Every 3 s, a run of 4 s; overlapping runs allowed, so that the run standing for the occurrences
    // missed while the server was down is not skipped.
    let job = api
        .post(
            &format!("/environment/{env_id}/job"),
            json!({
                "name": "beat", "cpu": 100, "memory": 64, "max_duration_seconds": 60,
                "source": {"image": {"image_name": "localhost/slipway/postgresql", "tag": "15", "registry_id": local}},
                "schedule": {"cronjob": {"scheduled_at": "*/3 * * * * *", "timezone": "Etc/UTC",
                    "entrypoint": "/bin/sh", "arguments": ["-c", "echo start; sleep 4; echo done"],
                    "concurrency_policy": "ALLOW"}},
            }),
        )
        .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let deployed = api.post(&format!("/job/{job_id}/deploy"), json!({})).await;
    let deployment = deployed["deployment_request_id"].as_str().unwrap().to_owned();
    let d = wait_for_deployment(&api, &deployment, |d| d["status"] != "QUEUED" && d["status"] != "RUNNING").await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");

    // Kill the server while a run's instance runs, and keep it down across two occurrences or more.
    let runtime = slipway_runtime_docker::DockerRuntime::connect(None).await.unwrap();
    let filter = Labels::from([(label::SERVICE.to_owned(), job_id.clone())]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let instance = loop {
        let instances = runtime.list(&filter).await.unwrap();
        if let Some(i) = instances.into_iter().find(|i| i.state == slipway_runtime::InstanceState::Running) {
            break i;
        }
        assert!(Instant::now() < deadline, "no run started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The instance's name carries the start of its run's id.
    let interrupted = job_runs(&api, &job_id)
        .await
        .into_iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .find(|id| instance.name.contains(&id.replace('-', "")[..6]))
        .expect("the run of the running instance");
    server.kill_9();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let server = Server::start(data.path(), api_port, edge_port);

    // The interrupted run is finished by the new server (its instance waited for), and the schedule
    // goes on: a run after the restart stands for the occurrences missed meanwhile.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let runs = job_runs(&api, &job_id).await;
        let finished = runs.iter().any(|r| r["id"] == interrupted.as_str() && r["status"] == "SUCCEEDED");
        let caught_up = runs.iter().any(|r| {
            r["status"] == "SUCCEEDED"
                && r["message"].as_str().is_some_and(|m| m.contains("missed while no scheduler ran"))
        });
        if finished && caught_up {
            break;
        }
        if Instant::now() >= deadline {
            let summary: Vec<String> = runs
                .iter()
                .map(|r| format!("{} {} {} {}", r["id"], r["scheduled_for"], r["status"], r["message"]))
                .collect();
            let log = std::fs::read_to_string(data.path().join("server.log")).unwrap_or_default();
            panic!(
                "the interrupted run ({interrupted}) was not finished, or nothing caught up:\n{}\n{log}",
                summary.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let run = api.get(&format!("/job/{job_id}/run/{interrupted}")).await;
    assert_eq!(run["logs"], json!(["start", "done"]), "{run}");
    assert_eq!(run["exit_code"], 0, "{run}");

    // No occurrence ran twice.
    let runs = job_runs(&api, &job_id).await;
    let mut due: Vec<&str> = runs.iter().filter_map(|r| r["scheduled_for"].as_str()).collect();
    let all = due.len();
    due.sort_unstable();
    due.dedup();
    assert_eq!(due.len(), all, "an occurrence ran twice: {runs:#?}");

    // Stop the job; once its runs end, none of its instances is left.
    api.post(&format!("/job/{job_id}/stop"), json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = job_runs(&api, &job_id).await.iter().any(|r| r["status"] == "RUNNING");
        let instances = runtime.list(&filter).await.unwrap();
        if !running && instances.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "runs or instances remain: {instances:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(server);
}

/// Deploys with `body` (POST `path`), waits for the deployment to end, and returns its status and log.
async fn deploy_and_log(api: &Api, env_id: &str, path: &str, body: Value) -> (String, String) {
    let queued = api.post(path, body).await;
    let id = queued["deployment_request_id"].as_str().unwrap().to_owned();
    let d = wait_for_deployment(api, &id, |d| d["status"] != "QUEUED" && d["status"] != "RUNNING").await;
    let log = api.get(&format!("/environment/{env_id}/logs?version={id}")).await.to_string();
    (d["status"].as_str().unwrap_or_default().to_owned(), log)
}

#[tokio::test]
async fn a_terraform_state_survives_a_server_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    git(r, &["config", "user.email", "test@slipway.invalid"]);
    git(r, &["config", "user.name", "Slipway Test"]);
    std::fs::write(
        r.join("main.tf"),
        "resource \"terraform_data\" \"marker\" {\n  input = \"kept\"\n}\n\noutput \"marker\" {\n  value = terraform_data.marker.output\n}\n",
    )
    .unwrap();
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "infra"]);

    let data = tempfile::tempdir().unwrap();
    let (api_port, edge_port) = (free_port(), free_port());
    let server = Server::start(data.path(), api_port, edge_port);
    let (api, _, env_id) = api_with_environment(data.path(), api_port, "infra").await;
    let tf = api
        .post(
            &format!("/environment/{env_id}/terraform"),
            json!({
                "name": "infra", "description": "",
                "auto_deploy_config": {"auto_deploy": false, "terraform_action": "DEFAULT"},
                "terraform_files_source": {"git_repository": {"url": format!("file://{}", r.display()), "root_path": "/"}},
                "terraform_variables_source": {"tf_var_file_paths": [], "tf_vars": []},
                "backend": {"kubernetes": {}}, "engine": "TERRAFORM",
                "provider_version": {"explicit_version": "1.11"},
                "job_resources": {"cpu_milli": 500, "ram_mib": 256, "gpu": 0, "storage_gib": 1},
            }),
        )
        .await;
    let tf_id = tf["id"].as_str().unwrap().to_owned();
    let (status, log) = deploy_and_log(&api, &env_id, &format!("/terraform/{tf_id}/deploy"), json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{log}");
    assert!(log.contains("Apply complete! Resources: 1 added"), "{log}");

    // Killed and started again: the state is still Slipway's, so nothing is created twice.
    server.kill_9();
    let _server = Server::start(data.path(), api_port, edge_port);
    let (status, log) = deploy_and_log(&api, &env_id, &format!("/terraform/{tf_id}/deploy"), json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{log}");
    assert!(log.contains("No changes."), "the state was lost across the restart: {log}");
    let (status, log) = deploy_and_log(&api, &env_id, &format!("/terraform/{tf_id}/uninstall"), json!({})).await;
    assert_eq!(status, "SUCCEEDED", "{log}");
    assert!(log.contains("Destroy complete! Resources: 1 destroyed."), "{log}");
}
