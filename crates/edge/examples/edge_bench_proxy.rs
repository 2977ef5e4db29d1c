//! The edge proxy on its own, for `benches/edge.sh`: one route, a plain HTTP listener and an HTTPS
//! listener, with the configuration `slipway server` uses (`EdgeConfig::default()`, TLS from the local
//! CA) except that the per-request access log is off.
//!
//! ```text
//! cargo run --release -p slipway-edge --example edge_bench_proxy -- \
//!     --listen 127.0.0.1:8080 --https-listen 127.0.0.1:8443 --host bench.localhost \
//!     --upstream 127.0.0.1:9000 [--upstream ADDR ...] [--threads 2] [--ca-out ca.pem]
//! ```
//!
//! The HTTPS listener serves a certificate for `--host` issued by a new local CA (an ECDSA P-256 leaf,
//! sent with the CA certificate); clients that send no usable SNI get the `localhost` one. `--ca-out`
//! writes the CA certificate for clients that verify. Runs until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use slipway_edge::{CertificateStore, Edge, EdgeConfig, MemoryCertificateStore, TlsConfig};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

const USAGE: &str = "usage: edge_bench_proxy --listen ADDR --https-listen ADDR --host HOST --upstream ADDR \
                     [--upstream ADDR ...] [--threads N] [--ca-out FILE]";

struct Args {
    listen: SocketAddr,
    https_listen: SocketAddr,
    host: String,
    upstreams: Vec<SocketAddr>,
    threads: usize,
    ca_out: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let (mut listen, mut https_listen, mut host, mut upstreams, mut threads, mut ca_out) =
        (None, None, None, Vec::new(), 2, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let addr = || value.parse::<SocketAddr>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--listen" => listen = Some(addr()?),
            "--https-listen" => https_listen = Some(addr()?),
            "--upstream" => upstreams.push(addr()?),
            "--host" => host = Some(value),
            "--threads" => threads = value.parse().map_err(|e| format!("--threads {value}: {e}"))?,
            "--ca-out" => ca_out = Some(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if upstreams.is_empty() {
        return Err("at least one --upstream is needed".to_owned());
    }
    Ok(Args {
        listen: listen.ok_or("--listen is needed")?,
        https_listen: https_listen.ok_or("--https-listen is needed")?,
        host: host.ok_or("--host is needed")?,
        upstreams,
        threads,
        ca_out,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("edge_bench_proxy: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edge_bench_proxy: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let edge = Edge::new(EdgeConfig { access_log: false, ..EdgeConfig::default() });
    // The host is a dev domain of its own, so the local CA issues its certificate, as for `*.localhost`.
    let tls = TlsConfig { dev_domains: vec!["localhost".to_owned(), args.host.clone()], ..TlsConfig::default() };
    let store: Arc<dyn CertificateStore> = Arc::new(MemoryCertificateStore::default());
    edge.enable_tls(tls, store).await.map_err(|e| format!("cannot enable TLS: {e}"))?;
    edge.set_route(&args.host, args.upstreams.iter().copied()).map_err(|e| format!("cannot set the route: {e}"))?;
    if let Some(path) = &args.ca_out {
        let pem = edge.local_ca_pem().unwrap_or_default();
        std::fs::write(path, pem).map_err(|e| format!("cannot write {path}: {e}"))?;
    }

    let plain = TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let https = TcpListener::bind(args.https_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.https_listen))?;

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let plain_task = tokio::spawn({
        let (edge, stopped) = (edge.clone(), stopped.clone());
        async move { edge.serve(plain, until_stopped(stopped)).await }
    });
    let https_task = tokio::spawn({
        let edge = edge.clone();
        async move { edge.serve_tls(https, until_stopped(stopped)).await }
    });
    eprintln!(
        "edge_bench_proxy: http://{} and https://{} → {} {:?} ({} worker threads, access log off)",
        args.listen, args.https_listen, args.host, args.upstreams, args.threads
    );

    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    let _ = stop.send(true);
    let _ = plain_task.await;
    match https_task.await {
        Ok(result) => result.map_err(|e| format!("HTTPS listener: {e}")),
        Err(error) => Err(format!("HTTPS listener task: {error}")),
    }
}
