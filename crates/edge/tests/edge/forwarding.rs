//! What the upstream receives and what the client gets back: headers, and bodies streamed both ways.

use http_body_util::BodyExt;
use hyper::StatusCode;
use sha2::{Digest, Sha256};

use crate::support::{CHUNK, RunningEdge, SOON, Upstream, channel_body, client, empty, pattern, pattern_digest, send};

#[tokio::test]
async fn sets_forwarded_headers_keeps_host_and_drops_hop_by_hop() {
    let edge = RunningEdge::start().await;
    let up = Upstream::start("up").await;
    edge.edge.set_route("app.test", [up.addr]).expect("route");

    let mut request = edge.request("POST", "App.Test:8080", "/echo?x=1&y=two", crate::support::full("payload"));
    let headers = request.headers_mut();
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "spoofed.test"),
        ("connection", "x-drop-me"),
        ("x-drop-me", "1"),
        ("keep-alive", "timeout=5"),
        ("proxy-authorization", "Basic Zm9vOmJhcg=="),
        ("te", "trailers"),
        ("x-custom", "kept"),
    ] {
        headers.insert(name, value.parse().expect("header"));
    }
    let reply = send(&client(), request).await.expect("reply");
    assert_eq!(reply.status, StatusCode::OK);
    let echo = reply.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["uri"], "/echo?x=1&y=two");
    let seen = &echo["headers"];
    assert_eq!(seen["host"], serde_json::json!(["App.Test:8080"]));
    assert_eq!(seen["x-forwarded-for"], serde_json::json!(["203.0.113.9, 127.0.0.1"]));
    assert_eq!(seen["x-forwarded-proto"], serde_json::json!(["http"]));
    assert_eq!(seen["x-forwarded-host"], serde_json::json!(["App.Test:8080"]));
    assert_eq!(seen["x-custom"], serde_json::json!(["kept"]));
    for dropped in ["connection", "x-drop-me", "keep-alive", "proxy-authorization", "te"] {
        assert!(seen.get(dropped).is_none(), "{dropped} reached the upstream: {seen}");
    }
    // The response's hop-by-hop headers stop at the edge too.
    assert_eq!(reply.headers["x-up-custom"], "kept");
    assert_eq!(reply.headers["x-upstream"], "up");
    assert!(reply.headers.get("x-up-hop").is_none());
    assert!(reply.headers.get("proxy-authenticate").is_none());
}

const LARGE: usize = 20 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_intact_both_ways() {
    let edge = RunningEdge::start().await;
    let up = Upstream::start("up").await;
    edge.edge.set_route("files.test", [up.addr]).expect("route");
    let client = client();
    let expected = pattern_digest(LARGE);

    // Upload: the client streams 20 MB in 64 KiB chunks; the upstream hashes what it receives.
    let (tx, body) = channel_body();
    let producer = tokio::spawn(async move {
        for chunk in pattern(LARGE) {
            tx.send(chunk).await.expect("edge reads the upload");
        }
    });
    let reply = send(&client, edge.request("PUT", "files.test", "/upload", body)).await.expect("upload");
    producer.await.expect("producer");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), format!("{LARGE} {expected}"));

    // Download: the upstream streams 20 MB; the client hashes what it receives.
    let response =
        client.request(edge.request("GET", "files.test", &format!("/download/{LARGE}"), empty())).await.expect("dl");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut hasher = Sha256::new();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            len += data.len();
            hasher.update(&data);
        }
    }
    assert_eq!(len, LARGE);
    assert_eq!(hex::encode(hasher.finalize()), expected);
}

/// If the edge buffered a response before sending it, the client would never see the first chunk,
/// because the upstream sends the rest only after the test saw it.
#[tokio::test]
async fn response_bytes_arrive_before_the_upstream_finished() {
    let edge = RunningEdge::start().await;
    let up = Upstream::start("up").await;
    edge.edge.set_route("files.test", [up.addr]).expect("route");
    let total = 4 * CHUNK;

    let response = tokio::time::timeout(
        SOON,
        client().request(edge.request("GET", "files.test", &format!("/gated-download/{total}"), empty())),
    )
    .await
    .expect("headers arrive while the upstream is still sending")
    .expect("response");
    let mut body = response.into_body();
    let first = tokio::time::timeout(SOON, body.frame())
        .await
        .expect("the first chunk arrives while the upstream is still sending")
        .expect("a frame")
        .expect("data");
    let mut len = first.into_data().expect("data").len();
    assert!(len > 0 && len <= CHUNK);
    up.shared.gate.notify_one();
    while let Some(frame) = tokio::time::timeout(SOON, body.frame()).await.expect("rest arrives") {
        len += frame.expect("frame").into_data().map(|d| d.len()).unwrap_or(0);
    }
    assert_eq!(len, total);
}

/// If the edge buffered a request body before forwarding it, the upstream would never see the first
/// chunk, because the client sends the rest only after the upstream saw it.
#[tokio::test]
async fn request_bytes_reach_the_upstream_before_the_client_finished() {
    let edge = RunningEdge::start().await;
    let up = Upstream::start("up").await;
    edge.edge.set_route("files.test", [up.addr]).expect("route");
    let total = 4 * CHUNK;

    let (tx, body) = channel_body();
    let request = edge.request("POST", "files.test", "/gated-upload", body);
    let pending = tokio::spawn(async move { send(&client(), request).await });
    let mut chunks = pattern(total);
    tx.send(chunks.next().expect("chunk")).await.expect("send first chunk");
    tokio::time::timeout(SOON, up.shared.first_bytes.notified())
        .await
        .expect("the upstream sees the first chunk while the client is still sending");
    for chunk in chunks {
        tx.send(chunk).await.expect("send chunk");
    }
    drop(tx);
    let reply = pending.await.expect("join").expect("reply");
    assert_eq!(reply.text(), format!("{total} {}", pattern_digest(total)));
}
