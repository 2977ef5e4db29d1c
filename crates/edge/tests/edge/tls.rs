//! HTTPS: SNI routing with certificates from the local CA, the redirect from plain HTTP, and
//! certificates issued and renewed by a real ACME server (pebble) that validates HTTP-01 challenges
//! against the edge's own plain listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::header::{HOST, LOCATION};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use slipway_edge::{
    AcmeConfig, CertificateStore, Edge, EdgeConfig, LOCAL_CA_NAME, MemoryCertificateStore, TlsConfig, export_local_ca,
};
use slipway_testkit::{Dnsmasq, Pebble, PebbleOptions};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::support::{Reply, Upstream, client, empty};

/// An edge serving plain HTTP and HTTPS on loopback ports, with certificates in memory.
struct TlsEdge {
    edge: Edge,
    plain: SocketAddr,
    https: SocketAddr,
    store: Arc<MemoryCertificateStore>,
    _stop: [oneshot::Sender<()>; 2],
}

impl TlsEdge {
    /// Binds the plain listener first: pebble must know its port before the edge knows pebble's URL.
    async fn bind_plain() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").await.expect("bind plain")
    }

    async fn start(plain: TcpListener, config: TlsConfig) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let edge = Edge::new(EdgeConfig::default());
        let store = Arc::new(MemoryCertificateStore::default());
        edge.enable_tls(config, Arc::clone(&store) as Arc<dyn CertificateStore>).await.expect("enable TLS");
        let https = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
        let (plain_addr, https_addr) = (plain.local_addr().expect("addr"), https.local_addr().expect("addr"));
        let (stop_plain, plain_stopped) = oneshot::channel::<()>();
        let (stop_https, https_stopped) = oneshot::channel::<()>();
        tokio::spawn({
            let edge = edge.clone();
            async move {
                edge.serve(plain, async move {
                    let _ = plain_stopped.await;
                })
                .await;
            }
        });
        tokio::spawn({
            let edge = edge.clone();
            async move {
                edge.serve_tls(https, async move {
                    let _ = https_stopped.await;
                })
                .await
                .expect("serve TLS");
            }
        });
        Self { edge, plain: plain_addr, https: https_addr, store, _stop: [stop_plain, stop_https] }
    }

    async fn get_plain(&self, host: &str, path: &str) -> Reply {
        let request = Request::builder()
            .uri(format!("http://{}{path}", self.plain))
            .header(HOST, host)
            .body(empty())
            .expect("request");
        crate::support::send(&client(), request).await.expect("plain reply")
    }
}

/// What an HTTPS exchange showed: the reply, the chain the server presented, and the ALPN protocol.
struct HttpsReply {
    reply: Reply,
    chain: Vec<CertificateDer<'static>>,
    alpn: Option<Vec<u8>>,
}

fn roots(pem: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.expect("PEM certificate")).expect("trust anchor");
    }
    roots
}

/// GETs `https://<server_name><path>` from `addr`, trusting only `trusted_pem`, offering `alpn`.
async fn https_get(
    addr: SocketAddr,
    server_name: &str,
    trusted_pem: &str,
    path: &str,
    alpn: &[&[u8]],
) -> Result<HttpsReply, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(trusted_pem))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let stream = connector.connect(name, tcp).await.map_err(|e| format!("TLS handshake: {e}"))?;
    let (_, session) = stream.get_ref();
    let chain = session.peer_certificates().unwrap_or_default().iter().map(|c| c.clone().into_owned()).collect();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let io = TokioIo::new(stream);
    let response = if alpn.as_deref() == Some(b"h2") {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = Request::builder().uri(format!("https://{server_name}{path}")).body(empty()).expect("request");
        sender.send_request(request).await.map_err(|e| e.to_string())?
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = Request::builder().uri(path).header(HOST, server_name).body(empty()).expect("request");
        sender.send_request(request).await.map_err(|e| e.to_string())?
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(HttpsReply { reply: Reply { status: parts.status, headers: parts.headers, body }, chain, alpn })
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> x509_parser::certificate::X509Certificate<'a> {
    x509_parser::parse_x509_certificate(der.as_ref()).expect("X.509").1
}

