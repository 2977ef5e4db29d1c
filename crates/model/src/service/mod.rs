//! The six service kinds an environment holds, and what they share.
//!
//! A request body deserializes straight into a kind's spec (the field names
//! are the API contract's), then [`ServiceSpec::prepare`] fills generated
//! values (port ids, default port) and checks every rule. Edits merge the
//! request's top-level fields over the stored spec and go through the same
//! path, so that create and edit can never disagree on what is valid.

pub mod application;
pub mod common;
pub mod container;
pub mod database;
pub mod helm;
pub mod job;
pub mod terraform;

use serde::{Deserialize, Serialize};

pub use application::ApplicationSpec;
pub use container::ContainerSpec;
pub use database::DatabaseSpec;
pub use helm::HelmSpec;
pub use job::JobSpec;
pub use terraform::TerraformSpec;

use crate::Timestamp;
use crate::error::{Validation, ValidationError};
use uuid::Uuid;

/// The kinds of service (`ServiceTypeEnum`, the subset Slipway runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ServiceTypeEnum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ServiceType {
    Application,
    Database,
    Container,
    Job,
    Helm,
    Terraform,
}

impl ServiceType {
    /// All kinds, in the default deployment stage order.
    pub const ALL: [ServiceType; 6] = [
        ServiceType::Database,
        ServiceType::Job,
        ServiceType::Container,
        ServiceType::Application,
        ServiceType::Helm,
        ServiceType::Terraform,
    ];

    /// The wire name (`APPLICATION`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Application => "APPLICATION",
            ServiceType::Database => "DATABASE",
            ServiceType::Container => "CONTAINER",
            ServiceType::Job => "JOB",
            ServiceType::Helm => "HELM",
            ServiceType::Terraform => "TERRAFORM",
        }
    }

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<ServiceType> {
        ServiceType::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The path segment of the kind's API (`application`, ...).
    pub fn path(self) -> &'static str {
        match self {
            ServiceType::Application => "application",
            ServiceType::Database => "database",
            ServiceType::Container => "container",
            ServiceType::Job => "job",
            ServiceType::Helm => "helm",
            ServiceType::Terraform => "terraform",
        }
    }
}

/// The configuration of one service, by kind.
// Specs are built once per request or row; boxing the big ones buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum ServiceSpec {
    Application(ApplicationSpec),
    Container(ContainerSpec),
    Database(DatabaseSpec),
    Job(JobSpec),
    Helm(HelmSpec),
    Terraform(TerraformSpec),
}

impl ServiceSpec {
    /// Parses a request body (or a stored document) as a spec of `kind`.
    /// Errors name the offending field by its path in the body.
    pub fn from_json(kind: ServiceType, value: serde_json::Value) -> Result<Self, ValidationError> {
        use crate::validate::parse;
        Ok(match kind {
            ServiceType::Application => ServiceSpec::Application(parse(value)?),
            ServiceType::Container => ServiceSpec::Container(parse(value)?),
            ServiceType::Database => ServiceSpec::Database(parse(value)?),
            ServiceType::Job => ServiceSpec::Job(parse(value)?),
            ServiceType::Helm => ServiceSpec::Helm(parse(value)?),
            ServiceType::Terraform => ServiceSpec::Terraform(parse(value)?),
        })
    }

