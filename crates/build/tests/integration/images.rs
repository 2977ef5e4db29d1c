//! Building images on the real container engine (Podman or Docker through
//! the runtime-docker driver), with the build cache, monorepos, target
//! stages, failures, and a push to a real registry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use slipway_build::{BuildError, BuildPlan, Builder, BuiltImage, Fetcher, GitSource, RegistryTarget};
use slipway_runtime::Runtime;
use slipway_runtime_docker::{DockerRuntime, Endpoint};

use slipway_testkit::Registry;

use crate::support::{Lines, Repo};

/// The engine, a builder on it, and the images a test made (removed by
/// dropping the harness).
struct Harness {
    runtime: Arc<DockerRuntime>,
    builder: Builder,
    images: Mutex<Vec<String>>,
    _cache: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        // The first of the engines the driver's tests use, else auto-detection.
        let endpoint = std::env::var("SLIPWAY_TEST_ENGINES")
            .ok()
            .and_then(|list| list.split_whitespace().next().map(str::to_owned));
        let runtime = DockerRuntime::connect(endpoint.as_deref()).await.unwrap_or_else(|e| {
            panic!("these tests need a container engine ({e}); start one with `bash scripts/setup-engine.sh`")
        });
        let runtime = Arc::new(runtime);
        let cache = tempfile::tempdir().unwrap();
        let builder = Builder::new(runtime.clone(), Fetcher::new(cache.path()));
        Self { runtime, builder, images: Mutex::default(), _cache: cache }
    }

    /// Builds, recording the image for cleanup and checking the progress
    /// lines' stage prefixes.
    async fn build(&self, plan: &BuildPlan) -> (Result<BuiltImage, BuildError>, Lines, Duration) {
        let lines = Lines::default();
        let started = Instant::now();
        let result = self.builder.build(plan, &|l: &str| lines.push(l)).await;
        let elapsed = started.elapsed();
        if let Ok(image) = &result {
            self.images.lock().unwrap().push(image.reference.clone());
        }
        for line in lines.all() {
            assert!(
                ["fetch: ", "build: ", "push: "].iter().any(|p| line.starts_with(p)),
                "a progress line without its stage: {line:?}"
            );
        }
        (result, lines, elapsed)
    }

    /// The content of `file` in the image, read from a created (never
    /// started) container through the engine's archive endpoint.
    async fn cat(&self, image: &str, file: &str) -> String {
        let docker = engine_client(&self.runtime).await;
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(vec!["/bin/busybox".into()]),
            ..Default::default()
        };
        let created = docker.create_container(None, body).await.unwrap_or_else(|e| panic!("create from {image}: {e}"));
        let options = bollard::query_parameters::DownloadFromContainerOptions { path: file.to_owned() };
        let mut archive = Ok(Vec::new());
        let mut stream = docker.download_from_container(&created.id, Some(options));
        while let Some(chunk) = stream.next().await {
            match (chunk, &mut archive) {
                (Ok(bytes), Ok(archive)) => archive.extend_from_slice(&bytes),
                (Err(e), _) => archive = Err(e),
                _ => {}
            }
        }
        let remove = bollard::query_parameters::RemoveContainerOptions { force: true, ..Default::default() };
        docker.remove_container(&created.id, Some(remove)).await.expect("remove the container");
        let archive = archive.unwrap_or_else(|e| panic!("{file} in {image}: {e}"));
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut entry = entries.entries().unwrap().next().expect("one file").unwrap();
        let mut content = String::new();
        std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
        content
    }

    /// Removes an image now (the port has no such operation).
    async fn remove_image(&self, reference: &str) {
        remove_image(&self.runtime, reference).await;
    }
}

/// Removes the images the test made, even when it failed.
impl Drop for Harness {
    fn drop(&mut self) {
        let images = std::mem::take(&mut *self.images.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if images.is_empty() {
            return;
        }
        let runtime = self.runtime.clone();
        // Drop cannot await; a separate thread may run its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                for image in images {
                    remove_image(&runtime, &image).await;
                }
            });
        })
        .join();
    }
}

