//! The variables of an environment, in clear, gathered from the store: the
//! built-ins Slipway computes (connection details of its databases, host
//! names of its services) and what users set at project, environment and
//! service scope. Resolution itself is [`slipway_model::variable::resolve`];
//! this module only gathers its inputs, so the API (listings, the effective
//! view, statuses) and the deploy path see the same values.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use slipway_model::builtin::{self, BuiltIn, DatabaseConnection, EnvironmentFacts, ServiceFacts};
use slipway_model::job::JobOutput;
use slipway_model::service::ServiceSpec;
use slipway_model::service::database::{DatabaseAccessibility, DatabaseCredentials};
use slipway_model::variable::{
    self, Effective, Input, ResolveError, StoredValue, Variable, VariableKind, VariableScope,
};
use slipway_model::{Cluster, Environment, Project, Service, ServiceType, naming};
use slipway_secrets::SecretBox;
use slipway_store::{Filter, Store};
use uuid::Uuid;

use crate::EngineError;

/// Everything the services of one environment may see, values in clear.
#[derive(Debug, Clone)]
pub struct EnvironmentVariables {
    environment_id: Uuid,
    builtins: Vec<BuiltIn>,
    /// User variables of the project and the environment.
    shared: Vec<Input>,
    /// User variables of each service.
    services: HashMap<Uuid, Vec<Input>>,
}

