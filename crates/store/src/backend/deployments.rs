//! The deployment queue, deployment logs and service states.
//!
//! A worker claims the oldest queued deployment of an environment that has
//! none running, or a running one whose lease expired (its worker died), by
//! setting itself as lease owner in one statement. A partial unique index
//! keeps one running deployment per environment even with many workers on
//! PostgreSQL, where the claim also skips rows other workers have locked.

use chrono::{DateTime, Utc};
use slipway_model::Uuid;
use slipway_model::deployment::{Deployment, DeploymentLog, DeploymentStatus, ServiceState};
use sqlx::types::Json;

use super::{Backend, classify};
use crate::{Result, StoreError};

const CLAIM_SQLITE: &str = "UPDATE deployments SET status = 'RUNNING', lease_owner = $1, lease_expires_at = $2 \
    WHERE id = (SELECT d.id FROM deployments d \
        WHERE (d.status = 'QUEUED' AND NOT EXISTS \
                (SELECT 1 FROM deployments r WHERE r.environment_id = d.environment_id AND r.status = 'RUNNING')) \
           OR (d.status = 'RUNNING' AND d.lease_expires_at < $3) \
        ORDER BY d.created_at LIMIT 1) \
    RETURNING CAST(body AS TEXT), status";

const CLAIM_POSTGRES: &str = "UPDATE deployments SET status = 'RUNNING', lease_owner = $1, lease_expires_at = $2 \
    WHERE id = (SELECT d.id FROM deployments d \
        WHERE (d.status = 'QUEUED' AND NOT EXISTS \
                (SELECT 1 FROM deployments r WHERE r.environment_id = d.environment_id AND r.status = 'RUNNING')) \
           OR (d.status = 'RUNNING' AND d.lease_expires_at < $3) \
        ORDER BY d.created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
    RETURNING CAST(body AS TEXT), status";

fn deployment_of((body, status): (String, String)) -> Result<Deployment> {
    let mut d: Deployment = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("stored deployment does not parse: {e}")))?;
    d.status = DeploymentStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment {} has status `{status}`", d.id)))?;
    Ok(d)
}

