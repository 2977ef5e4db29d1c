//! Built-in variables: what Slipway tells every service about its
//! environment, with Qovery's names so that apps move over unchanged.

use uuid::Uuid;

use crate::service::ServiceType;
use crate::service::database::DatabaseType;
use crate::{Environment, naming, short_id};

/// One built-in variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIn {
    pub key: String,
    pub value: String,
    pub is_secret: bool,
    /// The service it describes, for per-service variables.
    pub service_id: Option<Uuid>,
}

/// How applications reach a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConnection {
    pub kind: DatabaseType,
    pub login: String,
    /// In clear: built-ins are computed where secrets are open.
    pub password: String,
    pub database: String,
    /// Host name on the environment's network.
    pub internal_host: String,
    pub internal_port: u16,
    /// Host and port from outside the environment (PUBLIC databases, managed
    /// servers); the internal ones otherwise.
    pub external_host: String,
    pub external_port: u16,
}

/// What the built-ins of one service of the environment need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFacts {
    pub id: Uuid,
    pub kind: ServiceType,
    pub name: String,
    /// Databases: how to reach them, once deployed (credentials exist).
    pub database: Option<DatabaseConnection>,
    /// Applications and containers with a public port: their public host.
    pub public_host: Option<String>,
    /// Applications: the branch and the commit deployed.
    pub git_branch: Option<String>,
    pub git_commit: Option<String>,
    /// Jobs (and Terraform services): what their last run published, `(key, value, sensitive)`.
    pub outputs: Vec<(String, String, bool)>,
}

/// What the environment-wide built-ins need.
#[derive(Debug, Clone)]
pub struct EnvironmentFacts<'a> {
    pub environment: &'a Environment,
    pub cluster_name: &'a str,
    pub region: &'a str,
    pub base_domain: &'a str,
}

fn var(key: String, value: impl Into<String>, secret: bool, service: Option<Uuid>) -> BuiltIn {
    BuiltIn { key, value: value.into(), is_secret: secret, service_id: service }
}

/// The built-ins every service of the environment sees: the environment's
/// own and those describing each of its services.
pub fn environment_builtins(env: &EnvironmentFacts<'_>, services: &[ServiceFacts]) -> Vec<BuiltIn> {
    let e = env.environment;
    let mut out = vec![
        var("QOVERY_PROJECT_ID".into(), e.project_id.to_string(), false, None),
        var("QOVERY_ENVIRONMENT_ID".into(), e.id.to_string(), false, None),
        var("QOVERY_ENVIRONMENT_NAME".into(), e.name.clone(), false, None),
        var("QOVERY_ENVIRONMENT_TYPE".into(), format!("{:?}", e.mode).to_uppercase(), false, None),
        var("QOVERY_CLOUD_PROVIDER_REGION".into(), env.region, false, None),
        var("QOVERY_KUBERNETES_CLUSTER_NAME".into(), env.cluster_name, false, None),
        var("QOVERY_KUBERNETES_CLUSTER_DOMAIN".into(), env.base_domain, false, None),
        var("QOVERY_KUBERNETES_NAMESPACE_NAME".into(), naming::environment_network(e.id), false, None),
    ];
    for s in services {
        let z = short_id(s.id);
        let id = Some(s.id);
        match (&s.database, s.kind) {
            (Some(db), ServiceType::Database) => {
                let p = format!("QOVERY_{}_{z}", db.kind.as_str());
                out.push(var(format!("{p}_HOST"), db.external_host.clone(), false, id));
                out.push(var(format!("{p}_HOST_INTERNAL"), db.internal_host.clone(), false, id));
                out.push(var(format!("{p}_PORT"), db.internal_port.to_string(), false, id));
                out.push(var(format!("{p}_LOGIN"), db.login.clone(), false, id));
                out.push(var(format!("{p}_PASSWORD"), db.password.clone(), true, id));
                out.push(var(format!("{p}_DEFAULT_DATABASE_NAME"), db.database.clone(), false, id));
                let url = |host: &str, port: u16| db.kind.url(&db.login, &db.password, host, port, &db.database);
                out.push(var(format!("{p}_DATABASE_URL"), url(&db.external_host, db.external_port), true, id));
                out.push(var(format!("{p}_DATABASE_URL_INTERNAL"), url(&db.internal_host, db.internal_port), true, id));
            }
            (_, ServiceType::Application | ServiceType::Container) => {
                let p = prefix(s.kind, s.id);
                out.push(var(format!("{p}_HOST_INTERNAL"), naming::host_internal(s.kind, s.id, &s.name), false, id));
                if let Some(host) = &s.public_host {
                    out.push(var(format!("{p}_HOST_EXTERNAL"), host.clone(), false, id));
                }
                out.push(var(format!("{p}_NAME"), s.name.clone(), false, id));
                if let Some(branch) = &s.git_branch {
                    out.push(var(format!("{p}_GIT_BRANCH"), branch.clone(), false, id));
                }
                if let Some(commit) = &s.git_commit {
                    out.push(var(format!("{p}_GIT_COMMIT_ID"), commit.clone(), false, id));
                }
            }
            _ => {}
        }
        for (key, value, sensitive) in &s.outputs {
            let name = match s.kind {
                ServiceType::Terraform => crate::terraform::output_variable(s.id, key),
                _ => crate::job::output_variable(s.id, key),
            };
            out.push(var(name, value.clone(), *sensitive, id));
        }
    }
    out
}

