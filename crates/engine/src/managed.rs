//! Databases in MANAGED mode: a database and a role on a PostgreSQL server
//! registered with the cluster, named after the service and owned by it.
//!
//! Slipway marks what it creates with a comment naming the service
//! (`slipway:<service id>`), on the role and on the database. A deploy that
//! finds a database or role of that name without its mark refuses to take it
//! over, and a delete drops only what carries the mark: Slipway never drops
//! what it did not create, even after a crash between two statements.

use rand::distr::{Alphanumeric, SampleString};
use slipway_model::deployment::{Deployment, Release, ReleaseVariable, ServiceState};
use slipway_model::service::ServiceSpec;
use slipway_model::service::database::{DatabaseCredentials, DatabaseServer, DatabaseSpec, ManagedPlacement};
use slipway_model::{Uuid, short_id};
use slipway_store::Filter;
use sqlx::{Connection, PgConnection, Row};

use crate::EngineError;
use crate::rollout::Ctx;

/// The mark Slipway leaves on what it creates for `service`.
fn mark(service: Uuid) -> String {
    format!("slipway:{service}")
}

/// The name of the database and of the role: lowercase, unquoted-safe.
fn object_name(ctx: &Ctx) -> String {
    format!("sw_{}", short_id(ctx.service.id).to_lowercase())
}

fn failed(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::failed(format!("{what}: {e}"))
}

/// Logs in to a database server with its admin URL, to check it before
/// it is registered.
pub async fn check_database_server(admin_url: &str) -> Result<(), String> {
    let conn = PgConnection::connect(admin_url).await.map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// The server MANAGED databases of this engine land on, in the environment's cluster.
async fn server_for(ctx: &Ctx, db: &DatabaseSpec) -> Result<DatabaseServer, EngineError> {
    let servers: Vec<DatabaseServer> =
        ctx.inner.store.list(ctx.service.organization_id, Filter::parent(ctx.environment.cluster_id)).await?;
    servers.into_iter().find(|s| s.kind == db.kind).ok_or_else(|| {
        EngineError::failed(format!(
            "{} is a MANAGED {} database, and its cluster has no {} server registered \
             (register one with `slipway cluster database-server add`)",
            db.name,
            db.kind.as_str(),
            db.kind.as_str()
        ))
    })
}

async fn connect(ctx: &Ctx, server: &DatabaseServer) -> Result<PgConnection, EngineError> {
    let url = ctx.inner.secrets.open(&server.admin_url).map_err(|e| failed("cannot open the server's admin URL", e))?;
    PgConnection::connect(&url).await.map_err(|e| failed(&format!("cannot reach database server `{}`", server.name), e))
}

/// Host and port applications reach the server at.
fn placement_of(server: &DatabaseServer, admin_url: &str) -> (String, u16) {
    let rest = admin_url.split("://").nth(1).unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(5432)),
        None => (host_port.to_owned(), 5432),
    };
    (server.host.clone().unwrap_or(host), port)
}

/// The comment on a role or database, when it exists: `Some(None)` for one
/// without a comment.
async fn comment_of(conn: &mut PgConnection, kind: &str, name: &str) -> Result<Option<Option<String>>, EngineError> {
    let sql = match kind {
        "role" => "SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1",
        _ => "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1",
    };
    let row = sqlx::query(sql).bind(name).fetch_optional(&mut *conn).await.map_err(|e| failed("server query", e))?;
    Ok(row.map(|r| r.get::<Option<String>, _>("c")))
}

async fn exec(conn: &mut PgConnection, sql: String) -> Result<(), EngineError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await.map_err(|e| failed("server statement", e))?;
    Ok(())
}

