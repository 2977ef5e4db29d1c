//! The store suite. Every scenario runs against SQLite and against a real
//! PostgreSQL server started by the test process.

use serde_json::json;
use slipway_model::{
    ApiToken, Cluster, ContainerRegistry, Environment, EnvironmentMode, Organization, Project, Role, Service,
    ServiceSpec, ServiceType, Uuid, new_id, now,
};
use slipway_store::{Filter, Store, StoreConfig, StoreError, Tenant};

struct Backends {
    _dir: tempfile::TempDir,
    stores: Vec<Store>,
}

async fn backends() -> Backends {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&StoreConfig::Sqlite(dir.path().join("slipway.db"))).await.unwrap();
    let postgres = Store::open(&StoreConfig::Postgres(slipway_testkit::fresh_postgres_database().await)).await.unwrap();
    Backends { _dir: dir, stores: vec![sqlite, postgres] }
}

struct Fixture {
    org: Organization,
    cluster: Cluster,
    registry: ContainerRegistry,
}

fn token(org: Uuid, name: &str) -> ApiToken {
    ApiToken {
        id: new_id(),
        organization_id: org,
        name: name.into(),
        description: None,
        role: Role::Admin,
        created_at: now(),
        last_used_at: None,
    }
}

async fn tenant(store: &Store, name: &str) -> Fixture {
    let org = Organization::new(name);
    let cluster = Cluster::local_default(org.id);
    let registry = ContainerRegistry::local_default(org.id);
    let tenant = Tenant {
        organization: org.clone(),
        clusters: vec![cluster.clone()],
        registries: vec![registry.clone()],
        tokens: vec![(token(org.id, "bootstrap"), format!("hash-{name}"))],
    };
    store.create_tenant(&tenant).await.unwrap();
    Fixture { org, cluster, registry }
}

fn project(org: Uuid, name: &str) -> Project {
    Project {
        id: new_id(),
        organization_id: org,
        name: name.into(),
        description: None,
        created_at: now(),
        updated_at: None,
    }
}

fn environment(f: &Fixture, project: &Project, name: &str) -> Environment {
    Environment {
        id: new_id(),
        organization_id: f.org.id,
        project_id: project.id,
        cluster_id: f.cluster.id,
        name: name.into(),
        mode: EnvironmentMode::Staging,
        created_at: now(),
        updated_at: None,
    }
}

/// A project `shop` with an environment `staging`, stored; the environment.
async fn staging(store: &Store, f: &Fixture) -> Environment {
    let p = project(f.org.id, "shop");
    store.insert(&p).await.unwrap();
    let env = environment(f, &p, "staging");
    store.insert(&env).await.unwrap();
    env
}

fn container(f: &Fixture, env: &Environment, name: &str) -> Service {
    let mut spec = ServiceSpec::from_json(
        ServiceType::Container,
        json!({"name": name, "registry_id": f.registry.id, "image_name": "nginx", "tag": "1.27", "healthchecks": {},
               "ports": [{"internal_port": 80, "publicly_accessible": true}]}),
    )
    .unwrap();
    spec.prepare().unwrap();
    Service {
        id: new_id(),
        organization_id: f.org.id,
        project_id: env.project_id,
        environment_id: env.id,
        created_at: now(),
        updated_at: None,
        spec,
    }
}

fn database(f: &Fixture, env: &Environment, name: &str) -> Service {
    let mut spec = ServiceSpec::from_json(
        ServiceType::Database,
        json!({"name": name, "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"}),
    )
    .unwrap();
    spec.prepare().unwrap();
    Service { spec, ..container(f, env, "unused") }
}

