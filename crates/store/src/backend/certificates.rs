//! The edge's TLS certificates, one document per name.

use slipway_model::{new_id, now};
use sqlx::types::Json;

use super::{Backend, body_of};
use crate::Result;

/// A TLS certificate as stored: the PEM chain in clear, the private key sealed by the caller (the store
/// never sees it in clear).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateRecord {
    /// The certificate chain, PEM.
    pub chain_pem: String,
    /// The private key, sealed (`sw1:...`).
    pub key_sealed: String,
}

impl Backend {
    pub(crate) async fn certificate(&self, name: &str) -> Result<Option<CertificateRecord>> {
        let body: Option<Json<serde_json::Value>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT body FROM certificates WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        body.map(|Json(body)| body_of("certificate", body)).transpose()
    }

    pub(crate) async fn save_certificate(&self, name: &str, record: &CertificateRecord) -> Result<()> {
        let body = serde_json::to_value(record).unwrap_or_default();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO certificates (id, name, body, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .bind(new_id())
            .bind(name)
            .bind(Json(body))
            .bind(now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
