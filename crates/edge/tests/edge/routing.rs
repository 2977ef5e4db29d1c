//! Which upstream answers which host, and what the edge answers when none does.

use std::time::Duration;

use hyper::StatusCode;
use hyper::header::ACCEPT;
use hyper_util::rt::{TokioExecutor, TokioIo};
use slipway_edge::EdgeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{RunningEdge, Upstream, client, closed_port, empty};

#[tokio::test]
async fn routes_by_host_ignoring_case_and_port() {
    let edge = RunningEdge::start().await;
    let api = Upstream::start("api").await;
    let web = Upstream::start("web").await;
    edge.edge.set_route("api.test", [api.addr]).expect("route api");
    edge.edge.set_route("Web.Test", [web.addr]).expect("route web");
    let client = client();

    for (host, expected) in [
        ("api.test", "api"),
        ("web.test", "web"),
        ("web.test:8080", "web"),
        ("WEB.tEsT", "web"),
        ("API.TEST:443", "api"),
    ] {
        let reply = edge.get(&client, host, "/").await.expect("reply");
        assert_eq!(reply.status, StatusCode::OK, "host {host}");
        assert_eq!(reply.text(), expected, "host {host}");
    }
    let hosts: Vec<_> = edge.edge.routes().into_iter().map(|r| r.host).collect();
    assert_eq!(hosts, ["api.test", "web.test"]);
    assert_eq!(edge.edge.counters().routes["web.test"].requests, 3);
}

#[tokio::test]
async fn unknown_host_gets_a_404_page_naming_it() {
    let edge = RunningEdge::start().await;
    let client = client();

    let reply = edge.get(&client, "nope.test:8080", "/x").await.expect("reply");
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.headers["content-type"].to_str().expect("type").starts_with("text/html"));
    assert!(reply.text().contains("No Slipway service answers at <code>nope.test</code>"), "{}", reply.text());

    let mut request = edge.request("GET", "Nope.Test", "/", empty());
    request.headers_mut().insert(ACCEPT, "application/json".parse().expect("accept"));
    let reply = crate::support::send(&client, request).await.expect("reply");
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let body = reply.json();
    assert_eq!(body["code"], "unknown_host");
    assert_eq!(body["message"], "No Slipway service answers at `nope.test`. Check the domain settings of the service.");
    assert_eq!(edge.edge.counters().unknown_host, 2);

    // A route that is removed answers 404 from the next request on.
    let up = Upstream::start("up").await;
    edge.edge.set_route("gone.test", [up.addr]).expect("route");
    assert_eq!(edge.get(&client, "gone.test", "/").await.expect("reply").text(), "up");
    assert!(edge.edge.remove_route("gone.test").expect("remove"));
    assert_eq!(edge.get(&client, "gone.test", "/").await.expect("reply").status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_or_invalid_host_gets_a_400() {
    let edge = RunningEdge::start().await;
    for request in
        ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"]
    {
        let mut stream = TcpStream::connect(edge.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
            .await
            .expect("the edge answers without hanging")
            .expect("read");
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("Host"), "{answer}");
    }
}

#[tokio::test]
async fn route_without_backends_or_with_only_dead_ones_fails_fast() {
    let edge =
        RunningEdge::with_config(EdgeConfig { response_timeout: Duration::from_millis(300), ..Default::default() })
            .await;
    let client = client();
    edge.edge.set_route("empty.test", []).expect("route");
    assert_eq!(edge.get(&client, "empty.test", "/").await.expect("reply").status, StatusCode::SERVICE_UNAVAILABLE);

    edge.edge.set_route("dead.test", [closed_port().await, closed_port().await]).expect("route");
    let reply = edge.get(&client, "dead.test", "/").await.expect("reply");
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert!(reply.text().contains("<code>dead.test</code> did not answer"), "{}", reply.text());

    let slow = Upstream::start("slow").await;
    edge.edge.set_route("slow.test", [slow.addr]).expect("route");
    let reply = edge.get(&client, "slow.test", "/sleep/3000").await.expect("reply");
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);

    let counters = edge.edge.counters();
    assert_eq!(counters.routes["empty.test"].failures, 1);
    assert_eq!(counters.routes["dead.test"].failures, 1);
    assert_eq!(counters.routes["dead.test"].retries, 1);
    assert_eq!(counters.routes["slow.test"].failures, 1);
}