#[tokio::test]
async fn tenants_are_created_whole_and_names_are_unique() {
    for store in backends().await.stores {
        let f = tenant(&store, "acme").await;
        let orgs = store.list_organizations().await.unwrap();
        assert_eq!(orgs.len(), 1, "{}", store.dialect());
        assert_eq!(orgs[0], f.org);
        let clusters: Vec<Cluster> = store.list(f.org.id, Filter::default()).await.unwrap();
        assert_eq!(clusters, vec![f.cluster.clone()]);
        assert_eq!(store.token_by_hash("hash-acme").await.unwrap().unwrap().name, "bootstrap");

        // A second tenant with the same name is refused and leaves nothing behind.
        let again = Organization::new("acme");
        let dup = Tenant {
            organization: again.clone(),
            clusters: vec![Cluster::local_default(again.id)],
            registries: vec![],
            tokens: vec![],
        };
        assert!(matches!(store.create_tenant(&dup).await, Err(StoreError::NameTaken { .. })));
        assert_eq!(store.list_organizations().await.unwrap().len(), 1);

        // A tenant that fails half-way (token hash already used) leaves nothing behind either.
        let other = Organization::new("other");
        let half = Tenant {
            organization: other.clone(),
            clusters: vec![Cluster::local_default(other.id)],
            registries: vec![],
            tokens: vec![(token(other.id, "t"), "hash-acme".into())],
        };
        assert!(store.create_tenant(&half).await.is_err());
        assert!(matches!(store.get_organization(other.id).await, Err(StoreError::NotFound { .. })));

        let mut org = f.org.clone();
        org.spec.description = Some("Widgets".into());
        store.update_organization(&org).await.unwrap();
        assert_eq!(store.get_organization(org.id).await.unwrap().spec.description.as_deref(), Some("Widgets"));
    }
}

#[tokio::test]
async fn resources_round_trip_and_stay_inside_their_organization() {
    for store in backends().await.stores {
        let a = tenant(&store, "a").await;
        let b = tenant(&store, "b").await;
        let mut p = project(a.org.id, "shop");
        store.insert(&p).await.unwrap();
        assert_eq!(store.get::<Project>(a.org.id, p.id).await.unwrap(), p);
        // Another organization cannot see it, update it or delete it.
        assert!(matches!(store.get::<Project>(b.org.id, p.id).await, Err(StoreError::NotFound { what: "project" })));
        let mut stolen = p.clone();
        stolen.organization_id = b.org.id;
        stolen.name = "mine".into();
        assert!(matches!(store.update(&stolen).await, Err(StoreError::NotFound { .. })));
        assert!(matches!(store.delete::<Project>(b.org.id, p.id).await, Err(StoreError::NotFound { .. })));
        assert!(store.list::<Project>(b.org.id, Filter::default()).await.unwrap().is_empty());

        // Names are unique per parent, not across organizations.
        let err = store.insert(&project(a.org.id, "shop")).await.unwrap_err();
        assert!(matches!(err, StoreError::NameTaken { what: "project", .. }), "{err}");
        store.insert(&project(b.org.id, "shop")).await.unwrap();

        p.description = Some("The shop".into());
        p.name = "store".into();
        p.updated_at = Some(now());
        store.update(&p).await.unwrap();
        assert_eq!(store.get::<Project>(a.org.id, p.id).await.unwrap(), p);
        store.delete::<Project>(a.org.id, p.id).await.unwrap();
        assert!(matches!(store.get::<Project>(a.org.id, p.id).await, Err(StoreError::NotFound { .. })));
    }
}

