//! A typed async client for Slipway's REST API.
//!
//! This crate owns the HTTP side of talking to a Slipway server: building
//! URLs from the contract's paths, sending the API token, decoding the wire
//! types of `slipway-api-types`, and turning every failure into one
//! [`Error`] whose message tells a person what to do next (start the server,
//! fix the URL, log in again, or read the server's own explanation).
//!
//! It holds no state beyond the base URL and the token, and never reads
//! configuration files or the environment: the `slipway` binary decides
//! where those come from. A [`Client`] is cheap to clone and may be shared
//! between tasks; each method is one HTTP request.
//!
//! TLS uses rustls without a built-in crypto provider: the process must
//! install one (`rustls::crypto::ring::default_provider().install_default()`)
//! before the first [`Client::new`].

mod custom_domains;
mod database_servers;
mod deployments;
mod error;
pub mod sse;
mod variables;

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use slipway_api_types::{
    ClusterResponse, CreateEnvironmentMode, CreateEnvironmentRequest, EnvironmentResponse, OrganizationResponse,
    ProjectRequest, ProjectResponse, ResultsList, ServiceResponse,
};
use uuid::Uuid;

pub use deployments::{DeploymentEvent, DeploymentEvents, ServiceLogEvent, ServiceLogs, ServiceVersion};
pub use error::Error;
pub use slipway_model::ServiceType;

/// How long to wait for a connection before calling the server unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stream may stay silent before the server counts as gone. The
/// server sends a keep-alive comment every 15 seconds.
const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one Slipway server, authenticated with one API token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// For streams: no bound on the whole request, only on silence.
    streaming: reqwest::Client,
    /// The base URL without a trailing slash; paths are appended to it.
    base: String,
    token: String,
}

