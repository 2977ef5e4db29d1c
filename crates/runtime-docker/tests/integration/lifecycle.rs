//! Instances: creation from a spec, labels, limits, volumes, stop, wait, removal.

use std::time::{Duration, Instant};

use slipway_runtime::{InstanceState, Labels, Runtime, VolumeMount};

use crate::support::{BB, IMAGE, TEST_LABEL, engine_inspect, on_each_engine};

#[tokio::test]
async fn start_reports_the_instance_and_list_filters_by_labels() {
    on_each_engine("labels", |scope| async move {
        let runtime = &scope.runtime;
        let mut a = scope.spec("a", &["sleep", "300"]).await;
        a.labels.insert("slipway.io/role".into(), "service".into());
        a.env.insert("GREETING".into(), "hello world".into());
        let mut b = scope.spec("b", &["sleep", "300"]).await;
        b.labels.insert("slipway.io/role".into(), "job".into());
        let started = runtime.start(&a).await.expect("start a");
        runtime.start(&b).await.expect("start b");

        assert_eq!(started.name, a.name);
        assert_eq!(started.state, InstanceState::Running);
        assert!(started.image.ends_with(IMAGE), "{started:?}");
        assert_eq!(started.labels.get("slipway.io/role").map(String::as_str), Some("service"));
        assert!(started.started_at.is_some());
        let printenv = [BB, "sh", "-c", "echo $GREETING"].map(str::to_owned);
        let env = runtime.exec(&started.id, &printenv, Duration::from_secs(10)).await.expect("exec");
        assert_eq!(env.output.trim(), "hello world");

        let all = runtime.list(&scope.labels()).await.expect("list");
        assert_eq!(all.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), [a.name.as_str(), b.name.as_str()]);
        let mut jobs = scope.labels();
        jobs.insert("slipway.io/role".into(), "job".into());
        let only_b = runtime.list(&jobs).await.expect("list jobs");
        assert_eq!(only_b.len(), 1);
        assert_eq!(only_b[0].name, b.name);
        let none = Labels::from([(TEST_LABEL.to_owned(), format!("{}-nobody", scope.id))]);
        assert!(runtime.list(&none).await.expect("list nothing").is_empty());

        // Starting the same name again replaces the instance.
        let replaced = runtime.start(&a).await.expect("start a again");
        assert_ne!(replaced.id, started.id);
        assert!(runtime.inspect(&started.id).await.expect("inspect old").is_none());
        assert_eq!(runtime.list(&scope.labels()).await.expect("list").len(), 2);
    })
    .await;
}

#[tokio::test]
async fn cpu_and_memory_limits_reach_the_engine() {
    on_each_engine("limits", |scope| async move {
        let mut spec = scope.spec("limited", &["sleep", "300"]).await;
        spec.cpu_millis = Some(250);
        spec.memory_mib = Some(64);
        let instance = scope.runtime.start(&spec).await.expect("start");
        let host = engine_inspect(&scope, &instance.id).await.host_config.expect("host config");
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.memory, Some(64 * 1024 * 1024));
    })
    .await;
}

#[tokio::test]
async fn a_named_volume_outlives_its_instance() {
    on_each_engine("volume", |scope| async move {
        let runtime = &scope.runtime;
        let volume = scope.volume("data").await;
        let mut spec = scope.spec("db", &["sleep", "300"]).await;
        spec.volumes = vec![VolumeMount { volume: volume.clone(), target: "/data".into() }];
        let first = runtime.start(&spec).await.expect("start");
        let write = [BB, "sh", "-c", "echo kept > /data/file"].map(str::to_owned);
        assert_eq!(runtime.exec(&first.id, &write, Duration::from_secs(10)).await.expect("write").exit_code, 0);
        runtime.remove(&first.id).await.expect("remove");
        let second = runtime.start(&spec).await.expect("start again");
        let read = [BB, "cat", "/data/file"].map(str::to_owned);
        let out = runtime.exec(&second.id, &read, Duration::from_secs(10)).await.expect("read");
        assert_eq!((out.exit_code, out.output.trim()), (0, "kept"));
        runtime.remove(&second.id).await.expect("remove again");
        runtime.remove_volume(&volume).await.expect("the volume is free once its instance is gone");
    })
    .await;
}

