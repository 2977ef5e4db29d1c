//! Forwarding one request: pick a backend, rewrite headers, stream both bodies, fail over on
//! connection errors, and answer with an edge page when no backend can.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::http::request::Parts;
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::{Method, Request, Response, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::backend::InFlight;
use crate::body::{EdgeBody, HeldBody, UpstreamBody};
use crate::config::EdgeConfig;
use crate::headers::{set_forwarded, strip_hop_by_hop};
use crate::host::{HostProblem, RequestHost, request_host};
use crate::pages::EdgePage;
use crate::table::{Attempt, Pick, Router};

/// Forwards requests to the backends the [`Router`] picks, over a pool of keep-alive connections.
#[derive(Debug)]
pub(crate) struct Proxy {
    router: Arc<Router>,
    client: Client<HttpConnector, UpstreamBody>,
    config: EdgeConfig,
}

/// How a forwarded request ended, for the per-request log line.
struct Forwarded {
    response: Response<EdgeBody>,
    backend: Option<SocketAddr>,
    attempts: usize,
}

impl Forwarded {
    fn page(page: &EdgePage, parts: &Parts, attempts: usize) -> Self {
        Self { response: page.response(Some(parts)), backend: None, attempts }
    }
}

impl Proxy {
    pub(crate) fn new(router: Arc<Router>, config: EdgeConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { router, client, config }
    }

    pub(crate) fn config(&self) -> &EdgeConfig {
        &self.config
    }

    /// Answers one client request. Never fails: problems become edge pages.
    pub(crate) async fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> Response<EdgeBody> {
        let started = Instant::now();
        let (mut parts, body) = request.into_parts();
        let method = parts.method.clone();
        let path = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str).to_owned();
        let host = match request_host(&parts) {
            Ok(host) => host,
            Err(problem) => {
                let page = match problem {
                    HostProblem::Missing => EdgePage::MissingHost,
                    HostProblem::Invalid(error) => EdgePage::InvalidHost(error),
                };
                tracing::debug!(%method, %path, %client, status = page.status().as_u16(), "request refused");
                return page.response(Some(&parts));
            }
        };
        let forwarded = self.forward(&mut parts, body, &host, client).await;
        tracing::debug!(
            %method,
            host = %host.name,
            %path,
            %client,
            status = forwarded.response.status().as_u16(),
            backend = ?forwarded.backend,
            attempts = forwarded.attempts,
            elapsed_ms = started.elapsed().as_millis(),
            "request",
        );
        forwarded.response
    }

    async fn forward(&self, parts: &mut Parts, body: Incoming, host: &RequestHost, client: SocketAddr) -> Forwarded {
        if parts.method == Method::CONNECT {
            return Forwarded::page(&EdgePage::InvalidTarget, parts, 0);
        }
        strip_hop_by_hop(&mut parts.headers);
        let scheme = crate::headers::ClientScheme::of(&parts.extensions);
        set_forwarded(&mut parts.headers, client.ip(), &host.original, scheme);
        parts.headers.insert(HOST, host.original.clone());
        let body = HeldBody::new(body);
        let name = host.name.as_str();
        let mut attempt = Attempt::default();
        loop {
            let (in_flight, route) = match self.router.pick(&host.name, &mut attempt) {
                Pick::Backend(in_flight, route) => {
                    if attempt.count() > 1 {
                        route.record_retry();
                    }
                    (in_flight, route)
                }
                Pick::UnknownHost if attempt.count() == 0 => {
                    return Forwarded::page(&EdgePage::UnknownHost(name.to_owned()), parts, 0);
                }
                // The route went away while this request was failing over.
                Pick::UnknownHost => {
                    return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count());
                }
                Pick::NoBackend(route) => {
                    route.record_failure();
                    return Forwarded::page(&EdgePage::NoBackend(name.to_owned()), parts, 0);
                }
                Pick::Exhausted(route) => {
                    route.record_failure();
                    tracing::warn!(host = name, attempts = attempt.count(), "no backend accepted a connection");
                    return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count());
                }
            };
            let backend = in_flight.backend().addr();
            let Some((upstream_body, body_sent)) = body.for_attempt() else {
                // Unreachable in practice: attempts only repeat while the body is unread.
                route.record_failure();
                return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count());
            };
            let Some(request) = upstream_request(parts, backend, upstream_body) else {
                return Forwarded::page(&EdgePage::InvalidTarget, parts, attempt.count());
            };
            let response = self.client.request(request);
            let deadline = async {
                body_sent.wait().await;
                tokio::time::sleep(self.config.response_timeout).await;
            };
            let outcome = tokio::select! {
                outcome = response => Some(outcome),
                () = deadline => None,
            };
            match outcome {
                Some(Ok(response)) => {
                    in_flight.backend().mark_reachable();
                    return Forwarded {
                        response: downstream_response(response, in_flight),
                        backend: Some(backend),
                        attempts: attempt.count(),
                    };
                }
                Some(Err(error)) => {
                    if error.is_connect() {
                        in_flight.backend().mark_unreachable(self.config.backend_cooldown);
                    }
                    drop(in_flight);
                    if is_replayable(&error, &parts.method) && body.is_unread() {
                        tracing::debug!(host = name, %backend, error = %error_chain(&error), "trying the next backend");
                        continue;
                    }
                    route.record_failure();
                    tracing::warn!(host = name, %backend, error = %error_chain(&error), "upstream request failed");
                    return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count());
                }
                None => {
                    route.record_failure();
                    let secs = self.config.response_timeout.as_secs();
                    tracing::warn!(host = name, %backend, timeout_s = secs, "upstream did not answer in time");
                    return Forwarded::page(&EdgePage::GatewayTimeout(name.to_owned(), secs), parts, attempt.count());
                }
            }
        }
    }
}

/// The request for one upstream attempt: same method, target and headers, over HTTP/1.1 to `backend`.
fn upstream_request(parts: &Parts, backend: SocketAddr, body: UpstreamBody) -> Option<Request<UpstreamBody>> {
    let path = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
    let uri = Uri::builder().scheme(Scheme::HTTP).authority(backend.to_string()).path_and_query(path).build().ok()?;
    let mut request = Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = parts.headers.clone();
    Some(request)
}

/// The upstream's response for the client: hop-by-hop headers removed, body streamed, and the backend
/// counted in flight until the body has been streamed.
fn downstream_response(response: Response<Incoming>, in_flight: InFlight) -> Response<EdgeBody> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, EdgeBody::upstream(body, in_flight))
}

/// Whether a failed attempt certainly did not reach the application, so the request may go to another
/// backend: the connection could not be made, the request was never written, or (for methods that change
/// nothing) the connection closed before any response.
fn is_replayable(error: &hyper_util::client::legacy::Error, method: &Method) -> bool {
    if error.is_connect() {
        return true;
    }
    let Some(cause) = hyper_cause(error) else { return false };
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    cause.is_canceled() || (safe && cause.is_incomplete_message())
}

fn hyper_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a hyper::Error> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            return Some(hyper_error);
        }
        source = cause.source();
    }
    None
}

/// `error: cause: cause` on one line for logs.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
