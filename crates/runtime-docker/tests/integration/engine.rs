//! The engine itself: identity, builds, imports, pulls.

use std::time::{Duration, Instant};

use slipway_runtime::{BuildRequest, Labels, Runtime, RuntimeError};
use slipway_runtime_docker::{DockerRuntime, EngineKind};

use crate::support::{BB, IMAGE, on_each_engine, tar_context, test_image};

#[tokio::test]
async fn info_names_the_engine_and_its_api() {
    on_each_engine("info", |scope| async move {
        let info = scope.runtime.info().await.expect("info");
        let expected = match scope.runtime.kind() {
            EngineKind::Podman => "podman",
            EngineKind::Docker => "docker",
        };
        assert_eq!(info.name, expected);
        assert!(!info.version.is_empty(), "{info:?}");
        assert!(info.api_version.starts_with("1."), "{info:?}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_endpoint_says_how_to_fix_it() {
    let error = DockerRuntime::connect(Some("unix:///nonexistent/engine.sock")).await.expect_err("no engine there");
    match error {
        RuntimeError::Unreachable { endpoint, reason } => {
            assert_eq!(endpoint, "unix:///nonexistent/engine.sock");
            assert!(reason.contains("scripts/setup-engine.sh"), "{reason}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let error = DockerRuntime::connect(Some("tcp://127.0.0.1:1")).await.expect_err("nothing listens on port 1");
    assert!(matches!(error, RuntimeError::Unreachable { .. }), "{error:?}");
}

#[tokio::test]
async fn build_streams_output_and_finds_the_image_by_name() {
    on_each_engine("build", |scope| async move {
        let reference = test_image(&scope.runtime).await;
        let image = scope.runtime.image(&reference).await.expect("image").expect("the test image exists");
        assert_eq!(image.reference, IMAGE);
        assert!(image.id.len() >= 12, "{image:?}");
        // By id, too.
        assert!(scope.runtime.image(&image.id).await.expect("image by id").is_some());
        assert!(scope.runtime.image("localhost/slipway-test/none:1").await.expect("lookup").is_none());

        // A second build of another context streams its steps to `progress`.
        let lines = std::sync::Mutex::new(Vec::new());
        let tag = scope.image_tag("1");
        let request = BuildRequest {
            context: tar_context(&[
                (
                    "build/Containerfile",
                    b"FROM scratch AS base\nARG WHO\nLABEL who=$WHO\nCOPY hello.txt /hello.txt\n",
                    0o644,
                ),
                ("hello.txt", b"hello\n", 0o644),
            ]),
            dockerfile: "build/Containerfile".to_owned(),
            target: Some("base".to_owned()),
            build_args: [("WHO".to_owned(), "slipway".to_owned())].into(),
            tag: tag.clone(),
            labels: Labels::from([("slipway.io/test".to_owned(), scope.id.clone())]),
        };
        let built =
            scope.runtime.build(request, &|line| lines.lock().unwrap().push(line.to_owned())).await.expect("build");
        assert_eq!(built.reference, tag);
        let lines = lines.into_inner().unwrap();
        assert!(lines.iter().any(|l| l.contains("COPY hello.txt")), "{lines:#?}");
        // Tag it under a second name and find it there.
        let second = scope.image_tag("2");
        scope.runtime.tag(&tag, &second).await.expect("tag");
        let again = scope.runtime.image(&second).await.expect("lookup").expect("tagged image");
        assert_eq!(again.id, built.id);
        assert!(matches!(
            scope.runtime.tag("localhost/slipway-test/none:1", &second).await,
            Err(RuntimeError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_failed_build_carries_the_engine_message() {
    on_each_engine("build_failure", |scope| async move {
        let request = BuildRequest {
            context: tar_context(&[("Dockerfile", b"FROM scratch\nCOPY missing-file.txt /x\n", 0o644)]),
            dockerfile: "Dockerfile".to_owned(),
            target: None,
            build_args: Default::default(),
            tag: scope.image_tag("broken"),
            labels: Labels::new(),
        };
        let lines = std::sync::Mutex::new(Vec::new());
        let error = scope
            .runtime
            .build(request, &|line| lines.lock().unwrap().push(line.to_owned()))
            .await
            .expect_err("the build must fail");
        match error {
            RuntimeError::Build(message) => assert!(message.contains("missing-file.txt"), "{message}"),
            other => panic!("expected Build, got {other:?}"),
        }
        let lines = lines.into_inner().unwrap();
        assert!(lines.iter().any(|l| l.contains("missing-file.txt")), "{lines:#?}");
    })
    .await;
}

/// A root file system tarball: the static busybox, a file, and a directory
/// owned by uid 4242 (ownership must survive the import).
fn rootfs_tarball(path: &std::path::Path) {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (static) is needed for the test image: apt-get install -y busybox-static");
    let mut builder = tar::Builder::new(std::fs::File::create(path).expect("create the tarball"));
    let mut entry = |path: &str, kind: tar::EntryType, mode: u32, uid: u64, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_uid(uid);
        header.set_gid(uid);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, path, data).expect("tar entry");
    };
    entry("bin/", tar::EntryType::Directory, 0o755, 0, b"");
    entry("bin/busybox", tar::EntryType::Regular, 0o755, 0, &busybox);
    entry("etc/", tar::EntryType::Directory, 0o755, 0, b"");
    entry("etc/motd", tar::EntryType::Regular, 0o644, 0, b"imported root fs\n");
    entry("data/", tar::EntryType::Directory, 0o700, 4242, b"");
    builder.into_inner().expect("finish the tarball");
}

#[tokio::test]
async fn import_makes_an_image_of_a_root_file_system_tarball() {
    on_each_engine("import", |scope| async move {
        let runtime = &scope.runtime;
        let tarball = std::env::temp_dir().join(format!("{}.tar", scope.id));
        rootfs_tarball(&tarball);
        let reference = scope.image_tag("imported");
        let changes: Vec<String> = [
            format!("ENTRYPOINT [\"{BB}\"]"),
            "CMD [\"cat\", \"/etc/motd\"]".to_owned(),
            "ENV GREETING=hello PATH=/bin".to_owned(),
            "WORKDIR /data".to_owned(),
            "EXPOSE 8080".to_owned(),
            "VOLUME /data".to_owned(),
            "STOPSIGNAL SIGINT".to_owned(),
            format!("LABEL slipway.io/test-import={}", scope.id),
        ]
        .into();
        let lines = std::sync::Mutex::new(Vec::new());
        let imported =
            runtime.import_image(&tarball, &reference, &changes, &|l| lines.lock().unwrap().push(l.to_owned())).await;
        let _ = std::fs::remove_file(&tarball);
        let imported = imported.expect("import");
        assert_eq!(imported.reference, reference);
        assert!(!lines.into_inner().unwrap().is_empty(), "the import reports progress");
        let found = runtime.image(&reference).await.expect("lookup").expect("the imported image");
        assert_eq!(found.id, imported.id);
        let labels = runtime.image_labels(&reference).await.expect("labels").expect("the imported image");
        assert_eq!(labels.get("slipway.io/test-import"), Some(&scope.id), "{labels:?}");
        assert_eq!(runtime.image_labels("localhost/slipway-test/none:1").await.expect("labels"), None);

        // The default command runs through the entrypoint.
        let mut spec = scope.spec("motd", &[]).await;
        spec.image = reference.clone();
        let motd = runtime.start(&spec).await.expect("start the imported image");
        assert_eq!(runtime.wait(&motd.id).await.expect("wait"), 0);
        let printed = output(runtime, &motd.id).await;
        assert_eq!(printed, ["imported root fs"]);

        // The environment, working directory and ownership came through.
        let script = format!("echo \"$GREETING $({BB} pwd) $({BB} stat -c %u:%a /data)\"");
        let mut spec = scope.spec("env", &["sh", "-c", &script]).await;
        spec.image = reference.clone();
        let env = runtime.start(&spec).await.expect("start");
        assert_eq!(runtime.wait(&env.id).await.expect("wait"), 0);
        assert_eq!(output(runtime, &env.id).await, ["hello /data 4242:700"]);

        // Anything but configuration is refused before the engine sees it.
        let error = runtime
            .import_image(&tarball, &scope.image_tag("bad"), &["RUN rm -rf /".to_owned()], &|_| {})
            .await
            .expect_err("RUN is not a change");
        assert!(matches!(&error, RuntimeError::Build(m) if m.contains("RUN rm -rf /")), "{error:?}");
        let error = runtime
            .import_image(&tarball, &scope.image_tag("gone"), &[], &|_| {})
            .await
            .expect_err("the tarball is gone");
        assert!(matches!(&error, RuntimeError::Build(m) if m.contains(&scope.id)), "{error:?}");
    })
    .await;
}

/// What an exited instance printed on standard output.
async fn output(runtime: &DockerRuntime, id: &str) -> Vec<String> {
    use futures_util::StreamExt;
    let lines: Vec<_> = runtime.logs(id, Default::default()).await.expect("logs").collect().await;
    lines.into_iter().map(|l| l.expect("log line").line).collect()
}

#[tokio::test]
async fn pulling_a_missing_image_fails_quickly() {
    on_each_engine("pull_missing", |scope| async move {
        let started = Instant::now();
        let reference = format!("127.0.0.1:9/slipway-test/{}:1", scope.id);
        let pull = scope.runtime.pull(&reference, None, &|_| {});
        let error = tokio::time::timeout(Duration::from_secs(90), pull)
            .await
            .expect("a pull without a registry must fail, not hang")
            .expect_err("nothing to pull");
        match error {
            RuntimeError::Pull { reference: r, reason } => {
                assert_eq!(r, reference);
                assert!(!reason.is_empty());
            }
            other => panic!("expected Pull, got {other:?}"),
        }
        let error = scope.runtime.pull("slipway-test-does-not-exist:1", None, &|_| {}).await.expect_err("no registry");
        assert!(matches!(error, RuntimeError::Pull { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(90));
    })
    .await;
}

/// Needs a plain-HTTP registry both engines trust: `SLIPWAY_TEST_REGISTRY=127.0.0.1:5055`
/// (Debian's `docker-registry`; Docker trusts 127.0.0.0/8 as is, Podman needs the
/// address marked `insecure = true` in a registries.conf drop-in before its API
/// service starts). Skipped without it.
#[tokio::test]
async fn push_reports_the_registry_digest_and_pull_fetches_it() {
    let Ok(registry) = std::env::var("SLIPWAY_TEST_REGISTRY") else {
        eprintln!("skipped: set SLIPWAY_TEST_REGISTRY=host:port of a plain-HTTP registry to test push and pull");
        return;
    };
    on_each_engine("push", |scope| {
        let registry = registry.clone();
        async move {
            let runtime = &scope.runtime;
            let source = runtime.image(&test_image(runtime).await).await.expect("lookup").expect("test image");
            let target = format!("{registry}/slipway-test/{}:1", scope.id);
            scope.track_image(&target);
            runtime.tag(&source.id, &target).await.expect("tag for the registry");
            let lines = std::sync::Mutex::new(Vec::new());
            let pushed =
                runtime.push(&target, None, &|l| lines.lock().unwrap().push(l.to_owned())).await.expect("push");
            let repository = format!("{registry}/slipway-test/{}", scope.id);
            assert!(pushed.starts_with(&format!("{repository}@sha256:")), "{pushed}");
            assert!(!lines.into_inner().unwrap().is_empty());

            // Forget the local copy, then pull it back by digest.
            crate::support::remove_image(&scope, &target).await;
            assert!(runtime.image(&target).await.expect("lookup").is_none());
            scope.track_image(&pushed);
            let pulled = runtime.pull(&pushed, None, &|_| {}).await.expect("pull by digest");
            assert_eq!(pulled.id, source.id, "the same content has the same id");
            assert_eq!(pulled.reference, pushed);
            assert_eq!(pulled.digest.as_deref(), Some(pushed.as_str()));
            // By tag: Docker reports the digest it pulled; Podman's compat API does not say.
            crate::support::remove_image(&scope, &target).await;
            let by_tag = runtime.pull(&target, None, &|_| {}).await.expect("pull by tag");
            assert_eq!(by_tag.id, source.id);
            match runtime.kind() {
                EngineKind::Docker => assert_eq!(by_tag.digest.as_deref(), Some(pushed.as_str())),
                EngineKind::Podman => assert_eq!(by_tag.digest, None),
            }

            let missing = format!("{registry}/slipway-test/{}:never-built", scope.id);
            let error = runtime.push(&missing, None, &|_| {}).await.expect_err("nothing to push");
            assert!(matches!(error, RuntimeError::Push { .. }), "{error:?}");
        }
    })
    .await;
}