#[tokio::test]
async fn stop_honours_the_timeout_when_pid_1_ignores_sigterm() {
    on_each_engine("stop_timeout", |scope| async move {
        let runtime = &scope.runtime;
        // busybox httpd as PID 1 has no SIGTERM handler, so the kernel ignores the signal.
        let web = runtime.start(&scope.spec("web", &[]).await).await.expect("start");
        let started = Instant::now();
        runtime.stop(&web.id, Duration::from_secs(2)).await.expect("stop");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(1500), "stopped after {took:?}: the timeout was not waited");
        assert!(took < Duration::from_secs(15), "stopped after {took:?}");
        let stopped = runtime.inspect(&web.id).await.expect("inspect").expect("still exists");
        assert!(matches!(stopped.state, InstanceState::Exited { .. }), "{stopped:?}");
        // Stopping again, restarting, and stopping what is gone.
        runtime.stop(&web.id, Duration::from_secs(1)).await.expect("stop a stopped instance");
        runtime.restart(&web.id, Duration::from_secs(1)).await.expect("restart");
        let restarted = runtime.inspect(&web.id).await.expect("inspect").expect("exists");
        assert_eq!(restarted.state, InstanceState::Running);
    })
    .await;
}

#[tokio::test]
async fn wait_returns_the_exit_code() {
    on_each_engine("wait", |scope| async move {
        let runtime = &scope.runtime;
        let job = runtime
            .start(&scope.spec("job", &["sh", "-c", &format!("{BB} sleep 1; exit 7")]).await)
            .await
            .expect("start");
        let code =
            tokio::time::timeout(Duration::from_secs(30), runtime.wait(&job.id)).await.expect("exits").expect("wait");
        assert_eq!(code, 7);
        let done = runtime.inspect(&job.id).await.expect("inspect").expect("exists");
        assert_eq!(done.state, InstanceState::Exited { code: 7 });
        // Waiting on an instance that already exited answers at once; a clean exit is 0.
        assert_eq!(runtime.wait(&job.id).await.expect("wait again"), 7);
        // Right after an exit Podman 4.3 inspects as `stopped`, a state the
        // Docker API does not have; the driver must still describe the instance,
        // and replace it when the same name starts again.
        let again = scope.spec("ok", &["true"]).await;
        for _ in 0..5 {
            let ok = runtime.start(&again).await.expect("start");
            assert_eq!(runtime.wait(&ok.id).await.expect("wait"), 0);
            let done = runtime.inspect(&ok.id).await.expect("inspect").expect("exists");
            assert_eq!(done.state, InstanceState::Exited { code: 0 });
            assert!(runtime.list(&scope.labels()).await.expect("list").iter().any(|i| i.id == ok.id));
        }
    })
    .await;
}

#[tokio::test]
async fn missing_instances_are_absent_not_errors() {
    on_each_engine("missing", |scope| async move {
        let runtime = &scope.runtime;
        let ghost = scope.name("ghost");
        assert!(runtime.inspect(&ghost).await.expect("inspect").is_none());
        runtime.stop(&ghost, Duration::from_secs(1)).await.expect("stop a missing instance");
        runtime.remove(&ghost).await.expect("remove a missing instance");
        assert!(matches!(runtime.wait(&ghost).await, Err(slipway_runtime::RuntimeError::NotFound(_))));
        assert!(matches!(
            runtime.logs(&ghost, Default::default()).await,
            Err(slipway_runtime::RuntimeError::NotFound(_))
        ));
        let mut spec = scope.spec("noimage", &[]).await;
        spec.image = "localhost/slipway-test/no-such-image:1".into();
        assert!(matches!(runtime.start(&spec).await, Err(slipway_runtime::RuntimeError::NotFound(_))));
        assert!(runtime.inspect(&spec.name).await.expect("inspect").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_file_written_in_a_made_directory_is_read_back_after_the_exit() {
    on_each_engine("output", |scope| async move {
        let runtime = &scope.runtime;
        let mut spec = scope
            .spec("out", &["sh", "-c", &format!("{BB} printf '{{\"K\": 1}}' > /out/result.json; {BB} ls -ld /out")])
            .await;
        spec.directories = vec!["/out".to_owned()];
        let job = runtime.start(&spec).await.expect("start");
        assert_eq!(runtime.wait(&job.id).await.expect("wait"), 0);
        let file = runtime.read_file(&job.id, "/out/result.json", 1024).await.expect("read");
        assert_eq!(file.as_deref(), Some(br#"{"K": 1}"#.as_slice()));
        assert!(runtime.read_file(&job.id, "/out/missing.json", 1024).await.expect("read missing").is_none());
        // A directory is not a file, and a file over the limit is refused, not cut.
        assert!(runtime.read_file(&job.id, "/out", 1024).await.expect("read a directory").is_none());
        assert!(runtime.read_file(&job.id, "/out/result.json", 4).await.is_err());
        let lines = log_lines(runtime, &job.id).await;
        assert!(lines.iter().any(|l| l.starts_with("drwxrwxrwt")), "the directory is writable by all: {lines:?}");
    })
    .await;
}

async fn log_lines(runtime: &dyn slipway_runtime::Runtime, id: &str) -> Vec<String> {
    use futures_util::StreamExt;
    let stream = runtime.logs(id, Default::default()).await.expect("logs");
    stream.filter_map(|l| async move { l.ok().map(|l| l.line) }).collect().await
}
