//! Database servers of a cluster (MANAGED databases).

use reqwest::Method;
use slipway_api_types::{DatabaseServerRequest, DatabaseServerResponse};
use uuid::Uuid;

use crate::{Client, Error};

impl Client {
    /// The database servers of a cluster.
    pub async fn list_database_servers(
        &self,
        organization: Uuid,
        cluster: Uuid,
    ) -> Result<Vec<DatabaseServerResponse>, Error> {
        self.list(&format!("/organization/{organization}/cluster/{cluster}/databaseServer")).await
    }

    /// Registers a database server with a cluster.
    pub async fn create_database_server(
        &self,
        organization: Uuid,
        cluster: Uuid,
        request: &DatabaseServerRequest,
    ) -> Result<DatabaseServerResponse, Error> {
        let path = format!("/organization/{organization}/cluster/{cluster}/databaseServer");
        self.send(Method::POST, &path, Some(request)).await
    }

    /// Unregisters a database server.
    pub async fn delete_database_server(&self, organization: Uuid, cluster: Uuid, id: Uuid) -> Result<(), Error> {
        self.delete(&format!("/organization/{organization}/cluster/{cluster}/databaseServer/{id}")).await
    }
}
