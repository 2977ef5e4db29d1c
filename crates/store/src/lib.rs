//! Slipway's store: every resource, token and (later) deployment, in SQLite
//! or PostgreSQL.
//!
//! One [`Store`] type serves both backends. SQLite is the embedded default (a
//! file under the data directory, WAL mode); PostgreSQL is for users who run
//! several Slipway processes. Both apply their own migrations at start
//! (`migrations/<dialect>/`), and the same SQL text runs on both: only
//! portable SQL with `$n` parameters is used, and the one test suite in
//! `tests/` runs against each backend.
//!
//! Resources share one table shape (see [`record`]): key columns that carry
//! the constraints (unique names per parent, cascading deletes, "in use"
//! references), and the resource itself as a JSON document. Every lookup is
//! scoped by organization, so a caller can never read across tenants by
//! guessing an id.

mod backend;
pub mod record;

use std::collections::HashMap;
use std::path::PathBuf;

use slipway_model::deployment::{Deployment, DeploymentLog, DeploymentStatus, ServiceState};
use slipway_model::{ApiToken, Cluster, ContainerRegistry, Organization, Timestamp, Uuid};

pub use backend::CertificateRecord;
pub use record::{Key, Record, Table};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such resource in this organization.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// The name is already taken under the same parent.
    #[error("a {what} named `{name}` already exists")]
    NameTaken {
        /// What kind of resource.
        what: &'static str,
        /// The name asked for.
        name: String,
    },
    /// Another resource still refers to this one.
    #[error("{what} is still in use")]
    InUse {
        /// What could not be deleted.
        what: &'static str,
    },
    /// A stored document no longer parses (a bug or a manual edit).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed at start.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A rewrite of stored values refused one of them; nothing was changed.
    #[error("cannot rewrite {0}")]
    Rewrite(String),
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// A SQLite database file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:pass@host/db`).
    Postgres(String),
}

/// A new organization together with what it starts with, written in one
/// transaction so that a crash never leaves half a tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The organization.
    pub organization: Organization,
    /// Its clusters.
    pub clusters: Vec<Cluster>,
    /// Its container registries.
    pub registries: Vec<ContainerRegistry>,
    /// Its API tokens, each with the SHA-256 digest of its secret.
    pub tokens: Vec<(ApiToken, String)>,
}

/// Narrows a listing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Only children of this parent (project, environment).
    pub parent: Option<Uuid>,
    /// Only this sub-kind (a service type's wire name).
    pub kind: Option<&'a str>,
}

impl Filter<'_> {
    /// Children of `parent`.
    pub fn parent(parent: Uuid) -> Self {
        Filter { parent: Some(parent), kind: None }
    }
}

