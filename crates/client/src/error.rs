//! The one error type of the client: every way a call to a Slipway server can fail.

/// A failed call to a Slipway server.
///
/// The messages are written for the person at the terminal: each says what
/// went wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// No connection: refused, unknown host, or timed out.
    #[error(
        "the Slipway server at {url} is not reachable: check that `slipway server` is running there \
         and that the URL is right (`slipway login --url`, or SLIPWAY_URL)"
    )]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered 401: the token is missing, unknown or revoked.
    #[error("the server refused the API token: run `slipway login` with a valid token")]
    Unauthorized,
    /// The server refused or failed the request, and said why.
    #[error("{message} (HTTP {status}, {code})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable machine-readable code of the error body (`not_found`, ...).
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The connection broke after it was made (reset, bad redirect, unreadable body).
    #[error("the request to {url} failed")]
    Transport {
        /// The URL called.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A success response whose body is not what the API promises.
    #[error("unexpected response from {url}: is this a Slipway server of a compatible version?")]
    Decode {
        /// The URL called.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Classifies a transport error from a call to `url` under the server `base`.
    pub(crate) fn transport(base: &str, url: &str, source: reqwest::Error) -> Error {
        if source.is_connect() || source.is_timeout() {
            Error::Unreachable { url: base.to_owned(), source }
        } else {
            Error::Transport { url: url.to_owned(), source }
        }
    }

    /// The error for a non-success response with `body`: the API's
    /// `{message, code}` when present, else the start of the body as text
    /// (a proxy's error page, for instance).
    pub(crate) fn from_response(status: reqwest::StatusCode, body: &[u8]) -> Error {
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Error::Unauthorized;
        }
        match serde_json::from_slice::<slipway_api_types::ErrorBody>(body) {
            Ok(err) => {
                let message = match err.field {
                    Some(field) if !err.message.contains(&field) => format!("{} (field `{field}`)", err.message),
                    _ => err.message,
                };
                Error::Api { status: status.as_u16(), code: err.code, message }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(200).collect();
                let message = match (text.is_empty(), status.canonical_reason()) {
                    (true, Some(reason)) => reason.to_owned(),
                    (true, None) => "the server gave no explanation".to_owned(),
                    (false, _) => text,
                };
                Error::Api { status: status.as_u16(), code: "http_error".to_owned(), message }
            }
        }
    }

    /// Whether the server said the resource does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status: 404, .. })
    }
}
