//! What every scenario needs: the engines under test, the test image, unique
//! names, and cleanup that runs even when a scenario panics.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use slipway_runtime::{BuildRequest, InstanceSpec, Labels, Runtime};
use slipway_runtime_docker::DockerRuntime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;

/// The test image, built once per engine and process.
pub const IMAGE: &str = "localhost/slipway-test/busybox:1";
/// Where the image keeps busybox; scratch images have no applet links.
pub const BB: &str = "/bin/busybox";
/// The label every test object carries, with the scope's unique value.
pub const TEST_LABEL: &str = "slipway.io/test";

/// The endpoints under test: `SLIPWAY_TEST_ENGINES` (space-separated), or
/// the one engine auto-detection finds.
pub fn endpoints() -> Vec<Option<String>> {
    match std::env::var("SLIPWAY_TEST_ENGINES") {
        Ok(list) if !list.trim().is_empty() => list.split_whitespace().map(|e| Some(e.to_owned())).collect(),
        _ => vec![None],
    }
}

/// Runs `scenario` against every engine under test, one after the other,
/// each in its own scope; a failure names the engine.
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

/// One scenario on one engine: unique names, and what to clean up.
#[derive(Debug, Clone)]
pub struct Scope {
    pub runtime: DockerRuntime,
    /// Unique within the host and the run: `st-<test>-<pid>-<n>`.
    pub id: String,
    networks: Arc<Mutex<Vec<String>>>,
    volumes: Arc<Mutex<Vec<String>>>,
    images: Arc<Mutex<Vec<String>>>,
}

impl Scope {
    fn new(runtime: DockerRuntime, test: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("st-{}-{}-{n}-{:x}", test.replace('_', "-"), std::process::id(), nanos % 0xffff);
        Self { runtime, id, networks: Arc::default(), volumes: Arc::default(), images: Arc::default() }
    }

    /// A unique name for an object of this scope.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.id)
    }

    /// The labels every instance of this scope carries.
    pub fn labels(&self) -> Labels {
        Labels::from([(TEST_LABEL.to_owned(), self.id.clone())])
    }

    /// A network of this scope, created now.
    pub async fn network(&self, suffix: &str) -> String {
        let name = self.name(suffix);
        self.networks.lock().unwrap().push(name.clone());
        self.runtime.ensure_network(&name, &self.labels()).await.expect("ensure network");
        name
    }

    /// Removes the network `name` at cleanup.
    pub fn track_network(&self, name: &str) {
        self.networks.lock().unwrap().push(name.to_owned());
    }

    /// A volume of this scope, created now.
    pub async fn volume(&self, suffix: &str) -> String {
        let name = self.name(suffix);
        self.volumes.lock().unwrap().push(name.clone());
        self.runtime.ensure_volume(&name, &self.labels()).await.expect("ensure volume");
        name
    }

    /// A unique image reference of this scope, removed at cleanup.
    pub fn image_tag(&self, suffix: &str) -> String {
        let tag = format!("localhost/slipway-test/{}:{suffix}", self.id);
        self.track_image(&tag);
        tag
    }

    /// Removes the image `reference` at cleanup.
    pub fn track_image(&self, reference: &str) {
        self.images.lock().unwrap().push(reference.to_owned());
    }

    /// A spec running the test image with this scope's labels and `args` to busybox.
    pub async fn spec(&self, suffix: &str, args: &[&str]) -> InstanceSpec {
        InstanceSpec {
            name: self.name(suffix),
            image: test_image(&self.runtime).await,
            command: (!args.is_empty()).then(|| args.iter().map(|a| (*a).to_owned()).collect()),
            labels: self.labels(),
            stop_timeout_secs: 2,
            ..Default::default()
        }
    }

    /// Removes the scope's instances (by label), networks and volumes.
    async fn cleanup(&self) {
        let runtime = &self.runtime;
        for instance in runtime.list(&self.labels()).await.unwrap_or_default() {
            let _ = runtime.remove(&instance.id).await;
        }
        let networks = std::mem::take(&mut *self.networks.lock().unwrap());
        for network in networks {
            let _ = runtime.remove_network(&network).await;
        }
        let volumes = std::mem::take(&mut *self.volumes.lock().unwrap());
        for volume in volumes {
            let _ = runtime.remove_volume(&volume).await;
        }
        let images = std::mem::take(&mut *self.images.lock().unwrap());
        for image in images {
            remove_image(self, &image).await;
        }
    }
}

