//! How each resource maps onto its table: the key columns, and the document.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use slipway_model::custom_domain::CustomDomain;
use slipway_model::deployment::{DeploymentStage, Release};
use slipway_model::job::{CronState, JobOutput, JobRun, JobRunStatus};
use slipway_model::service::database::{DatabaseCredentials, DatabaseServer};
use slipway_model::terraform::{TerraformLock, TerraformState};
use slipway_model::variable::{Variable, VariableKind};
use slipway_model::{
    Cluster, ContainerRegistry, Environment, Project, Service, ServiceSpec, ServiceType, Timestamp, Uuid,
};

use crate::StoreError;

/// The tables that hold organization resources. They share one shape: key
/// columns for lookups and constraints, and the resource as a JSON `body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Clusters of an organization.
    Clusters,
    /// Container registries of an organization.
    Registries,
    /// Projects of an organization.
    Projects,
    /// Environments of a project.
    Environments,
    /// Services of an environment.
    Services,
    /// Releases of a service.
    Releases,
    /// Deployment stages of an environment.
    Stages,
    /// Variables of a project, an environment or a service.
    Variables,
    /// Generated credentials of a database.
    Credentials,
    /// Database servers of a cluster (MANAGED databases).
    DatabaseServers,
    /// Custom domains of a service; a domain is unique across the installation.
    CustomDomains,
    /// Runs of a job, its history.
    JobRuns,
    /// The output of a job's last run that wrote one.
    JobOutputs,
    /// Where a cron job's schedule stands.
    CronStates,
    /// The Terraform state of a service.
    TerraformStates,
    /// The run holding a Terraform service's state.
    TerraformLocks,
}

impl Table {
    /// Whether the parent of this table's rows is their organization.
    pub(crate) fn parent_is_organization(self) -> bool {
        matches!(self, Table::Clusters | Table::Registries | Table::Projects)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Clusters => "clusters",
            Table::Registries => "container_registries",
            Table::Projects => "projects",
            Table::Environments => "environments",
            Table::Services => "services",
            Table::Releases => "releases",
            Table::Stages => "deployment_stages",
            Table::Variables => "variables",
            Table::Credentials => "database_credentials",
            Table::DatabaseServers => "database_servers",
            Table::CustomDomains => "custom_domains",
            Table::JobRuns => "job_runs",
            Table::JobOutputs => "job_outputs",
            Table::CronStates => "cron_states",
            Table::TerraformStates => "terraform_states",
            Table::TerraformLocks => "terraform_locks",
        }
    }
}

/// The key columns of a stored resource.
#[derive(Debug, Clone)]
pub struct Key {
    /// The resource's id.
    pub id: Uuid,
    /// The organization that owns it; every lookup is scoped by it.
    pub organization_id: Uuid,
    /// The resource it belongs to (organization, project or environment).
    pub parent_id: Uuid,
    /// A sub-kind for filtering (the service type), or empty.
    pub kind: &'static str,
    /// Another resource this one depends on, which may not be deleted while used.
    pub uses_id: Option<Uuid>,
    /// The name, unique under the parent.
    pub name: String,
    /// Creation time, the list order.
    pub created_at: Timestamp,
}

/// A resource the store can keep in one of its [`Table`]s.
pub trait Record: Sized + Send + Sync {
    /// Its table.
    const TABLE: Table;
    /// What it is called in messages ("project").
    const WHAT: &'static str;
    /// Its key columns.
    fn key(&self) -> Key;
    /// Its document.
    fn to_body(&self) -> Value;
    /// The resource from its document (JSON text).
    fn from_body(body: &str) -> Result<Self, StoreError>;
}

fn decode<'a, T: Deserialize<'a>>(what: &str, body: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("stored {what} does not parse: {e}")))
}

macro_rules! plain_record {
    ($ty:ty, $table:expr, $what:literal, |$r:ident| $key:expr) => {
        impl Record for $ty {
            const TABLE: Table = $table;
            const WHAT: &'static str = $what;
            fn key(&self) -> Key {
                let $r = self;
                $key
            }
            fn to_body(&self) -> Value {
                serde_json::to_value(self).unwrap_or_default()
            }
            fn from_body(body: &str) -> Result<Self, StoreError> {
                decode($what, body)
            }
        }
    };
}

plain_record!(Cluster, Table::Clusters, "cluster", |c| Key {
    id: c.id,
    organization_id: c.organization_id,
    parent_id: c.organization_id,
    kind: "",
    uses_id: None,
    name: c.spec.name.clone(),
    created_at: c.created_at,
});

plain_record!(ContainerRegistry, Table::Registries, "container registry", |r| Key {
    id: r.id,
    organization_id: r.organization_id,
    parent_id: r.organization_id,
    kind: "",
    uses_id: None,
    name: r.spec.name.clone(),
    created_at: r.created_at,
});

plain_record!(Project, Table::Projects, "project", |p| Key {
    id: p.id,
    organization_id: p.organization_id,
    parent_id: p.organization_id,
    kind: "",
    uses_id: None,
    name: p.name.clone(),
    created_at: p.created_at,
});

plain_record!(Environment, Table::Environments, "environment", |e| Key {
    id: e.id,
    organization_id: e.organization_id,
    parent_id: e.project_id,
    kind: "",
    uses_id: Some(e.cluster_id),
    name: e.name.clone(),
    created_at: e.created_at,
});

