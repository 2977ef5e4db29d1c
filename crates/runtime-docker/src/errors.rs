//! One mapping from bollard's errors to the port's [`RuntimeError`].

use bollard::errors::Error;
use slipway_runtime::RuntimeError;

use crate::connect::Endpoint;

/// What to tell an operator who sees an unreachable engine.
pub(crate) const UNREACHABLE_HINT: &str = "start a container engine with `bash scripts/setup-engine.sh` (it prints the endpoint), or pass the endpoint explicitly";

/// The HTTP status the engine answered with, if the error is an engine refusal.
pub(crate) fn status(error: &Error) -> Option<u16> {
    match error {
        Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine says the object does not exist.
pub(crate) fn is_not_found(error: &Error) -> bool {
    status(error) == Some(404)
}

/// The engine says the object already exists or is in a conflicting state.
pub(crate) fn is_conflict(error: &Error) -> bool {
    status(error) == Some(409)
}

/// The engine's own message, without bollard's framing.
pub(crate) fn message(error: &Error) -> String {
    match error {
        Error::DockerResponseServerError { message, .. } => message.trim().to_owned(),
        Error::DockerStreamError { error } => error.trim().to_owned(),
        other => other.to_string(),
    }
}

/// The error is about the connection, not about what was asked.
pub(crate) fn is_transport(error: &Error) -> bool {
    match error {
        Error::HyperLegacyError { err } => err.is_connect(),
        Error::SocketNotFoundError(_) | Error::UnsupportedURISchemeError { .. } => true,
        Error::IOError { err } => matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ConnectionReset
        ),
        _ => false,
    }
}

/// Maps any error of a call to `endpoint`: transport failures become
/// [`RuntimeError::Unreachable`], request timeouts [`RuntimeError::Timeout`],
/// 404 [`RuntimeError::NotFound`], and the rest [`RuntimeError::Engine`] with
/// the engine's message.
pub(crate) fn map(endpoint: &Endpoint, error: Error) -> RuntimeError {
    if is_transport(&error) {
        return unreachable(endpoint, &error.to_string());
    }
    match error {
        Error::RequestTimeoutError => RuntimeError::Timeout(format!("request to the container engine at {endpoint}")),
        ref e if is_not_found(e) => RuntimeError::NotFound(message(e)),
        e => RuntimeError::Engine(message(&e)),
    }
}

/// The engine at `endpoint` cannot be reached, with a hint on how to fix it.
pub(crate) fn unreachable(endpoint: &Endpoint, reason: &str) -> RuntimeError {
    RuntimeError::Unreachable { endpoint: endpoint.to_string(), reason: format!("{reason}; {UNREACHABLE_HINT}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> Error {
        Error::DockerResponseServerError { status_code, message: message.to_owned() }
    }

    #[test]
    fn status_codes_map_to_the_port_errors() {
        let endpoint = Endpoint::Unix("/run/podman/podman.sock".into());
        assert!(
            matches!(map(&endpoint, server(404, "no such container")), RuntimeError::NotFound(m) if m == "no such container")
        );
        assert!(matches!(map(&endpoint, server(500, " boom\n")), RuntimeError::Engine(m) if m == "boom"));
        assert!(matches!(map(&endpoint, Error::RequestTimeoutError), RuntimeError::Timeout(_)));
        let unreachable = map(&endpoint, Error::SocketNotFoundError("/run/podman/podman.sock".into()));
        match unreachable {
            RuntimeError::Unreachable { endpoint, reason } => {
                assert_eq!(endpoint, "unix:///run/podman/podman.sock");
                assert!(reason.contains("scripts/setup-engine.sh"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(is_conflict(&server(409, "exists")));
    }
}
