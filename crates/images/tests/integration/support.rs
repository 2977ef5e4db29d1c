//! What every scenario needs: the engines under test, the images built on
//! each (once per process), unique names, database servers and clients,
//! and cleanup that runs even when a scenario panics.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rand::distr::{Alphanumeric, SampleString};
use slipway_images::{BuildOptions, Built, DatabaseImage, LOCAL_IMAGES};
use slipway_runtime::{ExecOutput, Instance, InstanceSpec, Labels, Runtime, VolumeMount};
use slipway_runtime_docker::DockerRuntime;
use tokio::sync::OnceCell;

/// The label every object of a scenario carries, with the scope's unique value.
pub const TEST_LABEL: &str = "slipway.io/test";

/// How long a database may take to accept logins.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// The endpoints under test: `SLIPWAY_TEST_ENGINES` (space-separated), or
/// the one engine auto-detection finds.
pub fn endpoints() -> Vec<Option<String>> {
    match std::env::var("SLIPWAY_TEST_ENGINES") {
        Ok(list) if !list.trim().is_empty() => list.split_whitespace().map(|e| Some(e.to_owned())).collect(),
        _ => vec![None],
    }
}

/// Runs `scenario` against every engine under test, one after the other,
/// each in its own scope and with the images built; a failure names the engine.
pub async fn on_each_engine<F, Fut>(test: &str, scenario: F)
where
    F: Fn(Scope) -> Fut,
    Fut: Future<Output = ()>,
{
    for endpoint in endpoints() {
        let runtime = DockerRuntime::connect(endpoint.as_deref()).await.unwrap_or_else(|e| {
            panic!("{test}: no container engine at {endpoint:?}: {e} (run `bash scripts/setup-engine.sh`)")
        });
        let engine = runtime.endpoint().to_string();
        built_images(&runtime).await;
        let scope = Scope::new(runtime, test);
        let cleanup = scope.clone();
        let outcome = AssertUnwindSafe(scenario(scope)).catch_unwind().await;
        cleanup.cleanup().await;
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("{test} failed on {engine}: {message}");
        }
    }
}

/// Builds the three images through the library once per engine and
/// process (in CI, `scripts/test.sh` has built them: the build finds them
/// current); panics with the first failure.
pub async fn built_images(runtime: &DockerRuntime) {
    static BUILT: Mutex<Option<HashMap<String, Arc<OnceCell<()>>>>> = Mutex::new(None);
    let cell = {
        let mut built = BUILT.lock().unwrap();
        built.get_or_insert_default().entry(runtime.endpoint().to_string()).or_default().clone()
    };
    cell.get_or_init(|| async {
        let all: Vec<&'static DatabaseImage> = LOCAL_IMAGES.iter().collect();
        for Built { image, outcome, .. } in
            slipway_images::build(runtime, &all, &BuildOptions::default(), &|_, _| {}).await
        {
            if let Err(e) = outcome {
                panic!("building {}: {e}", image.reference);
            }
        }
    })
    .await;
}

/// A random password with characters shells and SQL quote.
pub fn password() -> String {
    format!("{}'\"\\$ `;", Alphanumeric.sample_string(&mut rand::rng(), 20))
}

/// One scenario on one engine: unique names, and what to clean up.
#[derive(Debug, Clone)]
pub struct Scope {
    pub runtime: DockerRuntime,
    /// Unique within the host and the run.
    pub id: String,
    network: String,
    volumes: Arc<Mutex<Vec<String>>>,
}

impl Scope {
    fn new(runtime: DockerRuntime, test: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("si-{}-{}-{n}", test.replace('_', "-"), std::process::id());
        let network = format!("{id}-net");
        Self { runtime, id, network, volumes: Arc::default() }
    }

