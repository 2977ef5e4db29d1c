//! The adapters that connect the engine to the concrete runtime driver and
//! edge proxy. This is the only place that names both sides.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use slipway_engine::{Entry, Runtimes, Traffic};
use slipway_model::Cluster;
use slipway_runtime::{Runtime, RuntimeError};
use slipway_runtime_docker::DockerRuntime;
use tokio::sync::Mutex;

/// Docker Engine API endpoints (Docker or Podman), one connection per endpoint.
#[derive(Debug, Default)]
pub struct DockerRuntimes {
    connected: Mutex<HashMap<Option<String>, Arc<dyn Runtime>>>,
}

#[async_trait::async_trait]
impl Runtimes for DockerRuntimes {
    async fn runtime(&self, cluster: &Cluster) -> Result<Arc<dyn Runtime>, RuntimeError> {
        let endpoint = cluster.spec.engine_endpoint.clone();
        let mut connected = self.connected.lock().await;
        if let Some(runtime) = connected.get(&endpoint) {
            return Ok(runtime.clone());
        }
        let runtime: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect(endpoint.as_deref()).await?);
        connected.insert(endpoint, runtime.clone());
        Ok(runtime)
    }
}

/// The edge proxy, as the engine drives it; TCP entries listen on `tcp_ip`
/// (the address the edge's HTTP listener is on).
#[derive(Debug, Clone)]
pub struct EdgeTraffic(pub slipway_edge::Edge, pub IpAddr);

impl Traffic for EdgeTraffic {
    fn route(&self, entry: &Entry, backends: Vec<SocketAddr>) {
        let done = match entry {
            Entry::Http { host, path, rewrite, certificate } => self
                .0
                .set_certificate_wanted(host, *certificate)
                .and_then(|()| self.0.set_only_path_route(host, path, rewrite.as_deref(), backends)),
            Entry::Tcp { port } => self.0.set_tcp_route(SocketAddr::new(self.1, *port), backends).map(|_| ()),
        };
        if let Err(err) = done {
            tracing::error!(%err, %entry, "cannot route an entry");
        }
    }

    fn unroute(&self, entry: &Entry) {
        match entry {
            Entry::Http { host, .. } => {
                let removed = self.0.remove_route(host).and_then(|_| self.0.set_certificate_wanted(host, true));
                if let Err(err) = removed {
                    tracing::error!(%err, %entry, "cannot remove a route");
                }
            }
            Entry::Tcp { port } => {
                self.0.remove_tcp_route(*port);
            }
        }
    }

    fn drain(&self, backends: Vec<SocketAddr>, timeout: Duration) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        let drain = self.0.drain(backends, timeout);
        Box::pin(async move { drain.await.in_flight() })
    }

    fn https_port(&self, host: &str) -> Option<u16> {
        self.0.https_port_for(host)
    }
}