/// The prefix of the built-ins describing an application or a container:
/// `QOVERY_APPLICATION_Z<ID8>`, `QOVERY_CONTAINER_Z<ID8>`.
pub fn prefix(kind: ServiceType, id: Uuid) -> String {
    let kind = if kind == ServiceType::Application { "APPLICATION" } else { "CONTAINER" };
    format!("QOVERY_{kind}_{}", short_id(id))
}

/// The built-ins only the service itself sees: its own id.
pub fn own_builtins(kind: ServiceType, id: Uuid) -> Vec<BuiltIn> {
    let key = match kind {
        ServiceType::Application => "QOVERY_APPLICATION_ID",
        ServiceType::Container => "QOVERY_CONTAINER_ID",
        ServiceType::Job => "QOVERY_JOB_ID",
        ServiceType::Database => "QOVERY_DATABASE_ID",
        ServiceType::Helm => "QOVERY_HELM_ID",
        ServiceType::Terraform => "QOVERY_TERRAFORM_ID",
    };
    vec![var(key.into(), id.to_string(), false, Some(id))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EnvironmentMode;

    #[test]
    fn database_and_job_output_builtins_have_the_contract_names_and_secret_values() {
        let env = Environment {
            id: crate::new_id(),
            organization_id: crate::new_id(),
            project_id: crate::new_id(),
            cluster_id: crate::new_id(),
            name: "staging".into(),
            mode: EnvironmentMode::Staging,
            created_at: crate::now(),
            updated_at: None,
        };
        let db_id: Uuid = "909e13c8-0000-4000-8000-000000000000".parse().unwrap();
        let db = ServiceFacts {
            id: db_id,
            kind: ServiceType::Database,
            name: "main".into(),
            database: Some(DatabaseConnection {
                kind: DatabaseType::Postgresql,
                login: "slipway".into(),
                password: "p@ss".into(),
                database: "postgres".into(),
                internal_host: "z909e13c8-main".into(),
                internal_port: 5432,
                external_host: "z909e13c8-main".into(),
                external_port: 5432,
            }),
            public_host: None,
            git_branch: None,
            git_commit: None,
            outputs: Vec::new(),
        };
        let job_id: Uuid = "12345678-0000-4000-8000-000000000000".parse().unwrap();
        let job = ServiceFacts {
            id: job_id,
            kind: ServiceType::Job,
            name: "seed".into(),
            database: None,
            public_host: None,
            git_branch: None,
            git_commit: None,
            outputs: vec![("SEEDED".into(), "yes".into(), false), ("TOKEN".into(), "t0k".into(), true)],
        };
        let facts =
            EnvironmentFacts { environment: &env, cluster_name: "local", region: "local", base_domain: "localhost" };
        let all = environment_builtins(&facts, &[db, job]);
        let get = |k: &str| all.iter().find(|b| b.key == k).unwrap_or_else(|| panic!("{k} missing"));
        assert_eq!(get("QOVERY_ENVIRONMENT_ID").value, env.id.to_string());
        assert_eq!(get("QOVERY_ENVIRONMENT_TYPE").value, "STAGING");
        let url = get("QOVERY_POSTGRESQL_Z909E13C8_DATABASE_URL_INTERNAL");
        assert_eq!(url.value, "postgresql://slipway:p%40ss@z909e13c8-main:5432/postgres");
        assert!(url.is_secret);
        assert!(get("QOVERY_POSTGRESQL_Z909E13C8_PASSWORD").is_secret);
        assert!(!get("QOVERY_POSTGRESQL_Z909E13C8_LOGIN").is_secret);
        assert_eq!(get("QOVERY_OUTPUT_JOB_Z12345678_SEEDED").value, "yes");
        assert!(!get("QOVERY_OUTPUT_JOB_Z12345678_SEEDED").is_secret);
        assert!(get("QOVERY_OUTPUT_JOB_Z12345678_TOKEN").is_secret);
    }
}