#[tokio::test]
async fn environments_and_services_list_in_order_and_cascade_on_delete() {
    for store in backends().await.stores {
        let f = tenant(&store, "acme").await;
        let p = project(f.org.id, "shop");
        store.insert(&p).await.unwrap();
        let staging = environment(&f, &p, "staging");
        let prod = environment(&f, &p, "production");
        store.insert(&staging).await.unwrap();
        store.insert(&prod).await.unwrap();
        let envs: Vec<Environment> = store.list(f.org.id, Filter::parent(p.id)).await.unwrap();
        assert_eq!(envs, vec![staging.clone(), prod.clone()]);
        assert_eq!(store.count_by_parent::<Environment>(f.org.id).await.unwrap().get(&p.id), Some(&2));
        assert_eq!(store.count_by_use::<Environment>(f.org.id).await.unwrap().get(&f.cluster.id), Some(&2));

        let web = container(&f, &staging, "web");
        let db = database(&f, &staging, "db");
        store.insert(&web).await.unwrap();
        store.insert(&db).await.unwrap();
        let all: Vec<Service> = store.list(f.org.id, Filter::parent(staging.id)).await.unwrap();
        assert_eq!(all, vec![web.clone(), db.clone()]);
        let dbs: Vec<Service> =
            store.list(f.org.id, Filter { parent: Some(staging.id), kind: Some("DATABASE") }).await.unwrap();
        assert_eq!(dbs, vec![db.clone()]);
        assert!(store.list::<Service>(f.org.id, Filter::parent(prod.id)).await.unwrap().is_empty());
        assert_eq!(store.count_by_use::<Service>(f.org.id).await.unwrap().get(&f.registry.id), Some(&1));

        // A service name is unique within its environment, whatever the kind.
        let clash = database(&f, &staging, "web");
        assert!(matches!(store.insert(&clash).await, Err(StoreError::NameTaken { what: "service", .. })));

        // The registry and the cluster are in use; the project delete cascades.
        assert!(matches!(
            store.delete::<ContainerRegistry>(f.org.id, f.registry.id).await,
            Err(StoreError::InUse { .. })
        ));
        assert!(matches!(store.delete::<Cluster>(f.org.id, f.cluster.id).await, Err(StoreError::InUse { .. })));
        store.delete::<Project>(f.org.id, p.id).await.unwrap();
        assert!(matches!(store.get::<Service>(f.org.id, web.id).await, Err(StoreError::NotFound { .. })));
        assert!(matches!(store.get::<Environment>(f.org.id, prod.id).await, Err(StoreError::NotFound { .. })));
        store.delete::<ContainerRegistry>(f.org.id, f.registry.id).await.unwrap();
        store.delete::<Cluster>(f.org.id, f.cluster.id).await.unwrap();
    }
}

#[tokio::test]
async fn tokens_are_found_by_digest_only_and_revocable() {
    for store in backends().await.stores {
        let f = tenant(&store, "acme").await;
        let t = token(f.org.id, "ci");
        store.insert_token(&t, "digest-ci").await.unwrap();
        assert!(store.token_by_hash("ci").await.unwrap().is_none());
        let found = store.token_by_hash("digest-ci").await.unwrap().unwrap();
        assert_eq!(found, t);
        let at = now();
        store.touch_token(t.id, at).await.unwrap();
        let listed = store.list_tokens(f.org.id).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].last_used_at, Some(at));
        assert!(matches!(store.delete_token(new_id(), t.id).await, Err(StoreError::NotFound { .. })));
        store.delete_token(f.org.id, t.id).await.unwrap();
        assert!(store.token_by_hash("digest-ci").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn data_survives_reopening_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let configs = [
        StoreConfig::Sqlite(dir.path().join("nested/dir/slipway.db")),
        StoreConfig::Postgres(slipway_testkit::fresh_postgres_database().await),
    ];
    for config in configs {
        let store = Store::open(&config).await.unwrap();
        let f = tenant(&store, "acme").await;
        let p = project(f.org.id, "shop");
        store.insert(&p).await.unwrap();
        drop(store);
        let reopened = Store::open(&config).await.unwrap();
        assert_eq!(reopened.get::<Project>(f.org.id, p.id).await.unwrap(), p);
    }
}

#[tokio::test]
async fn sqlite_listings_read_only_their_parents_rows() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slipway.db");
    let store = Store::open(&StoreConfig::Sqlite(path.clone())).await.unwrap();
    let f = tenant(&store, "acme").await;
    let p = project(f.org.id, "shop");
    store.insert(&p).await.unwrap();
    drop(store);
    // The plan of the listing query must walk the listing index, not scan the
    // organization's rows and sort them.
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    for table in ["services", "environments", "projects"] {
        let text = format!(
            "EXPLAIN QUERY PLAN SELECT CAST(body AS TEXT) FROM {table} WHERE organization_id = $1 AND parent_id = $2 \
             ORDER BY created_at, id"
        );
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(text)).bind(f.org.id).bind(p.id).fetch_all(&mut conn).await.unwrap();
        let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        assert!(plan.iter().any(|d| d.contains(&format!("{table}_listing"))), "{table}: {plan:?}");
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{table} sorts: {plan:?}");
    }
}