#[tokio::test]
async fn h2c_clients_are_routed_by_authority() {
    let edge = RunningEdge::start().await;
    let api = Upstream::start("api").await;
    edge.edge.set_route("api.test", [api.addr]).expect("route");

    let stream = TcpStream::connect(edge.addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2 handshake");
    tokio::spawn(connection);
    let request = hyper::Request::builder().uri("http://API.test:8443/echo?via=h2").body(empty()).expect("request");
    let response = sender.send_request(request).await.expect("h2 response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    let body = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(echo["uri"], "/echo?via=h2");
    assert_eq!(echo["headers"]["host"][0], "API.test:8443");
    assert_eq!(echo["headers"]["x-forwarded-host"][0], "API.test:8443");
}

#[tokio::test]
async fn public_paths_route_by_prefix_and_rewrite_the_upstream_path() {
    let edge = RunningEdge::start().await;
    let web = Upstream::start("web").await;
    let api = Upstream::start("api").await;
    edge.edge.set_route("shop.test", [web.addr]).expect("route");
    edge.edge.set_path_route("shop.test", "/api", Some("/"), [api.addr]).expect("path route");
    let client = client();

    // The upstream's /echo reports the target it received.
    let echoed = edge.get(&client, "shop.test", "/api/echo?q=1").await.expect("reply").json();
    assert_eq!((echoed["name"].as_str(), echoed["uri"].as_str()), (Some("api"), Some("/echo?q=1")));
    let echoed = edge.get(&client, "shop.test", "/echo").await.expect("reply").json();
    assert_eq!((echoed["name"].as_str(), echoed["uri"].as_str()), (Some("web"), Some("/echo")));
    assert_eq!(edge.get(&client, "shop.test", "/apiary").await.expect("reply").text(), "web");

    // Without the catch-all route, other paths get a clear 404.
    assert!(edge.edge.remove_path_route("shop.test", "/").expect("remove"));
    let reply = edge.get(&client, "shop.test", "/elsewhere").await.expect("reply");
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.text().contains("/elsewhere"), "{}", reply.text());
    assert_eq!(edge.get(&client, "shop.test", "/api").await.expect("reply").text(), "api");
}

#[tokio::test]
async fn metrics_count_requests_by_host_and_status_class() {
    let edge = RunningEdge::start().await;
    let web = Upstream::start("web").await;
    edge.edge.set_route("metrics.test", [web.addr]).expect("route");
    let client = client();
    for _ in 0..3 {
        assert_eq!(edge.get(&client, "metrics.test", "/").await.expect("reply").status, StatusCode::OK);
    }
    assert_eq!(edge.get(&client, "nobody.test", "/").await.expect("reply").status, StatusCode::NOT_FOUND);
    let text = edge.edge.metrics_text();
    assert!(text.contains(r#"slipway_edge_requests_total{host="metrics.test",class="2xx"} 3"#), "{text}");
    assert!(text.contains(r#"slipway_edge_request_duration_seconds_count{host="metrics.test"} 3"#), "{text}");
    assert!(text.contains("slipway_edge_unknown_host_requests_total 1"), "{text}");
}

#[tokio::test]
async fn idle_keep_alive_client_connections_are_closed_after_the_header_timeout() {
    let edge =
        RunningEdge::with_config(EdgeConfig { header_read_timeout: Duration::from_millis(400), ..Default::default() })
            .await;
    let api = Upstream::start("api").await;
    edge.edge.set_route("api.test", [api.addr]).expect("route");

    let stream = TcpStream::connect(edge.addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    let connection = tokio::spawn(connection);
    for _ in 0..2 {
        // Keep-alive holds between requests closer together than the timeout.
        let request = hyper::Request::builder().uri("/").header("host", "api.test").body(empty()).expect("request");
        let response = sender.send_request(request).await.expect("response on the kept-alive connection");
        assert_eq!(response.status(), StatusCode::OK);
        http_body_util::BodyExt::collect(response.into_body()).await.expect("body");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then the connection sits idle, and the edge closes it instead of holding it for ever.
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the edge closes an idle connection")
        .expect("connection task")
        .expect("a clean close");
    assert!(sender.is_closed());
}