/// Gathers the variables of `environment`, opening sealed values with `secrets`.
pub async fn load(
    store: &Store,
    secrets: &SecretBox,
    base_domain: &str,
    environment: &Environment,
) -> Result<EnvironmentVariables, EngineError> {
    let org = environment.organization_id;
    let cluster: Cluster = store.get(org, environment.cluster_id).await?;
    let services: Vec<Service> = store.list(org, Filter::parent(environment.id)).await?;
    let mut facts = Vec::with_capacity(services.len());
    for service in &services {
        facts.push(service_facts(store, secrets, base_domain, service).await?);
    }
    let env_facts =
        EnvironmentFacts { environment, cluster_name: &cluster.spec.name, region: &cluster.spec.region, base_domain };
    let builtins = builtin::environment_builtins(&env_facts, &facts);
    let mut shared = Vec::new();
    for parent in [environment.project_id, environment.id] {
        let vars: Vec<Variable> = store.list(org, Filter::parent(parent)).await?;
        shared.extend(vars.iter().map(|v| input(secrets, v)).collect::<Result<Vec<_>, _>>()?);
    }
    let mut by_service = HashMap::new();
    for service in &services {
        let vars: Vec<Variable> = store.list(org, Filter::parent(service.id)).await?;
        by_service.insert(service.id, vars.iter().map(|v| input(secrets, v)).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(EnvironmentVariables { environment_id: environment.id, builtins, shared, services: by_service })
}

/// Gathers the variables of the environment of `service`.
pub async fn load_for(
    store: &Store,
    secrets: &SecretBox,
    base_domain: &str,
    service: &Service,
) -> Result<EnvironmentVariables, EngineError> {
    let environment: Environment = store.get(service.organization_id, service.environment_id).await?;
    load(store, secrets, base_domain, &environment).await
}

/// A project's own variables (the project scope has no environment).
pub async fn project_variables(store: &Store, project: &Project) -> Result<Vec<Variable>, EngineError> {
    Ok(store.list(project.organization_id, Filter::parent(project.id)).await?)
}

impl EnvironmentVariables {
    /// The environment-wide built-ins (`/variable?scope=BUILT_IN`).
    pub fn builtins(&self) -> &[BuiltIn] {
        &self.builtins
    }

    /// The id a built-in is listed (and aliased) under.
    pub fn builtin_id(&self, key: &str) -> Uuid {
        variable::builtin_id(self.environment_id, key)
    }

    /// The resolution inputs of one service, built-ins first.
    fn inputs(&self, service: &Service) -> Vec<Input> {
        let own = builtin::own_builtins(service.kind(), service.id);
        let builtins = self.builtins.iter().chain(own.iter()).map(|b| Input {
            id: self.builtin_id(&b.key),
            scope: VariableScope::BuiltIn,
            key: b.key.clone(),
            value: b.value.clone(),
            is_secret: b.is_secret,
            kind: VariableKind::Value,
            mount_path: None,
            interpolate_file: false,
        });
        let own_vars = self.services.get(&service.id).into_iter().flatten().cloned();
        builtins.chain(self.shared.iter().cloned()).chain(own_vars).collect()
    }

    /// The effective variables of `service`, by key.
    pub fn effective(&self, service: &Service) -> Result<BTreeMap<String, Effective>, ResolveError> {
        variable::resolve(&self.inputs(service))
    }

    /// Every secret value the environment's services may see: what logs of
    /// this environment must never show.
    pub fn secret_values(&self) -> Vec<String> {
        let builtins = self.builtins.iter().filter(|b| b.is_secret).map(|b| b.value.clone());
        let users = self.shared.iter().chain(self.services.values().flatten()).filter(|v| v.is_secret);
        let mut all: Vec<String> = builtins.chain(users.map(|v| v.value.clone())).filter(|v| !v.is_empty()).collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The digest of the variables a release runs with (see [`digest`]).
pub fn digest_of(variables: &[slipway_model::deployment::ReleaseVariable]) -> String {
    let effective = variables
        .iter()
        .map(|v| {
            let e = Effective {
                key: v.key.clone(),
                value: v.value.clone(),
                is_secret: v.is_secret,
                source: VariableScope::Project,
                variable_id: Uuid::nil(),
                mount_path: v.mount_path.clone(),
            };
            (v.key.clone(), e)
        })
        .collect();
    digest(&effective)
}

/// A stable digest of a service's effective variables: it changes exactly
/// when what the service would run with changes.
pub fn digest(effective: &BTreeMap<String, Effective>) -> String {
    let mut hash = Sha256::new();
    // Another service's deploy moves its commit id; that alone does not
    // make this service out of date.
    let moving = |key: &str| key.starts_with(variable::RESERVED_PREFIX) && key.ends_with("_GIT_COMMIT_ID");
    for (key, e) in effective.iter().filter(|(k, _)| !moving(k)) {
        hash.update(key.as_bytes());
        hash.update([0]);
        hash.update(e.value.as_bytes());
        hash.update([0]);
        hash.update(e.mount_path.as_deref().unwrap_or_default().as_bytes());
        hash.update([1]);
    }
    hex::encode(hash.finalize())
}

/// A stored variable as a resolution input, its value opened.
fn input(secrets: &SecretBox, v: &Variable) -> Result<Input, EngineError> {
    let value = match &v.value {
        StoredValue::Plain(text) => text.clone(),
        StoredValue::Sealed(sealed) => {
            secrets.open(sealed).map_err(|e| EngineError::failed(format!("cannot open secret `{}`: {e}", v.key)))?
        }
        StoredValue::None => String::new(),
    };
    Ok(Input {
        id: v.id,
        scope: v.scope,
        key: v.key.clone(),
        value,
        is_secret: v.is_secret,
        kind: v.kind,
        mount_path: v.mount_path.clone(),
        interpolate_file: v.enable_interpolation_in_file,
    })
}

/// The generated credentials of a database service, if it has some yet.
pub async fn credentials_of(store: &Store, service: &Service) -> Result<Option<DatabaseCredentials>, EngineError> {
    let found: Vec<DatabaseCredentials> = store.list(service.organization_id, Filter::parent(service.id)).await?;
    Ok(found.into_iter().next())
}

/// What the built-ins say about one service.
async fn service_facts(
    store: &Store,
    secrets: &SecretBox,
    base_domain: &str,
    service: &Service,
) -> Result<ServiceFacts, EngineError> {
    let mut facts = ServiceFacts {
        id: service.id,
        kind: service.kind(),
        name: service.name().to_owned(),
        database: None,
        public_host: None,
        git_branch: None,
        git_commit: None,
        outputs: Vec::new(),
    };
    match &service.spec {
        ServiceSpec::Database(db) => {
            let Some(creds) = credentials_of(store, service).await? else { return Ok(facts) };
            let password = secrets
                .open(&creds.password)
                .map_err(|e| EngineError::failed(format!("cannot open the password of `{}`: {e}", db.name)))?;
            let (internal_host, internal_port) = match &creds.managed {
                Some(m) => (m.host.clone(), m.port),
                None => (naming::host_internal(ServiceType::Database, service.id, &db.name), db.kind.default_port()),
            };
            let (external_host, external_port) = match (db.accessibility, creds.external_port) {
                (DatabaseAccessibility::Public, Some(port)) if creds.managed.is_none() => {
                    (naming::public_host(service.id, &db.name, base_domain), port)
                }
                _ => (internal_host.clone(), internal_port),
            };
            facts.database = Some(DatabaseConnection {
                kind: db.kind,
                login: creds.login,
                password,
                database: creds.database,
                internal_host,
                internal_port,
                external_host,
                external_port,
            });
        }
        ServiceSpec::Application(app) => {
            facts.public_host = first_public_host(service, base_domain);
            facts.git_branch = app.git_repository.branch.clone();
            facts.git_commit = current_commit(store, service).await?;
        }
        ServiceSpec::Container(_) => facts.public_host = first_public_host(service, base_domain),
        ServiceSpec::Job(_) | ServiceSpec::Terraform(_) => facts.outputs = job_outputs(store, secrets, service).await?,
        _ => {}
    }
    Ok(facts)
}

/// What a job's or a Terraform service's last run published, values in clear.
async fn job_outputs(
    store: &Store,
    secrets: &SecretBox,
    service: &Service,
) -> Result<Vec<(String, String, bool)>, EngineError> {
    let found: Vec<JobOutput> = store.list(service.organization_id, Filter::parent(service.id)).await?;
    let Some(output) = found.into_iter().next() else { return Ok(Vec::new()) };
    output
        .values
        .into_iter()
        .map(|v| {
            let value = match v.value {
                StoredValue::Plain(text) => text,
                StoredValue::Sealed(sealed) => secrets.open(&sealed).map_err(|e| {
                    EngineError::failed(format!("cannot open the output `{}` of job `{}`: {e}", v.key, service.name()))
                })?,
                StoredValue::None => String::new(),
            };
            Ok((v.key, value, v.sensitive))
        })
        .collect()
}

fn first_public_host(service: &Service, base_domain: &str) -> Option<String> {
    let workload = crate::rollout::Workload::of(&service.spec)?;
    let extras = crate::rollout::RouteExtras::default();
    crate::rollout::public_routes(service, &workload, base_domain, &extras)
        .into_iter()
        .find_map(|r| r.entry.http_host().map(str::to_owned))
}

/// The commit the service's current release was built from.
async fn current_commit(store: &Store, service: &Service) -> Result<Option<String>, EngineError> {
    let states = store.service_states(service.organization_id, Some(service.environment_id)).await?;
    let Some(release_id) = states.iter().find(|s| s.service_id == service.id).and_then(|s| s.current_release) else {
        return Ok(None);
    };
    let release: Option<slipway_model::deployment::Release> = store.get(service.organization_id, release_id).await.ok();
    Ok(release.and_then(|r| r.commit).map(|c| c.id))
}
