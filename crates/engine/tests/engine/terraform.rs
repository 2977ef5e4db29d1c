//! Terraform services with the real `terraform` CLI and the built-in `terraform_data` resource (no
//! provider to download): a plan-only deploy, apply, outputs that reach an app of a later stage, the state kept sealed
//! in the store and used by the next run, the lock refusing a second run, destroy on delete, and a
//! clear error without the CLI. And Helm charts, which a local cluster cannot deploy.

use serde_json::{Value, json};
use slipway_model::deployment::{
    Deployment, DeploymentAction, DeploymentStage, DeploymentStatus, DeploymentTarget, Origin, Release,
};
use slipway_model::job::JobOutput;
use slipway_model::terraform::{TerraformLock, TerraformState};
use slipway_model::{DeploymentState, Service, ServiceType, new_id, now, short_id};
use slipway_store::{Filter, StoreError};

use crate::support::{Harness, client_app, git, sh};

/// A git repository with Terraform files under `infra/`: one `terraform_data` resource holding the
/// greeting, and outputs of it and of a sensitive token.
struct InfraRepo {
    dir: tempfile::TempDir,
}

impl InfraRepo {
    fn new() -> InfraRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.email", "test@slipway.invalid"]);
        git(root, &["config", "user.name", "Slipway Test"]);
        std::fs::create_dir_all(root.join("infra")).unwrap();
        std::fs::write(
            root.join("infra/main.tf"),
            r#"
variable "greeting" {
  type = string
}

variable "token" {
  type      = string
  sensitive = true
}

variable "region" {
  type    = string
  default = "unset"
}

resource "terraform_data" "greeting" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "region" {
  value = var.region
}

output "api-token" {
  value     = var.token
  sensitive = true
}
"#,
        )
        .unwrap();
        std::fs::write(root.join("infra/staging.tfvars"), "region = \"eu-west-3\"\n").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "infra"]);
        InfraRepo { dir }
    }

    fn body(&self, name: &str, root_path: &str) -> Value {
        json!({
            "name": name, "description": "infra",
            "auto_deploy_config": {"auto_deploy": false, "terraform_action": "DEFAULT"},
            "terraform_files_source": {"git_repository": {
                "url": format!("file://{}", self.dir.path().display()), "branch": "main", "root_path": root_path}},
            "terraform_variables_source": {"tf_var_file_paths": ["staging.tfvars"], "tf_vars": [
                {"key": "greeting", "value": "hello from terraform", "secret": false},
                {"key": "token", "value": "tf-s3cr3t-91c2", "secret": true}]},
            "backend": {"kubernetes": {}},
            "engine": "TERRAFORM",
            "provider_version": {"explicit_version": "1.11"},
            "job_resources": {"cpu_milli": 500, "ram_mib": 256, "gpu": 0, "storage_gib": 1},
            "timeout_sec": 300,
        })
    }
}

/// Puts the Terraform stage first, before the containers' stage.
async fn terraform_first(h: &Harness) {
    for mut stage in DeploymentStage::defaults(h.org, h.env.id) {
        stage.position = if stage.default_for == Some(ServiceType::Terraform) { 0 } else { stage.position + 1 };
        h.store.insert(&stage).await.unwrap();
    }
}