    /// Decodes a stored document of `kind`, already validated when stored.
    pub fn from_stored(kind: ServiceType, json: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            ServiceType::Application => ServiceSpec::Application(serde_json::from_str(json)?),
            ServiceType::Container => ServiceSpec::Container(serde_json::from_str(json)?),
            ServiceType::Database => ServiceSpec::Database(serde_json::from_str(json)?),
            ServiceType::Job => ServiceSpec::Job(serde_json::from_str(json)?),
            ServiceType::Helm => ServiceSpec::Helm(serde_json::from_str(json)?),
            ServiceType::Terraform => ServiceSpec::Terraform(serde_json::from_str(json)?),
        })
    }

    /// The spec as a JSON document, in the request's shape.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            ServiceSpec::Application(s) => serde_json::to_value(s),
            ServiceSpec::Container(s) => serde_json::to_value(s),
            ServiceSpec::Database(s) => serde_json::to_value(s),
            ServiceSpec::Job(s) => serde_json::to_value(s),
            ServiceSpec::Helm(s) => serde_json::to_value(s),
            ServiceSpec::Terraform(s) => serde_json::to_value(s),
        };
        // Plain structs with string keys always serialize.
        value.unwrap_or_default()
    }

    /// The edit of this spec by a request body: the body's top-level fields
    /// replace the current ones, the others are kept. The result is prepared
    /// and checked against what may not change.
    pub fn edited(&self, body: serde_json::Value) -> Result<Self, ValidationError> {
        use crate::validate::merge;
        let mut edited = match self {
            ServiceSpec::Application(s) => ServiceSpec::Application(merge(s, body)?),
            ServiceSpec::Container(s) => ServiceSpec::Container(merge(s, body)?),
            ServiceSpec::Database(s) => ServiceSpec::Database(merge(s, body)?),
            ServiceSpec::Job(s) => ServiceSpec::Job(merge(s, body)?),
            ServiceSpec::Helm(s) => ServiceSpec::Helm(merge(s, body)?),
            ServiceSpec::Terraform(s) => ServiceSpec::Terraform(merge(s, body)?),
        };
        edited.prepare()?;
        edited.check_edit(self)?;
        Ok(edited)
    }

    /// Fills generated values (port and volume ids, the default port) and
    /// checks every rule of the kind.
    pub fn prepare(&mut self) -> Validation {
        match self {
            ServiceSpec::Application(s) => s.prepare(),
            ServiceSpec::Container(s) => s.prepare(),
            ServiceSpec::Database(s) => s.prepare(),
            ServiceSpec::Job(s) => s.prepare(),
            ServiceSpec::Helm(s) => s.prepare(),
            ServiceSpec::Terraform(s) => s.prepare(),
        }
    }

    fn check_edit(&self, previous: &Self) -> Validation {
        match (self, previous) {
            (ServiceSpec::Database(new), ServiceSpec::Database(old)) => new.check_edit(old),
            (ServiceSpec::Job(new), ServiceSpec::Job(old)) => new.check_edit(old),
            _ => Ok(()),
        }
    }

    /// The service's kind.
    pub fn kind(&self) -> ServiceType {
        match self {
            ServiceSpec::Application(_) => ServiceType::Application,
            ServiceSpec::Container(_) => ServiceType::Container,
            ServiceSpec::Database(_) => ServiceType::Database,
            ServiceSpec::Job(_) => ServiceType::Job,
            ServiceSpec::Helm(_) => ServiceType::Helm,
            ServiceSpec::Terraform(_) => ServiceType::Terraform,
        }
    }

    /// The service's name, unique within its environment.
    pub fn name(&self) -> &str {
        match self {
            ServiceSpec::Application(s) => &s.name,
            ServiceSpec::Container(s) => &s.name,
            ServiceSpec::Database(s) => &s.name,
            ServiceSpec::Job(s) => &s.name,
            ServiceSpec::Helm(s) => &s.name,
            ServiceSpec::Terraform(s) => &s.name,
        }
    }

    /// The registry the service pulls from, for kinds that name one.
    pub fn registry_id(&self) -> Option<Uuid> {
        match self {
            ServiceSpec::Container(s) => Some(s.registry_id),
            ServiceSpec::Job(s) => s.source.image.as_ref().map(|i| i.registry_id),
            _ => None,
        }
    }

    /// The edge ports its public TCP ports are exposed on (`external_port`).
    pub fn edge_tcp_ports(&self) -> impl Iterator<Item = u32> + '_ {
        let ports: &[common::Port] = match self {
            ServiceSpec::Application(s) => &s.ports,
            ServiceSpec::Container(s) => &s.ports,
            _ => &[],
        };
        ports.iter().filter_map(common::Port::edge_tcp_port)
    }
}

/// A service of an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub spec: ServiceSpec,
}

impl Service {
    /// The service's name.
    pub fn name(&self) -> &str {
        self.spec.name()
    }

