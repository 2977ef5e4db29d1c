//! The SQL behind [`crate::Store`], written once for both dialects.
//!
//! `on_pool!` expands a block once per backend, so each query is checked by
//! the compiler against both drivers while the SQL text stays shared.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use slipway_model::{ApiToken, Organization, Timestamp, Uuid};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};

use crate::record::{Key, Table};
use crate::{Filter, Result, StoreConfig, StoreError, Tenant};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
macro_rules! on_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match $self {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

mod certificates;
mod deployments;
mod sealed;

pub use certificates::CertificateRecord;

/// Maps constraint violations to what they mean for the resource at hand.
pub(crate) fn classify(err: sqlx::Error, what: &'static str, name: &str) -> StoreError {
    if let Some(db) = err.as_database_error() {
        if db.is_unique_violation() {
            return StoreError::NameTaken { what, name: name.to_owned() };
        }
        if db.is_foreign_key_violation() {
            return StoreError::InUse { what };
        }
    }
    StoreError::Database(err)
}

pub(crate) fn sql(text: String) -> AssertSqlSafe<String> {
    // Table names come from the closed `Table` enum; values are always bound.
    AssertSqlSafe(text)
}

pub(crate) fn body_of<T: serde::de::DeserializeOwned>(what: &str, body: Value) -> Result<T> {
    serde_json::from_value(body).map_err(|e| StoreError::Corrupt(format!("stored {what} does not parse: {e}")))
}

impl Backend {
    pub(crate) async fn open(config: &StoreConfig) -> Result<Backend> {
        let backend = match config {
            StoreConfig::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                }
                let options = SqliteConnectOptions::from_str("sqlite://")?
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Backend::Sqlite(pool)
            }
            StoreConfig::Postgres(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Backend::Postgres(pool)
            }
        };
        Ok(backend)
    }

    pub(crate) fn dialect(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub(crate) async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        use crate::Record;
        let org = &tenant.organization;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO organizations (id, name, body, created_at) VALUES ($1, $2, $3, $4)")
                .bind(org.id)
                .bind(&org.spec.name)
                .bind(Json(serde_json::to_value(org).unwrap_or_default()))
                .bind(org.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| classify(e, "organization", &org.spec.name))?;
            let records = tenant.clusters.iter().map(|c| (Table::Clusters, "cluster", c.key(), c.to_body()))
                .chain(tenant.registries.iter().map(|r| (Table::Registries, "container registry", r.key(), r.to_body())));
            for (table, what, key, body) in records {
                sqlx::query(sql(insert_sql(table)))
                    .bind(key.id).bind(key.organization_id).bind(key.parent_id).bind(key.kind)
                    .bind(key.uses_id).bind(&key.name).bind(Json(body)).bind(key.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| classify(e, what, &key.name))?;
            }
            for (token, hash) in &tenant.tokens {
                sqlx::query(INSERT_TOKEN)
                    .bind(token.id).bind(token.organization_id).bind(hash).bind(&token.name)
                    .bind(Json(serde_json::to_value(token).unwrap_or_default())).bind(token.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| classify(e, "API token", &token.name))?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub(crate) async fn list_organizations(&self) -> Result<Vec<Organization>> {
        let rows: Vec<Json<Value>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT body FROM organizations ORDER BY created_at, id").fetch_all(pool).await?
        });
        rows.into_iter().map(|Json(b)| body_of("organization", b)).collect()
    }

    pub(crate) async fn get_organization(&self, id: Uuid) -> Result<Organization> {
        let row: Option<Json<Value>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT body FROM organizations WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        let Json(body) = row.ok_or(StoreError::NotFound { what: "organization" })?;
        body_of("organization", body)
    }

    pub(crate) async fn update_organization(&self, org: &Organization) -> Result<()> {
        let body = Json(serde_json::to_value(org).unwrap_or_default());
        let done = on_pool!(self, pool => {
            sqlx::query("UPDATE organizations SET name = $2, body = $3 WHERE id = $1")
                .bind(org.id).bind(&org.spec.name).bind(body)
                .execute(pool).await.map_err(|e| classify(e, "organization", &org.spec.name))?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound { what: "organization" }) } else { Ok(()) }
    }

    pub(crate) async fn insert(&self, table: Table, what: &'static str, key: &Key, body: &Value) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(sql(insert_sql(table)))
                .bind(key.id).bind(key.organization_id).bind(key.parent_id).bind(key.kind)
                .bind(key.uses_id).bind(&key.name).bind(Json(body)).bind(key.created_at)
                .execute(pool)
                .await
                .map_err(|e| classify(e, what, &key.name))?;
        });
        Ok(())
    }

    pub(crate) async fn update(&self, table: Table, what: &'static str, key: &Key, body: &Value) -> Result<()> {
        let text = format!(
            "UPDATE {} SET name = $3, uses_id = $4, body = $5, kind = $6 WHERE id = $1 AND organization_id = $2",
            table.name()
        );
        let done = on_pool!(self, pool => {
            sqlx::query(sql(text))
                .bind(key.id).bind(key.organization_id).bind(&key.name).bind(key.uses_id).bind(Json(body))
                .bind(key.kind)
                .execute(pool)
                .await
                .map_err(|e| classify(e, what, &key.name))?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound { what }) } else { Ok(()) }
    }

    /// The document of one resource, as JSON text (decoded by the caller
    /// straight into its type).
    pub(crate) async fn get(&self, table: Table, what: &'static str, org: Uuid, id: Uuid) -> Result<String> {
        let text = format!("SELECT CAST(body AS TEXT) FROM {} WHERE id = $1 AND organization_id = $2", table.name());
        let row: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(sql(text)).bind(id).bind(org).fetch_optional(pool).await?
        });
        row.ok_or(StoreError::NotFound { what })
    }

    /// The documents of a listing, as JSON text, oldest first.
    pub(crate) async fn list(&self, table: Table, org: Uuid, filter: Filter<'_>) -> Result<Vec<String>> {
        // Organization-level resources have the organization as parent, so
        // the listing index (parent_id, created_at, id) serves them too.
        let parent = filter.parent.or(table.parent_is_organization().then_some(org));
        let mut text = format!("SELECT CAST(body AS TEXT) FROM {} WHERE organization_id = $1", table.name());
        if parent.is_some() {
            text.push_str(" AND parent_id = $2");
        }
        if filter.kind.is_some() {
            text.push_str(if parent.is_some() { " AND kind = $3" } else { " AND kind = $2" });
        }
        text.push_str(" ORDER BY created_at, id");
        let rows: Vec<String> = on_pool!(self, pool => {
            let mut q = sqlx::query_scalar(sql(text)).bind(org);
            if let Some(parent) = parent {
                q = q.bind(parent);
            }
            if let Some(kind) = filter.kind {
                q = q.bind(kind);
            }
            q.fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub(crate) async fn prune(&self, table: Table, org: Uuid, parent: Uuid, keep: u32) -> Result<u64> {
        let text = format!(
            "DELETE FROM {t} WHERE organization_id = $1 AND parent_id = $2 AND id NOT IN \
             (SELECT id FROM {t} WHERE organization_id = $1 AND parent_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3)",
            t = table.name()
        );
        let done = on_pool!(self, pool => {
            sqlx::query(sql(text)).bind(org).bind(parent).bind(i64::from(keep)).execute(pool).await?.rows_affected()
        });
        Ok(done)
    }

    pub(crate) async fn delete(&self, table: Table, what: &'static str, org: Uuid, id: Uuid) -> Result<()> {
        let text = format!("DELETE FROM {} WHERE id = $1 AND organization_id = $2", table.name());
        let done = on_pool!(self, pool => {
            sqlx::query(sql(text)).bind(id).bind(org).execute(pool).await
                .map_err(|e| classify(e, what, ""))?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound { what });
        }
        if matches!(table, Table::Projects | Table::Environments | Table::Services) {
            // Variables name their parent without a foreign key (it may be a
            // project, an environment or a service): drop those whose parent
            // is gone, directly or by cascade.
            const SQL: &str = "DELETE FROM variables WHERE organization_id = $1 AND parent_id NOT IN \
                (SELECT id FROM projects WHERE organization_id = $1 \
                 UNION SELECT id FROM environments WHERE organization_id = $1 \
                 UNION SELECT id FROM services WHERE organization_id = $1)";
            on_pool!(self, pool => { sqlx::query(SQL).bind(org).execute(pool).await?; });
        }
        Ok(())
    }

    /// Deletes the rows of `table` that use `id` (aliases and overrides of a
    /// variable); returns how many.
    pub(crate) async fn delete_using(&self, table: Table, org: Uuid, id: Uuid) -> Result<u64> {
        let text = format!("DELETE FROM {} WHERE organization_id = $1 AND uses_id = $2", table.name());
        Ok(on_pool!(self, pool => {
            sqlx::query(sql(text)).bind(org).bind(id).execute(pool).await?.rows_affected()
        }))
    }

    /// Counts rows per value of `column` (`parent_id` or `uses_id`).
    pub(crate) async fn count_by(&self, table: Table, column: &'static str, org: Uuid) -> Result<HashMap<Uuid, u64>> {
        let text = format!(
            "SELECT {column}, COUNT(*) FROM {} WHERE organization_id = $1 AND {column} IS NOT NULL GROUP BY {column}",
            table.name()
        );
        let rows: Vec<(Uuid, i64)> = on_pool!(self, pool => {
            sqlx::query(sql(text)).bind(org).fetch_all(pool).await?
                .into_iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows.into_iter().map(|(id, n)| (id, n.max(0) as u64)).collect())
    }

    pub(crate) async fn insert_token(&self, token: &ApiToken, hash: &str) -> Result<()> {
        let body = Json(serde_json::to_value(token).unwrap_or_default());
        on_pool!(self, pool => {
            sqlx::query(INSERT_TOKEN)
                .bind(token.id).bind(token.organization_id).bind(hash).bind(&token.name).bind(body)
                .bind(token.created_at)
                .execute(pool)
                .await
                .map_err(|e| classify(e, "API token", &token.name))?;
        });
        Ok(())
    }

    pub(crate) async fn list_tokens(&self, org: Uuid) -> Result<Vec<ApiToken>> {
        const SQL: &str =
            "SELECT body, last_used_at FROM api_tokens WHERE organization_id = $1 ORDER BY created_at, id";
        let rows: Vec<(Json<Value>, Option<Timestamp>)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(org).fetch_all(pool).await?
        });
        rows.into_iter().map(token_of).collect()
    }

    pub(crate) async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        const SQL: &str = "SELECT body, last_used_at FROM api_tokens WHERE token_hash = $1";
        let row: Option<(Json<Value>, Option<Timestamp>)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(hash).fetch_optional(pool).await?
        });
        row.map(token_of).transpose()
    }

    pub(crate) async fn delete_token(&self, org: Uuid, id: Uuid) -> Result<()> {
        const SQL: &str = "DELETE FROM api_tokens WHERE id = $1 AND organization_id = $2";
        let done = on_pool!(self, pool => {
            sqlx::query(SQL).bind(id).bind(org).execute(pool).await?.rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound { what: "API token" }) } else { Ok(()) }
    }

    pub(crate) async fn touch_token(&self, id: Uuid, at: Timestamp) -> Result<()> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(id).bind(at).execute(pool).await?;
        });
        Ok(())
    }
}

const INSERT_TOKEN: &str =
    "INSERT INTO api_tokens (id, organization_id, token_hash, name, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

fn insert_sql(table: Table) -> String {
    format!(
        "INSERT INTO {} (id, organization_id, parent_id, kind, uses_id, name, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        table.name()
    )
}

fn token_of((Json(body), last_used_at): (Json<Value>, Option<Timestamp>)) -> Result<ApiToken> {
    let mut token: ApiToken = body_of("API token", body)?;
    token.last_used_at = last_used_at;
    Ok(token)
}
