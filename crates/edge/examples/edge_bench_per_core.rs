//! An experiment for `benches/edge.sh`'s findings, not how `slipway server` runs the edge: N independent
//! edges, each on its own single-threaded tokio runtime and thread with its own upstream pool, sharing
//! the listening ports through `SO_REUSEPORT` (the kernel spreads connections over them), the way nginx
//! runs N workers. Everything else is `edge_bench_proxy`'s setup: the same route, `EdgeConfig::default()`
//! without the access log, TLS from one local CA.
//!
//! ```text
//! edge_bench_per_core --listen 127.0.0.1:8080 --https-listen 127.0.0.1:8443 --host bench.localhost \
//!     --upstream 127.0.0.1:9000 [--threads 2]
//! ```
//!
//! Runs until killed.

use std::net::SocketAddr;
use std::sync::Arc;

use slipway_edge::{CertificateStore, Edge, EdgeConfig, MemoryCertificateStore, TlsConfig, export_local_ca};
use tokio::net::{TcpListener, TcpSocket};

fn listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn main() {
    let (mut listen, mut https_listen, mut host, mut upstreams, mut threads) = (None, None, None, Vec::new(), 2);
    let mut args = std::env::args().skip(1);
    while let (Some(flag), Some(value)) = (args.next(), args.next()) {
        match flag.as_str() {
            "--listen" => listen = Some(value.parse::<SocketAddr>().expect("--listen ADDR")),
            "--https-listen" => https_listen = Some(value.parse::<SocketAddr>().expect("--https-listen ADDR")),
            "--upstream" => upstreams.push(value.parse::<SocketAddr>().expect("--upstream ADDR")),
            "--host" => host = Some(value),
            "--threads" => threads = value.parse().expect("--threads N"),
            _ => panic!("unknown argument {flag}"),
        }
    }
    let (listen, https_listen, host) = (
        listen.expect("--listen is needed"),
        https_listen.expect("--https-listen is needed"),
        host.expect("--host is needed"),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One local CA for every edge: made once here, then loaded by each.
    let store: Arc<dyn CertificateStore> = Arc::new(MemoryCertificateStore::default());
    let setup = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    setup.block_on(export_local_ca(store.as_ref())).expect("a local CA");

    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (host, upstreams, store) = (host.clone(), upstreams.clone(), Arc::clone(&store));
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(async move {
                    let edge = Edge::new(EdgeConfig { access_log: false, ..EdgeConfig::default() });
                    let tls =
                        TlsConfig { dev_domains: vec!["localhost".to_owned(), host.clone()], ..TlsConfig::default() };
                    edge.enable_tls(tls, store).await.expect("TLS");
                    edge.set_route(&host, upstreams).expect("a route");
                    let plain = listener(listen).expect("the plain listener");
                    let https = listener(https_listen).expect("the HTTPS listener");
                    let tls_edge = edge.clone();
                    let ((), served) = tokio::join!(
                        edge.serve(plain, std::future::pending()),
                        tls_edge.serve_tls(https, std::future::pending()),
                    );
                    served.expect("HTTPS");
                });
            })
        })
        .collect();
    eprintln!("edge_bench_per_core: {threads} edges on http://{listen} and https://{https_listen}");
    for worker in workers {
        let _ = worker.join();
    }
}