/// A bollard client to the engine under test, bypassing the driver.
async fn engine_client(runtime: &DockerRuntime) -> bollard::Docker {
    let docker = match runtime.endpoint() {
        Endpoint::Unix(path) => {
            bollard::Docker::connect_with_unix(&path.to_string_lossy(), 60, bollard::API_DEFAULT_VERSION)
        }
        Endpoint::Tcp(address) => bollard::Docker::connect_with_http(address, 60, bollard::API_DEFAULT_VERSION),
    }
    .expect("engine client");
    docker.negotiate_version().await.expect("negotiate")
}

async fn remove_image(runtime: &DockerRuntime, reference: &str) {
    // `noprune`: the untagged parents are build-cache layers that builds running beside this test
    // (same busybox layer) may be using at this moment; removing them fails those builds mid-step.
    let options = bollard::query_parameters::RemoveImageOptions { force: true, noprune: true, ..Default::default() };
    let _ = engine_client(runtime).await.remove_image(reference, Some(options), None).await;
}

fn busybox() -> Vec<u8> {
    std::fs::read("/bin/busybox")
        .expect("/bin/busybox (static) goes into the test images: apt-get install -y busybox-static")
}

fn plan(url: &str) -> BuildPlan {
    BuildPlan {
        service_id: slipway_model::new_id(),
        source: GitSource::new(url),
        root_path: "/".into(),
        dockerfile_path: None,
        dockerfile_raw: None,
        target: None,
        build_args: BTreeMap::new(),
        registry: None,
    }
}

const APP_DOCKERFILE: &[u8] = b"FROM scratch\nARG GREETING=hello\nCOPY busybox /bin/busybox\nCOPY out.txt /out.txt\n";

#[tokio::test]
async fn cold_build_cache_hit_and_what_invalidates_it() {
    let h = Harness::new().await;
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "app");
    repo.write_executable("busybox", &busybox());
    let first = repo.commit(
        "app v1",
        &[
            ("Dockerfile", APP_DOCKERFILE),
            ("Dockerfile.alt", b"FROM scratch\nCOPY busybox /bin/busybox\nCOPY alt.txt /out.txt\n"),
            ("out.txt", b"v1"),
            ("alt.txt", b"alt"),
        ],
    );
    let plan = plan(&repo.file_url());

    let (cold, lines, cold_time) = h.build(&plan).await;
    let cold = cold.expect("cold build");
    assert!(!cold.cache_hit);
    assert_eq!(cold.commit.sha, first);
    assert_eq!(cold.reference, format!("localhost/slipway/{}:{}", plan.service_id, &cold.cache_key[..16]));
    assert!(cold.image_id.starts_with("sha256:") || cold.image_id.len() >= 12, "{}", cold.image_id);
    let on_engine = h.runtime.image(&cold.reference).await.unwrap().expect("the image is on the engine");
    assert_eq!(on_engine.id, cold.image_id);
    assert!(lines.contains("fetch: commit"), "{:?}", lines.all());
    assert!(lines.contains("build: building"), "{:?}", lines.all());
    assert_eq!(h.cat(&cold.reference, "/out.txt").await, "v1");

    let (hit, lines, hit_time) = h.build(&plan).await;
    let hit = hit.expect("second build");
    assert!(hit.cache_hit, "{:?}", lines.all());
    assert_eq!((&hit.image_id, &hit.reference, &hit.cache_key), (&cold.image_id, &cold.reference, &cold.cache_key));
    assert!(lines.contains("build: cache hit"), "{:?}", lines.all());
    assert!(!lines.contains("build: building"), "nothing is built on a hit: {:?}", lines.all());
    eprintln!("cold build {cold_time:?}, cache hit {hit_time:?}");

    // Build arguments are part of the key.
    let mut with_args = plan.clone();
    with_args.build_args.insert("GREETING".into(), "bonjour".into());
    let (args, _, _) = h.build(&with_args).await;
    let args = args.expect("build with arguments");
    assert!(!args.cache_hit);
    assert_ne!(args.cache_key, cold.cache_key);
    assert_ne!(args.reference, cold.reference);

    // So is the Dockerfile: another one at the same commit, or an inline one.
    let mut alt = plan.clone();
    alt.dockerfile_path = Some("Dockerfile.alt".into());
    let (alt_image, _, _) = h.build(&alt).await;
    let alt_image = alt_image.expect("build with another Dockerfile");
    assert!(!alt_image.cache_hit);
    assert_eq!(h.cat(&alt_image.reference, "/out.txt").await, "alt");
    let mut raw = plan.clone();
    raw.dockerfile_raw = Some("FROM scratch\nCOPY busybox /bin/busybox\nCOPY alt.txt /raw.txt\n".into());
    let (raw_image, _, _) = h.build(&raw).await;
    let raw_image = raw_image.expect("build with an inline Dockerfile");
    assert!(!raw_image.cache_hit);
    assert_eq!(h.cat(&raw_image.reference, "/raw.txt").await, "alt");

    // A new commit is a miss; pinning the old commit (a rollback) hits again.
    let second = repo.commit("app v2", &[("out.txt", b"v2")]);
    let (v2, _, _) = h.build(&plan).await;
    let v2 = v2.expect("build of the new commit");
    assert!(!v2.cache_hit);
    assert_eq!(v2.commit.sha, second);
    assert_eq!(h.cat(&v2.reference, "/out.txt").await, "v2");
    let mut pinned = plan.clone();
    pinned.source.commit = Some(first.clone());
    let (rollback, _, _) = h.build(&pinned).await;
    let rollback = rollback.expect("build of the pinned commit");
    assert!(rollback.cache_hit);
    assert_eq!(rollback.image_id, cold.image_id);
}

