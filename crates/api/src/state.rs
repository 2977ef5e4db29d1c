use std::sync::Arc;

use slipway_api_types::Capacity;
use slipway_store::Store;

/// Settings of the API that come from the composition root.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// What one service may ask for on this server's clusters.
    pub capacity: Capacity,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { capacity: Capacity { cpu: 2000, memory: 4096 }, body_limit: 1024 * 1024 }
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
}

impl AppState {
    /// State over `store`.
    pub fn new(store: Store, config: ApiConfig) -> Self {
        AppState(Arc::new(Inner { store, config, tokens: Default::default() }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
