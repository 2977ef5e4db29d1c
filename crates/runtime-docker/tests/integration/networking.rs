//! Networks, DNS between instances, and reaching instances from the host.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use slipway_runtime::{PublishedPort, Runtime, RuntimeError};

use crate::support::{BB, http_get, on_each_engine};

#[tokio::test]
async fn networks_are_idempotent() {
    on_each_engine("network_idempotent", |scope| async move {
        let runtime = &scope.runtime;
        let name = scope.network("net").await;
        runtime.ensure_network(&name, &scope.labels()).await.expect("ensure again");
        runtime.remove_network(&name).await.expect("remove");
        runtime.remove_network(&name).await.expect("remove again");
        runtime.ensure_network(&name, &scope.labels()).await.expect("ensure after removal");
        // Concurrent ensures make one network, not two.
        let other = scope.name("race");
        let labels = scope.labels();
        let (a, b) = tokio::join!(runtime.ensure_network(&other, &labels), runtime.ensure_network(&other, &labels));
        a.expect("first");
        b.expect("second");
        runtime.remove_network(&other).await.expect("remove the raced network");
        // Volumes too.
        let volume = scope.volume("vol").await;
        runtime.ensure_volume(&volume, &scope.labels()).await.expect("ensure volume again");
        runtime.remove_volume(&volume).await.expect("remove volume");
        runtime.remove_volume(&volume).await.expect("remove volume again");
    })
    .await;
}

#[tokio::test]
async fn instances_on_one_network_reach_each_other_by_alias() {
    on_each_engine("alias_dns", |scope| async move {
        let runtime = &scope.runtime;
        let network = scope.network("net").await;
        let alias = format!("{}-web", scope.id);
        let mut web = scope.spec("web", &[]).await;
        web.network = Some(network.clone());
        web.aliases = vec![alias.clone()];
        let web = runtime.start(&web).await.expect("start web");
        assert!(web.ip.is_some(), "{web:?}");
        let mut client = scope.spec("client", &["sleep", "300"]).await;
        client.network = Some(network);
        let client = runtime.start(&client).await.expect("start client");

        let url = format!("http://{alias}:8080/");
        // Not `wget -T`: this busybox build crashes with it.
        let command = [BB, "wget", "-qO-", &url].map(str::to_owned);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = runtime.exec(&client.id, &command, Duration::from_secs(5)).await;
            match out {
                Ok(out) if out.exit_code == 0 => {
                    assert_eq!(out.output.trim(), "slipway-test-page");
                    break;
                }
                Ok(_) | Err(RuntimeError::Timeout(_)) if Instant::now() < deadline => {}
                other => panic!("{url} never answered: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_instance_ip_answers_from_the_host() {
    on_each_engine("ip_from_host", |scope| async move {
        let network = scope.network("net").await;
        let mut web = scope.spec("web", &[]).await;
        web.network = Some(network);
        let web = scope.runtime.start(&web).await.expect("start web");
        let ip: IpAddr = web.ip.expect("an address on the network");
        let response = http_get(SocketAddr::new(ip, 8080), Duration::from_secs(10)).await.expect("HTTP from the host");
        assert!(response.contains("slipway-test-page"), "{response}");
    })
    .await;
}

#[tokio::test]
async fn a_published_port_chosen_by_the_engine_answers_on_loopback() {
    on_each_engine("published_port", |scope| async move {
        let mut web = scope.spec("web", &[]).await;
        web.published_ports =
            vec![PublishedPort { container_port: 8080, host_ip: "127.0.0.1".parse().unwrap(), host_port: 0 }];
        let web = scope.runtime.start(&web).await.expect("start web");
        let [(8080, host_port)] = web.published[..] else { panic!("one published port expected: {web:?}") };
        assert_ne!(host_port, 0);
        let address = SocketAddr::from(([127, 0, 0, 1], host_port));
        let response = http_get(address, Duration::from_secs(10)).await.expect("HTTP on the published port");
        assert!(response.contains("slipway-test-page"), "{response}");
        // `inspect` and `list` report the same port.
        let again = scope.runtime.inspect(&web.name).await.expect("inspect").expect("exists");
        assert_eq!(again.published, web.published);
    })
    .await;
}