/// The store. Cheap to clone: it holds a connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    backend: backend::Backend,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn open(config: &StoreConfig) -> Result<Store> {
        let backend = backend::Backend::open(config).await?;
        Ok(Store { backend })
    }

    /// `sqlite` or `postgres`.
    pub fn dialect(&self) -> &'static str {
        self.backend.dialect()
    }

    /// Writes a new organization and everything it starts with, atomically.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        self.backend.create_tenant(tenant).await
    }

    /// Every organization on this server, oldest first.
    pub async fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.backend.list_organizations().await
    }

    /// One organization.
    pub async fn get_organization(&self, id: Uuid) -> Result<Organization> {
        self.backend.get_organization(id).await
    }

    /// Replaces an organization's document.
    pub async fn update_organization(&self, org: &Organization) -> Result<()> {
        self.backend.update_organization(org).await
    }

    /// Adds a resource. Fails with [`StoreError::NameTaken`] when its name is
    /// used under the same parent.
    pub async fn insert<R: Record>(&self, record: &R) -> Result<()> {
        self.backend.insert(R::TABLE, R::WHAT, &record.key(), &record.to_body()).await
    }

    /// Replaces a resource (its name may change).
    pub async fn update<R: Record>(&self, record: &R) -> Result<()> {
        self.backend.update(R::TABLE, R::WHAT, &record.key(), &record.to_body()).await
    }

    /// Replaces a resource, or adds it when there is none with its id yet.
    pub async fn upsert<R: Record>(&self, record: &R) -> Result<()> {
        match self.update(record).await {
            Err(StoreError::NotFound { .. }) => self.insert(record).await,
            other => other,
        }
    }

    /// One resource of an organization.
    pub async fn get<R: Record>(&self, organization_id: Uuid, id: Uuid) -> Result<R> {
        R::from_body(&self.backend.get(R::TABLE, R::WHAT, organization_id, id).await?)
    }

    /// Resources of an organization, oldest first.
    pub async fn list<R: Record>(&self, organization_id: Uuid, filter: Filter<'_>) -> Result<Vec<R>> {
        let bodies = self.backend.list(R::TABLE, organization_id, filter).await?;
        bodies.iter().map(|b| R::from_body(b)).collect()
    }

    /// Deletes a resource and, by cascade, what it holds. Fails with
    /// [`StoreError::InUse`] when another resource still refers to it.
    pub async fn delete<R: Record>(&self, organization_id: Uuid, id: Uuid) -> Result<()> {
        self.backend.delete(R::TABLE, R::WHAT, organization_id, id).await
    }

    /// Deletes the children of `parent` of kind `R` but the `keep` newest (a job's oldest runs);
    /// returns how many went.
    pub async fn prune<R: Record>(&self, organization_id: Uuid, parent: Uuid, keep: u32) -> Result<u64> {
        self.backend.prune(R::TABLE, organization_id, parent, keep).await
    }

    /// Deletes the resources of kind `R` that use `id` (the aliases and
    /// overrides of a variable); returns how many.
    pub async fn delete_using<R: Record>(&self, organization_id: Uuid, id: Uuid) -> Result<u64> {
        self.backend.delete_using(R::TABLE, organization_id, id).await
    }

    /// How many resources of kind `R` each parent has (environments per
    /// project, services per environment).
    pub async fn count_by_parent<R: Record>(&self, organization_id: Uuid) -> Result<HashMap<Uuid, u64>> {
        self.backend.count_by(R::TABLE, "parent_id", organization_id).await
    }

    /// How many resources of kind `R` use each other resource (environments
    /// per cluster, services per registry).
    pub async fn count_by_use<R: Record>(&self, organization_id: Uuid) -> Result<HashMap<Uuid, u64>> {
        self.backend.count_by(R::TABLE, "uses_id", organization_id).await
    }

    /// Stores a new API token under the digest of its secret.
    pub async fn insert_token(&self, token: &ApiToken, token_hash: &str) -> Result<()> {
        self.backend.insert_token(token, token_hash).await
    }

    /// The tokens of an organization, oldest first.
    pub async fn list_tokens(&self, organization_id: Uuid) -> Result<Vec<ApiToken>> {
        self.backend.list_tokens(organization_id).await
    }

    /// The token whose secret has this digest, if any.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.backend.token_by_hash(token_hash).await
    }

    /// Revokes a token.
    pub async fn delete_token(&self, organization_id: Uuid, id: Uuid) -> Result<()> {
        self.backend.delete_token(organization_id, id).await
    }

    /// Records that a token was used.
    pub async fn touch_token(&self, id: Uuid, at: Timestamp) -> Result<()> {
        self.backend.touch_token(id, at).await
    }

    /// Rewrites every sealed value held anywhere in the store (every JSON
    /// string starting with `prefix`, `sw1:` for Slipway's secret box), in
    /// one transaction: `rewrite` returns the new text, or `None` to leave a
    /// string as it is; if it fails on one, nothing is changed and the error
    /// names the row. Returns how many strings changed. For a key rotation,
    /// with no server writing meanwhile.
    pub async fn rewrite_sealed<E: std::fmt::Display>(
        &self,
        prefix: &str,
        rewrite: impl FnMut(&str) -> Result<Option<String>, E>,
    ) -> Result<u64> {
        self.backend.rewrite_sealed(prefix, rewrite).await
    }

    /// The tables holding JSON documents that [`Store::rewrite_sealed`]
    /// does not walk (for the test that keeps its list complete).
    #[doc(hidden)]
    pub async fn tables_not_rewritten(&self) -> Result<Vec<String>> {
        self.backend.tables_not_rewritten().await
    }
}