/// Builds the test image once per engine and process; returns its reference.
pub async fn test_image(runtime: &DockerRuntime) -> String {
    static BUILT: Mutex<Option<HashMap<String, Arc<OnceCell<()>>>>> = Mutex::new(None);
    let cell = {
        let mut built = BUILT.lock().unwrap();
        built.get_or_insert_default().entry(runtime.endpoint().to_string()).or_default().clone()
    };
    cell.get_or_init(|| async {
        let request = BuildRequest {
            context: image_context(),
            dockerfile: "Dockerfile".to_owned(),
            target: None,
            build_args: Default::default(),
            tag: IMAGE.to_owned(),
            labels: Labels::from([("slipway.io/test-image".to_owned(), "busybox".to_owned())]),
        };
        runtime.build(request, &|_| {}).await.expect("build the test image");
    })
    .await;
    IMAGE.to_owned()
}

/// A tar build context: `FROM scratch`, the static busybox, and a web root.
fn image_context() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (static) is needed for the test image: apt-get install -y busybox-static");
    let dockerfile = format!(
        "FROM scratch\nCOPY busybox {BB}\nCOPY www /www\nENTRYPOINT [\"{BB}\"]\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
    );
    tar_context(&[
        ("Dockerfile", dockerfile.as_bytes(), 0o644),
        ("busybox", &busybox, 0o755),
        ("www/index.html", b"slipway-test-page\n", 0o644),
    ])
}

/// A tar archive of `(path, contents, mode)` entries.
pub fn tar_context(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, path, *contents).expect("tar entry");
    }
    builder.into_inner().expect("tar archive")
}

/// `GET /` over plain HTTP/1.0; retries for `within` while the server starts.
pub async fn http_get(address: SocketAddr, within: Duration) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let attempt = async {
            let timed_out = |_| std::io::Error::from(std::io::ErrorKind::TimedOut);
            let mut stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(address))
                .await
                .map_err(timed_out)??;
            stream.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").await?;
            let mut response = String::new();
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
                .await
                .map_err(timed_out)??;
            Ok::<_, std::io::Error>(response)
        };
        match attempt.await {
            Ok(response) if response.starts_with("HTTP/") => return Ok(response),
            Ok(response) if Instant::now() > deadline => return Err(format!("unexpected answer: {response:?}")),
            Err(e) if Instant::now() > deadline => return Err(format!("{address}: {e}")),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Raw engine access, to check what the driver asked for.
pub async fn engine_inspect(scope: &Scope, id: &str) -> bollard::models::ContainerInspectResponse {
    let docker = engine_client(scope).await;
    docker.inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>).await.expect("inspect")
}

/// Removes an image reference from the engine, if present.
pub async fn remove_image(scope: &Scope, reference: &str) {
    let options = bollard::query_parameters::RemoveImageOptions { force: false, noprune: false, ..Default::default() };
    let _ = engine_client(scope).await.remove_image(reference, Some(options), None).await;
}

/// A bollard client to the scope's engine, bypassing the driver.
pub async fn engine_client(scope: &Scope) -> bollard::Docker {
    let docker = match scope.runtime.endpoint() {
        slipway_runtime_docker::Endpoint::Unix(path) => {
            bollard::Docker::connect_with_unix(&path.to_string_lossy(), 30, bollard::API_DEFAULT_VERSION)
        }
        slipway_runtime_docker::Endpoint::Tcp(address) => {
            bollard::Docker::connect_with_http(address, 30, bollard::API_DEFAULT_VERSION)
        }
    }
    .expect("engine client");
    docker.negotiate_version().await.expect("negotiate")
}
