//! Rewriting the sealed values held anywhere in the store, in one
//! transaction: what a secret key rotation needs.
//!
//! Sealed values are JSON strings with a known prefix (`sw1:`) inside the
//! documents of several tables (variables, database credentials, registry
//! credentials, releases' variables...). Rather than knowing each document's
//! shape, the rewrite walks every string of every document that may hold
//! one, so that a new kind of secret cannot be forgotten.

use serde_json::Value;
use slipway_model::Uuid;
use sqlx::types::Json;

use super::{Backend, sql};
use crate::{Result, StoreError};

/// Every table with a JSON `body`, and the column that identifies its rows.
/// `deployment_logs` is left out: log lines are stored redacted and never
/// carry a sealed value.
const DOCUMENT_TABLES: &[(&str, &str)] = &[
    ("organizations", "id"),
    ("clusters", "id"),
    ("container_registries", "id"),
    ("projects", "id"),
    ("environments", "id"),
    ("services", "id"),
    ("api_tokens", "id"),
    ("deployments", "id"),
    ("releases", "id"),
    ("deployment_stages", "id"),
    ("service_states", "service_id"),
    ("variables", "id"),
    ("database_credentials", "id"),
    ("database_servers", "id"),
    ("certificates", "id"),
    ("custom_domains", "id"),
    ("job_runs", "id"),
    ("job_outputs", "id"),
    ("cron_states", "id"),
    ("terraform_states", "id"),
    ("terraform_locks", "id"),
];

/// Applies `rewrite` to every string of `value` that starts with `prefix`;
/// returns how many it changed.
fn rewrite_strings<E: std::fmt::Display>(
    value: &mut Value,
    prefix: &str,
    rewrite: &mut impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<u64, E> {
    match value {
        Value::String(s) if s.starts_with(prefix) => match rewrite(s)? {
            Some(new) if new != *s => {
                *s = new;
                Ok(1)
            }
            _ => Ok(0),
        },
        Value::Array(items) => items.iter_mut().try_fold(0, |n, v| Ok(n + rewrite_strings(v, prefix, rewrite)?)),
        Value::Object(map) => map.values_mut().try_fold(0, |n, v| Ok(n + rewrite_strings(v, prefix, rewrite)?)),
        _ => Ok(0),
    }
}

impl Backend {
    /// See [`crate::Store::rewrite_sealed`].
    pub(crate) async fn rewrite_sealed<E: std::fmt::Display>(
        &self,
        prefix: &str,
        mut rewrite: impl FnMut(&str) -> Result<Option<String>, E>,
    ) -> Result<u64> {
        // `_` and `%` in the prefix only widen the match; strings are checked exactly below.
        let pattern = format!("%{prefix}%");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut changed = 0u64;
            for (table, key) in DOCUMENT_TABLES {
                let select = format!("SELECT {key}, CAST(body AS TEXT) FROM {table} WHERE CAST(body AS TEXT) LIKE $1");
                let rows: Vec<(Uuid, String)> =
                    sqlx::query_as(sql(select)).bind(&pattern).fetch_all(&mut *tx).await?;
                for (id, text) in rows {
                    let mut body: Value = serde_json::from_str(&text)
                        .map_err(|e| StoreError::Corrupt(format!("{table} row {id} does not parse: {e}")))?;
                    let n = rewrite_strings(&mut body, prefix, &mut rewrite)
                        .map_err(|e| StoreError::Rewrite(format!("{table} row {id}: {e}")))?;
                    if n > 0 {
                        let update = format!("UPDATE {table} SET body = $1 WHERE {key} = $2");
                        sqlx::query(sql(update)).bind(Json(body)).bind(id).execute(&mut *tx).await?;
                        changed += n;
                    }
                }
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// The tables with a `body` column missing from [`DOCUMENT_TABLES`].
    pub(crate) async fn tables_not_rewritten(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = match self {
            Backend::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c \
                     WHERE m.type = 'table' AND c.name = 'body'",
                )
                .fetch_all(pool)
                .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT table_name::TEXT FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND column_name = 'body'",
                )
                .fetch_all(pool)
                .await?
            }
        };
        names.retain(|n| !DOCUMENT_TABLES.iter().any(|(t, _)| t == n));
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefixed_string_is_rewritten_wherever_it_sits() {
        let mut doc = serde_json::json!({
            "a": "sw1:one", "b": ["x", {"c": "sw1:two"}], "d": 3, "e": "not sw1:three", "f": "sw1:same"
        });
        let mut seen = Vec::new();
        let n = rewrite_strings(&mut doc, "sw1:", &mut |s: &str| -> Result<Option<String>, String> {
            seen.push(s.to_owned());
            Ok(if s == "sw1:same" { Some(s.to_owned()) } else { Some(format!("sw1:new-{}", &s[4..])) })
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(doc["a"], "sw1:new-one");
        assert_eq!(doc["b"][1]["c"], "sw1:new-two");
        assert_eq!(doc["e"], "not sw1:three");
        assert_eq!(seen.len(), 3);
        let err = rewrite_strings(&mut doc, "sw1:", &mut |_: &str| -> Result<Option<String>, String> {
            Err("refused".into())
        });
        assert_eq!(err.unwrap_err(), "refused");
    }
}
