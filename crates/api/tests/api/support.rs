//! A router over a fresh store with one bootstrapped organization.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slipway_api::auth::{generate_token, token_digest};
use slipway_api::{ApiConfig, AppState};
use slipway_model::{ApiToken, Cluster, ContainerRegistry, Organization, Role, new_id, now};
use slipway_store::{Store, StoreConfig, Tenant};
use tower::ServiceExt;

/// The app under test and a way to call it.
pub struct App {
    pub router: Router,
    pub store: Store,
    pub token: String,
    pub org: String,
    /// The PostgreSQL database behind the store, when it is one.
    pub postgres_url: Option<String>,
    _dir: tempfile::TempDir,
}

/// Which store backs the app.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A response: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts a refusal: the status, an error body with `code`, and, for
    /// validation errors, the offending field.
    #[track_caller]
    pub fn refused(self, status: u16, field: Option<&str>) -> Value {
        let body = self.expect(status);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {body}");
        assert!(body["code"].as_str().is_some(), "no code: {body}");
        if let Some(field) = field {
            assert_eq!(body["field"], json!(field), "wrong field: {body}");
            assert!(body["message"].as_str().unwrap().contains(field), "message does not name the field: {body}");
        }
        body
    }
}

/// Bootstraps an organization with a token of `role`; returns the org id and the token.
pub async fn tenant(store: &Store, name: &str, role: Role) -> (String, String) {
    let org = Organization::new(name);
    let secret = generate_token();
    let token = ApiToken {
        id: new_id(),
        organization_id: org.id,
        name: format!("{name}-token"),
        description: None,
        role,
        created_at: now(),
        last_used_at: None,
    };
    let tenant = Tenant {
        clusters: vec![Cluster::local_default(org.id)],
        registries: vec![ContainerRegistry::local_default(org.id)],
        tokens: vec![(token, token_digest(&secret))],
        organization: org.clone(),
    };
    store.create_tenant(&tenant).await.unwrap();
    (org.id.to_string(), secret)
}

impl App {
    /// An app on SQLite with one organization and an owner token.
    pub async fn new() -> App {
        App::on(Backend::Sqlite).await
    }

    /// An app on `backend` with one organization and an owner token.
    pub async fn on(backend: Backend) -> App {
        App::with_config(backend, ApiConfig::default()).await
    }

    pub async fn with_config(backend: Backend, config: ApiConfig) -> App {
        App::build(backend, config, false).await
    }

    /// An app on SQLite whose state has an engine that was never started:
    /// actions queue deployments that no worker takes up.
    pub async fn with_engine() -> App {
        App::build(Backend::Sqlite, ApiConfig::default(), true).await
    }

    async fn build(backend: Backend, config: ApiConfig, engine: bool) -> App {
        let dir = tempfile::tempdir().unwrap();
        let store_config = match backend {
            Backend::Sqlite => StoreConfig::Sqlite(dir.path().join("slipway.db")),
            Backend::Postgres => StoreConfig::Postgres(slipway_testkit::fresh_postgres_database().await),
        };
        let postgres_url = match &store_config {
            StoreConfig::Postgres(url) => Some(url.clone()),
            StoreConfig::Sqlite(_) => None,
        };
        let store = Store::open(&store_config).await.unwrap();
        let (org, token) = tenant(&store, "acme", Role::Owner).await;
        let state = if engine {
            let config_engine = slipway_engine::EngineConfig::new(dir.path().join("engine"));
            let engine = slipway_engine::Engine::new(
                store.clone(),
                std::sync::Arc::new(NoRuntimes),
                std::sync::Arc::new(NoTraffic),
                config.secrets.clone(),
                config_engine,
            );
            AppState::with_engine(store.clone(), config, engine)
        } else {
            AppState::new(store.clone(), config)
        };
        let router = slipway_api::router(state);
        App { router, store, token, org, postgres_url, _dir: dir }
    }

    /// The directory holding the SQLite store (`slipway.db` and its WAL).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The directory holding the SQLite store's files (`slipway.db*`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The organization's id.
    pub fn org_id(&self) -> slipway_model::Uuid {
        self.org.parse().unwrap()
    }

    /// Creates a service of `kind` (its path segment) in `env`; returns its id.
    pub async fn service(&self, env: &str, kind: &str, body: Value) -> String {
        let created = self.post(&format!("/environment/{env}/{kind}"), body).await.expect(201);
        created["id"].as_str().unwrap().to_owned()
    }

    /// The environment's queued and running deployments, oldest first.
    pub async fn pending(&self, env: &str) -> Vec<slipway_model::deployment::Deployment> {
        self.store.pending_deployments(Some(env.parse().unwrap())).await.unwrap()
    }