#[tokio::test]
async fn root_path_and_target_stage_choose_what_is_built() {
    let h = Harness::new().await;
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "mono");
    repo.write_executable("services/a/busybox", &busybox());
    repo.write_executable("services/b/busybox", &busybox());
    let multi_stage = b"FROM scratch AS first\nCOPY busybox /bin/busybox\nCOPY first.txt /out.txt\n\n\
                        FROM scratch AS second\nCOPY busybox /bin/busybox\nCOPY second.txt /out.txt\n";
    repo.commit(
        "two services",
        &[
            ("README.md", b"monorepo"),
            ("services/a/Dockerfile", b"FROM scratch\nCOPY busybox /bin/busybox\nCOPY out.txt /out.txt\n"),
            ("services/a/out.txt", b"service a"),
            ("services/b/docker/Dockerfile", multi_stage),
            ("services/b/first.txt", b"stage first"),
            ("services/b/second.txt", b"stage second"),
        ],
    );

    let mut a = plan(&repo.file_url());
    a.root_path = "/services/a".into();
    let (built, _, _) = h.build(&a).await;
    let built = built.expect("service a");
    assert_eq!(h.cat(&built.reference, "/out.txt").await, "service a");

    let mut b = plan(&repo.file_url());
    b.root_path = "/services/b".into();
    b.dockerfile_path = Some("docker/Dockerfile".into());
    b.target = Some("first".into());
    let (first, _, _) = h.build(&b).await;
    let first = first.expect("stage first");
    assert_eq!(h.cat(&first.reference, "/out.txt").await, "stage first");
    b.target = Some("second".into());
    let (second, _, _) = h.build(&b).await;
    let second = second.expect("stage second");
    assert!(!second.cache_hit);
    assert_eq!(h.cat(&second.reference, "/out.txt").await, "stage second");

    // A root path that is not in the repository is refused before any build.
    let mut missing = plan(&repo.file_url());
    missing.root_path = "/services/c".into();
    let (err, _, _) = h.build(&missing).await;
    let err = err.expect_err("no such directory").to_string();
    assert!(err.contains("`services/c` does not exist"), "{err}");
}