plain_record!(Release, Table::Releases, "release", |r| Key {
    id: r.id,
    organization_id: r.organization_id,
    parent_id: r.service_id,
    kind: "",
    uses_id: None,
    name: r.id.to_string(),
    created_at: r.created_at,
});

plain_record!(DeploymentStage, Table::Stages, "deployment stage", |s| Key {
    id: s.id,
    organization_id: s.organization_id,
    parent_id: s.environment_id,
    kind: "",
    uses_id: None,
    name: s.name.clone(),
    created_at: s.created_at,
});

plain_record!(Variable, Table::Variables, "variable", |v| Key {
    id: v.id,
    organization_id: v.organization_id,
    parent_id: v.parent_id,
    kind: v.scope.as_str(),
    uses_id: match v.kind {
        VariableKind::Alias(t) | VariableKind::Override(t) => Some(t),
        VariableKind::Value => None,
    },
    name: v.key.clone(),
    created_at: v.created_at,
});

plain_record!(DatabaseCredentials, Table::Credentials, "database credentials", |c| Key {
    id: c.id,
    organization_id: c.organization_id,
    parent_id: c.service_id,
    kind: "",
    uses_id: None,
    name: "credentials".to_owned(),
    created_at: c.created_at,
});

plain_record!(DatabaseServer, Table::DatabaseServers, "database server", |s| Key {
    id: s.id,
    organization_id: s.organization_id,
    parent_id: s.cluster_id,
    kind: s.kind.as_str(),
    uses_id: None,
    name: s.name.clone(),
    created_at: s.created_at,
});

plain_record!(CustomDomain, Table::CustomDomains, "custom domain", |d| Key {
    id: d.id,
    organization_id: d.organization_id,
    parent_id: d.service_id,
    kind: "",
    uses_id: None,
    name: d.spec.domain.clone(),
    created_at: d.created_at,
});

plain_record!(JobRun, Table::JobRuns, "job run", |r| Key {
    id: r.id,
    organization_id: r.organization_id,
    parent_id: r.service_id,
    kind: if r.status == JobRunStatus::Running { JobRun::RUNNING } else { "" },
    uses_id: None,
    name: r.id.to_string(),
    created_at: r.started_at,
});

plain_record!(JobOutput, Table::JobOutputs, "job output", |o| Key {
    id: o.id,
    organization_id: o.organization_id,
    parent_id: o.service_id,
    kind: "",
    uses_id: None,
    name: "output".to_owned(),
    created_at: o.updated_at,
});

plain_record!(CronState, Table::CronStates, "cron state", |c| Key {
    id: c.id,
    organization_id: c.organization_id,
    parent_id: c.service_id,
    kind: if c.next_run_at.is_some() { CronState::ARMED } else { "" },
    uses_id: None,
    name: "schedule".to_owned(),
    created_at: c.updated_at,
});

plain_record!(TerraformState, Table::TerraformStates, "Terraform state", |t| Key {
    id: t.id,
    organization_id: t.organization_id,
    parent_id: t.service_id,
    kind: "",
    uses_id: None,
    name: "state".to_owned(),
    created_at: t.updated_at,
});

plain_record!(TerraformLock, Table::TerraformLocks, "Terraform lock", |l| Key {
    id: l.id,
    organization_id: l.organization_id,
    parent_id: l.service_id,
    kind: "",
    uses_id: None,
    name: "lock".to_owned(),
    created_at: l.since,
});

/// A service as stored: its metadata and its spec document.
#[derive(Serialize)]
struct StoredService {
    id: Uuid,
    organization_id: Uuid,
    project_id: Uuid,
    environment_id: Uuid,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
    service_type: ServiceType,
    spec: Value,
}

/// A service as loaded: the spec stays raw text until its kind is known.
#[derive(Deserialize)]
struct LoadedService<'a> {
    id: Uuid,
    organization_id: Uuid,
    project_id: Uuid,
    environment_id: Uuid,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
    service_type: ServiceType,
    #[serde(borrow)]
    spec: &'a serde_json::value::RawValue,
}

impl Record for Service {
    const TABLE: Table = Table::Services;
    const WHAT: &'static str = "service";

    fn key(&self) -> Key {
        Key {
            id: self.id,
            organization_id: self.organization_id,
            parent_id: self.environment_id,
            kind: self.kind().as_str(),
            uses_id: self.spec.registry_id(),
            name: self.name().to_owned(),
            created_at: self.created_at,
        }
    }

    fn to_body(&self) -> Value {
        let stored = StoredService {
            id: self.id,
            organization_id: self.organization_id,
            project_id: self.project_id,
            environment_id: self.environment_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            service_type: self.kind(),
            spec: self.spec.to_json(),
        };
        serde_json::to_value(stored).unwrap_or_default()
    }

    fn from_body(body: &str) -> Result<Self, StoreError> {
        let s: LoadedService = decode("service", body)?;
        let spec = ServiceSpec::from_stored(s.service_type, s.spec.get())
            .map_err(|e| StoreError::Corrupt(format!("stored service {} does not parse: {e}", s.id)))?;
        Ok(Service {
            id: s.id,
            organization_id: s.organization_id,
            project_id: s.project_id,
            environment_id: s.environment_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            spec,
        })
    }
}