#[tokio::test]
async fn variables_go_with_their_parent_and_their_target() {
    use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope};
    for store in backends().await.stores {
        let f = tenant(&store, "acme").await;
        let p = project(f.org.id, "shop");
        store.insert(&p).await.unwrap();
        let env = environment(&f, &p, "staging");
        store.insert(&env).await.unwrap();
        let var = |scope, parent, key: &str, kind| Variable {
            id: new_id(),
            organization_id: f.org.id,
            scope,
            parent_id: parent,
            key: key.into(),
            value: StoredValue::Plain("v".into()),
            is_secret: false,
            kind,
            mount_path: None,
            description: None,
            enable_interpolation_in_file: false,
            created_at: now(),
            updated_at: None,
        };
        let on_project = var(VariableScope::Project, p.id, "A", VariableKind::Value);
        let alias = var(VariableScope::Environment, env.id, "B", VariableKind::Alias(on_project.id));
        let on_env = var(VariableScope::Environment, env.id, "C", VariableKind::Value);
        for v in [&on_project, &alias, &on_env] {
            store.insert(v).await.unwrap();
        }
        // A duplicate key under the same parent is refused.
        let dup = var(VariableScope::Environment, env.id, "C", VariableKind::Value);
        assert!(matches!(store.insert(&dup).await, Err(StoreError::NameTaken { what: "variable", .. })));
        assert_eq!(store.delete_using::<Variable>(f.org.id, on_project.id).await.unwrap(), 1);
        assert!(store.get::<Variable>(f.org.id, alias.id).await.is_err());
        // Deleting the environment takes its variables; the project's stay.
        store.delete::<Environment>(f.org.id, env.id).await.unwrap();
        assert!(store.get::<Variable>(f.org.id, on_env.id).await.is_err());
        assert_eq!(store.get::<Variable>(f.org.id, on_project.id).await.unwrap(), on_project);
        store.delete::<Project>(f.org.id, p.id).await.unwrap();
        assert!(store.get::<Variable>(f.org.id, on_project.id).await.is_err());
    }
}

#[tokio::test]
async fn sealed_values_are_rewritten_everywhere_in_one_transaction() {
    use slipway_model::service::database::DatabaseCredentials;
    use slipway_model::variable::{StoredValue, Variable, VariableKind, VariableScope};
    for store in backends().await.stores {
        assert_eq!(store.tables_not_rewritten().await.unwrap(), ["deployment_logs"], "a new table holds documents");
        let f = tenant(&store, "acme").await;
        let p = project(f.org.id, "shop");
        store.insert(&p).await.unwrap();
        let env = environment(&f, &p, "staging");
        store.insert(&env).await.unwrap();
        let db = database(&f, &env, "db");
        store.insert(&db).await.unwrap();
        let var = |key: &str, value: StoredValue| Variable {
            id: new_id(),
            organization_id: f.org.id,
            scope: VariableScope::Project,
            parent_id: p.id,
            key: key.into(),
            value,
            is_secret: true,
            kind: VariableKind::Value,
            mount_path: None,
            description: Some("sw1:not sealed".into()),
            enable_interpolation_in_file: false,
            created_at: now(),
            updated_at: None,
        };
        let secret = var("TOKEN", StoredValue::Sealed("sw1:old-token".into()));
        let plain = var("PLAIN", StoredValue::Plain("clear".into()));
        store.insert(&secret).await.unwrap();
        store.insert(&plain).await.unwrap();
        let creds = DatabaseCredentials {
            id: new_id(),
            organization_id: f.org.id,
            service_id: db.id,
            login: "app".into(),
            password: "sw1:old-password".into(),
            database: "postgres".into(),
            managed: None,
            external_port: None,
            created_at: now(),
        };
        store.insert(&creds).await.unwrap();
        let mut registry = f.registry.clone();
        registry.spec.config.password = Some("sw1:old-registry".into());
        store.update(&registry).await.unwrap();

        // A refusal anywhere changes nothing: credentials come after variables.
        let refused = store
            .rewrite_sealed("sw1:", |s: &str| match s.strip_prefix("sw1:old-") {
                Some("password") => Err("unknown key"),
                Some(rest) => Ok(Some(format!("sw1:new-{rest}"))),
                None => Ok(None),
            })
            .await;
        assert!(matches!(&refused, Err(StoreError::Rewrite(m)) if m.contains("database_credentials")), "{refused:?}");
        let got: Variable = store.get(f.org.id, secret.id).await.unwrap();
        assert_eq!(got.value, StoredValue::Sealed("sw1:old-token".into()), "rolled back");

        let changed = store
            .rewrite_sealed("sw1:", |s: &str| {
                Ok::<_, String>(s.strip_prefix("sw1:old-").map(|rest| format!("sw1:new-{rest}")))
            })
            .await
            .unwrap();
        assert_eq!(changed, 3);
        let got: Variable = store.get(f.org.id, secret.id).await.unwrap();
        assert_eq!(got.value, StoredValue::Sealed("sw1:new-token".into()));
        assert_eq!(got.description.as_deref(), Some("sw1:not sealed"), "left alone when the rewrite says so");
        assert_eq!(store.get::<Variable>(f.org.id, plain.id).await.unwrap(), plain);
        let got: DatabaseCredentials = store.get(f.org.id, creds.id).await.unwrap();
        assert_eq!(got.password, "sw1:new-password");
        let got: slipway_model::ContainerRegistry = store.get(f.org.id, registry.id).await.unwrap();
        assert_eq!(got.spec.config.password.as_deref(), Some("sw1:new-registry"));
    }
}

