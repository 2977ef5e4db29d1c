//! API tokens: how they look, how they are stored, and who a request is.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use slipway_model::{Role, Uuid};

use crate::error::ApiError;
use crate::state::AppState;

/// Tokens start with this prefix. It contains `_`, so the Qovery CLI, which
/// sends base64-looking tokens as `Bearer`, sends ours as `Token`.
pub const TOKEN_PREFIX: &str = "qov_slw_";

/// A fresh token secret: the prefix and 32 random bytes in hex.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The digest stored for a token. Tokens are 256 random bits, so a plain
/// SHA-256 is enough: there is nothing to brute-force.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller of a request, from its API token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The organization the token belongs to; the caller sees nothing else.
    pub organization_id: Uuid,
    /// The token's id.
    pub token_id: Uuid,
    /// The token's name.
    pub token_name: String,
    /// What the token may do.
    pub role: Role,
    /// When the token was created.
    pub created_at: slipway_model::Timestamp,
}

impl Caller {
    /// Refuses unless the caller's role is `role` or more powerful.
    pub fn require(&self, role: Role, action: &str) -> Result<(), ApiError> {
        if self.role <= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} token may not {action}; it needs the {} role",
                self.role.as_str(),
                role.as_str()
            )))
        }
    }

    /// Refuses an organization id from the path that is not the caller's.
    /// Another tenant's organization is reported as not found, never as forbidden.
    pub fn check_organization(&self, organization_id: Uuid) -> Result<(), ApiError> {
        if organization_id == self.organization_id { Ok(()) } else { Err(ApiError::NotFound { what: "organization" }) }
    }
}

/// Reads `Token <t>` or `Bearer <t>` from the `Authorization` header.
fn presented_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        Some(token.trim()).filter(|t| !t.is_empty())
    } else {
        None
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts).ok_or(ApiError::Unauthorized)?;
        let digest = token_digest(token);
        if let Some(caller) = state.tokens.get(&digest) {
            return Ok(caller);
        }
        let found = state.store.token_by_hash(&digest).await?.ok_or(ApiError::Unauthorized)?;
        let caller = Caller {
            organization_id: found.organization_id,
            token_id: found.id,
            token_name: found.name,
            role: found.role,
            created_at: found.created_at,
        };
        state.tokens.insert(digest, caller.clone());
        // Record use at most once a minute per token: a write per request
        // would queue every read behind SQLite's single writer.
        if state.tokens.should_touch(found.id, found.last_used_at) {
            let store = state.store.clone();
            tokio::spawn(async move {
                if let Err(err) = store.touch_token(found.id, slipway_model::now()).await {
                    tracing::warn!(%err, "could not record token use");
                }
            });
        }
        Ok(caller)
    }
}

/// Recently verified tokens, so that a request does not always cost a store
/// lookup. Entries live a few seconds; revoking a token through this server
/// forgets it at once, and other servers sharing the store stop accepting it
/// within [`TOKEN_CACHE_TTL`].
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: std::sync::Mutex<TokenEntries>,
}

#[derive(Debug, Default)]
struct TokenEntries {
    by_digest: std::collections::HashMap<String, (Caller, std::time::Instant)>,
    touched: std::collections::HashMap<Uuid, std::time::Instant>,
}

/// How long a verified token is trusted without asking the store again.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
const TOUCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
const MAX_CACHED_TOKENS: usize = 4096;

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, TokenEntries> {
        // A panic while holding the lock cannot leave the maps inconsistent.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, digest: &str) -> Option<Caller> {
        let entries = self.lock();
        let (caller, at) = entries.by_digest.get(digest)?;
        (at.elapsed() < TOKEN_CACHE_TTL).then(|| caller.clone())
    }

    fn insert(&self, digest: String, caller: Caller) {
        let mut entries = self.lock();
        if entries.by_digest.len() >= MAX_CACHED_TOKENS {
            entries.by_digest.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
        }
        entries.by_digest.insert(digest, (caller, std::time::Instant::now()));
    }

    /// Whether this request should record the token's use; claims the slot,
    /// so concurrent requests record it once.
    fn should_touch(&self, token: Uuid, last_used: Option<slipway_model::Timestamp>) -> bool {
        let recent = last_used.is_some_and(|at| slipway_model::now() - at < chrono::Duration::seconds(60));
        let mut entries = self.lock();
        if recent || entries.touched.get(&token).is_some_and(|at| at.elapsed() < TOUCH_INTERVAL) {
            return false;
        }
        if entries.touched.len() >= MAX_CACHED_TOKENS {
            entries.touched.retain(|_, at| at.elapsed() < TOUCH_INTERVAL);
        }
        entries.touched.insert(token, std::time::Instant::now());
        true
    }

    /// Forgets a revoked token.
    pub fn forget(&self, token: Uuid) {
        let mut entries = self.lock();
        entries.by_digest.retain(|_, (caller, _)| caller.token_id != token);
        entries.touched.remove(&token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_digested() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with("qov_") && a.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
        assert!(!token_digest(&a).contains(&a[TOKEN_PREFIX.len()..]));
    }
}

/// The caller of a request that acts, with where the request comes from
/// (recorded on the deployments it queues).
#[derive(Debug, Clone)]
pub struct Actor {
    /// Who calls.
    pub caller: Caller,
    /// The CLI when the user agent says so, else the API.
    pub origin: slipway_model::deployment::Origin,
}

impl std::ops::Deref for Actor {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let origin = if agent.contains("slipway-client") || agent.contains("qovery-cli") || agent.contains("qovery cli")
        {
            slipway_model::deployment::Origin::Cli
        } else {
            slipway_model::deployment::Origin::Api
        };
        Ok(Actor { caller, origin })
    }
}
