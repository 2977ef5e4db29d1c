//! The adapters that connect the engine to the concrete runtime driver and
//! edge proxy. This is the only place that names both sides.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use slipway_engine::{Runtimes, Traffic};
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

/// The edge proxy, as the engine drives it.
#[derive(Debug, Clone)]
pub struct EdgeTraffic(pub slipway_edge::Edge);

impl Traffic for EdgeTraffic {
    fn route(&self, host: &str, backends: Vec<SocketAddr>) {
        if let Err(err) = self.0.set_route(host, backends) {
            tracing::error!(%err, host, "cannot route a host");
        }
    }

    fn unroute(&self, host: &str) {
        if let Err(err) = self.0.remove_route(host) {
            tracing::error!(%err, host, "cannot remove a route");
        }
    }

    fn drain(&self, backends: Vec<SocketAddr>, timeout: Duration) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        let drain = self.0.drain(backends, timeout);
        Box::pin(async move { drain.await.in_flight() })
    }
}