#[tokio::test]
async fn https_routes_by_sni_with_local_ca_certificates() {
    let edge = TlsEdge::start(TlsEdge::bind_plain().await, TlsConfig::default()).await;
    let api = Upstream::start("api").await;
    let web = Upstream::start("web").await;
    edge.edge.set_route("api.localhost", [api.addr]).expect("route");
    edge.edge.set_route("web.localhost", [web.addr]).expect("route");
    edge.edge.set_route("other.test", [web.addr]).expect("route");

    // What `slipway ca export` prints: the CA kept in the store, the one the edge signs with.
    let ca = export_local_ca(edge.store.as_ref()).await.expect("export CA");
    assert_eq!(Some(ca.clone()), edge.edge.local_ca_pem());
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");

    for (host, expected, alpn) in [
        ("api.localhost", "api", &[b"http/1.1".as_slice()][..]),
        ("web.localhost", "web", &[b"h2".as_slice(), b"http/1.1".as_slice()][..]),
    ] {
        let answer = https_get(edge.https, host, &ca, "/echo", alpn).await.expect("HTTPS through the edge");
        assert_eq!(answer.reply.status, StatusCode::OK, "{host}");
        let echo = answer.reply.json();
        assert_eq!(echo["name"], expected, "{host}");
        assert_eq!(echo["headers"]["x-forwarded-proto"][0], "https", "{host}");
        assert_eq!(answer.alpn.as_deref(), Some(alpn[0]), "{host}");
        let leaf = parse(&answer.chain[0]);
        let sans: Vec<String> = leaf
            .subject_alternative_name()
            .expect("SAN")
            .expect("SAN present")
            .value
            .general_names
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(sans, [format!("DNSName({host})")]);
    }
    // The same hosts over plain HTTP say so.
    let plain = edge.get_plain("api.localhost", "/echo").await;
    assert_eq!(plain.json()["headers"]["x-forwarded-proto"][0], "http");

    // A host outside the dev domains has no certificate without ACME: the handshake is refused.
    let refused = https_get(edge.https, "other.test", &ca, "/", &[b"http/1.1"]).await;
    assert!(refused.is_err(), "no certificate for other.test");
    // And a client that does not trust the local CA refuses the edge's certificate.
    let foreign = rcgen::generate_simple_self_signed(vec!["x.test".to_owned()]).expect("cert").cert.pem();
    assert!(https_get(edge.https, "api.localhost", &foreign, "/", &[b"http/1.1"]).await.is_err());
    // The CA's key is in the store, so a restarted edge serves the same CA.
    assert!(edge.store.get(LOCAL_CA_NAME).expect("stored CA").key_pem.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn plain_http_redirects_to_https_for_hosts_with_a_certificate() {
    let config = TlsConfig { https_redirect: true, ..TlsConfig::default() };
    let edge = TlsEdge::start(TlsEdge::bind_plain().await, config).await;
    let app = Upstream::start("app").await;
    edge.edge.set_route("app.localhost", [app.addr]).expect("route");
    edge.edge.set_route("plain.test", [app.addr]).expect("route");

    let reply = edge.get_plain("App.Localhost:8080", "/some/path?x=1").await;
    assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT);
    let location = reply.headers[LOCATION].to_str().expect("location");
    assert_eq!(location, format!("https://app.localhost:{}/some/path?x=1", edge.https.port()));
    assert_eq!(app.requests(), 0, "a redirect never reaches the service");

    // Following it works.
    let ca = edge.edge.local_ca_pem().expect("CA");
    let answer = https_get(edge.https, "app.localhost", &ca, "/some/path?x=1", &[b"http/1.1"]).await.expect("https");
    assert_eq!(answer.reply.text(), "app");

    // ACME challenge paths are never redirected; hosts without a certificate are proxied as before.
    let challenge = edge.get_plain("app.localhost", "/.well-known/acme-challenge/unknown-token").await;
    assert_eq!(challenge.status, StatusCode::OK);
    assert_eq!(challenge.text(), "app");
    let plain = edge.get_plain("plain.test", "/").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.text(), "app");

    // A host whose TLS ends in front of the edge (a CDN) is not redirected, even with a certificate.
    edge.edge.set_route("cdn.localhost", [app.addr]).expect("route");
    assert_eq!(edge.get_plain("cdn.localhost", "/").await.status, StatusCode::PERMANENT_REDIRECT);
    edge.edge.set_certificate_wanted("cdn.localhost", false).expect("no certificate");
    let behind_cdn = edge.get_plain("cdn.localhost", "/").await;
    assert_eq!(behind_cdn.status, StatusCode::OK);
    assert_eq!(behind_cdn.text(), "app");
}

/// Pebble's issuing root, from its management API.
async fn pebble_root(pebble: &Pebble) -> String {
    let trusted = std::fs::read_to_string(pebble.ca_file()).expect("pebble's HTTPS certificate");
    let addr = SocketAddr::from(([127, 0, 0, 1], pebble.management_port()));
    let answer = https_get(addr, "127.0.0.1", &trusted, "/roots/0", &[b"http/1.1"]).await.expect("pebble root");
    assert_eq!(answer.reply.status, StatusCode::OK);
    answer.reply.text()
}

struct AcmeSetup {
    edge: TlsEdge,
    pebble: Pebble,
    _dns: Dnsmasq,
}

