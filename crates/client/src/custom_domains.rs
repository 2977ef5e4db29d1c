//! Custom domains of applications, containers and helm services.

use reqwest::Method;
use slipway_api_types::{CheckedCustomDomainResponse, CheckedCustomDomainsResponse, CustomDomainResponse};
use slipway_model::ServiceType;
use slipway_model::custom_domain::CustomDomainSpec;
use uuid::Uuid;

use crate::{Client, Error};

impl Client {
    /// The custom domains of a service (`GET /{kind}/{id}/customDomain`).
    pub async fn list_custom_domains(
        &self,
        kind: ServiceType,
        service: Uuid,
    ) -> Result<Vec<CustomDomainResponse>, Error> {
        self.list(&format!("/{}/{service}/customDomain", kind.path())).await
    }

    /// Adds a custom domain to a service (`POST /{kind}/{id}/customDomain`).
    pub async fn create_custom_domain(
        &self,
        kind: ServiceType,
        service: Uuid,
        request: &CustomDomainSpec,
    ) -> Result<CustomDomainResponse, Error> {
        self.send(Method::POST, &format!("/{}/{service}/customDomain", kind.path()), Some(request)).await
    }

    /// Removes a custom domain (`DELETE /{kind}/{id}/customDomain/{domainId}`).
    pub async fn delete_custom_domain(&self, kind: ServiceType, service: Uuid, id: Uuid) -> Result<(), Error> {
        self.delete(&format!("/{}/{service}/customDomain/{id}", kind.path())).await
    }

    /// What the DNS says of each custom domain of a service
    /// (`GET /{kind}/{id}/checkCustomDomain`).
    pub async fn check_custom_domains(
        &self,
        kind: ServiceType,
        service: Uuid,
    ) -> Result<Vec<CheckedCustomDomainResponse>, Error> {
        let path = format!("/{}/{service}/checkCustomDomain", kind.path());
        Ok(self.get::<CheckedCustomDomainsResponse>(&path).await?.results)
    }

    /// The kind of service `id`, among those that take custom domains
    /// (application, container, helm); not found when it is none of them.
    pub async fn custom_domain_service_kind(&self, id: Uuid) -> Result<ServiceType, Error> {
        let mut last = None;
        for kind in [ServiceType::Application, ServiceType::Container, ServiceType::Helm] {
            match self.get::<serde_json::Value>(&format!("/{}/{id}", kind.path())).await {
                Ok(_) => return Ok(kind),
                Err(e) if e.is_not_found() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::Api { status: 404, code: "not_found".into(), message: "service not found".into() }))
    }
}
