//! Internal networking stays private: a service without a public port is
//! reached by the services of its own environment only, never from another
//! environment (by name or by address), the edge, or a host port.

use std::time::{Duration, Instant};

use serde_json::json;
use slipway_model::deployment::DeploymentStatus;
use slipway_model::{ServiceType, naming};
use slipway_runtime::{ExecOutput, Instance};

use crate::support::{AppRepo, Harness};

/// Runs a busybox shell script inside `instance`, bounded by a busybox `timeout`.
async fn sh(h: &Harness, instance: &Instance, script: &str) -> ExecOutput {
    let command = ["/bin/busybox", "timeout", "10", "/bin/busybox", "sh", "-c", script].map(str::to_owned);
    h.runtime.exec(&instance.id, &command, Duration::from_secs(20)).await.expect("exec")
}

/// `GET /` on port 8080 of `target` (a name or an address) from inside
/// `instance`, over a raw connection with a two-second connect timeout.
async fn fetch(h: &Harness, instance: &Instance, target: &str) -> ExecOutput {
    sh(h, instance, &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 2 {target} 8080")).await
}

/// Waits until `target` answers `body` from inside `instance`.
async fn answers(h: &Harness, instance: &Instance, target: &str, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = fetch(h, instance, target).await;
        if out.exit_code == 0 && out.output.contains(body) {
            return;
        }
        assert!(Instant::now() < deadline, "{target} never answered {body:?} in {}: {out:?}", instance.name);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_private_service_is_unreachable_from_another_environment_and_from_outside() {
    let h = Harness::new().await;
    let engine = h.runtime.info().await.expect("engine info");
    // Environment A: the private service and a neighbour.
    let vault_repo = AppRepo::new("vault-v1");
    let mut vault_body = vault_repo.application("vault");
    vault_body["ports"][0]["publicly_accessible"] = json!(false);
    let vault = h.add_service(ServiceType::Application, vault_body).await;
    let neighbour_repo = AppRepo::new("neighbour");
    h.add_service(ServiceType::Application, neighbour_repo.application("neighbour")).await;
    let deployed = h.deploy(vec![]).await;
    assert_eq!(deployed.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&deployed).await);
    // Environment B, same project and cluster: a client.
    let other = h.add_environment("preview").await;
    let client_repo = AppRepo::new("client");
    let client = h.add_service_to(&other, ServiceType::Application, client_repo.application("client")).await;
    let deployed = h.deploy_to(&other, vec![]).await;
    assert_eq!(deployed.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&deployed).await);

    let internal = naming::host_internal(ServiceType::Application, vault.id, "vault");
    let [vault_instance] = &h.instances_of(&vault).await[..] else { panic!("one instance of the private service") };
    let vault_ip = vault_instance.ip.expect("the private service has an address").to_string();
    let neighbour = h.instances().await.into_iter().find(|i| i.name.contains("neighbour")).expect("the neighbour");
    let [outsider] = &h.instances_of(&client).await[..] else { panic!("one instance of the client") };

    // Its own environment reaches it, by name and by address.
    answers(&h, &neighbour, &internal, "vault-v1").await;
    answers(&h, &neighbour, &vault_ip, "vault-v1").await;
    // The other environment's instance can use the network (its own service answers)...
    let own = naming::host_internal(ServiceType::Application, client.id, "client");
    answers(&h, outsider, &own, "client").await;
    // ...but does not even resolve the private service's names...
    for name in [internal.as_str(), "vault"] {
        let lookup = sh(&h, outsider, &format!("/bin/busybox nslookup {name}")).await;
        assert_ne!(lookup.exit_code, 0, "{}: {name} resolves in another environment: {lookup:?}", engine.name);
        let by_name = fetch(&h, outsider, name).await;
        assert!(
            by_name.exit_code != 0 && !by_name.output.contains("vault-v1"),
            "{}: {name} answered another environment: {by_name:?}",
            engine.name
        );
    }
    // ...nor reaches its address.
    let by_address = fetch(&h, outsider, &vault_ip).await;
    assert!(
        by_address.exit_code != 0 && !by_address.output.contains("vault-v1"),
        "{}: {vault_ip} answered another environment: {by_address:?}",
        engine.name
    );

    // Outside the environments: no route on the edge, no host port.
    assert!(h.engine.public_urls(&vault).is_empty(), "a private service has no public URL");
    let edge_host = format!("vault-{}.localhost", naming::short_dns(vault.id));
    assert_eq!(h.get(&edge_host, "/").await.expect("the edge answers").0, 404);
    assert!(vault_instance.published.is_empty(), "the private service publishes host ports: {vault_instance:?}");
    let again = h.runtime.inspect(&vault_instance.id).await.expect("inspect").expect("exists");
    assert!(again.published.is_empty(), "{again:?}");
    // The neighbour in its environment still reaches it afterwards.
    answers(&h, &neighbour, &internal, "vault-v1").await;
}