impl std::fmt::Debug for Client {
    // The token is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (`http://127.0.0.1:8080`), sending
    /// `token` as `Authorization: Token <token>`.
    pub fn new(base_url: &str, token: &str) -> Result<Client, Error> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let invalid = |reason: &str| Error::InvalidUrl { url: base_url.to_owned(), reason: reason.to_owned() };
        let parsed = reqwest::Url::parse(&base).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(parsed) = parsed else {
            return Err(if base.is_empty() {
                invalid("the URL is empty")
            } else if base.contains("://") {
                invalid("use an http:// or https:// URL")
            } else {
                invalid(&format!("use an http:// or https:// URL, such as http://{base}"))
            });
        };
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("the URL must not have a query or a fragment"));
        }
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("slipway-client/", env!("CARGO_PKG_VERSION")))
        };
        let built = |result: Result<reqwest::Client, reqwest::Error>| {
            result.map_err(|source| Error::Transport { url: base.clone(), source })
        };
        let http = built(builder().timeout(REQUEST_TIMEOUT).build())?;
        let streaming = built(builder().read_timeout(STREAM_IDLE_TIMEOUT).build())?;
        Ok(Client { http, streaming, base: base.clone(), token: token.trim().to_owned() })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    // Organizations and clusters.

    /// The organizations the token can see (`GET /organization`).
    pub async fn list_organizations(&self) -> Result<Vec<OrganizationResponse>, Error> {
        self.list("/organization").await
    }

    /// One organization (`GET /organization/{id}`).
    pub async fn get_organization(&self, id: Uuid) -> Result<OrganizationResponse, Error> {
        self.get(&format!("/organization/{id}")).await
    }

    /// The clusters of an organization (`GET /organization/{id}/cluster`).
    pub async fn list_clusters(&self, organization: Uuid) -> Result<Vec<ClusterResponse>, Error> {
        self.list(&format!("/organization/{organization}/cluster")).await
    }

    // Projects.

    /// The projects of an organization (`GET /organization/{id}/project`).
    pub async fn list_projects(&self, organization: Uuid) -> Result<Vec<ProjectResponse>, Error> {
        self.list(&format!("/organization/{organization}/project")).await
    }

    /// One project (`GET /project/{id}`).
    pub async fn get_project(&self, id: Uuid) -> Result<ProjectResponse, Error> {
        self.get(&format!("/project/{id}")).await
    }

    /// Creates a project (`POST /organization/{id}/project`).
    pub async fn create_project(
        &self,
        organization: Uuid,
        name: &str,
        description: Option<&str>,
    ) -> Result<ProjectResponse, Error> {
        let body = ProjectRequest { name: name.to_owned(), description: description.map(str::to_owned) };
        self.send(Method::POST, &format!("/organization/{organization}/project"), Some(&body)).await
    }

    /// Deletes a project and everything in it (`DELETE /project/{id}`).
    pub async fn delete_project(&self, id: Uuid) -> Result<(), Error> {
        self.delete(&format!("/project/{id}")).await
    }

    // Environments.

    /// The environments of a project (`GET /project/{id}/environment`).
    pub async fn list_environments(&self, project: Uuid) -> Result<Vec<EnvironmentResponse>, Error> {
        self.list(&format!("/project/{project}/environment")).await
    }

    /// One environment (`GET /environment/{id}`).
    pub async fn get_environment(&self, id: Uuid) -> Result<EnvironmentResponse, Error> {
        self.get(&format!("/environment/{id}")).await
    }

    /// Creates an environment (`POST /project/{id}/environment`). Without a
    /// mode the server picks DEVELOPMENT; without a cluster, the
    /// organization's default one.
    pub async fn create_environment(
        &self,
        project: Uuid,
        name: &str,
        mode: Option<CreateEnvironmentMode>,
        cluster: Option<Uuid>,
    ) -> Result<EnvironmentResponse, Error> {
        let body = CreateEnvironmentRequest { name: name.to_owned(), cluster, mode };
        self.send(Method::POST, &format!("/project/{project}/environment"), Some(&body)).await
    }

    /// Deletes an environment and its services (`DELETE /environment/{id}`).
    pub async fn delete_environment(&self, id: Uuid) -> Result<(), Error> {
        self.delete(&format!("/environment/{id}")).await
    }

    // Services.

    /// The services of an environment, of every kind (`GET /environment/{id}/services`).
    pub async fn list_services(&self, environment: Uuid) -> Result<Vec<ServiceResponse>, Error> {
        self.list(&format!("/environment/{environment}/services")).await
    }

    // Transport.

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(Method::GET, path, None::<&()>).await
    }

    async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, Error> {
        Ok(self.get::<ResultsList<T>>(path).await?.results)
    }

    async fn delete(&self, path: &str) -> Result<(), Error> {
        self.call(Method::DELETE, path, None::<&()>).await.map(drop)
    }

    /// Sends a request and decodes the success body as `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        let (url, bytes) = self.call(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode { url, source })
    }

    /// Opens a stream of server-sent events.
    async fn stream(&self, path: &str) -> Result<EventStream, Error> {
        let url = format!("{}{path}", self.base);
        let request = self
            .streaming
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, format!("Token {}", self.token))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let response = request.send().await.map_err(|e| Error::transport(&self.base, &url, e))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(|e| Error::transport(&self.base, &url, e))?;
            return Err(Error::from_response(status, &bytes));
        }
        Ok(EventStream { response, parser: sse::SseParser::new(), base: self.base.clone(), url })
    }

    /// Sends a request; returns the URL called and the body of a success response.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<(String, Vec<u8>), Error> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .header(reqwest::header::AUTHORIZATION, format!("Token {}", self.token))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e| Error::transport(&self.base, &url, e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?.to_vec();
        if !status.is_success() {
            return Err(Error::from_response(status, &bytes));
        }
        Ok((url, bytes))
    }
}

/// A response body read as server-sent events, as they arrive.
#[derive(Debug)]
pub struct EventStream {
    response: reqwest::Response,
    parser: sse::SseParser,
    base: String,
    url: String,
}

impl EventStream {
    /// The next event; `None` once the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<sse::SseEvent>, Error> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Ok(Some(event));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.parser.feed(&bytes),
                Ok(None) => return Ok(None),
                Err(e) => return Err(Error::transport(&self.base, &self.url, e)),
            }
        }
    }

    /// An event's data decoded from JSON.
    pub fn decode<T: DeserializeOwned>(&self, event: &sse::SseEvent) -> Result<T, Error> {
        serde_json::from_str(&event.data).map_err(|source| Error::Decode { url: self.url.clone(), source })
    }
}

/// What every service has, whatever its kind: for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSummary {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its kind's wire name (`APPLICATION`, `CONTAINER`, ...).
    pub service_type: &'static str,
    /// Its kind.
    pub kind: ServiceType,
}

impl From<&ServiceResponse> for ServiceSummary {
    fn from(service: &ServiceResponse) -> Self {
        macro_rules! summary {
            ($s:expr) => {
                ServiceSummary {
                    id: $s.id,
                    name: $s.name.clone(),
                    service_type: $s.service_type.as_str(),
                    kind: $s.service_type,
                }
            };
        }
        match service {
            ServiceResponse::Application(s) => summary!(s),
            ServiceResponse::Container(s) => summary!(s),
            ServiceResponse::Database(s) => summary!(s),
            ServiceResponse::Job(s) => summary!(s),
            ServiceResponse::Helm(s) => summary!(s),
            ServiceResponse::Terraform(s) => summary!(s),
        }
    }
}