/// The edge's TLS certificates, by name (a host name, or a reserved `@...` name).
impl Store {
    /// The certificate stored under `name`, if any.
    pub async fn certificate(&self, name: &str) -> Result<Option<CertificateRecord>> {
        self.backend.certificate(name).await
    }

    /// Stores (or replaces) the certificate under `name`; seal the key first.
    pub async fn save_certificate(&self, name: &str, record: &CertificateRecord) -> Result<()> {
        self.backend.save_certificate(name, record).await
    }
}

/// The deployment queue, logs and service states.
impl Store {
    /// Queues a deployment.
    pub async fn insert_deployment(&self, deployment: &Deployment) -> Result<()> {
        self.backend.insert_deployment(deployment).await
    }

    /// One deployment of an organization.
    pub async fn get_deployment(&self, organization_id: Uuid, id: Uuid) -> Result<Deployment> {
        self.backend.get_deployment(organization_id, id).await
    }

    /// An environment's deployments, newest first.
    pub async fn list_deployments(
        &self,
        organization_id: Uuid,
        environment_id: Uuid,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Deployment>> {
        self.backend.list_deployments(organization_id, environment_id, limit, offset).await
    }

    /// Deployments queued or running, oldest first; of one environment, or all.
    pub async fn pending_deployments(&self, environment_id: Option<Uuid>) -> Result<Vec<Deployment>> {
        self.backend.pending_deployments(environment_id).await
    }

    /// Claims the next deployment for `worker` until `lease_until`: the oldest
    /// queued one of an environment with none running, or a running one whose
    /// lease expired (its worker died; `started_at` is then already set).
    pub async fn claim_deployment(&self, worker: &str, lease_until: Timestamp) -> Result<Option<Deployment>> {
        self.backend.claim_deployment(worker, lease_until).await
    }

    /// Extends a lease; `false` when `worker` no longer holds it.
    pub async fn renew_lease(&self, id: Uuid, worker: &str, lease_until: Timestamp) -> Result<bool> {
        self.backend.renew_lease(id, worker, lease_until).await
    }

    /// Writes a deployment's progress (and, when final, releases the lease);
    /// `false` when `worker` no longer holds the lease.
    pub async fn save_deployment(&self, deployment: &Deployment, worker: &str) -> Result<bool> {
        self.backend.save_deployment(deployment, worker).await
    }

    /// Cancels a queued deployment, or asks the worker of a running one to
    /// stop; returns the deployment's status after the request.
    pub async fn cancel_deployment(&self, organization_id: Uuid, id: Uuid) -> Result<DeploymentStatus> {
        self.backend.cancel_deployment(organization_id, id).await
    }

    /// Whether someone asked to cancel this deployment.
    pub async fn cancel_requested(&self, id: Uuid) -> Result<bool> {
        self.backend.cancel_requested(id).await
    }

    /// Stores a deployment log line; returns its position.
    pub async fn append_log(&self, log: &DeploymentLog) -> Result<i64> {
        self.backend.append_log(log).await
    }

    /// A deployment's log lines after position `after`.
    pub async fn deployment_logs(&self, deployment_id: Uuid, after: i64, limit: u32) -> Result<Vec<DeploymentLog>> {
        self.backend.deployment_logs(deployment_id, after, limit).await
    }

    /// The last log lines of an environment's deployments.
    pub async fn environment_logs(&self, environment_id: Uuid, limit: u32) -> Result<Vec<DeploymentLog>> {
        self.backend.environment_logs(environment_id, limit).await
    }

    /// Writes what runs for a service.
    pub async fn put_service_state(&self, state: &ServiceState) -> Result<()> {
        self.backend.put_service_state(state).await
    }

    /// What runs for the services of an organization (of one environment, or all).
    pub async fn service_states(
        &self,
        organization_id: Uuid,
        environment_id: Option<Uuid>,
    ) -> Result<Vec<ServiceState>> {
        self.backend.service_states(organization_id, environment_id).await
    }

    /// What runs for every service on this server.
    pub async fn all_service_states(&self) -> Result<Vec<ServiceState>> {
        self.backend.all_service_states().await
    }
}
