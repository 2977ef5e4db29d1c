//! User-defined bridge networks and named volumes.
//!
//! Both are idempotent: ensuring what exists and removing what is gone
//! succeed. Networks are found by exact name through a listing, because
//! Docker resolves a network reference by id prefix too (a name that looks
//! like a prefix of another network's id would find that network), and
//! because Docker before API 1.44 allows two networks with one name.
//!
//! An environment's network is private to it: instances on another network
//! must not reach its instances, by name or by address (the edge proxy on the
//! host still does). On Podman that takes the bridge driver's `isolate`
//! option, which drops traffic between networks that carry it; Podman's
//! compat API does not show driver options back, so networks created with it
//! also carry [`ISOLATED_LABEL`]. A Podman network this driver finds without
//! the label predates isolation: `ensure_network` recreates it isolated when
//! no instance is attached, and otherwise keeps it (its instances keep
//! working) and logs a warning on each ensure until it is empty. Docker
//! isolates user-defined bridge networks from each other by default, with the
//! daemon's own iptables rules; see the crate docs.

use std::collections::HashMap;

use bollard::models::{Network, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptions, RemoveVolumeOptions};
use slipway_runtime::{Labels, Result};

use crate::DockerRuntime;
use crate::connect::EngineKind;
use crate::errors::{is_conflict, is_not_found, message};

/// The label on a network this driver created isolated from other networks.
pub const ISOLATED_LABEL: &str = "slipway.io/isolated";

/// Podman's bridge option that drops traffic between networks carrying it.
const PODMAN_ISOLATE: &str = "isolate";

impl DockerRuntime {
    /// The networks named exactly `name`, oldest first as the engine lists them.
    async fn networks_named(&self, name: &str) -> Result<Vec<Network>> {
        let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
        let options = ListNetworksOptions { filters: Some(filters) };
        let networks = self.docker.list_networks(Some(options)).await.map_err(|e| self.error(e))?;
        Ok(networks.into_iter().filter(|n| n.name.as_deref() == Some(name)).collect())
    }

    /// Ids of the networks named exactly `name`, oldest first as the engine lists them.
    async fn network_ids(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.networks_named(name).await?.into_iter().filter_map(|n| n.id).collect())
    }

    pub(crate) async fn ensure_network_impl(&self, name: &str, labels: &Labels) -> Result<()> {
        let _creating = self.network_creation.lock().await;
        let existing = self.networks_named(name).await?;
        if existing.is_empty() {
            return self.create_network(name, labels).await;
        }
        if self.kind == EngineKind::Podman && !existing.iter().any(is_isolated) {
            self.isolate_existing(name, &existing, labels).await?;
        }
        Ok(())
    }

    async fn create_network(&self, name: &str, labels: &Labels) -> Result<()> {
        let mut attempts = 0;
        loop {
            let request = network_request(self.kind, name, labels);
            match self.docker.create_network(request).await {
                Ok(_) => return Ok(()),
                Err(e) if is_conflict(&e) => return Ok(()),
                Err(e) if lost_an_interface(&message(&e)) && attempts < 3 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(self.error(e)),
            }
        }
    }

    /// Replaces Podman networks named `name` that predate isolation by an
    /// isolated one, when no instance is attached to them; otherwise leaves
    /// them as they are, so that running instances keep their network.
    async fn isolate_existing(&self, name: &str, existing: &[Network], labels: &Labels) -> Result<()> {
        let mut attached = 0;
        for id in existing.iter().filter_map(|n| n.id.as_deref()) {
            match self.docker.inspect_network(id, None::<InspectNetworkOptions>).await {
                Ok(network) => attached += network.containers.map_or(0, |c| c.len()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(self.error(e)),
            }
        }
        if attached > 0 {
            tracing::warn!(
                network = name,
                attached,
                "network predates isolation between environments and other networks may reach its instances; \
                 it is recreated isolated once no instance is attached"
            );
            return Ok(());
        }
        for id in existing.iter().filter_map(|n| n.id.as_deref()) {
            if let Err(e) = self.docker.remove_network(id).await
                && !is_not_found(&e)
            {
                // An instance attached since the inspection: keep the network.
                tracing::warn!(network = name, error = %e, "cannot recreate the network isolated; keeping it");
                return Ok(());
            }
        }
        tracing::info!(network = name, "recreating the network isolated from other environments");
        self.create_network(name, labels).await
    }

    pub(crate) async fn remove_network_impl(&self, name: &str) -> Result<()> {
        for id in self.network_ids(name).await? {
            match self.docker.remove_network(&id).await {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(())
    }

    pub(crate) async fn ensure_volume_impl(&self, name: &str, labels: &Labels) -> Result<()> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(self.error(e)),
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            ..Default::default()
        };
        match self.docker.create_volume(request).await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(crate) async fn remove_volume_impl(&self, name: &str) -> Result<()> {
        // Not `force`: on Podman it would also remove the containers using the volume.
        match self.docker.remove_volume(name, None::<RemoveVolumeOptions>).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }
}

/// The request creating a user-defined bridge network: isolated from other
/// networks on Podman (see the module docs), the engine's defaults on Docker.
fn network_request(kind: EngineKind, name: &str, labels: &Labels) -> NetworkCreateRequest {
    let mut labels: HashMap<String, String> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let options = match kind {
        EngineKind::Podman => {
            labels.insert(ISOLATED_LABEL.to_owned(), "true".to_owned());
            Some(HashMap::from([(PODMAN_ISOLATE.to_owned(), "true".to_owned())]))
        }
        EngineKind::Docker => None,
    };
    NetworkCreateRequest {
        name: name.to_owned(),
        driver: Some("bridge".to_owned()),
        labels: Some(labels),
        options,
        ..Default::default()
    }
}

/// Podman lists the host's interfaces to pick a free subnet and fails when
/// one disappears meanwhile (an instance removed at that moment): the
/// creation itself is fine and worth another try.
fn lost_an_interface(message: &str) -> bool {
    message.contains("no such network interface")
}

/// The network was created isolated by this driver.
fn is_isolated(network: &Network) -> bool {
    network.labels.as_ref().and_then(|l| l.get(ISOLATED_LABEL)).is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_networks_are_created_isolated_and_say_so() {
        let labels = Labels::from([("slipway.io/environment".to_owned(), "e1".to_owned())]);
        let request = network_request(EngineKind::Podman, "slipway-e1", &labels);
        assert_eq!(request.driver.as_deref(), Some("bridge"));
        assert_eq!(request.options.unwrap().get("isolate").map(String::as_str), Some("true"));
        let labels = request.labels.unwrap();
        assert_eq!(labels.get(ISOLATED_LABEL).map(String::as_str), Some("true"));
        assert_eq!(labels.get("slipway.io/environment").map(String::as_str), Some("e1"));
    }

    #[test]
    fn docker_networks_keep_the_engine_defaults() {
        let request = network_request(EngineKind::Docker, "slipway-e1", &Labels::new());
        assert!(request.options.is_none());
        assert!(!request.labels.unwrap().contains_key(ISOLATED_LABEL));
    }

    #[test]
    fn a_vanished_host_interface_is_worth_another_try() {
        assert!(lost_an_interface("route ip+net: no such network interface"));
        assert!(!lost_an_interface("network name st-a already used"));
    }

    #[test]
    fn only_the_label_marks_a_network_isolated() {
        let mut network = Network { name: Some("n".into()), ..Default::default() };
        assert!(!is_isolated(&network));
        network.labels = Some(HashMap::from([(ISOLATED_LABEL.to_owned(), "true".to_owned())]));
        assert!(is_isolated(&network));
    }
}