    /// Sends a request with an `Authorization` header value (or none) and a raw body.
    pub async fn raw(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Vec<u8>>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let req = match body {
            Some(bytes) => req.header("content-type", "application/json").body(Body::from(bytes)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, body }
    }

    /// Sends a request as `token`.
    pub async fn call_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let auth = format!("Token {token}");
        self.raw(method, path, Some(&auth), body.map(|b| serde_json::to_vec(&b).unwrap())).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call_as(&self.token, Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call_as(&self.token, Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call_as(&self.token, Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.call_as(&self.token, Method::DELETE, path, None).await
    }

    /// The id of the organization's `local` registry.
    pub async fn registry(&self) -> String {
        let list = self.get(&format!("/organization/{}/containerRegistry", self.org)).await.expect(200);
        list["results"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a project and an environment; returns their ids.
    pub async fn project_and_env(&self) -> (String, String) {
        let project =
            self.post(&format!("/organization/{}/project", self.org), json!({"name": "shop"})).await.expect(200);
        let project = project["id"].as_str().unwrap().to_owned();
        let env = self.post(&format!("/project/{project}/environment"), json!({"name": "staging"})).await.expect(201);
        (project, env["id"].as_str().unwrap().to_owned())
    }
}

/// Valid request bodies for each service kind.
pub mod bodies {
    use serde_json::{Value, json};

    pub fn application(name: &str) -> Value {
        json!({
            "name": name,
            "git_repository": {"url": "https://example.com/acme/web.git", "branch": "main", "provider": "GITHUB"},
            "healthchecks": {"readiness_probe": {"type": {"http": {"port": 8080, "path": "/ready"}}}},
            "ports": [{"internal_port": 8080, "publicly_accessible": true}],
        })
    }

    pub fn container(name: &str, registry: &str) -> Value {
        json!({"name": name, "registry_id": registry, "image_name": "nginx", "tag": "1.27", "healthchecks": {}})
    }

    pub fn database(name: &str) -> Value {
        json!({"name": name, "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"})
    }

    pub fn cron_job(name: &str, registry: &str) -> Value {
        json!({
            "name": name, "healthchecks": {},
            "source": {"image": {"image_name": "busybox", "tag": "1.36", "registry_id": registry}},
            "schedule": {"cronjob": {"scheduled_at": "*/5 * * * *", "timezone": "Europe/Paris"}},
        })
    }

    pub fn lifecycle_job(name: &str, registry: &str) -> Value {
        json!({
            "name": name, "healthchecks": {},
            "source": {"image": {"image_name": "busybox", "tag": "1.36", "registry_id": registry}},
            "schedule": {"on_start": {"arguments": ["seed"]}},
        })
    }

    pub fn helm(name: &str) -> Value {
        json!({
            "name": name, "auto_deploy": false, "arguments": [],
            "source": {"git_repository": {"url": "https://example.com/acme/charts.git", "root_path": "/web"}},
            "values_override": {"set": [["replicas", "2"]]},
        })
    }

    pub fn terraform(name: &str) -> Value {
        json!({
            "name": name, "description": "infra",
            "auto_deploy_config": {"auto_deploy": false, "terraform_action": "DEFAULT"},
            "terraform_files_source": {"git_repository": {"url": "file:///srv/git/infra", "root_path": "/"}},
            "terraform_variables_source": {"tf_var_file_paths": [], "tf_vars": [{"key": "token", "value": "s3cr3t", "secret": true}]},
            "backend": {"kubernetes": {}},
            "engine": "TERRAFORM",
            "provider_version": {"explicit_version": "1.9"},
            "job_resources": {"cpu_milli": 500, "ram_mib": 256, "gpu": 0, "storage_gib": 1},
        })
    }
}

/// Runtimes for an engine that never runs anything.
#[derive(Debug)]
struct NoRuntimes;

#[async_trait::async_trait]
impl slipway_engine::Runtimes for NoRuntimes {
    async fn runtime(
        &self,
        _cluster: &Cluster,
    ) -> Result<std::sync::Arc<dyn slipway_runtime::Runtime>, slipway_runtime::RuntimeError> {
        Err(slipway_runtime::RuntimeError::Unreachable {
            endpoint: "none".into(),
            reason: "tests run no engine".into(),
        })
    }
}

/// An edge that routes nothing.
#[derive(Debug)]
struct NoTraffic;

impl slipway_engine::Traffic for NoTraffic {
    fn route(&self, _entry: &slipway_engine::Entry, _backends: Vec<std::net::SocketAddr>) {}
    fn unroute(&self, _entry: &slipway_engine::Entry) {}
    fn drain(
        &self,
        _backends: Vec<std::net::SocketAddr>,
        _timeout: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn Future<Output = usize> + Send>> {
        Box::pin(std::future::ready(0))
    }
}
