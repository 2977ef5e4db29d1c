//! The deployment queue, logs, releases and service states, on both backends.

use std::collections::HashSet;

use slipway_model::deployment::{
    Deployment, DeploymentAction, DeploymentLog, DeploymentStage, DeploymentStatus, DeploymentTarget, LogLevel, Origin,
    Release, ServiceState,
};
use slipway_model::{
    Cluster, ContainerRegistry, Environment, EnvironmentMode, Organization, Project, Uuid, new_id, now,
};
use slipway_store::{Filter, Store, StoreConfig, Tenant};

struct Fixture {
    store: Store,
    org: Uuid,
    project: Uuid,
    envs: Vec<Uuid>,
    _dir: tempfile::TempDir,
}

async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for postgres in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let config = if postgres {
            StoreConfig::Postgres(slipway_testkit::fresh_postgres_database().await)
        } else {
            StoreConfig::Sqlite(dir.path().join("slipway.db"))
        };
        let store = Store::open(&config).await.unwrap();
        let org = Organization::new("acme");
        let cluster = Cluster::local_default(org.id);
        store
            .create_tenant(&Tenant {
                organization: org.clone(),
                clusters: vec![cluster.clone()],
                registries: vec![ContainerRegistry::local_default(org.id)],
                tokens: vec![],
            })
            .await
            .unwrap();
        let project = Project {
            id: new_id(),
            organization_id: org.id,
            name: "shop".into(),
            description: None,
            created_at: now(),
            updated_at: None,
        };
        store.insert(&project).await.unwrap();
        let mut envs = Vec::new();
        for name in ["staging", "production"] {
            let env = Environment {
                id: new_id(),
                organization_id: org.id,
                project_id: project.id,
                cluster_id: cluster.id,
                name: name.into(),
                mode: EnvironmentMode::Staging,
                created_at: now(),
                updated_at: None,
            };
            store.insert(&env).await.unwrap();
            envs.push(env.id);
        }
        out.push(Fixture { store, org: org.id, project: project.id, envs, _dir: dir });
    }
    out
}

fn deployment(f: &Fixture, env: Uuid) -> Deployment {
    Deployment::new(f.org, f.project, env, DeploymentAction::Deploy, vec![], Origin::Api, "test".into())
}

fn lease(secs: i64) -> slipway_model::Timestamp {
    now() + chrono::Duration::seconds(secs)
}

