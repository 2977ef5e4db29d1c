//! Header rewriting between the client and the upstream.

use std::fmt;
use std::net::SocketAddr;

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};

/// `X-Forwarded-For`: the chain of client addresses, the edge appending the one it saw.
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: the scheme the client used to reach the edge.
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the host the client asked for.
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the proxy ones.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers, including every header the `Connection` header names.
///
/// One pass over the names finds what to remove, so a message without any (most requests) costs no
/// lookup and no allocation.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named_by_connection = |name: &HeaderName| {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|list| list.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(name.as_str()))
    };
    let has_connection = headers.contains_key(header::CONNECTION);
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| HOP_BY_HOP.contains(name) || (has_connection && named_by_connection(name)))
        .cloned()
        .collect();
    for name in &doomed {
        headers.remove(name);
    }
}

/// The protocol a request asks to switch to: its `Upgrade` header when `Connection` names `upgrade`.
pub(crate) fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned()).flatten()
}

/// Puts back the two headers that carry an upgrade across the proxy after hop-by-hop stripping.
pub(crate) fn set_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}

/// The scheme a client reached the edge with; the HTTPS listener puts it in a request's extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ClientScheme {
    /// The plain listener (no extension needed).
    #[default]
    Http,
    /// The TLS listener.
    Https,
}

impl ClientScheme {
    /// The scheme recorded in a request's extensions (plain HTTP when none is).
    pub(crate) fn of(extensions: &hyper::http::Extensions) -> Self {
        extensions.get::<Self>().copied().unwrap_or_default()
    }

    fn as_header(self) -> HeaderValue {
        match self {
            Self::Http => HeaderValue::from_static("http"),
            Self::Https => HeaderValue::from_static("https"),
        }
    }
}

/// A client connection's address, with its `X-Forwarded-For` entry made once for all its requests.
#[derive(Debug, Clone)]
pub(crate) struct ClientAddr {
    addr: SocketAddr,
    forwarded_for: HeaderValue,
}

impl ClientAddr {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        // An IP address's text is always a valid header value; RFC 7239's "unknown" stands in otherwise.
        let forwarded_for = HeaderValue::from_str(&addr.ip().to_canonical().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self { addr, forwarded_for }
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.addr.fmt(f)
    }
}

/// Sets the `X-Forwarded-*` headers of a request the edge received from `client` over `scheme`.
pub(crate) fn set_forwarded(
    headers: &mut HeaderMap,
    client: &ClientAddr,
    original_host: &HeaderValue,
    scheme: ClientScheme,
) {
    headers.insert(X_FORWARDED_PROTO, scheme.as_header());
    headers.insert(X_FORWARDED_HOST, original_host.clone());
    if !headers.contains_key(&X_FORWARDED_FOR) {
        headers.insert(X_FORWARDED_FOR, client.forwarded_for.clone());
        return;
    }
    let client = client.forwarded_for.to_str().unwrap_or_default();
    let mut chain: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    chain.push(client);
    let chain = chain.join(", ");
    if let Ok(value) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Secret"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn appends_to_forwarded_for() {
        let mut headers = HeaderMap::new();
        headers.append(&X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        headers.append(&X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.2"));
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        let ip = ClientAddr::new("[::ffff:192.0.2.7]:40000".parse().expect("address"));
        set_forwarded(&mut headers, &ip, &HeaderValue::from_static("App.Test:8080"), ClientScheme::Http);
        assert_eq!(headers[&X_FORWARDED_FOR], "10.0.0.1, 10.0.0.2, 192.0.2.7");
        assert_eq!(headers[&X_FORWARDED_PROTO], "http");
        assert_eq!(headers[&X_FORWARDED_HOST], "App.Test:8080");
        set_forwarded(&mut headers, &ip, &HeaderValue::from_static("app.test"), ClientScheme::Https);
        assert_eq!(headers[&X_FORWARDED_PROTO], "https");
    }

    #[test]
    fn starts_forwarded_for_when_the_client_sent_none() {
        let mut headers = HeaderMap::new();
        let ip = ClientAddr::new("[2001:db8::5]:443".parse().expect("address"));
        set_forwarded(&mut headers, &ip, &HeaderValue::from_static("app.test"), ClientScheme::Https);
        assert_eq!(headers.get_all(&X_FORWARDED_FOR).iter().count(), 1);
        assert_eq!(headers[&X_FORWARDED_FOR], "2001:db8::5");
        assert_eq!(headers[&X_FORWARDED_PROTO], "https");
        assert_eq!(ip.to_string(), "[2001:db8::5]:443");
    }
}