impl Backend {
    pub(crate) async fn insert_deployment(&self, d: &Deployment) -> Result<()> {
        let body = Json(serde_json::to_value(d).unwrap_or_default());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO deployments (id, organization_id, environment_id, status, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(d.id).bind(d.organization_id).bind(d.environment_id).bind(d.status.as_str()).bind(body)
            .bind(d.created_at)
            .execute(pool)
            .await
            .map_err(|e| classify(e, "deployment", ""))?;
        });
        Ok(())
    }

    pub(crate) async fn get_deployment(&self, org: Uuid, id: Uuid) -> Result<Deployment> {
        const SQL: &str = "SELECT CAST(body AS TEXT), status FROM deployments WHERE id = $1 AND organization_id = $2";
        let row: Option<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(id).bind(org).fetch_optional(pool).await?
        });
        deployment_of(row.ok_or(StoreError::NotFound { what: "deployment" })?)
    }

    /// An environment's deployments, newest first.
    pub(crate) async fn list_deployments(
        &self,
        org: Uuid,
        env: Uuid,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Deployment>> {
        const SQL: &str = "SELECT CAST(body AS TEXT), status FROM deployments \
            WHERE organization_id = $1 AND environment_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4";
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(org).bind(env).bind(i64::from(limit)).bind(i64::from(offset)).fetch_all(pool).await?
        });
        rows.into_iter().map(deployment_of).collect()
    }

    /// Deployments not finished yet, oldest first (all environments when `env` is `None`).
    pub(crate) async fn pending_deployments(&self, env: Option<Uuid>) -> Result<Vec<Deployment>> {
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            match env {
                Some(env) => sqlx::query_as(
                    "SELECT CAST(body AS TEXT), status FROM deployments \
                     WHERE environment_id = $1 AND status IN ('QUEUED', 'RUNNING') ORDER BY created_at",
                ).bind(env).fetch_all(pool).await?,
                None => sqlx::query_as(
                    "SELECT CAST(body AS TEXT), status FROM deployments \
                     WHERE status IN ('QUEUED', 'RUNNING') ORDER BY created_at",
                ).fetch_all(pool).await?,
            }
        });
        rows.into_iter().map(deployment_of).collect()
    }

    pub(crate) async fn claim_deployment(&self, worker: &str, until: DateTime<Utc>) -> Result<Option<Deployment>> {
        let now = Utc::now();
        let row: Option<(String, String)> = match self {
            Backend::Sqlite(pool) => {
                sqlx::query_as(CLAIM_SQLITE).bind(worker).bind(until).bind(now).fetch_optional(pool).await
            }
            Backend::Postgres(pool) => {
                sqlx::query_as(CLAIM_POSTGRES).bind(worker).bind(until).bind(now).fetch_optional(pool).await
            }
        }
        .or_else(|e| match e.as_database_error() {
            // Another worker started a deployment of the same environment
            // first: nothing to claim for now.
            Some(db) if db.is_unique_violation() => Ok(None),
            _ => Err(e),
        })?;
        row.map(deployment_of).transpose()
    }

    pub(crate) async fn renew_lease(&self, id: Uuid, worker: &str, until: DateTime<Utc>) -> Result<bool> {
        const SQL: &str = "UPDATE deployments SET lease_expires_at = $3 \
            WHERE id = $1 AND lease_owner = $2 AND status = 'RUNNING'";
        let n = on_pool!(self, pool => {
            sqlx::query(SQL).bind(id).bind(worker).bind(until).execute(pool).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Writes a deployment's progress; only its lease owner may.
    pub(crate) async fn save_deployment(&self, d: &Deployment, worker: &str) -> Result<bool> {
        const SQL: &str = "UPDATE deployments SET body = $3, status = $4, \
            lease_owner = CASE WHEN $5 THEN NULL ELSE lease_owner END, \
            lease_expires_at = CASE WHEN $5 THEN NULL ELSE lease_expires_at END \
            WHERE id = $1 AND lease_owner = $2";
        let body = Json(serde_json::to_value(d).unwrap_or_default());
        let done = d.status.is_final();
        let n = on_pool!(self, pool => {
            sqlx::query(SQL).bind(d.id).bind(worker).bind(body).bind(d.status.as_str()).bind(done)
                .execute(pool).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Cancels a deployment nobody runs yet, or flags a running one for its worker.
    pub(crate) async fn cancel_deployment(&self, org: Uuid, id: Uuid) -> Result<DeploymentStatus> {
        let d = self.get_deployment(org, id).await?;
        if d.status == DeploymentStatus::Queued {
            let mut canceled = d.clone();
            canceled.status = DeploymentStatus::Canceled;
            canceled.finished_at = Some(slipway_model::now());
            canceled.error = Some("canceled before it started".into());
            let body = Json(serde_json::to_value(&canceled).unwrap_or_default());
            let n = on_pool!(self, pool => {
                sqlx::query("UPDATE deployments SET status = 'CANCELED', body = $2 WHERE id = $1 AND status = 'QUEUED'")
                    .bind(id).bind(body).execute(pool).await?.rows_affected()
            });
            if n == 1 {
                return Ok(DeploymentStatus::Canceled);
            }
        }
        on_pool!(self, pool => {
            sqlx::query("UPDATE deployments SET cancel_requested = TRUE WHERE id = $1 AND status = 'RUNNING'")
                .bind(id).execute(pool).await?;
        });
        Ok(self.get_deployment(org, id).await?.status)
    }

    pub(crate) async fn cancel_requested(&self, id: Uuid) -> Result<bool> {
        let flag: Option<bool> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT cancel_requested FROM deployments WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        Ok(flag.unwrap_or(false))
    }

    pub(crate) async fn append_log(&self, log: &DeploymentLog) -> Result<i64> {
        const SQL: &str = "INSERT INTO deployment_logs (deployment_id, environment_id, service_id, at, body) \
            VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let body = Json(serde_json::to_value(log).unwrap_or_default());
        let seq: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(log.deployment_id).bind(log.environment_id).bind(log.service_id).bind(log.at)
                .bind(body).fetch_one(pool).await?
        });
        Ok(seq)
    }

    /// A deployment's log lines after `after`, in order.
    pub(crate) async fn deployment_logs(&self, deployment: Uuid, after: i64, limit: u32) -> Result<Vec<DeploymentLog>> {
        const SQL: &str = "SELECT id, CAST(body AS TEXT) FROM deployment_logs \
            WHERE deployment_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        let rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(deployment).bind(after).bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.into_iter().map(log_of).collect()
    }

    /// The last `limit` log lines of an environment's deployments, in order.
    pub(crate) async fn environment_logs(&self, env: Uuid, limit: u32) -> Result<Vec<DeploymentLog>> {
        const SQL: &str = "SELECT id, CAST(body AS TEXT) FROM deployment_logs \
            WHERE environment_id = $1 ORDER BY id DESC LIMIT $2";
        let mut rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(SQL).bind(env).bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.reverse();
        rows.into_iter().map(log_of).collect()
    }

    pub(crate) async fn put_service_state(&self, state: &ServiceState) -> Result<()> {
        const SQL: &str = "INSERT INTO service_states (service_id, organization_id, environment_id, body, updated_at) \
            VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (service_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at";
        let body = Json(serde_json::to_value(state).unwrap_or_default());
        on_pool!(self, pool => {
            sqlx::query(SQL).bind(state.service_id).bind(state.organization_id).bind(state.environment_id).bind(body)
                .bind(state.updated_at).execute(pool).await
                .map_err(|e| classify(e, "service", ""))?;
        });
        Ok(())
    }

    pub(crate) async fn service_states(&self, org: Uuid, env: Option<Uuid>) -> Result<Vec<ServiceState>> {
        let rows: Vec<String> = on_pool!(self, pool => {
            match env {
                Some(env) => sqlx::query_scalar(
                    "SELECT CAST(body AS TEXT) FROM service_states WHERE organization_id = $1 AND environment_id = $2",
                ).bind(org).bind(env).fetch_all(pool).await?,
                None => sqlx::query_scalar("SELECT CAST(body AS TEXT) FROM service_states WHERE organization_id = $1")
                    .bind(org).fetch_all(pool).await?,
            }
        });
        rows.iter()
            .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Corrupt(format!("service state: {e}"))))
            .collect()
    }

    /// Every service state on the server (for the engine's reconciler).
    pub(crate) async fn all_service_states(&self) -> Result<Vec<ServiceState>> {
        let rows: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT CAST(body AS TEXT) FROM service_states").fetch_all(pool).await?
        });
        rows.iter()
            .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Corrupt(format!("service state: {e}"))))
            .collect()
    }
}

fn log_of((seq, body): (i64, String)) -> Result<DeploymentLog> {
    let mut log: DeploymentLog =
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("deployment log: {e}")))?;
    log.seq = seq;
    Ok(log)
}
