//! Forwarding one request: pick a backend, rewrite headers, stream both bodies, fail over on
//! connection errors, and answer with an edge page when no backend can.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue};
use hyper::http::request::Parts;
use hyper::http::uri::PathAndQuery;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};

use crate::backend::{BackendState, InFlight};
use crate::body::{EdgeBody, HeldBody, UpstreamBody};
use crate::config::EdgeConfig;
use crate::headers::{ClientAddr, requested_upgrade, set_forwarded, set_upgrade, strip_hop_by_hop};
use crate::host::{HostProblem, RequestHost, request_host};
use crate::pages::EdgePage;
use crate::table::{Attempt, Pick, Rewrite, RouteShared, Router};
use crate::tunnel::{self, Protocol};
use crate::upstream::{Lease, UpstreamError, Upstreams};

/// The tracing target of the access log: one event per request.
pub const ACCESS_LOG: &str = "slipway_edge::access";

/// Forwards requests to the backends the [`Router`] picks, over pools of keep-alive connections.
#[derive(Debug)]
pub(crate) struct Proxy {
    router: Arc<Router>,
    /// One pool of upstream connections per worker thread (see [`crate::workers`]).
    upstreams: Arc<Upstreams>,
    config: EdgeConfig,
}

/// How a forwarded request ended, for the per-request log line.
struct Forwarded {
    response: Response<EdgeBody>,
    backend: Option<SocketAddr>,
    attempts: usize,
    /// The route the request matched, whose metrics count it.
    route: Option<Arc<RouteShared>>,
}

impl Forwarded {
    fn page(page: &EdgePage, parts: &Parts, attempts: usize) -> Self {
        Self { response: page.response(Some(parts)), backend: None, attempts, route: None }
    }

    fn on(mut self, route: &Arc<RouteShared>) -> Self {
        self.route = Some(Arc::clone(route));
        self
    }
}

impl Proxy {
    pub(crate) fn new(router: Arc<Router>, config: EdgeConfig) -> Self {
        let upstreams = Arc::new(Upstreams::new(config.connect_timeout, config.pool_idle_timeout));
        Self { router, upstreams, config }
    }

    pub(crate) fn config(&self) -> &EdgeConfig {
        &self.config
    }

    /// Answers one client request. Never fails: problems become edge pages.
    pub(crate) async fn handle(&self, request: Request<Incoming>, client: &ClientAddr) -> Response<EdgeBody> {
        let started = Instant::now();
        let (mut parts, body) = request.into_parts();
        let method = parts.method.clone();
        // A cheap copy (shared bytes) for the access log: the forwarding may change the request's.
        let path = parts.uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
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
        let status = forwarded.response.status().as_u16();
        let elapsed = started.elapsed();
        if let Some(route) = &forwarded.route {
            route.metrics().record(status, elapsed);
        }
        if self.config.access_log {
            tracing::info!(
                target: ACCESS_LOG,
                %method,
                host = %host.name,
                %path,
                %client,
                status,
                backend = ?forwarded.backend,
                attempts = forwarded.attempts,
                elapsed_us = elapsed.as_micros(),
            );
        }
        forwarded.response
    }

    /// Counts a failed exchange with `backend`, ejecting it after too many in a row.
    fn failed(&self, backend: &BackendState, host: &str) {
        if backend.mark_failed(self.config.eject_after_failures, self.config.backend_cooldown) {
            self.router.metrics().ejected();
            tracing::warn!(
                host,
                backend = %backend.addr(),
                failures = self.config.eject_after_failures,
                cooldown_s = self.config.backend_cooldown.as_secs(),
                "backend ejected after failing repeatedly",
            );
        }
    }

