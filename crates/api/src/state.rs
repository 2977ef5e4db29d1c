use std::sync::Arc;

use slipway_api_types::Capacity;
use slipway_engine::Engine;
use slipway_store::Store;

use crate::error::{ApiError, ApiResult};

/// Settings of the API that come from the composition root.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// What one service may ask for on this server's clusters.
    pub capacity: Capacity,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Seals secrets before they are stored.
    pub secrets: slipway_secrets::SecretBox,
    /// Base domain of the services' generated host names, as the engine
    /// uses it (built-in variables name those hosts).
    pub base_domain: String,
    /// Where custom domains' DNS records are looked up.
    pub dns_resolver: crate::domain_check::DnsResolver,
}

impl Default for ApiConfig {
    /// Test settings: a secret box with a fresh random key.
    fn default() -> Self {
        ApiConfig {
            capacity: Capacity { cpu: 2000, memory: 4096 },
            body_limit: 1024 * 1024,
            secrets: slipway_secrets::SecretBox::new(&slipway_secrets::generate_key(), &[]),
            base_domain: "localhost".to_owned(),
            dns_resolver: Default::default(),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The shared part of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The store.
    pub store: Store,
    /// The API's settings.
    pub config: ApiConfig,
    /// Recently verified API tokens.
    pub tokens: crate::auth::TokenCache,
    /// The deployment engine, when this server runs one. Without it, the
    /// endpoints that act (deploy, stop...) or that read what runs (links,
    /// service logs) answer 503.
    pub engine: Option<Engine>,
}

impl AppState {
    /// State over `store`, without a deployment engine.
    pub fn new(store: Store, config: ApiConfig) -> Self {
        AppState(Arc::new(Inner { store, config, tokens: Default::default(), engine: None }))
    }

    /// State over `store` with a deployment engine.
    pub fn with_engine(store: Store, config: ApiConfig, engine: Engine) -> Self {
        AppState(Arc::new(Inner { store, config, tokens: Default::default(), engine: Some(engine) }))
    }

    /// The engine, or a 503.
    pub fn engine(&self) -> ApiResult<&Engine> {
        self.engine.as_ref().ok_or(ApiError::EngineUnavailable)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