#[tokio::test]
async fn a_failing_dockerfile_reports_the_engine_message_and_the_build_output() {
    let h = Harness::new().await;
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "broken");
    repo.commit("broken", &[("Dockerfile", b"FROM scratch\nCOPY does-not-exist.txt /\n"), ("app.txt", b"x")]);
    let (result, lines, _) = h.build(&plan(&repo.file_url())).await;
    match result {
        Err(BuildError::Build { message, log_tail }) => {
            assert!(message.contains("does-not-exist.txt"), "{message}");
            assert!(!log_tail.is_empty());
            let shown = BuildError::Build { message, log_tail: log_tail.clone() }.to_string();
            assert!(shown.contains("last lines of the build output"), "{shown}");
            for line in &log_tail {
                assert!(lines.contains(line), "the tail repeats progress lines: {line:?}");
            }
        }
        other => panic!("expected a build error, got {other:?}"),
    }
    assert!(lines.all().iter().any(|l| l.starts_with("build: ") && l.contains("COPY")), "{:?}", lines.all());
}

#[tokio::test]
async fn pushes_to_a_registry_and_pulls_back_by_digest() {
    let h = Harness::new().await;
    let registry = Registry::start();
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "pushed");
    repo.write_executable("busybox", &busybox());
    repo.commit("pushed", &[("Dockerfile", APP_DOCKERFILE), ("out.txt", b"from the registry")]);

    let mut plan = plan(&repo.file_url());
    let prefix = format!("{}/slipway", registry.host());
    plan.registry = Some(RegistryTarget { host_and_repo_prefix: prefix.clone(), auth: None });
    let (built, lines, cold_time) = h.build(&plan).await;
    let built = built.expect("build and push");
    assert!(!built.cache_hit);
    let repository = format!("{prefix}/{}", plan.service_id);
    assert!(built.reference.starts_with(&format!("{repository}:")), "{}", built.reference);
    let digest = built.digest.clone().expect("a pushed image has a digest");
    assert!(digest.starts_with(&format!("{repository}@sha256:")), "{digest}");
    assert!(lines.contains("push: pushed"), "{:?}", lines.all());

    // A hit still pushes (cheap: the registry has every layer) and reports the same digest.
    let (again, lines, hit_time) = h.build(&plan).await;
    let again = again.expect("hit and push");
    assert!(again.cache_hit);
    assert_eq!(again.digest.as_deref(), Some(digest.as_str()));
    assert!(lines.contains("push: pushed"), "{:?}", lines.all());
    eprintln!("cold build + push {cold_time:?}, cache hit + push {hit_time:?}");

    // Gone from the engine, back from the registry by digest.
    h.remove_image(&built.reference).await;
    assert!(h.runtime.image(&built.reference).await.unwrap().is_none());
    let pulled = h.runtime.pull(&digest, None, &|_| {}).await.expect("pull by digest");
    assert_eq!(pulled.id, built.image_id);
    assert_eq!(h.cat(&digest, "/out.txt").await, "from the registry");

    h.remove_image(&pulled.id).await;
    drop(registry);
}

#[tokio::test]
async fn concurrent_builds_of_one_commit_build_once() {
    let h = Harness::new().await;
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "twice");
    repo.write_executable("busybox", &busybox());
    repo.commit("twice", &[("Dockerfile", APP_DOCKERFILE), ("out.txt", b"once")]);
    let plan = plan(&repo.file_url());
    let ((a, _, _), (b, _, _)) = tokio::join!(h.build(&plan), h.build(&plan));
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.image_id, b.image_id);
    assert_eq!([a.cache_hit, b.cache_hit].iter().filter(|hit| !**hit).count(), 1, "exactly one of them builds");
}