    async fn forward(&self, parts: &mut Parts, body: Incoming, host: &RequestHost, client: &ClientAddr) -> Forwarded {
        if parts.method == Method::CONNECT {
            return Forwarded::page(&EdgePage::InvalidTarget, parts, 0);
        }
        let upgrade = requested_upgrade(&parts.headers);
        let mut client_upgrade = upgrade
            .as_ref()
            .and_then(|_| parts.extensions.remove::<OnUpgrade>())
            .filter(|_| parts.version < Version::HTTP_2);
        strip_hop_by_hop(&mut parts.headers);
        if let (Some(protocol), Some(_)) = (&upgrade, &client_upgrade) {
            set_upgrade(&mut parts.headers, protocol.clone());
        }
        let scheme = crate::headers::ClientScheme::of(&parts.extensions);
        set_forwarded(&mut parts.headers, client, &host.original, scheme);
        parts.headers.insert(HOST, host.original.clone());
        let body = HeldBody::new(body);
        let name = host.name.as_str();
        let mut attempt = Attempt::default();
        let mut retried_stale = false;
        loop {
            let (in_flight, route, rewrite) = match self.router.pick(&host.name, parts.uri.path(), &mut attempt) {
                Pick::Backend(in_flight, route, rewrite) => {
                    if attempt.count() > 1 {
                        route.record_retry();
                    }
                    (in_flight, route, rewrite)
                }
                Pick::UnknownPath(route) => {
                    let page = EdgePage::UnknownPath(name.to_owned(), parts.uri.path().to_owned());
                    return Forwarded::page(&page, parts, 0).on(&route);
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
                    return Forwarded::page(&EdgePage::NoBackend(name.to_owned()), parts, 0).on(&route);
                }
                Pick::Exhausted(route) => {
                    route.record_failure();
                    tracing::warn!(host = name, attempts = attempt.count(), "no backend accepted a connection");
                    return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count()).on(&route);
                }
            };
            let backend = in_flight.backend().addr();
            let Some((upstream_body, body_sent)) = body.for_attempt() else {
                // Unreachable in practice: attempts only repeat while the body is unread.
                route.record_failure();
                return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count()).on(&route);
            };
            let Some(request) = upstream_request(parts, upstream_body, rewrite.as_ref()) else {
                return Forwarded::page(&EdgePage::InvalidTarget, parts, attempt.count()).on(&route);
            };
            let response = self.upstreams.send(backend, request);
            let deadline = async {
                body_sent.wait().await;
                tokio::time::sleep(self.config.response_timeout).await;
            };
            let outcome = tokio::select! {
                outcome = response => Some(outcome),
                () = deadline => None,
            };
            match outcome {
                Some(Ok((mut response, lease))) => {
                    if is_gateway_error(response.status()) {
                        self.failed(in_flight.backend(), name);
                    } else {
                        in_flight.backend().mark_reachable();
                    }
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS
                        && let (Some(protocol), Some(client_upgrade)) = (&upgrade, client_upgrade.take())
                    {
                        // The connection becomes the tunnel: it never goes back to the pool.
                        drop(lease);
                        let upstream_upgrade = hyper::upgrade::on(&mut response);
                        let tunnel = Protocol::of(protocol.as_bytes());
                        let open = self.router.metrics().tunnel_opened();
                        tokio::spawn(async move {
                            tunnel::run(client_upgrade, upstream_upgrade, tunnel, in_flight).await;
                            drop(open);
                        });
                        return Forwarded {
                            response: switching_response(response, protocol.clone()),
                            backend: Some(backend),
                            attempts: attempt.count(),
                            route: Some(route),
                        };
                    }
                    return Forwarded {
                        response: downstream_response(response, in_flight, lease),
                        backend: Some(backend),
                        attempts: attempt.count(),
                        route: Some(route),
                    };
                }
                Some(Err(error)) => {
                    if error.is_stale_connection()
                        && !retried_stale
                        && is_replayable(&error, &parts.method)
                        && body.is_unread()
                    {
                        // Not the backend's fault: try it again, once, on a new connection.
                        tracing::debug!(host = name, %backend, error = %error_chain(&error), "pooled connection closed; retrying");
                        retried_stale = true;
                        drop(in_flight);
                        attempt.forget_last();
                        continue;
                    }
                    if error.is_connect() {
                        if in_flight.backend().mark_unreachable(self.config.backend_cooldown) {
                            self.router.metrics().ejected();
                            tracing::warn!(host = name, %backend, "backend ejected: it refused a connection");
                        }
                    } else {
                        self.failed(in_flight.backend(), name);
                    }
                    drop(in_flight);
                    if is_replayable(&error, &parts.method) && body.is_unread() {
                        tracing::debug!(host = name, %backend, error = %error_chain(&error), "trying the next backend");
                        continue;
                    }
                    route.record_failure();
                    tracing::warn!(host = name, %backend, error = %error_chain(&error), "upstream request failed");
                    return Forwarded::page(&EdgePage::BadGateway(name.to_owned()), parts, attempt.count()).on(&route);
                }
                None => {
                    route.record_failure();
                    let secs = self.config.response_timeout.as_secs();
                    tracing::warn!(host = name, %backend, timeout_s = secs, "upstream did not answer in time");
                    return Forwarded::page(&EdgePage::GatewayTimeout(name.to_owned(), secs), parts, attempt.count())
                        .on(&route);
                }
            }
        }
    }
}

/// The request for one upstream attempt: same method, target (in origin form) and headers, over
/// HTTP/1.1.
fn upstream_request(parts: &Parts, body: UpstreamBody, rewrite: Option<&Rewrite>) -> Option<Request<UpstreamBody>> {
    let path = match (rewrite, parts.uri.path_and_query()) {
        (Some(rewrite), path) => rewrite.apply(path.map_or("/", PathAndQuery::as_str)).parse().ok()?,
        (None, Some(path)) => path.clone(),
        (None, None) => PathAndQuery::from_static("/"),
    };
    let uri = Uri::from(path);
    let mut request = Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = parts.headers.clone();
    Some(request)
}

/// The upstream's response for the client: hop-by-hop headers removed, body streamed, and the backend
/// counted in flight until the body has been streamed.
fn downstream_response(response: Response<Incoming>, in_flight: InFlight, lease: Lease) -> Response<EdgeBody> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, EdgeBody::upstream(body, in_flight, lease))
}

/// Whether an upstream's answer says that it could not serve the request (a gateway in front of the
/// application, or the application itself, failing), which counts against the backend's health.
fn is_gateway_error(status: StatusCode) -> bool {
    matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT)
}

/// The upstream's `101 Switching Protocols` for the client, with the upgrade headers kept.
fn switching_response(response: Response<Incoming>, protocol: HeaderValue) -> Response<EdgeBody> {
    let (mut parts, _) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    set_upgrade(&mut parts.headers, protocol);
    Response::from_parts(parts, EdgeBody::page(""))
}

/// Whether a failed attempt certainly did not reach the application, so the request may go to another
/// backend: the connection could not be made, the request was never written, or (for methods that change
/// nothing) the connection closed before any response.
fn is_replayable(error: &UpstreamError, method: &Method) -> bool {
    let Some(cause) = error.hyper() else { return error.is_connect() };
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    cause.is_canceled() || (safe && cause.is_incomplete_message())
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
