//! Observing instances: logs, exec, resource usage.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use slipway_runtime::{LogOptions, LogStream, Runtime, RuntimeError};

use crate::support::{BB, on_each_engine};

#[tokio::test]
async fn logs_tail_and_follow() {
    on_each_engine("logs", |scope| async move {
        let runtime = &scope.runtime;
        let script = format!("for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; {BB} sleep 300");
        let printer = runtime.start(&scope.spec("printer", &["sh", "-c", &script]).await).await.expect("start");
        // Wait until all six lines are there.
        let deadline = Instant::now() + Duration::from_secs(10);
        let all = loop {
            let lines: Vec<_> = runtime.logs(&printer.id, LogOptions::default()).await.expect("logs").collect().await;
            let lines: Vec<_> = lines.into_iter().collect::<Result<_, _>>().expect("log lines");
            if lines.len() >= 6 || Instant::now() > deadline {
                break lines;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Each stream keeps its order; Docker may order stderr before stdout.
        let of = |stream| all.iter().filter(|l| l.stream == stream).map(|l| l.line.as_str()).collect::<Vec<_>>();
        assert_eq!(of(LogStream::Stdout), ["line1", "line2", "line3", "line4", "line5"], "{all:?}");
        assert_eq!(of(LogStream::Stderr), ["oops"], "{all:?}");
        assert!(all.iter().all(|l| l.timestamp.is_some()));
        let line3 = all.iter().find(|l| l.line == "line3").expect("line3");

        let tail = LogOptions { tail: Some(2), ..Default::default() };
        let last: Vec<_> =
            runtime.logs(&printer.id, tail).await.expect("tail").map(|l| l.expect("line").line).collect().await;
        assert_eq!(last.len(), 2, "{last:?}");
        assert!(last.iter().all(|l| l == "oops" || l.starts_with("line")), "{last:?}");

        // Podman stamps log lines to the second, Docker to the nanosecond: lines
        // of the same second as `since` may come back, earlier ones never.
        let since = line3.timestamp;
        let after: Vec<_> =
            runtime.logs(&printer.id, LogOptions { since, ..Default::default() }).await.expect("since").collect().await;
        let after: Vec<_> = after.into_iter().collect::<Result<_, _>>().expect("log lines");
        assert!(after.iter().all(|l| l.timestamp >= since), "{after:?}");
        let stdout: Vec<_> = after.iter().filter(|l| l.stream == LogStream::Stdout).map(|l| l.line.as_str()).collect();
        assert!(stdout.ends_with(&["line3", "line4", "line5"]), "{after:?}");

        // Follow a talker until it exits.
        let script = format!("for i in 1 2 3 4; do echo tick$i; {BB} sleep 0.3; done");
        let talker = runtime.start(&scope.spec("talker", &["sh", "-c", &script]).await).await.expect("start");
        let follow = LogOptions { follow: true, ..Default::default() };
        let stream = runtime.logs(&talker.id, follow).await.expect("follow");
        let followed: Vec<_> =
            tokio::time::timeout(Duration::from_secs(30), stream.map(|l| l.expect("line").line).collect::<Vec<_>>())
                .await
                .expect("the followed stream ends when the instance exits");
        assert_eq!(followed, ["tick1", "tick2", "tick3", "tick4"]);
    })
    .await;
}

#[tokio::test]
async fn exec_reports_output_exit_codes_and_timeouts() {
    on_each_engine("exec", |scope| async move {
        let runtime = &scope.runtime;
        let box_ = runtime.start(&scope.spec("box", &["sleep", "300"]).await).await.expect("start");
        let command = [BB, "sh", "-c", "echo out; echo err >&2; exit 3"].map(str::to_owned);
        let out = runtime.exec(&box_.id, &command, Duration::from_secs(10)).await.expect("exec");
        assert_eq!(out.exit_code, 3);
        assert!(out.output.contains("out\n") && out.output.contains("err\n"), "{out:?}");
        let ok = runtime.exec(&box_.id, &[BB.into(), "true".into()], Duration::from_secs(10)).await.expect("exec");
        assert_eq!((ok.exit_code, ok.output.as_str()), (0, ""));

        let started = Instant::now();
        let slow = [BB, "sleep", "30"].map(str::to_owned);
        let error = runtime.exec(&box_.id, &slow, Duration::from_millis(700)).await.expect_err("too slow");
        assert!(matches!(error, RuntimeError::Timeout(_)), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let missing = [BB, "no-such-applet"].map(str::to_owned);
        let out = runtime.exec(&box_.id, &missing, Duration::from_secs(10)).await.expect("exec");
        assert_ne!(out.exit_code, 0);
        let error =
            runtime.exec(&scope.name("ghost"), &missing, Duration::from_secs(10)).await.expect_err("no instance");
        assert!(matches!(error, RuntimeError::NotFound(_)), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn usage_of_a_busy_loop_is_bounded_by_its_cpu_limit() {
    on_each_engine("usage", |scope| async move {
        let runtime = &scope.runtime;
        let mut spec = scope.spec("busy", &["sh", "-c", "while :; do :; done"]).await;
        spec.cpu_millis = Some(500);
        spec.memory_mib = Some(64);
        let busy = runtime.start(&spec).await.expect("start");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut readings = Vec::new();
        for _ in 0..3 {
            readings.push(runtime.usage(&busy.id).await.expect("usage"));
        }
        let best = readings.iter().map(|u| u.cpu_millis).fold(0.0, f64::max);
        assert!(best > 100.0, "a busy loop uses CPU: {readings:?}");
        assert!(readings.iter().all(|u| u.cpu_millis <= 500.0 * 1.25), "the limit is 500 millicores: {readings:?}");
        assert!(readings.iter().all(|u| u.memory_bytes > 0 && u.memory_bytes <= 64 * 1024 * 1024), "{readings:?}");

        let idle = runtime.start(&scope.spec("idle", &["sleep", "300"]).await).await.expect("start idle");
        let usage = runtime.usage(&idle.id).await.expect("usage");
        assert!(usage.cpu_millis < 100.0, "{usage:?}");
    })
    .await;
}
