//! User-defined bridge networks and named volumes.
//!
//! Both are idempotent: ensuring what exists and removing what is gone
//! succeed. Networks are found by exact name through a listing, because
//! Docker resolves a network reference by id prefix too (a name that looks
//! like a prefix of another network's id would find that network), and
//! because Docker before API 1.44 allows two networks with one name.

use std::collections::HashMap;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{ListNetworksOptions, RemoveVolumeOptions};
use slipway_runtime::{Labels, Result};

use crate::DockerRuntime;
use crate::errors::{is_conflict, is_not_found};

impl DockerRuntime {
    /// Ids of the networks named exactly `name`, oldest first as the engine lists them.
    async fn network_ids(&self, name: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
        let options = ListNetworksOptions { filters: Some(filters) };
        let networks = self.docker.list_networks(Some(options)).await.map_err(|e| self.error(e))?;
        Ok(networks.into_iter().filter(|n| n.name.as_deref() == Some(name)).filter_map(|n| n.id).collect())
    }

    pub(crate) async fn ensure_network_impl(&self, name: &str, labels: &Labels) -> Result<()> {
        let _creating = self.network_creation.lock().await;
        if !self.network_ids(name).await?.is_empty() {
            return Ok(());
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
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
