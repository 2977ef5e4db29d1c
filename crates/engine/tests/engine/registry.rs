use serde_json::json;
use slipway_model::deployment::{DeploymentStatus, Release};
use slipway_model::{Cluster, ContainerRegistry, RegistryConfig, RegistryKind, RegistrySpec, ServiceType, new_id, now};
use slipway_store::Filter;
use slipway_testkit::Registry;

use crate::support::{AppRepo, Harness};

/// Adds a container registry record for `registry` and returns its id.
async fn registry_record(h: &Harness, registry: &Registry) -> slipway_model::Uuid {
    let record = ContainerRegistry {
        id: new_id(),
        organization_id: h.org,
        created_at: now(),
        updated_at: None,
        spec: RegistrySpec {
            name: format!("test-{}", registry.host()),
            kind: RegistryKind::GenericCr,
            description: None,
            url: Some(format!("https://{}", registry.host())),
            config: RegistryConfig::default(),
        },
    };
    h.store.insert(&record).await.unwrap();
    record.id
}

#[tokio::test]
async fn built_images_are_pushed_to_the_clusters_registry_and_containers_pull_them() {
    let h = Harness::new().await;
    let registry = Registry::start();
    let registry_id = registry_record(&h, &registry).await;
    let mut cluster: Cluster = h.store.get(h.org, h.env.cluster_id).await.unwrap();
    cluster.spec.registry_id = Some(registry_id);
    h.store.update(&cluster).await.unwrap();

    let repo = AppRepo::new("pushed");
    let app = h.add_service(ServiceType::Application, repo.application("web")).await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    let releases: Vec<Release> = h.store.list(h.org, Filter::parent(app.id)).await.unwrap();
    let release = &releases[0];
    assert!(release.image.starts_with(&format!("{}/slipway/", registry.host())), "{}", release.image);
    assert!(h.log_of(&d).await.iter().any(|l| l.message.starts_with("push:")), "the push is in the deployment log");

    // A container service pulls that image from the registry: stop the app
    // and drop the local image first so that the engine must fetch it.
    let stop = h.submit(slipway_model::deployment::DeploymentAction::Stop, vec![(app.id, None)]).await;
    assert_eq!(h.finish(&stop).await.status, DeploymentStatus::Succeeded);
    let (name, tag) = release.image.rsplit_once(':').unwrap();
    let name = name.strip_prefix(&format!("{}/", registry.host())).unwrap().to_owned();
    h.runtime.remove_image(&release.image).await.unwrap();
    assert!(h.runtime.image(&release.image).await.unwrap().is_none());
    let mut body = json!({
        "name": "mirror", "registry_id": registry_id, "image_name": name, "tag": tag,
        "healthchecks": {}, "ports": [{"internal_port": 8080, "publicly_accessible": true}],
        "cpu": 100, "memory": 32,
    });
    body["healthchecks"] = repo.application("x")["healthchecks"].clone();
    let container = h.add_service(ServiceType::Container, body).await;
    let d = h.deploy(vec![(container.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    assert!(h.log_of(&d).await.iter().any(|l| l.message.starts_with("pulling")), "it was pulled");
    assert_eq!(h.get(&h.host(&container), "/").await.unwrap().1.trim(), "pushed");
}