    /// The service's kind.
    pub fn kind(&self) -> ServiceType {
        self.spec.kind()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn app_body() -> serde_json::Value {
        json!({
            "name": "web",
            "git_repository": {"url": "https://example.com/acme/web.git", "provider": "GITHUB"},
            "healthchecks": {},
            "ports": [{"internal_port": 8080, "publicly_accessible": true}]
        })
    }

    #[test]
    fn application_defaults_are_filled_and_ports_prepared() {
        let mut spec = ServiceSpec::from_json(ServiceType::Application, app_body()).unwrap();
        spec.prepare().unwrap();
        let ServiceSpec::Application(app) = spec else { panic!("wrong kind") };
        assert_eq!((app.cpu, app.memory, app.min_running_instances, app.max_running_instances), (500, 512, 1, 1));
        assert_eq!(app.git_repository.root_path, "/");
        assert!(app.ports[0].id.is_some() && app.ports[0].is_default);
    }

    #[test]
    fn type_errors_name_the_nested_field() {
        let mut body = app_body();
        body["ports"][0]["internal_port"] = json!("eighty");
        let err = ServiceSpec::from_json(ServiceType::Application, body).unwrap_err();
        assert_eq!(err.field, "ports[0].internal_port");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let err = ServiceSpec::from_json(ServiceType::Application, json!({"name": "web"})).unwrap_err();
        assert_eq!(err.field, "git_repository");
        let err = ServiceSpec::from_json(
            ServiceType::Application,
            json!({"name": "web", "git_repository": {"provider": "GITHUB"}}),
        )
        .unwrap_err();
        assert_eq!(err.field, "git_repository.url");
    }

    #[test]
    fn edits_keep_absent_fields_and_change_present_ones() {
        let mut spec = ServiceSpec::from_json(ServiceType::Application, app_body()).unwrap();
        spec.prepare().unwrap();
        let edited = spec.edited(json!({"cpu": 1000, "name": "web2"})).unwrap();
        let ServiceSpec::Application(app) = edited else { panic!("wrong kind") };
        assert_eq!(app.cpu, 1000);
        assert_eq!(app.name, "web2");
        assert_eq!(app.ports.len(), 1);
        let err = spec.edited(json!({"max_running_instances": 0, "min_running_instances": 2})).unwrap_err();
        assert_eq!(err.field, "max_running_instances");
    }

    #[test]
    fn job_type_is_inferred_and_cannot_flip() {
        let cron = json!({
            "name": "nightly", "healthchecks": {},
            "source": {"image": {"image_name": "busybox", "tag": "1", "registry_id": crate::new_id()}},
            "schedule": {"cronjob": {"scheduled_at": "0 3 * * *"}}
        });
        let mut spec = ServiceSpec::from_json(ServiceType::Job, cron).unwrap();
        spec.prepare().unwrap();
        let ServiceSpec::Job(job) = &spec else { panic!("wrong kind") };
        assert_eq!(job.job_type(), job::JobType::Cron);
        assert_eq!(job.schedule.cronjob.as_ref().unwrap().timezone, "Etc/UTC");
        let err = spec.edited(json!({"schedule": {"on_start": {}}})).unwrap_err();
        assert_eq!(err.field, "schedule");
    }

    #[test]
    fn lifecycle_job_needs_an_event_and_cron_a_valid_expression() {
        let base = json!({
            "name": "seed", "healthchecks": {},
            "source": {"image": {"image_name": "busybox", "tag": "1", "registry_id": crate::new_id()}},
        });
        let mut body = base.clone();
        body["schedule"] = json!({});
        let mut spec = ServiceSpec::from_json(ServiceType::Job, body).unwrap();
        assert_eq!(spec.prepare().unwrap_err().field, "schedule");
        let mut body = base.clone();
        body["schedule"] = json!({"cronjob": {"scheduled_at": "*/5 * * *"}});
        let mut spec = ServiceSpec::from_json(ServiceType::Job, body).unwrap();
        assert_eq!(spec.prepare().unwrap_err().field, "schedule.cronjob.scheduled_at");
        let mut body = base;
        body["schedule"] = json!({"cronjob": {"scheduled_at": "* * * * *", "timezone": "Moon/Base"}});
        let mut spec = ServiceSpec::from_json(ServiceType::Job, body).unwrap();
        assert_eq!(spec.prepare().unwrap_err().field, "schedule.cronjob.timezone");
    }

    #[test]
    fn database_type_cannot_change_on_edit() {
        let body = json!({"name": "db", "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"});
        let mut spec = ServiceSpec::from_json(ServiceType::Database, body).unwrap();
        spec.prepare().unwrap();
        assert_eq!(spec.edited(json!({"type": "MYSQL", "version": "8.0"})).unwrap_err().field, "type");
        assert_eq!(spec.edited(json!({"version": "99"})).unwrap_err().field, "version");
    }

    #[test]
    fn terraform_requires_a_root_path() {
        let body = json!({
            "name": "infra", "description": "",
            "auto_deploy_config": {"auto_deploy": false, "terraform_action": "DEFAULT"},
            "terraform_files_source": {"git_repository": {"url": "file:///srv/git/infra"}},
            "terraform_variables_source": {"tf_var_file_paths": [], "tf_vars": []},
            "backend": {"kubernetes": {}},
            "engine": "TERRAFORM",
            "provider_version": {"explicit_version": "1.9"},
            "job_resources": {"cpu_milli": 500, "ram_mib": 256, "gpu": 0, "storage_gib": 1}
        });
        let mut spec = ServiceSpec::from_json(ServiceType::Terraform, body).unwrap();
        assert_eq!(spec.prepare().unwrap_err().field, "terraform_files_source.git_repository.root_path");
        let edited = spec.edited(
            json!({"terraform_files_source": {"git_repository": {"url": "file:///srv/git/infra", "root_path": "/"}}}),
        );
        assert!(edited.is_ok(), "{edited:?}");
    }

    #[test]
    fn stored_documents_round_trip() {
        let mut spec = ServiceSpec::from_json(ServiceType::Application, app_body()).unwrap();
        spec.prepare().unwrap();
        let again = ServiceSpec::from_json(ServiceType::Application, spec.to_json()).unwrap();
        assert_eq!(spec, again);
    }
}