#[tokio::test]
async fn cron_states_list_as_armed_while_they_have_a_next_run_and_runs_are_claimed_once_and_pruned() {
    use slipway_model::job::{CronState, JobRun, JobRunStatus, JobTrigger, scheduled_run_id};
    for store in backends().await.stores {
        let f = tenant(&store, "acme").await;
        let env = staging(&store, &f).await;
        let job = container(&f, &env, "nightly");
        store.insert(&job).await.unwrap();
        let armed = Filter { parent: None, kind: Some(CronState::ARMED) };
        let due = now();
        let mut state = CronState {
            id: job.id,
            organization_id: f.org.id,
            environment_id: env.id,
            service_id: job.id,
            release_id: new_id(),
            next_run_at: Some(due),
            updated_at: now(),
        };
        store.upsert(&state).await.unwrap();
        assert_eq!(store.list::<CronState>(f.org.id, armed).await.unwrap(), vec![state.clone()]);
        // Suspended (the job stopped): no longer armed, still there.
        state.next_run_at = None;
        store.upsert(&state).await.unwrap();
        assert!(store.list::<CronState>(f.org.id, armed).await.unwrap().is_empty());
        assert_eq!(store.get::<CronState>(f.org.id, job.id).await.unwrap(), state);

        // The run of one occurrence is recorded once: a second claim of it is refused.
        let run = JobRun {
            id: scheduled_run_id(job.id, due),
            organization_id: f.org.id,
            environment_id: env.id,
            service_id: job.id,
            trigger: JobTrigger::Schedule,
            release_id: state.release_id,
            deployment_id: None,
            scheduled_for: Some(due),
            status: JobRunStatus::Running,
            attempts: 0,
            exit_code: None,
            message: None,
            started_at: now(),
            finished_at: None,
            instance: None,
            logs: vec![],
            owner: None,
            heartbeat_at: None,
        };
        store.insert(&run).await.unwrap();
        assert!(matches!(store.insert(&run).await, Err(StoreError::NameTaken { .. })));
        // The history keeps the newest runs.
        let mut ids = vec![run.id];
        for _ in 0..4 {
            let newer = JobRun { id: new_id(), started_at: now(), ..run.clone() };
            store.insert(&newer).await.unwrap();
            ids.push(newer.id);
        }
        assert_eq!(store.prune::<JobRun>(f.org.id, job.id, 2).await.unwrap(), 3);
        let kept: Vec<JobRun> = store.list(f.org.id, Filter::parent(job.id)).await.unwrap();
        assert_eq!(kept.iter().map(|r| r.id).collect::<Vec<_>>(), ids[3..]);
        // Both go with their job.
        store.delete::<Service>(f.org.id, job.id).await.unwrap();
        assert!(store.list::<JobRun>(f.org.id, Filter::parent(job.id)).await.unwrap().is_empty());
        assert!(matches!(store.get::<CronState>(f.org.id, job.id).await, Err(StoreError::NotFound { .. })));
    }
}
