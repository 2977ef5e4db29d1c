use slipway_runtime::RuntimeError;
use slipway_store::StoreError;

/// Why the engine could not do something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The container engine failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Fetching or building the image failed.
    #[error(transparent)]
    Build(#[from] slipway_build::BuildError),
    /// A deployment step failed for a reason the user can act on.
    #[error("{0}")]
    Failed(String),
    /// The deployment was canceled.
    #[error("canceled")]
    Canceled,
    /// A request the engine refuses as asked (the user must change something first).
    #[error("{0}")]
    Refused(String),
    /// A request that conflicts with what is running now (try again later).
    #[error("{0}")]
    Busy(String),
    /// Another worker took over the deployment.
    #[error("lost the deployment's lease to another worker")]
    LeaseLost,
}

impl EngineError {
    /// A failure the user can act on.
    pub fn failed(message: impl Into<String>) -> Self {
        EngineError::Failed(message.into())
    }
}
