//! The client against the real Slipway API server, served in-process on a
//! real socket over a fresh SQLite store: the requests it sends are accepted
//! by the server, the answers decode, and each kind of failure is reported
//! with a message that says what to do.

use std::future::IntoFuture;
use std::net::SocketAddr;

use serde_json::{Value, json};
use slipway_api::auth::{generate_token, token_digest};
use slipway_api::{ApiConfig, AppState};
use slipway_api_types::{CreateEnvironmentMode, ServiceResponse};
use slipway_client::{Client, Error, ServiceSummary};
use slipway_model::{ApiToken, Cluster, ContainerRegistry, Organization, Role, new_id, now};
use slipway_store::{Store, StoreConfig, Tenant};
use uuid::Uuid;

/// A real Slipway API server on a loopback port, with one bootstrapped
/// organization (`acme`) and an owner token of it.
struct Server {
    addr: SocketAddr,
    /// The path the API is mounted under (`""`, or `/slipway`).
    prefix: &'static str,
    store: Store,
    org: Uuid,
    token: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// The API at the root of the server.
    async fn start() -> Server {
        Server::start_under("").await
    }

    /// The API mounted under `prefix`, as behind a reverse proxy that routes
    /// a path to Slipway; other paths get axum's plain 404.
    async fn start_under(prefix: &'static str) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::Sqlite(dir.path().join("slipway.db"))).await.unwrap();
        let (org, token) = tenant(&store, "acme").await;
        let api = slipway_api::router(AppState::new(store.clone(), ApiConfig::default()));
        let app = if prefix.is_empty() { api } else { axum::Router::new().nest(prefix, api) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(axum::serve(listener, app).into_future());
        Server { addr, prefix, store, org, token, _dir: dir }
    }

    /// The base URL of the API, prefix included.
    fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    /// A client of the API with the owner token.
    fn client(&self) -> Client {
        Client::new(&self.url(), &self.token).unwrap()
    }

    /// Sends a raw JSON request with the owner token, outside the typed
    /// client: for what the client has no method for. Returns status and body.
    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url()))
            .header("authorization", format!("Token {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The id of the organization's `local` registry.
    async fn registry(&self) -> String {
        let (status, list) =
            self.raw(reqwest::Method::GET, &format!("/organization/{}/containerRegistry", self.org), None).await;
        assert_eq!(status, 200, "{list}");
        list["results"][0]["id"].as_str().unwrap().to_owned()
    }
}

/// Bootstraps an organization with an owner token, as `slipway server` does
/// on first start; returns the organization's id and the token.
async fn tenant(store: &Store, name: &str) -> (Uuid, String) {
    let org = Organization::new(name);
    let secret = generate_token();
    let token = ApiToken {
        id: new_id(),
        organization_id: org.id,
        name: format!("{name}-token"),
        description: None,
        role: Role::Owner,
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
    (org.id, secret)
}

/// A loopback URL on which nothing listens.
fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn sends_the_token_and_decodes_the_list_envelope() {
    let server = Server::start().await;
    let orgs = server.client().list_organizations().await.unwrap();
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!((orgs[0].id, orgs[0].name.as_str()), (server.org, "acme"));

    // The answer depends on the token sent: another organization's token
    // sees that organization only.
    let (other, other_token) = tenant(&server.store, "globex").await;
    let orgs = Client::new(&server.url(), &other_token).unwrap().list_organizations().await.unwrap();
    assert_eq!(orgs.iter().map(|o| o.id).collect::<Vec<_>>(), [other]);

    // A token read from a file keeps its newline; the client trims it.
    let padded = Client::new(&server.url(), &format!(" {}\n", server.token)).unwrap();
    assert_eq!(padded.get_organization(server.org).await.unwrap().name, "acme");

    let clusters = server.client().list_clusters(server.org).await.unwrap();
    assert!(clusters.iter().any(|c| c.is_default), "{clusters:?}");
}

#[tokio::test]
async fn keeps_a_path_prefix_of_the_base_url() {
    let server = Server::start_under("/slipway").await;
    for base in [server.url(), format!("{}/", server.url())] {
        let client = Client::new(&base, &server.token).unwrap();
        assert_eq!(client.base_url(), server.url());
        let orgs = client.list_organizations().await.unwrap();
        assert_eq!(orgs[0].id, server.org);
        let project = client.create_project(server.org, "shop", None).await.unwrap();
        client.delete_project(project.id).await.unwrap();
    }
}

#[tokio::test]
async fn projects_and_environments_round_trip() {
    let server = Server::start().await;
    let client = server.client();

    let project = client.create_project(server.org, "shop", Some("the shop")).await.unwrap();
    assert_eq!((project.name.as_str(), project.description.as_deref()), ("shop", Some("the shop")));
    assert_eq!(project.organization.id, server.org);
    assert_eq!(client.get_project(project.id).await.unwrap(), project);
    let projects = client.list_projects(server.org).await.unwrap();
    assert_eq!(projects.iter().map(|p| p.id).collect::<Vec<_>>(), [project.id]);

    // Without a mode or a cluster: the server's defaults.
    let dev = client.create_environment(project.id, "dev", None, None).await.unwrap();
    assert_eq!(serde_json::to_value(dev.mode).unwrap(), "DEVELOPMENT");
    let clusters = client.list_clusters(server.org).await.unwrap();
    let default = clusters.iter().find(|c| c.is_default).unwrap();
    assert_eq!(dev.cluster_id, default.id);

    // With both: the server honours them.
    let staging = client
        .create_environment(project.id, "staging", Some(CreateEnvironmentMode::Staging), Some(default.id))
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(staging.mode).unwrap(), "STAGING");
    assert_eq!(staging.project.id, project.id);
    assert_eq!(client.get_environment(staging.id).await.unwrap(), staging);
    let mut names: Vec<_> = client.list_environments(project.id).await.unwrap().into_iter().map(|e| e.name).collect();
    names.sort();
    assert_eq!(names, ["dev", "staging"]);
    assert_eq!(client.get_project(project.id).await.unwrap().associated_environments_count, 2);

    client.delete_environment(dev.id).await.unwrap();
    let err = client.get_environment(dev.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    client.delete_project(project.id).await.unwrap();
    let err = client.get_project(project.id).await.unwrap_err();
    match &err {
        Error::Api { status: 404, code, message } => {
            assert_eq!(code, "not_found");
            assert!(message.contains("not found"), "{message}");
        }
        other => panic!("expected a 404 API error, got {other:?}"),
    }
    assert!(err.is_not_found());
    // Deleting the project deleted its environments.
    assert!(client.get_environment(staging.id).await.unwrap_err().is_not_found());
    assert!(client.list_projects(server.org).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_token_says_to_log_in_again() {
    let server = Server::start().await;
    for token in ["not-a-token", ""] {
        let err = Client::new(&server.url(), token).unwrap().list_organizations().await.unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{token:?}: {err:?}");
        assert!(err.to_string().contains("slipway login"), "{err}");
    }
}

#[tokio::test]
async fn a_conflict_becomes_an_api_error_with_the_servers_words() {
    let server = Server::start().await;
    let client = server.client();
    client.create_project(server.org, "shop", None).await.unwrap();
    let err = client.create_project(server.org, "shop", None).await.unwrap_err();
    match &err {
        Error::Api { status, code, message } => {
            assert_eq!((*status, code.as_str()), (409, "conflict"));
            assert!(message.contains("`shop` already exists"), "{message}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(!err.is_not_found());
    let shown = err.to_string();
    assert!(shown.contains("already exists") && shown.contains("HTTP 409") && shown.contains("conflict"), "{shown}");
}

#[tokio::test]
async fn a_validation_error_names_its_field() {
    let server = Server::start().await;
    let client = server.client();
    let err = client.create_project(server.org, "", None).await.unwrap_err();
    match &err {
        Error::Api { status: 400, code, message } => {
            assert_eq!(code, "validation_failed");
            assert!(message.contains("`name`") && message.contains("must not be empty"), "{message}");
        }
        other => panic!("expected a 400 API error, got {other:?}"),
    }
    assert!(err.to_string().contains("HTTP 400"), "{err}");

    // A field of a nested reference: an unknown cluster.
    let project = client.create_project(server.org, "shop", None).await.unwrap();
    let err = client.create_environment(project.id, "prod", None, Some(Uuid::nil())).await.unwrap_err();
    match &err {
        Error::Api { status: 400, code, message } => {
            assert_eq!(code, "validation_failed");
            assert!(message.contains("`cluster`"), "{message}");
        }
        other => panic!("expected a 400 API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plain_404_outside_the_api_is_still_reported() {
    // The API is mounted under /slipway, the base URL lacks the prefix: the
    // router in front answers a bare 404 with an empty body, not the API's
    // JSON error.
    let server = Server::start_under("/slipway").await;
    let client = Client::new(&format!("http://{}", server.addr), &server.token).unwrap();
    let err = client.get_project(Uuid::nil()).await.unwrap_err();
    match &err {
        Error::Api { status: 404, code, message } => {
            assert_eq!(code, "http_error");
            assert_eq!(message, "Not Found");
        }
        other => panic!("expected a 404 API error, got {other:?}"),
    }
    assert!(err.is_not_found());
    assert!(err.to_string().contains("Not Found"), "{err}");
}

#[tokio::test]
async fn lists_services_of_every_kind() {
    let server = Server::start().await;
    let client = server.client();
    let registry = server.registry().await;
    let project = client.create_project(server.org, "shop", None).await.unwrap();
    let env = client.create_environment(project.id, "staging", None, None).await.unwrap();
    assert!(client.list_services(env.id).await.unwrap().is_empty());

    // The client has no methods to create services: create them over HTTP
    // with the bodies the contract takes.
    let cases = [
        (
            "application",
            json!({
                "name": "web",
                "git_repository": {"url": "https://example.com/acme/web.git", "branch": "main", "provider": "GITHUB"},
                "healthchecks": {"readiness_probe": {"type": {"http": {"port": 8080, "path": "/ready"}}}},
                "ports": [{"internal_port": 8080, "publicly_accessible": true}],
            }),
        ),
        (
            "container",
            json!({
                "name": "proxy", "registry_id": registry, "image_name": "nginx", "tag": "1.27", "healthchecks": {},
            }),
        ),
        ("database", json!({"name": "db", "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"})),
        (
            "job",
            json!({
                "name": "nightly", "healthchecks": {},
                "source": {"image": {"image_name": "busybox", "tag": "1.36", "registry_id": registry}},
                "schedule": {"cronjob": {"scheduled_at": "*/5 * * * *", "timezone": "Europe/Paris"}},
            }),
        ),
        (
            "helm",
            json!({
                "name": "chart", "auto_deploy": false, "arguments": [],
                "source": {"git_repository": {"url": "https://example.com/acme/charts.git", "root_path": "/web"}},
                "values_override": {"set": [["replicas", "2"]]},
            }),
        ),
        (
            "terraform",
            json!({
                "name": "infra", "description": "infra",
                "auto_deploy_config": {"auto_deploy": false, "terraform_action": "DEFAULT"},
                "terraform_files_source": {"git_repository": {"url": "file:///srv/git/infra", "root_path": "/"}},
                "terraform_variables_source": {"tf_var_file_paths": [], "tf_vars": []},
                "backend": {"kubernetes": {}},
                "engine": "TERRAFORM",
                "provider_version": {"explicit_version": "1.9"},
                "job_resources": {"cpu_milli": 500, "ram_mib": 256, "gpu": 0, "storage_gib": 1},
            }),
        ),
    ];
    let mut expected = Vec::new();
    for (kind, body) in cases {
        let (status, created) =
            server.raw(reqwest::Method::POST, &format!("/environment/{}/{kind}", env.id), Some(body)).await;
        assert_eq!(status, 201, "{kind}: {created}");
        let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
        let name = created["name"].as_str().unwrap().to_owned();
        let service_type = created["service_type"].as_str().unwrap().to_owned();
        expected.push((id, name, service_type));
    }

    let services = client.list_services(env.id).await.unwrap();
    let mut got: Vec<_> =
        services.iter().map(ServiceSummary::from).map(|s| (s.id, s.name, s.service_type.to_owned())).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // Each listing decoded as its own kind, not as a look-alike.
    for service in &services {
        let (summary, decoded_as) = (
            ServiceSummary::from(service),
            match service {
                ServiceResponse::Application(_) => "APPLICATION",
                ServiceResponse::Container(_) => "CONTAINER",
                ServiceResponse::Database(_) => "DATABASE",
                ServiceResponse::Job(_) => "JOB",
                ServiceResponse::Helm(_) => "HELM",
                ServiceResponse::Terraform(_) => "TERRAFORM",
            },
        );
        assert_eq!(summary.service_type, decoded_as, "{} decoded as {decoded_as}", summary.name);
    }

    // Deleting the environment deletes its services.
    client.delete_environment(env.id).await.unwrap();
    assert!(client.list_services(env.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = closed_port_url();
    let err = Client::new(&url, "t").unwrap().list_organizations().await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&url) && message.contains("not reachable"), "{message}");
    assert!(message.contains("slipway server"), "{message}");
}

#[test]
fn refuses_urls_it_cannot_call() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for url in ["localhost:8080", "ftp://example.com", "http://example.com/?a=b", "http://example.com/#top", "", "  "] {
        let err = Client::new(url, "t").unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
    }
    let err = Client::new("localhost:8080", "t").unwrap_err();
    assert!(err.to_string().contains("http://localhost:8080"), "{err}");
}

#[test]
fn debug_output_hides_the_token() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new("http://127.0.0.1:1", "s3cret").unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("http://127.0.0.1:1"), "{shown}");
}

#[tokio::test]
async fn follows_a_deployment_stream_and_reads_its_history() {
    use slipway_client::DeploymentEvent;
    use slipway_model::deployment::{Deployment, DeploymentAction, DeploymentLog, DeploymentStatus, LogLevel, Origin};

    let server = Server::start().await;
    let client = server.client();
    let project = client.create_project(server.org, "shop", None).await.unwrap();
    let env = client.create_environment(project.id, "dev", None, None).await.unwrap();
    assert_eq!(client.environment_history(env.id, 10, 1).await.unwrap().results, Vec::new());
    let statuses = client.environment_statuses(env.id).await.unwrap();
    assert_eq!(statuses.environment.id, env.id);

    // A deployment that was canceled while queued, with two lines of log.
    let d =
        Deployment::new(server.org, project.id, env.id, DeploymentAction::Deploy, Vec::new(), Origin::Cli, "me".into());
    server.store.insert_deployment(&d).await.unwrap();
    for (i, message) in ["first", "second line\nwith two lines"].into_iter().enumerate() {
        let line = DeploymentLog {
            seq: 0,
            deployment_id: d.id,
            environment_id: env.id,
            service_id: None,
            at: now(),
            stage: None,
            step: None,
            level: if i == 0 { LogLevel::Info } else { LogLevel::Warning },
            message: message.into(),
        };
        server.store.append_log(&line).await.unwrap();
    }
    server.store.cancel_deployment(server.org, d.id).await.unwrap();

    let got = client.get_deployment(d.id).await.unwrap();
    assert_eq!((got.id, got.status), (d.id, DeploymentStatus::Canceled));
    let history = client.environment_history(env.id, 10, 1).await.unwrap();
    assert_eq!(history.results[0].identifier.execution_id, d.id);

    let mut events = client.stream_deployment(d.id).await.unwrap();
    let mut seen = Vec::new();
    while let Some(event) = events.next().await.unwrap() {
        seen.push(event);
    }
    let [
        DeploymentEvent::Deployment(first),
        DeploymentEvent::Log(a),
        DeploymentEvent::Log(b),
        DeploymentEvent::End(end),
    ] = seen.as_slice()
    else {
        panic!("unexpected events: {seen:?}");
    };
    assert_eq!(first.id, d.id);
    assert_eq!((a.message.as_str(), b.message.as_str()), ("first", "second line\nwith two lines"));
    assert_eq!((b.level, a.seq < b.seq), (LogLevel::Warning, true));
    assert_eq!(end.status, DeploymentStatus::Canceled);
    let lines = client.deployment_log(env.id, Some(d.id)).await.unwrap();
    assert_eq!(lines.len(), 2);

    // Unknown ids are refused before any stream starts.
    let err = client.stream_deployment(Uuid::from_u128(7)).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