    /// A unique name for an object of this scope.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.id)
    }

    /// The labels every object of this scope carries.
    pub fn labels(&self) -> Labels {
        Labels::from([(TEST_LABEL.to_owned(), self.id.clone())])
    }

    /// A volume of this scope, created now.
    pub async fn volume(&self, suffix: &str) -> String {
        let name = self.name(suffix);
        self.volumes.lock().unwrap().push(name.clone());
        self.runtime.ensure_volume(&name, &self.labels()).await.expect("ensure volume");
        name
    }

    /// An instance of `image` on the scope's network with `env` and the
    /// volume at its data directory, running the image's default command.
    pub async fn server_spec(
        &self,
        suffix: &str,
        image: &DatabaseImage,
        env: &[(&str, &str)],
        volume: &str,
    ) -> InstanceSpec {
        self.runtime.ensure_network(&self.network, &self.labels()).await.expect("ensure network");
        InstanceSpec {
            name: self.name(suffix),
            image: image.reference.to_owned(),
            network: Some(self.network.clone()),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            volumes: vec![VolumeMount { volume: volume.to_owned(), target: image.data_dir.to_owned() }],
            labels: self.labels(),
            stop_timeout_secs: 30,
            ..Default::default()
        }
    }

    /// Starts [`Scope::server_spec`].
    pub async fn server(&self, suffix: &str, image: &DatabaseImage, env: &[(&str, &str)], volume: &str) -> Instance {
        let spec = self.server_spec(suffix, image, env, volume).await;
        self.start(&spec).await
    }

    /// Starts `spec`.
    pub async fn start(&self, spec: &InstanceSpec) -> Instance {
        self.runtime.start(spec).await.unwrap_or_else(|e| panic!("start {}: {e}", spec.image))
    }

    /// Starts a client of `image` on the scope's network: the image's own
    /// tools, idle, with `env` (passwords go there, never on a command line).
    pub async fn client(&self, image: &DatabaseImage, env: &[(&str, &str)]) -> Instance {
        self.runtime.ensure_network(&self.network, &self.labels()).await.expect("ensure network");
        let spec = InstanceSpec {
            name: self.name("client"),
            image: image.reference.to_owned(),
            network: Some(self.network.clone()),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
            entrypoint: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
            labels: self.labels(),
            stop_timeout_secs: 1,
            ..Default::default()
        };
        self.runtime.start(&spec).await.expect("start the client")
    }

    /// Runs `script` with `sh -c` in `instance`.
    pub async fn sh(&self, instance: &Instance, script: &str) -> ExecOutput {
        let command = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        self.runtime.exec(&instance.id, &command, Duration::from_secs(60)).await.expect("exec")
    }

    /// Runs `script` in `instance` until it succeeds; panics with its last
    /// output and the server's log after a while.
    pub async fn until_ok(&self, instance: &Instance, server: &Instance, script: &str) -> String {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let out = self.sh(instance, script).await;
            if out.exit_code == 0 {
                return out.output;
            }
            if Instant::now() > deadline {
                panic!("`{script}` kept failing: {}\nserver log:\n{}", out.output, self.log(server).await);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The server's address on the scope's network.
    pub async fn ip(&self, server: &Instance) -> IpAddr {
        let found = self.runtime.inspect(&server.id).await.expect("inspect").expect("the server exists");
        found.ip.unwrap_or_else(|| panic!("{} has no address: {found:?}", server.name))
    }

    /// What an instance printed.
    pub async fn log(&self, instance: &Instance) -> String {
        use futures_util::StreamExt;
        let Ok(lines) = self.runtime.logs(&instance.id, Default::default()).await else { return String::new() };
        let lines: Vec<_> = lines.collect().await;
        lines.into_iter().filter_map(Result::ok).map(|l| l.line).collect::<Vec<_>>().join("\n")
    }

    /// Stops `server` with its image's stop signal, asserts that it exits
    /// cleanly (code 0), and removes it.
    pub async fn stop_cleanly(&self, server: &Instance) {
        let runtime = &self.runtime;
        runtime.stop(&server.id, Duration::from_secs(30)).await.expect("stop");
        let code = runtime.wait(&server.id).await.expect("wait");
        assert_eq!(code, 0, "{} did not stop cleanly; its log:\n{}", server.name, self.log(server).await);
        runtime.remove(&server.id).await.expect("remove");
    }

    /// Asserts that PID 1 of `server` is the database (`comm`) running as `user`.
    pub async fn assert_pid_1(&self, server: &Instance, comm: &str, user: &str) {
        let script = format!("cat /proc/1/comm; grep '^Uid:' /proc/1/status | cut -f2; id -u {user}");
        let out = self.sh(server, &script).await;
        let lines: Vec<&str> = out.output.lines().collect();
        assert!(
            matches!(lines.as_slice(), [c, uid, expected] if *c == comm && uid == expected && *uid != "0"),
            "{lines:?}"
        );
    }

    /// Removes the scope's instances (by label), network and volumes.
    async fn cleanup(&self) {
        let runtime = &self.runtime;
        for instance in runtime.list(&self.labels()).await.unwrap_or_default() {
            let _ = runtime.remove(&instance.id).await;
        }
        let _ = runtime.remove_network(&self.network).await;
        let volumes = std::mem::take(&mut *self.volumes.lock().unwrap());
        for volume in volumes {
            let _ = runtime.remove_volume(&volume).await;
        }
    }
}