/// DNS that sends `*.test` to loopback, pebble validating on the edge's plain port, and an edge that
/// orders from pebble and checks renewals every 200 ms.
async fn acme_setup(certificate_validity: Option<u64>) -> AcmeSetup {
    let dns = Dnsmasq::start("test");
    let plain = TlsEdge::bind_plain().await;
    let http_port = plain.local_addr().expect("addr").port();
    let pebble = Pebble::start(&PebbleOptions { http_port, dns_server: dns.address(), certificate_validity });
    let config = TlsConfig {
        acme: Some(AcmeConfig {
            directory_url: pebble.directory_url(),
            contact_email: Some("ops@slipway.test".to_owned()),
            ca_file: Some(pebble.ca_file()),
        }),
        renewal_check_interval: Duration::from_millis(200),
        retry_after_failure: Duration::from_secs(1),
        ..TlsConfig::default()
    };
    let edge = TlsEdge::start(plain, config).await;
    AcmeSetup { edge, pebble, _dns: dns }
}

/// Waits until the edge serves an ACME certificate for `host` that `accept` likes.
async fn wait_for_certificate(
    setup: &AcmeSetup,
    host: &str,
    within: Duration,
    accept: impl Fn(&slipway_edge::CertificateInfo) -> bool,
) -> slipway_edge::CertificateInfo {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(info) = setup.edge.edge.acme_certificate(host).filter(|i| accept(i)) {
            return info;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no certificate for {host}; pebble said:\n{}",
            setup.pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn acme_certificate_is_issued_by_a_real_acme_server() {
    let setup = acme_setup(None).await;
    let app = Upstream::start("app").await;
    // A host whose certificate is someone else's business is routed, but never ordered one. (Hosts are
    // looked at in name order, so it would have been ordered before app.test.)
    setup.edge.edge.set_certificate_wanted("a-cdn.test", false).expect("no certificate");
    setup.edge.edge.set_route("a-cdn.test", [app.addr]).expect("route");
    setup.edge.edge.set_route("app.test", [app.addr]).expect("route");

    let info = wait_for_certificate(&setup, "app.test", Duration::from_secs(60), |_| true).await;
    assert!(info.issuer.contains("Pebble"), "issuer: {}", info.issuer);
    assert!(setup.pebble.log().contains("app.test"), "pebble validated the name");
    assert!(!setup.pebble.log().contains("a-cdn.test"), "no order for a host without a certificate wanted");
    assert!(setup.edge.edge.acme_certificate("a-cdn.test").is_none());
    assert_eq!(setup.edge.get_plain("a-cdn.test", "/").await.text(), "app");

    // A client that trusts only pebble's root gets the service over HTTPS with SNI app.test.
    let root = pebble_root(&setup.pebble).await;
    let answer = https_get(setup.edge.https, "app.test", &root, "/echo", &[b"h2", b"http/1.1"]).await.expect("https");
    assert_eq!(answer.reply.status, StatusCode::OK);
    assert_eq!(answer.reply.json()["name"], "app");
    assert_eq!(answer.reply.json()["headers"]["x-forwarded-proto"][0], "https");
    let leaf = parse(&answer.chain[0]);
    assert_eq!(leaf.raw_serial_as_string(), info.serial);
    assert!(answer.chain.len() >= 2, "the intermediate is served too");

    // The certificate and its key were stored, and the ACME account with them.
    let stored = setup.edge.store.get("app.test").expect("stored certificate");
    assert!(stored.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(stored.key_pem.contains("PRIVATE KEY"));
    assert!(setup.edge.store.get(slipway_edge::ACME_ACCOUNT_NAME).is_some());
    // The challenge was answered once and forgotten: its path now reaches the service.
    let challenge = setup.edge.get_plain("app.test", "/.well-known/acme-challenge/gone").await;
    assert_eq!(challenge.text(), "app");
}

#[tokio::test]
async fn acme_certificate_is_renewed_before_it_expires() {
    // 20-second certificates: renewal is due with a third of the lifetime (under ~7 s) left.
    let setup = acme_setup(Some(20)).await;
    let app = Upstream::start("app").await;
    setup.edge.edge.set_route("renew.test", [app.addr]).expect("route");

    let first = wait_for_certificate(&setup, "renew.test", Duration::from_secs(60), |_| true).await;
    let lifetime = first.not_after.duration_since(first.not_before).expect("lifetime");
    assert!(lifetime <= Duration::from_secs(21), "pebble issued a short certificate: {lifetime:?}");
    assert!(!first.needs_renewal(first.not_before, 1.0 / 3.0));

    let second =
        wait_for_certificate(&setup, "renew.test", Duration::from_secs(40), |i| i.serial != first.serial).await;
    assert!(second.not_after > first.not_after);
    // It was renewed early: before the first one expired.
    assert!(std::time::SystemTime::now() < first.not_after, "renewed only after expiry");

    let root = pebble_root(&setup.pebble).await;
    let answer = https_get(setup.edge.https, "renew.test", &root, "/", &[b"http/1.1"]).await.expect("https");
    assert_eq!(answer.reply.text(), "app");
    let served = parse(&answer.chain[0]).raw_serial_as_string();
    assert_ne!(served, first.serial, "the renewed certificate is served");
    assert_eq!(setup.edge.store.get("renew.test").map(|s| s.chain_pem.is_empty()), Some(false));
}