#[tokio::test]
async fn one_deployment_runs_per_environment_in_queue_order() {
    for f in fixtures().await {
        let a1 = deployment(&f, f.envs[0]);
        let a2 = deployment(&f, f.envs[0]);
        let b1 = deployment(&f, f.envs[1]);
        for d in [&a1, &a2, &b1] {
            f.store.insert_deployment(d).await.unwrap();
        }
        let first = f.store.claim_deployment("w1", lease(30)).await.unwrap().unwrap();
        assert_eq!(first.id, a1.id);
        assert_eq!(first.status, DeploymentStatus::Running);
        // a2 waits for a1; b1 (another environment) goes.
        let second = f.store.claim_deployment("w2", lease(30)).await.unwrap().unwrap();
        assert_eq!(second.id, b1.id);
        assert!(f.store.claim_deployment("w3", lease(30)).await.unwrap().is_none());

        let mut done = first.clone();
        done.status = DeploymentStatus::Succeeded;
        done.finished_at = Some(now());
        assert!(!f.store.save_deployment(&done, "w2").await.unwrap(), "only the lease owner may write");
        assert!(f.store.save_deployment(&done, "w1").await.unwrap());
        assert_eq!(f.store.get_deployment(f.org, a1.id).await.unwrap().status, DeploymentStatus::Succeeded);
        let third = f.store.claim_deployment("w3", lease(30)).await.unwrap().unwrap();
        assert_eq!(third.id, a2.id);
        let pending: HashSet<Uuid> = f.store.pending_deployments(None).await.unwrap().iter().map(|d| d.id).collect();
        assert_eq!(pending, HashSet::from([a2.id, b1.id]));
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_worker_loses_it() {
    for f in fixtures().await {
        let d = deployment(&f, f.envs[0]);
        f.store.insert_deployment(&d).await.unwrap();
        let mut claimed = f.store.claim_deployment("dead", lease(-1)).await.unwrap().unwrap();
        claimed.started_at = Some(now());
        assert!(f.store.save_deployment(&claimed, "dead").await.unwrap());
        let resumed = f.store.claim_deployment("alive", lease(30)).await.unwrap().unwrap();
        assert_eq!(resumed.id, d.id);
        assert!(resumed.started_at.is_some(), "the new worker sees it was already started");
        assert!(!f.store.renew_lease(d.id, "dead", lease(30)).await.unwrap());
        assert!(f.store.renew_lease(d.id, "alive", lease(30)).await.unwrap());
        // A live lease is not taken over.
        assert!(f.store.claim_deployment("third", lease(30)).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn cancel_stops_queued_deployments_and_flags_running_ones() {
    for f in fixtures().await {
        let running = deployment(&f, f.envs[0]);
        let queued = deployment(&f, f.envs[0]);
        f.store.insert_deployment(&running).await.unwrap();
        f.store.insert_deployment(&queued).await.unwrap();
        f.store.claim_deployment("w", lease(30)).await.unwrap().unwrap();
        assert_eq!(f.store.cancel_deployment(f.org, queued.id).await.unwrap(), DeploymentStatus::Canceled);
        assert!(!f.store.cancel_requested(queued.id).await.unwrap());
        assert_eq!(f.store.cancel_deployment(f.org, running.id).await.unwrap(), DeploymentStatus::Running);
        assert!(f.store.cancel_requested(running.id).await.unwrap());
        assert!(f.store.cancel_deployment(new_id(), running.id).await.is_err(), "scoped by organization");
    }
}

#[tokio::test]
async fn history_logs_releases_stages_and_states_round_trip() {
    for f in fixtures().await {
        let env = f.envs[0];
        let mut ids = Vec::new();
        for _ in 0..3 {
            let mut d = deployment(&f, env);
            d.targets = vec![DeploymentTarget { service_id: new_id(), version: None, plan_only: false }];
            f.store.insert_deployment(&d).await.unwrap();
            ids.push(d.id);
        }
        let page = f.store.list_deployments(f.org, env, 2, 0).await.unwrap();
        assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[2], ids[1]]);
        let next = f.store.list_deployments(f.org, env, 2, 2).await.unwrap();
        assert_eq!(next.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[0]]);

        for i in 0..5 {
            let log = DeploymentLog {
                seq: 0,
                deployment_id: ids[0],
                environment_id: env,
                service_id: None,
                at: now(),
                stage: Some("APPLICATION DEFAULT".into()),
                step: Some("build".into()),
                level: LogLevel::Info,
                message: format!("line {i}"),
            };
            f.store.append_log(&log).await.unwrap();
        }
        let all = f.store.deployment_logs(ids[0], 0, 100).await.unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
        let tail = f.store.deployment_logs(ids[0], all[2].seq, 100).await.unwrap();
        assert_eq!(tail.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["line 3", "line 4"]);
        let last = f.store.environment_logs(env, 2).await.unwrap();
        assert_eq!(last.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["line 3", "line 4"]);

        let stages = DeploymentStage::defaults(f.org, env);
        for s in &stages {
            f.store.insert(s).await.unwrap();
        }
        let listed: Vec<DeploymentStage> = f.store.list(f.org, Filter::parent(env)).await.unwrap();
        assert_eq!(listed, stages);

        let mut state = ServiceState::new(new_id(), f.org, env);
        // Service states reference real services; insert one through the generic path.
        let service = service(&f, env, state.service_id).await;
        state.replicas = 2;
        f.store.put_service_state(&state).await.unwrap();
        state.replicas = 3;
        f.store.put_service_state(&state).await.unwrap();
        assert_eq!(f.store.service_states(f.org, Some(env)).await.unwrap(), vec![state.clone()]);
        assert!(f.store.service_states(f.org, Some(f.envs[1])).await.unwrap().is_empty());

        let release = Release {
            id: new_id(),
            organization_id: f.org,
            environment_id: env,
            service_id: service,
            deployment_id: ids[0],
            created_at: now(),
            image: "localhost/slipway/x:1".into(),
            image_id: "sha256:abc".into(),
            digest: None,
            tag: Some("1".into()),
            commit: None,
            cache_key: None,
            spec: serde_json::json!({"name": "web"}),
            variables: None,
            variables_digest: None,
        };
        f.store.insert(&release).await.unwrap();
        let releases: Vec<Release> = f.store.list(f.org, Filter::parent(service)).await.unwrap();
        assert_eq!(releases, vec![release]);
    }
}

async fn service(f: &Fixture, env: Uuid, id: Uuid) -> Uuid {
    let mut spec = slipway_model::ServiceSpec::from_json(
        slipway_model::ServiceType::Database,
        serde_json::json!({"name": "db", "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"}),
    )
    .unwrap();
    spec.prepare().unwrap();
    let service = slipway_model::Service {
        id,
        organization_id: f.org,
        project_id: f.project,
        environment_id: env,
        created_at: now(),
        updated_at: None,
        spec,
    };
    f.store.insert(&service).await.unwrap();
    id
}