/// Creates (or brings up to date) the database and its role; records a release.
pub(crate) async fn deploy(
    ctx: &Ctx,
    deployment: &Deployment,
    state: &mut ServiceState,
) -> Result<Option<Uuid>, EngineError> {
    let ServiceSpec::Database(db) = &ctx.service.spec else {
        return Err(EngineError::failed("not a database"));
    };
    let ctx = &ctx.step("provision");
    let server = server_for(ctx, db).await?;
    let admin_url = ctx.inner.secrets.open(&server.admin_url).map_err(|e| failed("admin URL", e))?;
    let name = object_name(ctx);
    let creds = match crate::variables::credentials_of(&ctx.inner.store, &ctx.service).await? {
        Some(c) => c,
        None => {
            let (host, port) = placement_of(&server, &admin_url);
            let creds = DatabaseCredentials {
                id: slipway_model::new_id(),
                organization_id: ctx.service.organization_id,
                service_id: ctx.service.id,
                login: name.clone(),
                password: ctx.inner.secrets.seal(&Alphanumeric.sample_string(&mut rand::rng(), 32)),
                database: name.clone(),
                managed: Some(ManagedPlacement { host, port, created: false }),
                external_port: None,
                created_at: slipway_model::now(),
            };
            ctx.inner.store.insert(&creds).await?;
            creds
        }
    };
    let password = ctx.inner.secrets.open(&creds.password).map_err(|e| failed("credentials", e))?;
    let ours = mark(ctx.service.id);
    let mut conn = connect(ctx, &server).await?;
    match comment_of(&mut conn, "role", &name).await? {
        None => {
            exec(&mut conn, format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")).await?;
            exec(&mut conn, format!("COMMENT ON ROLE \"{name}\" IS '{ours}'")).await?;
            ctx.info(&format!("created role {name} on server {}", server.name));
        }
        Some(Some(c)) if c == ours => {
            exec(&mut conn, format!("ALTER ROLE \"{name}\" LOGIN PASSWORD '{password}'")).await?;
        }
        Some(_) => {
            return Err(EngineError::failed(format!(
                "role {name} exists on server {} and Slipway did not create it: it is left alone",
                server.name
            )));
        }
    }
    match comment_of(&mut conn, "database", &name).await? {
        None => {
            exec(&mut conn, format!("CREATE DATABASE \"{name}\" OWNER \"{name}\"")).await?;
            exec(&mut conn, format!("COMMENT ON DATABASE \"{name}\" IS '{ours}'")).await?;
            ctx.info(&format!("created database {name} on server {}", server.name));
        }
        Some(Some(c)) if c == ours => ctx.info(&format!("database {name} is ready on server {}", server.name)),
        Some(_) => {
            return Err(EngineError::failed(format!(
                "database {name} exists on server {} and Slipway did not create it: it is left alone",
                server.name
            )));
        }
    }
    let _ = conn.close().await;
    if let Some(placement) = creds.managed.as_ref().filter(|p| !p.created) {
        let mut updated = creds.clone();
        updated.managed = Some(ManagedPlacement { created: true, ..placement.clone() });
        ctx.inner.store.update(&updated).await?;
    }
    let release = record_release(ctx, deployment.id, &server).await?;
    state.current_release = Some(release);
    state.message = None;
    Ok(Some(release))
}

/// A release for the status and history: what was provisioned, where.
async fn record_release(ctx: &Ctx, deployment_id: Uuid, server: &DatabaseServer) -> Result<Uuid, EngineError> {
    let variables: Vec<ReleaseVariable> = Vec::new();
    let release = Release {
        id: slipway_model::new_id(),
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        deployment_id,
        created_at: slipway_model::now(),
        image: format!("managed:{}", server.name),
        image_id: String::new(),
        digest: None,
        tag: None,
        commit: None,
        cache_key: None,
        spec: ctx.service.spec.to_json(),
        variables: None,
        variables_digest: Some(crate::variables::digest_of(&variables)),
    };
    ctx.inner.store.insert(&release).await?;
    Ok(release.id)
}

/// Drops the database and the role, if they carry this service's mark.
pub(crate) async fn remove(ctx: &Ctx, creds: &DatabaseCredentials) -> Result<(), EngineError> {
    let ServiceSpec::Database(db) = &ctx.service.spec else { return Ok(()) };
    let server = server_for(ctx, db).await?;
    let name = creds.database.clone();
    let ours = mark(ctx.service.id);
    let mut conn = connect(ctx, &server).await?;
    match comment_of(&mut conn, "database", &name).await? {
        Some(Some(c)) if c == ours => {
            exec(&mut conn, format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await?;
            ctx.info(&format!("dropped database {name} on server {}", server.name));
        }
        Some(_) => ctx.warn(&format!("database {name} on server {} is not Slipway's: left alone", server.name)),
        None => {}
    }
    match comment_of(&mut conn, "role", &creds.login).await? {
        Some(Some(c)) if c == ours => {
            exec(&mut conn, format!("DROP ROLE \"{}\"", creds.login)).await?;
            ctx.info(&format!("dropped role {} on server {}", creds.login, server.name));
        }
        Some(_) => ctx.warn(&format!("role {} on server {} is not Slipway's: left alone", creds.login, server.name)),
        None => {}
    }
    let _ = conn.close().await;
    Ok(())
}
