//! Real servers and clients for the edge tests: upstream HTTP servers that answer with their name, a
//! running edge on a loopback port, and an HTTP client.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HOST, HeaderMap};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use sha2::{Digest, Sha256};
use slipway_edge::{Edge, EdgeConfig};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type TestBody = BoxBody<Bytes, BoxError>;

/// Size of the chunks the streaming tests send.
pub const CHUNK: usize = 64 * 1024;

/// A generous bound for anything that should happen "soon".
pub const SOON: Duration = Duration::from_secs(10);

/// A body fed through a channel, one chunk at a time (capacity 1, so the producer waits for the consumer).
pub struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

pub fn channel_body() -> (mpsc::Sender<Bytes>, TestBody) {
    let (tx, rx) = mpsc::channel(1);
    (tx, ChannelBody(rx).boxed())
}

pub fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> TestBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Chunk `index` of the deterministic test payload.
pub fn pattern_chunk(index: usize, len: usize) -> Bytes {
    let base = index * CHUNK;
    (0..len).map(|j| (((base + j) as u64).wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>().into()
}

/// The chunks of a `total`-byte payload.
pub fn pattern(total: usize) -> impl Iterator<Item = Bytes> {
    (0..total.div_ceil(CHUNK)).map(move |i| pattern_chunk(i, CHUNK.min(total - i * CHUNK)))
}

pub fn pattern_digest(total: usize) -> String {
    let mut hasher = Sha256::new();
    pattern(total).for_each(|chunk| hasher.update(&chunk));
    hex::encode(hasher.finalize())
}

/// State of one upstream server, shared with its request handlers.
pub struct UpstreamShared {
    pub name: String,
    /// Opened by the test to let a gated download finish.
    pub gate: Notify,
    /// Signalled when a gated upload's first bytes arrived.
    pub first_bytes: Notify,
    pub requests: AtomicUsize,
}

/// A real HTTP/1.1 server on 127.0.0.1 that answers with its own name.
///
/// Paths: `/` (its name), `/sleep/<ms>` (its name, after a pause), `/echo` (JSON of the request it
/// received), `/upload` and `/gated-upload` (length and SHA-256 of the body), `/download/<bytes>` and
/// `/gated-download/<bytes>` (the test payload).
pub struct Upstream {
    pub shared: Arc<UpstreamShared>,
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<Stop>,
    task: JoinHandle<()>,
}

/// How an upstream server ends.
enum Stop {
    Graceful,
    Kill,
}

impl Upstream {
    pub async fn start(name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let shared = Arc::new(UpstreamShared {
            name: name.to_owned(),
            gate: Notify::new(),
            first_bytes: Notify::new(),
            requests: AtomicUsize::new(0),
        });
        let (shutdown, mut stop) = oneshot::channel::<Stop>();
        let task = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let graceful = GracefulShutdown::new();
                let http = hyper::server::conn::http1::Builder::new();
                let mut connections = JoinSet::new();
                let how = loop {
                    tokio::select! {
                        how = &mut stop => break how.unwrap_or(Stop::Graceful),
                        Some(_) = connections.join_next(), if !connections.is_empty() => {}
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let shared = Arc::clone(&shared);
                            let service = service_fn(move |req| answer(Arc::clone(&shared), req));
                            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                            connections.spawn(async move {
                                let _ = conn.await;
                            });
                        }
                    }
                };
                drop(listener);
                match how {
                    Stop::Graceful => graceful.shutdown().await,
                    // Like a process that exits: every connection is cut, whatever it was doing.
                    Stop::Kill => connections.shutdown().await,
                }
            }
        });
        Self { shared, addr, shutdown, task }
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Stops accepting, lets in-flight requests finish, closes idle connections.
    pub async fn stop(self) {
        self.end(Stop::Graceful).await;
    }

    /// Stops at once, cutting every connection and any request still running, as a killed process would.
    pub async fn kill(self) {
        self.end(Stop::Kill).await;
    }

    async fn end(self, how: Stop) {
        let _ = self.shutdown.send(how);
        tokio::time::timeout(SOON, self.task).await.expect("upstream stops").expect("upstream task");
    }
}

