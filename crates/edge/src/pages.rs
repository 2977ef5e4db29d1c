//! Responses the edge writes itself when it cannot hand a request to a service.

use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

use crate::body::EdgeBody;
use crate::error::EdgeError;

/// Why the edge answered a request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EdgePage {
    /// 400: no `Host` header and no authority.
    MissingHost,
    /// 400: a `Host` that is not a host name.
    InvalidHost(EdgeError),
    /// 400: the request target cannot be forwarded.
    InvalidTarget,
    /// 404: no route for the host.
    UnknownHost(String),
    /// 404: the host has routes, but none for this path.
    UnknownPath(String, String),
    /// 503: the route lists no backend.
    NoBackend(String),
    /// 502: no backend of the route answered.
    BadGateway(String),
    /// 504: the backend did not answer in time.
    GatewayTimeout(String, u64),
}

impl EdgePage {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::MissingHost | Self::InvalidHost(_) | Self::InvalidTarget => StatusCode::BAD_REQUEST,
            Self::UnknownHost(_) | Self::UnknownPath(..) => StatusCode::NOT_FOUND,
            Self::NoBackend(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout(..) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Stable machine-readable code, as in the API's error bodies.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::MissingHost => "missing_host",
            Self::InvalidHost(_) => "invalid_host",
            Self::InvalidTarget => "invalid_target",
            Self::UnknownHost(_) => "unknown_host",
            Self::UnknownPath(..) => "unknown_path",
            Self::NoBackend(_) => "no_backend",
            Self::BadGateway(_) => "bad_gateway",
            Self::GatewayTimeout(..) => "gateway_timeout",
        }
    }

    /// One sentence that says what went wrong and, where it helps, what to do.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::MissingHost => "This request has no Host header; Slipway routes requests by host name.".to_owned(),
            Self::InvalidHost(error) => format!("The Host header of this request is not valid: {error}."),
            Self::InvalidTarget => "The request target cannot be forwarded.".to_owned(),
            Self::UnknownHost(host) => {
                format!("No Slipway service answers at `{host}`. Check the domain settings of the service.")
            }
            Self::UnknownPath(host, path) => {
                format!(
                    "No Slipway service at `{host}` answers for the path `{path}`. Check the service's public path."
                )
            }
            Self::NoBackend(host) => format!("The service at `{host}` has no running instance right now."),
            Self::BadGateway(host) => format!("The service at `{host}` did not answer; it may be starting or down."),
            Self::GatewayTimeout(host, secs) => format!("The service at `{host}` did not answer within {secs} s."),
        }
    }

    /// The response, as JSON when the client prefers it, else as a short HTML page.
    pub(crate) fn response(&self, request: Option<&Parts>) -> Response<EdgeBody> {
        let status = self.status();
        let message = self.message();
        let (content_type, body) = if request.is_some_and(prefers_json) {
            let body = serde_json::json!({ "status": status.as_u16(), "code": self.code(), "message": message });
            ("application/json", body.to_string())
        } else {
            let title = status.canonical_reason().unwrap_or("Error");
            let body = format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\
                 <body><h1>{code} {title}</h1><p>{message}</p><hr><p>Slipway edge</p></body></html>\n",
                code = status.as_u16(),
                message = html_with_code(&message),
            );
            ("text/html; charset=utf-8", body)
        };
        let mut response = Response::new(EdgeBody::page(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Whether the client asked for JSON rather than HTML (API clients and scripts).
fn prefers_json(parts: &Parts) -> bool {
    let accept = parts.headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    accept.iter().any(|a| a.contains("application/json")) && !accept.iter().any(|a| a.contains("text/html"))
}

/// HTML-escapes `text` and renders `` `…` `` spans as `<code>`.
fn html_with_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                out.push_str(if in_code { "</code>" } else { "<code>" });
                in_code = !in_code;
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    if in_code {
        out.push_str("</code>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_marks_code() {
        assert_eq!(html_with_code("at `a<b>` & \"x\""), "at <code>a&lt;b&gt;</code> &amp; &quot;x&quot;");
    }

    #[test]
    fn json_is_chosen_by_accept() {
        let (parts, ()) =
            hyper::Request::builder().header("accept", "application/json").body(()).expect("request").into_parts();
        let response = EdgePage::UnknownHost("a.test".into()).response(Some(&parts));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
