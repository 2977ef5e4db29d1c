//! Host names as the route table keys them, and how a request names its host.

use std::fmt;

use hyper::header::{HOST, HeaderValue};
use hyper::http::request::Parts;

use crate::error::EdgeError;

/// Longest host name DNS allows (RFC 1035, without the trailing dot).
const MAX_HOST_LEN: usize = 253;

/// A host name normalised for routing: lower case, without `:port` and without a trailing dot.
///
/// Matching on it is exact: `App.Example.com:8080` and `app.example.com.` both become
/// `app.example.com`. Bracketed IPv6 literals (`[::1]`) are accepted as they appear in a `Host` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// Parses a host as written in a `Host` header, an `:authority`, or by the engine.
    pub fn parse(raw: &str) -> Result<Self, EdgeError> {
        let invalid = |reason: &'static str| EdgeError::InvalidHost { host: raw.to_owned(), reason };
        let trimmed = raw.trim();
        let (host, port) = if trimmed.starts_with('[') {
            let end = trimmed.find(']').ok_or_else(|| invalid("an IPv6 literal is missing its closing `]`"))?;
            let (host, rest) = trimmed.split_at(end + 1);
            match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if rest.is_empty() => (host, None),
                None => return Err(invalid("unexpected characters after the IPv6 literal")),
            }
        } else {
            match trimmed.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (trimmed, None),
            }
        };
        if let Some(port) = port
            && !port.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid("the port must be a number"));
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() {
            return Err(invalid("the host name is empty"));
        }
        if host.len() > MAX_HOST_LEN {
            return Err(invalid("the host name is longer than 253 characters"));
        }
        let allowed: fn(u8) -> bool = if host.starts_with('[') {
            |b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'[' | b']')
        } else {
            |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
        };
        if !host.bytes().all(allowed) {
            return Err(invalid("only letters, digits, `-`, `.` and `_` are allowed"));
        }
        Ok(Self(host.to_ascii_lowercase()))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host a request is addressed to.
#[derive(Debug, Clone)]
pub(crate) struct RequestHost {
    /// The name the route table is searched with.
    pub name: HostName,
    /// The host exactly as the client sent it (port included), forwarded as `Host` and `X-Forwarded-Host`.
    pub original: HeaderValue,
}

/// Why a request's host could not be determined.
#[derive(Debug)]
pub(crate) enum HostProblem {
    /// Neither a `Host` header nor an authority in the request target.
    Missing,
    /// A host that is not a valid host name.
    Invalid(EdgeError),
}

/// Finds the host of a request: the authority of the request target when present (HTTP/2 `:authority`,
/// HTTP/1.1 absolute-form, which RFC 9112 §3.2.2 says wins over `Host`), else the `Host` header.
pub(crate) fn request_host(parts: &Parts) -> Result<RequestHost, HostProblem> {
    if let Some(authority) = parts.uri.authority() {
        let original = match authority.port() {
            Some(port) => format!("{}:{}", authority.host(), port.as_str()),
            None => authority.host().to_owned(),
        };
        let name = HostName::parse(&original).map_err(HostProblem::Invalid)?;
        let original = HeaderValue::from_str(&original).map_err(|_| {
            HostProblem::Invalid(EdgeError::InvalidHost { host: original, reason: "not a header value" })
        })?;
        return Ok(RequestHost { name, original });
    }
    let value = parts.headers.get(HOST).ok_or(HostProblem::Missing)?;
    let text = value.to_str().map_err(|_| {
        HostProblem::Invalid(EdgeError::InvalidHost {
            host: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            reason: "the Host header is not ASCII",
        })
    })?;
    let name = HostName::parse(text).map_err(HostProblem::Invalid)?;
    Ok(RequestHost { name, original: value.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Option<String> {
        HostName::parse(raw).ok().map(|h| h.as_str().to_owned())
    }

    #[test]
    fn normalises_case_port_and_trailing_dot() {
        assert_eq!(parse("App.Example.COM").as_deref(), Some("app.example.com"));
        assert_eq!(parse("app.example.com:8080").as_deref(), Some("app.example.com"));
        assert_eq!(parse("app.example.com.").as_deref(), Some("app.example.com"));
        assert_eq!(parse("app.example.com:").as_deref(), Some("app.example.com"));
        assert_eq!(parse("[::1]:443").as_deref(), Some("[::1]"));
        assert_eq!(parse("[FE80::1]").as_deref(), Some("[fe80::1]"));
        assert_eq!(parse("127.0.0.1:80").as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn rejects_what_is_not_a_host() {
        for bad in ["", ":80", "a b", "<script>", "app:http", "a:1:2", "[::1", "[::1]x", "é.example"] {
            assert!(parse(bad).is_none(), "{bad:?} should be rejected");
        }
        assert!(parse(&"a".repeat(254)).is_none());
    }

    #[test]
    fn authority_wins_over_host_header() {
        let req = hyper::Request::builder()
            .uri("http://Api.Test:8443/x")
            .header(HOST, "other.test")
            .body(())
            .expect("request");
        let (parts, ()) = req.into_parts();
        let host = request_host(&parts).expect("host");
        assert_eq!(host.name.as_str(), "api.test");
        assert_eq!(host.original, "Api.Test:8443");
    }

    #[test]
    fn missing_host_is_reported() {
        let (parts, ()) = hyper::Request::builder().uri("/").body(()).expect("request").into_parts();
        assert!(matches!(request_host(&parts), Err(HostProblem::Missing)));
    }
}
