//! Networks stay private: an instance on one network reaches its peers there
//! but nothing on another network, and an instance publishes no host port
//! unless asked to.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::InspectNetworkOptions;
use slipway_runtime::{Instance, Runtime};
use slipway_runtime_docker::{DockerRuntime, EngineKind, ISOLATED_LABEL};

use crate::support::{BB, Scope, engine_client, engine_inspect, http_get, on_each_engine};

/// The test page, asked for over a raw TCP connection from inside `from`
/// with a two-second connect timeout: `Ok(answer)` when it answered,
/// `Err(why)` when the connection failed.
async fn fetch_from(runtime: &DockerRuntime, from: &Instance, target: &str) -> Result<String, String> {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | {BB} nc -w 2 {target} 8080");
    let command = [BB, "timeout", "10", BB, "sh", "-c", &script].map(str::to_owned);
    match runtime.exec(&from.id, &command, Duration::from_secs(15)).await {
        Ok(out) if out.exit_code == 0 && out.output.contains("slipway-test-page") => Ok(out.output),
        Ok(out) => Err(format!("exit code {}: {}", out.exit_code, out.output.trim())),
        Err(e) => Err(e.to_string()),
    }
}

/// Waits until `target` answers from inside `from`.
async fn reachable_from(runtime: &DockerRuntime, from: &Instance, target: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match fetch_from(runtime, from, target).await {
            Ok(_) => return,
            Err(why) if Instant::now() > deadline => panic!("{target} never answered {}: {why}", from.name),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// A web instance on `network`, known there as `alias`, answering from the host.
async fn web_on(scope: &Scope, suffix: &str, network: &str, alias: &str) -> (Instance, IpAddr) {
    let mut spec = scope.spec(suffix, &[]).await;
    spec.network = Some(network.to_owned());
    spec.aliases = vec![alias.to_owned()];
    let web = scope.runtime.start(&spec).await.expect("start a web instance");
    let ip = web.ip.expect("an address on the network");
    // Up and serving: a failure from another network is then the network's doing.
    let response = http_get(SocketAddr::new(ip, 8080), Duration::from_secs(10)).await.expect("HTTP from the host");
    assert!(response.contains("slipway-test-page"), "{response}");
    (web, ip)
}

#[tokio::test]
async fn instances_on_another_network_are_unreachable_by_address_and_name() {
    on_each_engine("isolation", |scope| async move {
        let runtime = &scope.runtime;
        let (net_a, net_b) = (scope.network("a").await, scope.network("b").await);
        let (alias_a, alias_b) = (format!("{}-web-a", scope.id), format!("{}-web-b", scope.id));
        let (web_a, ip_a) = web_on(&scope, "web-a", &net_a, &alias_a).await;
        let (web_b, ip_b) = web_on(&scope, "web-b", &net_b, &alias_b).await;
        let mut peer = scope.spec("peer-a", &["sleep", "300"]).await;
        peer.network = Some(net_a.clone());
        let peer_a = runtime.start(&peer).await.expect("start a peer on network a");

        // On its own network, by address and by name.
        reachable_from(runtime, &peer_a, &ip_a.to_string()).await;
        reachable_from(runtime, &peer_a, &alias_a).await;
        // From the other network, in both directions, neither.
        let engine = match runtime.kind() {
            EngineKind::Docker => format!(
                "{} (Docker isolates networks only when dockerd runs with iptables enabled)",
                runtime.endpoint()
            ),
            EngineKind::Podman => runtime.endpoint().to_string(),
        };
        let a_from_b = fetch_from(runtime, &web_b, &ip_a.to_string()).await;
        assert!(a_from_b.is_err(), "{engine}: {ip_a} on {net_a} answered an instance on {net_b}: {a_from_b:?}");
        let b_from_a = fetch_from(runtime, &web_a, &ip_b.to_string()).await;
        assert!(b_from_a.is_err(), "{engine}: {ip_b} on {net_b} answered an instance on {net_a}: {b_from_a:?}");
        let b_from_peer = fetch_from(runtime, &peer_a, &ip_b.to_string()).await;
        assert!(b_from_peer.is_err(), "{engine}: {ip_b} answered an instance on {net_a}: {b_from_peer:?}");
        let by_name = fetch_from(runtime, &web_b, &alias_a).await;
        assert!(by_name.is_err(), "{engine}: {alias_a} answered an instance on {net_b}: {by_name:?}");
        let lookup = [BB, "timeout", "10", BB, "nslookup", &alias_a].map(str::to_owned);
        let out = runtime.exec(&web_b.id, &lookup, Duration::from_secs(15)).await.expect("exec nslookup");
        assert_ne!(out.exit_code, 0, "{engine}: {alias_a} resolves on {net_b}: {}", out.output);
        // Isolation leaves the same network alone: the peer still answers.
        reachable_from(runtime, &peer_a, &ip_a.to_string()).await;
    })
    .await;
}

#[tokio::test]
async fn an_instance_without_published_ports_exposes_no_host_port() {
    on_each_engine("no_host_port", |scope| async move {
        let network = scope.network("net").await;
        let mut spec = scope.spec("private", &[]).await;
        spec.network = Some(network);
        assert!(spec.published_ports.is_empty());
        let web = scope.runtime.start(&spec).await.expect("start");
        assert!(web.published.is_empty(), "{web:?}");
        let listed = scope.runtime.list(&scope.labels()).await.expect("list");
        assert!(listed.iter().all(|i| i.published.is_empty()), "{listed:?}");

        let inspect = engine_inspect(&scope, &web.id).await;
        let host = inspect.host_config.expect("host config");
        assert_ne!(host.publish_all_ports, Some(true));
        let bindings = host.port_bindings.unwrap_or_default();
        assert!(bindings.values().all(|b| b.as_ref().is_none_or(Vec::is_empty)), "port bindings: {bindings:?}");
        let ports = inspect.network_settings.and_then(|s| s.ports).unwrap_or_default();
        assert!(ports.values().all(|b| b.as_ref().is_none_or(Vec::is_empty)), "ports bound on the host: {ports:?}");
    })
    .await;
}

#[tokio::test]
async fn an_old_network_is_kept_while_in_use_and_on_podman_recreated_isolated_once_empty() {
    on_each_engine("old_network", |scope| async move {
        let runtime = &scope.runtime;
        let docker = engine_client(&scope).await;
        // As the driver used to create networks: no isolation, no label.
        let name = scope.name("old");
        scope.track_network(&name);
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(scope.labels().into_iter().collect()),
            ..Default::default()
        };
        docker.create_network(request).await.expect("create an old network");
        // Podman derives a network's id from its name: a recreated network is
        // told apart by its creation time.
        let inspect = |docker: bollard::Docker, name: String| async move {
            docker.inspect_network(&name, None::<InspectNetworkOptions>).await.expect("inspect the network")
        };

        // In use: kept as it is, and its instance keeps running.
        let mut spec = scope.spec("user", &["sleep", "300"]).await;
        spec.network = Some(name.clone());
        let user = runtime.start(&spec).await.expect("start on the old network");
        let old = inspect(docker.clone(), name.clone()).await;
        runtime.ensure_network(&name, &scope.labels()).await.expect("ensure an old network in use");
        let kept = inspect(docker.clone(), name.clone()).await;
        assert_eq!(kept.created, old.created, "a network in use is not replaced");
        assert!(!kept.labels.unwrap_or_default().contains_key(ISOLATED_LABEL));
        let still = runtime.inspect(&user.id).await.expect("inspect").expect("the instance is still there");
        assert_eq!(still.state, slipway_runtime::InstanceState::Running);

        // Empty: recreated isolated on Podman; left alone on Docker.
        runtime.remove(&user.id).await.expect("remove the instance");
        runtime.ensure_network(&name, &scope.labels()).await.expect("ensure an old, empty network");
        let now = inspect(docker.clone(), name.clone()).await;
        let labels = now.labels.clone().unwrap_or_default();
        match runtime.kind() {
            EngineKind::Podman => {
                assert_ne!(now.created, old.created, "recreated");
                assert_eq!(labels.get(ISOLATED_LABEL).map(String::as_str), Some("true"), "{labels:?}");
                let expected: HashMap<String, String> = scope.labels().into_iter().collect();
                assert!(expected.iter().all(|(k, v)| labels.get(k) == Some(v)), "the caller's labels: {labels:?}");
            }
            EngineKind::Docker => {
                assert_eq!((&now.id, &now.created), (&old.id, &old.created), "Docker's networks are left as they are");
                assert!(!labels.contains_key(ISOLATED_LABEL), "{labels:?}");
            }
        }
        // Ensuring again changes nothing.
        runtime.ensure_network(&name, &scope.labels()).await.expect("ensure again");
        assert_eq!(inspect(docker, name).await.created, now.created);
    })
    .await;
}