async fn log_text(h: &Harness, d: &slipway_model::deployment::Deployment) -> String {
    h.log_of(d).await.iter().map(|l| l.message.as_str()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn a_terraform_service_applies_its_outputs_reach_an_app_its_state_is_kept_and_delete_destroys_it() {
    let h = Harness::new().await;
    let repo = InfraRepo::new();
    terraform_first(&h).await;
    let tf = h.add_service(ServiceType::Terraform, repo.body("infra", "/infra")).await;
    let app = client_app(&h, "app", "localhost/slipway/postgresql:15").await;

    // A plan-only deploy shows the plan and changes nothing.
    let target = DeploymentTarget { service_id: tf.id, version: None, plan_only: true };
    let plan =
        Deployment::new(h.org, h.project, h.env.id, DeploymentAction::Deploy, vec![target], Origin::Api, "t".into());
    h.engine.submit(&plan).await.unwrap();
    let plan = h.finish(&plan).await;
    let log = log_text(&h, &plan).await;
    assert_eq!(plan.status, DeploymentStatus::Succeeded, "{log}");
    assert!(log.contains("Plan: 1 to add, 0 to change, 0 to destroy.") && !log.contains("Apply complete"), "{log}");
    assert!(matches!(h.store.get::<TerraformState>(h.org, tf.id).await, Err(StoreError::NotFound { .. })));
    assert!(h.store.list::<Release>(h.org, Filter::parent(tf.id)).await.unwrap().is_empty());
    let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    let tf_state = states.iter().find(|s| s.service_id == tf.id).unwrap();
    assert_eq!((tf_state.state, tf_state.current_release), (DeploymentState::Ready, None), "a plan deploys nothing");

    let d = h.deploy(vec![]).await;
    let log = log_text(&h, &d).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{log}");
    assert!(log.contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."), "{log}");
    assert!(!log.contains("tf-s3cr3t-91c2"), "a secret variable shows in the log: {log}");

    // The outputs reached the app, deployed in a later stage.
    let z = short_id(tf.id);
    let echo = format!(
        "echo \"$QOVERY_OUTPUT_TERRAFORM_{z}_greeting|$QOVERY_OUTPUT_TERRAFORM_{z}_api_token|$QOVERY_OUTPUT_TERRAFORM_{z}_region\""
    );
    // The inline variables and the variables file both reached Terraform.
    assert_eq!(sh(&h, &app, &echo).await.trim(), "hello from terraform|tf-s3cr3t-91c2|eu-west-3");
    let outputs: Vec<JobOutput> = h.store.list(h.org, Filter::parent(tf.id)).await.unwrap();
    let token = outputs[0].values.iter().find(|v| v.key == "api-token").unwrap();
    assert!(token.sensitive && !format!("{:?}", token.value).contains("tf-s3cr3t-91c2"));

    // The state is in the store, sealed: nothing of it reads in clear.
    let state: TerraformState = h.store.get(h.org, tf.id).await.unwrap();
    assert!(state.serial >= 1, "{state:?}");
    assert!(!state.state.contains("hello from terraform") && !state.state.contains("terraform_data"));
    let opened = h.engine.secrets().open(&state.state).unwrap();
    assert!(opened.contains("hello from terraform"), "the sealed state is Terraform's");
    assert!(h.store.get::<TerraformLock>(h.org, tf.id).await.is_err(), "the lock is released");

    // A second deploy starts from that state: nothing to change.
    let again = h.deploy(vec![(tf.id, None)]).await;
    let log = log_text(&h, &again).await;
    assert_eq!(again.status, DeploymentStatus::Succeeded, "{log}");
    assert!(log.contains("No changes."), "the next plan starts from the kept state: {log}");

    // Delete destroys what the state holds, and the outputs go.
    let delete = h.submit(DeploymentAction::Delete, vec![(tf.id, None)]).await;
    let delete = h.finish(&delete).await;
    let log = log_text(&h, &delete).await;
    assert_eq!(delete.status, DeploymentStatus::Succeeded, "{log}");
    assert!(log.contains("Destroy complete! Resources: 1 destroyed."), "{log}");
    let outputs: Vec<JobOutput> = h.store.list(h.org, Filter::parent(tf.id)).await.unwrap();
    assert!(outputs.is_empty());
}

#[tokio::test]
async fn a_second_run_is_refused_while_the_state_is_locked_and_a_missing_root_path_is_reported() {
    let h = Harness::new().await;
    let repo = InfraRepo::new();
    let tf = h.add_service(ServiceType::Terraform, repo.body("infra", "/infra")).await;
    // Another deployment holds the state (another server's run, say).
    let holder = new_id();
    let lock = TerraformLock {
        id: tf.id,
        organization_id: h.org,
        service_id: tf.id,
        deployment_id: holder,
        holder: "worker-elsewhere".into(),
        operation: "apply".into(),
        since: now(),
    };
    h.store.insert(&lock).await.unwrap();
    let d = h.deploy(vec![(tf.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = d.error.unwrap_or_default();
    assert!(error.contains(&format!("locked by deployment {holder}")) && error.contains("refused"), "{error}");
    // The refused run left the other's lock and wrote no state.
    assert_eq!(h.store.get::<TerraformLock>(h.org, tf.id).await.unwrap().deployment_id, holder);
    assert!(matches!(h.store.get::<TerraformState>(h.org, tf.id).await, Err(StoreError::NotFound { .. })));

    // A root path the repository does not have.
    let missing = h.add_service(ServiceType::Terraform, repo.body("missing", "/nowhere")).await;
    let d = h.deploy(vec![(missing.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = d.error.unwrap_or_default();
    assert!(error.contains("root path `/nowhere` is not a directory"), "{error}");
}

#[tokio::test]
async fn a_resumed_deployment_recovers_the_state_its_interrupted_run_left() {
    let h = Harness::new().await;
    let repo = InfraRepo::new();
    let tf = h.add_service(ServiceType::Terraform, repo.body("infra", "/infra")).await;
    let first = h.deploy(vec![(tf.id, None)]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded, "{}", log_text(&h, &first).await);
    // As if a run had applied and its server had stopped before storing the state: the store has
    // none, the run's lock is held, and its working directory holds what Terraform wrote.
    let stored: TerraformState = h.store.get(h.org, tf.id).await.unwrap();
    let written = h.engine.secrets().open(&stored.state).unwrap();
    h.store.delete::<TerraformState>(h.org, tf.id).await.unwrap();
    let target = DeploymentTarget { service_id: tf.id, version: None, plan_only: false };
    let resumed =
        Deployment::new(h.org, h.project, h.env.id, DeploymentAction::Deploy, vec![target], Origin::Api, "t".into());
    let lock = TerraformLock {
        id: tf.id,
        organization_id: h.org,
        service_id: tf.id,
        deployment_id: resumed.id,
        holder: "worker-gone".into(),
        operation: "apply".into(),
        since: now(),
    };
    h.store.insert(&lock).await.unwrap();
    let left =
        h.data_dir.join("terraform").join(format!("{}-{}-left", tf.id.simple(), &resumed.id.simple().to_string()[..8]));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("terraform.tfstate"), &written).unwrap();

    h.engine.submit(&resumed).await.unwrap();
    let resumed = h.finish(&resumed).await;
    let log = log_text(&h, &resumed).await;
    assert_eq!(resumed.status, DeploymentStatus::Succeeded, "{log}");
    assert!(log.contains("recovered the state the interrupted run left"), "{log}");
    assert!(log.contains("No changes."), "the recovered state knows the resource: {log}");
    assert!(!left.exists(), "the interrupted run's directory is removed");
}

#[tokio::test]
async fn without_the_terraform_cli_a_deploy_fails_saying_so() {
    let h = Harness::with_config(|c| c.terraform_bin = "/nonexistent/bin/terraform".into()).await;
    let repo = InfraRepo::new();
    let tf: Service = h.add_service(ServiceType::Terraform, repo.body("infra", "/infra")).await;
    let d = h.deploy(vec![(tf.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = d.error.unwrap_or_default();
    assert!(error.contains("the `terraform` CLI is not installed on this server"), "{error}");
    assert!(error.contains("/nonexistent/bin/terraform"), "{error}");
    // Nothing stays locked.
    assert!(h.store.get::<TerraformLock>(h.org, tf.id).await.is_err());
}

#[tokio::test]
async fn a_helm_chart_is_created_on_a_local_cluster_but_its_deploy_says_a_kubernetes_cluster_is_needed() {
    let h = Harness::new().await;
    let chart = h
        .add_service(
            ServiceType::Helm,
            json!({
                "name": "chart", "auto_deploy": false, "arguments": [],
                "source": {"git_repository": {"url": "https://git.invalid/charts.git", "root_path": "/chart"}},
                "values_override": {"set": [["replicas", "2"]]},
            }),
        )
        .await;
    let d = h.deploy(vec![(chart.id, None)]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = d.error.unwrap_or_default();
    assert!(error.contains("Helm charts need a Kubernetes cluster"), "{error}");
}
