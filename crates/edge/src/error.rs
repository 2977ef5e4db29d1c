//! The edge crate's error type.

/// What the edge refuses to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    /// A host given to the route table (or sent by a client) is not a valid host name.
    #[error("`{host}` is not a valid host name: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path prefix given to the route table is not usable.
    #[error("`{path}` is not a valid route path: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A TCP port could not be exposed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        reason: String,
    },
}