async fn answer(shared: Arc<UpstreamShared>, req: Request<Incoming>) -> Result<Response<TestBody>, Infallible> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match segments.as_slice() {
        ["sleep", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
            named(&shared, full(shared.name.clone()))
        }
        ["echo"] => {
            let mut headers = BTreeMap::<String, Vec<String>>::new();
            for (name, value) in req.headers() {
                headers.entry(name.to_string()).or_default().push(value.to_str().unwrap_or("?").to_owned());
            }
            let info = serde_json::json!({
                "name": shared.name,
                "method": req.method().as_str(),
                "uri": req.uri().to_string(),
                "headers": headers,
            });
            let mut response = named(&shared, full(info.to_string()));
            let headers = response.headers_mut();
            headers.insert("connection", "x-up-hop".parse().expect("header"));
            headers.insert("x-up-hop", "1".parse().expect("header"));
            headers.insert("proxy-authenticate", "Basic".parse().expect("header"));
            headers.insert("x-up-custom", "kept".parse().expect("header"));
            response
        }
        ["upload"] | ["gated-upload"] => {
            let gated = segments[0] == "gated-upload";
            let mut body = req.into_body();
            let mut hasher = Sha256::new();
            let mut len = 0usize;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return Ok(status(StatusCode::BAD_REQUEST, "body error"));
                };
                if let Ok(data) = frame.into_data() {
                    if len == 0 && gated {
                        shared.first_bytes.notify_one();
                    }
                    len += data.len();
                    hasher.update(&data);
                }
            }
            named(&shared, full(format!("{len} {}", hex::encode(hasher.finalize()))))
        }
        ["download", bytes] | ["gated-download", bytes] => {
            let gated = segments[0] == "gated-download";
            let total: usize = bytes.parse().unwrap_or(0);
            let (tx, body) = channel_body();
            let shared_for_task = Arc::clone(&shared);
            tokio::spawn(async move {
                for (i, chunk) in pattern(total).enumerate() {
                    if gated && i == 1 {
                        shared_for_task.gate.notified().await;
                    }
                    if tx.send(chunk).await.is_err() {
                        return;
                    }
                }
            });
            named(&shared, body)
        }
        _ => named(&shared, full(shared.name.clone())),
    };
    Ok(response)
}

fn named(shared: &UpstreamShared, body: TestBody) -> Response<TestBody> {
    let mut response = Response::new(body);
    response.headers_mut().insert("x-upstream", shared.name.parse().expect("name header"));
    response
}

fn status(code: StatusCode, text: &'static str) -> Response<TestBody> {
    let mut response = Response::new(full(text));
    *response.status_mut() = code;
    response
}

/// A loopback address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

/// An edge serving on a loopback port.
pub struct RunningEdge {
    pub edge: Edge,
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    pub task: JoinHandle<()>,
}

impl RunningEdge {
    pub async fn start() -> Self {
        Self::with_config(EdgeConfig::default()).await
    }

    pub async fn with_config(config: EdgeConfig) -> Self {
        let edge = Edge::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind edge");
        let addr = listener.local_addr().expect("edge addr");
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let edge = edge.clone();
            async move {
                edge.serve(listener, async move {
                    let _ = stop.await;
                })
                .await;
            }
        });
        Self { edge, addr, shutdown, task }
    }

    /// Asks the edge to shut down; the caller awaits `task` to see it finish.
    pub fn begin_shutdown(self) -> JoinHandle<()> {
        let _ = self.shutdown.send(());
        self.task
    }

    /// A request to the edge for `host` (sent as the `Host` header) and `path`.
    pub fn request(&self, method: &str, host: &str, path: &str, body: TestBody) -> Request<TestBody> {
        Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header(HOST, host)
            .body(body)
            .expect("request")
    }

    /// GETs `path` from `host` through the edge and reads the whole answer.
    pub async fn get(&self, client: &TestClient, host: &str, path: &str) -> Result<Reply, String> {
        send(client, self.request("GET", host, path, empty())).await
    }
}

pub type TestClient = Client<HttpConnector, TestBody>;

/// A pooling HTTP/1.1 client, as browsers and load balancers in front of the edge would use.
pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A complete response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

pub async fn send(client: &TestClient, request: Request<TestBody>) -> Result<Reply, String> {
    let response = client.request(request).await.map_err(|e| format!("request failed: {e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| format!("body failed: {e:?}"))?.to_bytes();
    Ok(Reply { status: parts.status, headers: parts.headers, body })
}

/// Waits until `condition` holds, polling every 10 ms, for at most [`SOON`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SOON;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
