//! Slipway's own health probes (HTTP, TCP, exec), run from the engine
//! against an instance's address on its network. The engine's HEALTHCHECK is
//! never used: Podman does not run it without systemd, and the platform must
//! see the same thing on every runtime.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use slipway_model::service::common::Probe;
use slipway_runtime::{Instance, InstanceState, Runtime};

/// Why a probe failed, in words for the deployment log.
pub(crate) type ProbeFailure = String;

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

/// Runs one probe once.
pub(crate) async fn check(runtime: &dyn Runtime, instance: &Instance, probe: &Probe) -> Result<(), ProbeFailure> {
    let timeout = Duration::from_secs(u64::from(probe.timeout_seconds.max(1)));
    let ip = instance.ip.ok_or_else(|| "the instance has no address on its network".to_owned())?;
    let kind = &probe.kind;
    if let Some(http) = &kind.http {
        let scheme = if http.scheme.eq_ignore_ascii_case("https") { "https" } else { "http" };
        let url = format!("{scheme}://{}{}", SocketAddr::new(ip, port(http.port)?), http.path);
        let response = http_client()
            .get(&url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", short_error(&e)))?;
        let status = response.status();
        return if status.is_success() || status.is_redirection() {
            Ok(())
        } else {
            Err(format!("GET {url} answered {status}"))
        };
    }
    if let Some(tcp) = &kind.tcp {
        let host = tcp.host.as_deref().and_then(|h| h.parse::<IpAddr>().ok()).unwrap_or(ip);
        return tcp_check(SocketAddr::new(host, port(tcp.port)?), timeout).await;
    }
    if let Some(grpc) = &kind.grpc {
        // A gRPC health call needs the service's protos; a connect is the
        // part every gRPC server answers.
        return tcp_check(SocketAddr::new(ip, port(grpc.port)?), timeout).await;
    }
    if let Some(exec) = &kind.exec {
        let out = runtime.exec(&instance.id, &exec.command, timeout).await.map_err(|e| format!("exec: {e}"))?;
        return if out.exit_code == 0 {
            Ok(())
        } else {
            let tail: String =
                out.output.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
            Err(format!("`{}` exited with {}: {tail}", exec.command.join(" "), out.exit_code))
        };
    }
    Err("the probe has no type".into())
}

fn port(p: u32) -> Result<u16, ProbeFailure> {
    u16::try_from(p).map_err(|_| format!("port {p} is out of range"))
}

/// Connects to `addr`.
pub(crate) async fn tcp_check(addr: SocketAddr, timeout: Duration) -> Result<(), ProbeFailure> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("TCP {addr}: {e}")),
        Err(_) => Err(format!("TCP {addr}: no answer within {timeout:?}")),
    }
}

fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        e.to_string()
    }
}

/// How readiness is decided for an instance.
#[derive(Debug, Clone)]
pub(crate) enum Readiness {
    /// The service's readiness probe.
    Probe(Probe),
    /// No probe: the service's main port accepts connections.
    Port(u16),
    /// No probe and no port: the instance keeps running for a moment.
    Running,
}

/// Waits until `instance` is ready: after the probe's initial delay,
/// `success_threshold` passes in a row. Gives up after `failure_threshold`
/// failures in a row, when the instance exits, or at `deadline`. Each failure
/// is reported to `on_failure`.
pub(crate) async fn wait_ready(
    runtime: &dyn Runtime,
    instance: &Instance,
    readiness: &Readiness,
    deadline: tokio::time::Instant,
    canceled: &std::sync::atomic::AtomicBool,
    on_failure: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ProbeFailure> {
    let (probe, delay, period, successes, failures) = match readiness {
        Readiness::Probe(p) => (
            Some(p.clone()),
            Duration::from_secs(u64::from(p.initial_delay_seconds)),
            Duration::from_secs(u64::from(p.period_seconds.max(1))),
            p.success_threshold.max(1),
            p.failure_threshold.max(1),
        ),
        Readiness::Port(_) => (None, Duration::ZERO, Duration::from_millis(200), 1, u32::MAX),
        Readiness::Running => (None, Duration::from_millis(1000), Duration::from_millis(200), 1, u32::MAX),
    };
    let is_canceled = || canceled.load(std::sync::atomic::Ordering::Relaxed);
    let until = tokio::time::Instant::now() + delay;
    while tokio::time::Instant::now() < until {
        if is_canceled() {
            return Err("canceled".into());
        }
        tokio::time::sleep(Duration::from_millis(200).min(until - tokio::time::Instant::now())).await;
    }
    let (mut ok, mut bad) = (0u32, 0u32);
    loop {
        if is_canceled() {
            return Err("canceled".into());
        }
        let current = runtime.inspect(&instance.id).await.map_err(|e| e.to_string())?;
        let current = match current {
            Some(i) if i.state == InstanceState::Running => i,
            Some(i) => return Err(format!("the instance stopped ({:?}) before it was ready", i.state)),
            None => return Err("the instance disappeared before it was ready".into()),
        };
        let result = match (readiness, &probe) {
            (_, Some(p)) => check(runtime, &current, p).await,
            (Readiness::Port(port), None) => match current.ip {
                Some(ip) => tcp_check(SocketAddr::new(ip, *port), Duration::from_secs(1)).await,
                None => Err("the instance has no address on its network".into()),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => {
                ok += 1;
                bad = 0;
                if ok >= successes {
                    return Ok(());
                }
            }
            Err(why) => {
                ok = 0;
                bad += 1;
                if probe.is_some() {
                    on_failure(&format!("readiness probe failed ({bad}/{failures}): {why}"));
                }
                if bad >= failures {
                    return Err(format!("readiness probe failed {bad} times in a row: {why}"));
                }
            }
        }
        if tokio::time::Instant::now() + period > deadline {
            return Err(format!(
                "not ready within the deadline (last: {})",
                if bad > 0 { "failing" } else { "starting" }
            ));
        }
        tokio::time::sleep(period).await;
    }
}
