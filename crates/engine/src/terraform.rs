//! Terraform services: the `terraform` CLI run on the files of a git repository, with the state kept
//! by Slipway.
//!
//! A deploy fetches the repository, copies its root path into a fresh working directory, writes the
//! service's state there (opened from the store), runs `init`, `plan` and `apply`, and stores the state
//! again, sealed, whatever the apply did (a failed apply may still have changed resources). Its outputs
//! then become the `QOVERY_OUTPUT_TERRAFORM_Z<ID8>_<NAME>` variables of the services of later stages. A
//! delete runs `destroy` on the same state. Every line the CLI prints goes to the deployment's log,
//! secrets masked.
//!
//! **One run at a time.** A run first takes the service's lock: a row in the store whose key is the
//! service, so that two runs (two servers, or two deployments) never use the state at once; the second
//! is refused, naming the first. A deployment resumed after its server stopped takes its own lock back.
//!
//! **Variables** reach the CLI as environment variables, never on a command line: the service's
//! `tf_vars` as `TF_VAR_<key>`, and its effective Slipway variables under their own names. The CLI
//! runs with nothing else from the server's environment but `PATH`.
//!
//! The state is Slipway's only for the default `kubernetes` backend; with `user_provided`, the files'
//! own `backend` block decides, and Slipway keeps nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use slipway_model::deployment::{CommitInfo, Deployment, Release, ServiceState};
use slipway_model::job::{JobOutput, OutputValue};
use slipway_model::service::terraform::{TerraformBackend, TerraformSpec};
use slipway_model::terraform::{TerraformLock, TerraformState};
use slipway_model::variable::StoredValue;
use slipway_model::{ServiceSpec, Uuid};
use slipway_store::StoreError;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::EngineError;
use crate::rollout::{self, Ctx};

/// The state file of the local backend, in the working directory.
const STATE_FILE: &str = "terraform.tfstate";
/// The plan `plan` writes and `apply` applies.
const PLAN_FILE: &str = "slipway.tfplan";

/// What a run does with the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `plan` only: shows what an apply would do, changes nothing.
    Plan,
    /// `plan`, then `apply` of that plan.
    Apply,
    /// `destroy`.
    Destroy,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Plan => "plan",
            Operation::Apply => "apply",
            Operation::Destroy => "destroy",
        }
    }
}

/// Deploys a Terraform service: plan and apply, the state kept, the outputs published. Records the
/// release it ran (the files' commit and the configuration).
pub(crate) async fn deploy(
    ctx: &Ctx,
    deployment: &Deployment,
    state: &mut ServiceState,
) -> Result<Option<Uuid>, EngineError> {
    let ServiceSpec::Terraform(spec) = &ctx.service.spec else {
        return Err(EngineError::failed("not a Terraform service"));
    };
    let run = Run::prepare(ctx, deployment, spec).await?;
    if deployment.plans_only(ctx.service.id) {
        // Nothing changes: no release, no state, no outputs; the plan is in the log.
        let release = match state.current_release {
            Some(current) => ctx.inner.store.get(ctx.service.organization_id, current).await?,
            None => unreleased(ctx, deployment, &run),
        };
        run.execute(ctx, deployment, Operation::Plan, &release).await?;
        ctx.info("plan only: nothing was applied");
        return Ok(state.current_release);
    }
    let mut release = unreleased(ctx, deployment, &run);
    crate::steps::attach_variables(ctx, &mut release).await?;
    ctx.inner.store.insert(&release).await?;
    run.execute(ctx, deployment, Operation::Apply, &release).await?;
    state.current_release = Some(release.id);
    state.message = None;
    Ok(Some(release.id))
}

/// A release for the files of `run`, not stored yet, without variables.
fn unreleased(ctx: &Ctx, deployment: &Deployment, run: &Run) -> Release {
    Release {
        id: Uuid::new_v4(),
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        deployment_id: deployment.id,
        created_at: slipway_model::now(),
        image: String::new(),
        image_id: String::new(),
        digest: None,
        tag: None,
        commit: Some(run.commit.clone()),
        cache_key: None,
        spec: ctx.service.spec.to_json(),
        variables: None,
        variables_digest: None,
    }
}

/// Destroys what a Terraform service's state holds, with the release it last ran.
pub(crate) async fn destroy(ctx: &Ctx, deployment: &Deployment, state: &ServiceState) -> Result<(), EngineError> {
    let Some(current) = state.current_release else {
        ctx.info("it was never applied: nothing to destroy");
        return Ok(());
    };
    let release: Release = ctx.inner.store.get(ctx.service.organization_id, current).await?;
    let spec = release.spec(ctx.service.kind()).map_err(|e| EngineError::failed(format!("release {current}: {e}")))?;
    let ServiceSpec::Terraform(spec) = &spec else {
        return Err(EngineError::failed("not a Terraform service"));
    };
    let run = Run::prepare(ctx, deployment, spec).await?;
    run.execute(ctx, deployment, Operation::Destroy, &release).await?;
    forget_outputs(ctx).await
}

/// The files of one run, checked out and ready.
struct Run {
    spec: TerraformSpec,
    commit: CommitInfo,
    /// Removed when the run ends.
    dir: tempfile::TempDir,
}

impl Run {
    /// Fetches the repository and copies its root path into a fresh working directory.
    async fn prepare(ctx: &Ctx, deployment: &Deployment, spec: &TerraformSpec) -> Result<Run, EngineError> {
        let git = &spec.terraform_files_source.git_repository;
        let source = slipway_build::GitSource { url: git.url.clone(), branch: git.branch.clone(), commit: None };
        let log = ctx.step("fetch");
        let progress = move |line: &str| log.info(line);
        let checkout = ctx.inner.fetcher.fetch(&source, &progress).await?;
        let root = git.root_path.as_deref().unwrap_or("/").trim_matches('/');
        let from = checkout.worktree().join(root);
        if !from.is_dir() {
            return Err(EngineError::failed(format!(
                "the root path `/{root}` is not a directory of {} at commit {}",
                git.url, checkout.commit.sha
            )));
        }
        let parent = ctx.inner.config.data_dir.join("terraform");
        std::fs::create_dir_all(&parent)
            .map_err(|e| EngineError::failed(format!("cannot make {}: {e}", parent.display())))?;
        let dir = tempfile::Builder::new()
            .prefix(&run_dir_prefix(ctx.service.id, deployment.id))
            .tempdir_in(&parent)
            .map_err(|e| EngineError::failed(format!("cannot make a working directory: {e}")))?;
        let to = dir.path().to_owned();
        tokio::task::spawn_blocking(move || copy_tree(&from, &to))
            .await
            .map_err(|e| EngineError::failed(format!("copying the files failed: {e}")))?
            .map_err(|e| EngineError::failed(format!("cannot copy the Terraform files: {e}")))?;
        let commit = CommitInfo {
            id: checkout.commit.sha.clone(),
            message: checkout.commit.subject().to_owned(),
            author_name: checkout.commit.author_name.clone(),
            committed_at: checkout.commit.committed_at,
        };
        ctx.info(&format!("files of {} at {} (root path `/{root}`)", git.url, &commit.id[..commit.id.len().min(12)]));
        checkout.cleanup().await?;
        Ok(Run { spec: spec.clone(), commit, dir })
    }

    /// Runs `operation` under the service's lock, with the state in and out of the store.
    async fn execute(
        &self,
        ctx: &Ctx,
        deployment: &Deployment,
        operation: Operation,
        release: &Release,
    ) -> Result<(), EngineError> {
        let keeps_state = matches!(self.spec.backend, TerraformBackend::Kubernetes {});
        let resumed = lock(ctx, deployment, operation).await?;
        let result = async {
            if keeps_state && resumed {
                recover_interrupted_state(ctx, deployment, self.dir.path()).await?;
            }
            if keeps_state {
                restore_state(ctx, self.dir.path()).await?;
            }
            let outcome = self.commands(ctx, operation, release).await;
            // Whatever the commands did, the state they left is kept: a failed apply may have created
            // resources that the next run must know about.
            if keeps_state && operation != Operation::Plan {
                save_state(ctx, deployment, self.dir.path()).await?;
            }
            outcome
        }
        .await;
        unlock(ctx).await?;
        result
    }

    async fn commands(&self, ctx: &Ctx, operation: Operation, release: &Release) -> Result<(), EngineError> {
        let env = self.environment(ctx, release)?;
        let extra = |action: &str| self.spec.action_extra_arguments.get(action).cloned().unwrap_or_default();
        let var_files: Vec<String> =
            self.spec.terraform_variables_source.tf_var_file_paths.iter().map(|p| format!("-var-file={p}")).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(self.spec.timeout_sec));
        let cli = Cli { ctx, dir: self.dir.path(), env: &env, deadline };
        cli.run("init", &["init", "-input=false", "-no-color"], &[]).await?;
        ctx.check_canceled()?;
        match operation {
            Operation::Plan => {
                let mut plan = vec!["plan", "-input=false", "-no-color"];
                plan.extend(var_files.iter().map(String::as_str));
                cli.run("plan", &plan, &extra("plan")).await.map(|_| ())
            }
            Operation::Apply => {
                let mut plan = vec!["plan", "-input=false", "-no-color", "-out", PLAN_FILE];
                plan.extend(var_files.iter().map(String::as_str));
                cli.run("plan", &plan, &extra("plan")).await?;
                ctx.check_canceled()?;
                // The plan file comes last, after the extra arguments.
                let apply_extra = [extra("apply"), vec![PLAN_FILE.to_owned()]].concat();
                cli.run("apply", &["apply", "-input=false", "-no-color", "-auto-approve"], &apply_extra).await?;
                publish_outputs(ctx, &cli).await
            }
            Operation::Destroy => {
                let mut destroy = vec!["destroy", "-input=false", "-no-color", "-auto-approve"];
                destroy.extend(var_files.iter().map(String::as_str));
                cli.run("destroy", &destroy, &extra("destroy")).await.map(|_| ())
            }
        }
    }

    /// The CLI's environment: `PATH`, Slipway's variables of the service, the `tf_vars`, and what
    /// makes Terraform quiet and non-interactive.
    fn environment(&self, ctx: &Ctx, release: &Release) -> Result<BTreeMap<String, String>, EngineError> {
        let (mut env, _files) = rollout::release_environment(ctx, release)?;
        for var in &self.spec.terraform_variables_source.tf_vars {
            env.insert(format!("TF_VAR_{}", var.key), var.value.clone());
        }
        ctx.logger.hide(
            self.spec.terraform_variables_source.tf_vars.iter().filter(|v| v.secret).map(|v| v.value.clone()).collect(),
        );
        if let Ok(path) = std::env::var("PATH") {
            env.insert("PATH".into(), path);
        }
        if let Ok(config) = std::env::var("TF_CLI_CONFIG_FILE") {
            env.insert("TF_CLI_CONFIG_FILE".into(), config);
        }
        env.insert("HOME".into(), self.dir.path().display().to_string());
        env.insert("TF_IN_AUTOMATION".into(), "1".into());
        env.insert("TF_INPUT".into(), "0".into());
        env.insert("CHECKPOINT_DISABLE".into(), "1".into());
        Ok(env)
    }
}

/// The `terraform` CLI in one working directory.
struct Cli<'a> {
    ctx: &'a Ctx,
    dir: &'a Path,
    env: &'a BTreeMap<String, String>,
    deadline: tokio::time::Instant,
}

impl Cli<'_> {
    /// Runs `terraform ARGS EXTRA`, its lines in the deployment's log; its standard output.
    async fn run(&self, step: &'static str, args: &[&str], extra: &[String]) -> Result<String, EngineError> {
        self.exec(step, args, extra, true).await
    }

    async fn exec(
        &self,
        step: &'static str,
        args: &[&str],
        extra: &[String],
        log: bool,
    ) -> Result<String, EngineError> {
        let ctx = self.ctx.step(step);
        let bin = &self.ctx.inner.config.terraform_bin;
        let mut command = tokio::process::Command::new(bin);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(extra.iter().map(String::as_str));
        command
            .args(&all)
            .current_dir(self.dir)
            .env_clear()
            .envs(self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                EngineError::failed(format!(
                    "the `terraform` CLI is not installed on this server (no `{}` found): install Terraform, or \
                     give its path with `slipway server --terraform-bin` (SLIPWAY_TERRAFORM_BIN)",
                    bin.display()
                ))
            } else {
                EngineError::failed(format!("cannot run `{}`: {e}", bin.display()))
            }
        })?;
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take().map(BufReader::new);
        let read_out = async {
            let mut text = String::new();
            if let Some(mut lines) = stdout.map(AsyncBufReadExt::lines) {
                while let Ok(Some(line)) = lines.next_line().await {
                    if log {
                        ctx.info(&line);
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
            }
            text
        };
        let read_err = async {
            let mut last = Vec::new();
            if let Some(mut lines) = stderr.map(AsyncBufReadExt::lines) {
                while let Ok(Some(line)) = lines.next_line().await {
                    if !line.trim().is_empty() {
                        ctx.warn(&line);
                        last.push(line);
                    }
                }
            }
            last
        };
        let work = async { tokio::join!(read_out, read_err, child.wait()) };
        let (out, err, status) = match tokio::time::timeout_at(self.deadline, work).await {
            Ok(done) => done,
            Err(_) => {
                return Err(EngineError::failed(format!(
                    "`terraform {step}` was stopped: the run took longer than its timeout ({} s)",
                    self.deadline.elapsed().as_secs()
                )));
            }
        };
        let status = status.map_err(|e| EngineError::failed(format!("`terraform {step}` failed to run: {e}")))?;
        if !status.success() {
            let why = err.iter().rev().take(5).rev().map(|l| self.ctx.logger.mask(l)).collect::<Vec<_>>().join(" | ");
            return Err(EngineError::failed(format!("`terraform {step}` failed ({status}): {why}")));
        }
        Ok(out)
    }
}

/// Takes the service's lock for this deployment, or says who holds it. Returns whether the deployment
/// took back a lock it held before its server stopped (a resumed deployment).
async fn lock(ctx: &Ctx, deployment: &Deployment, operation: Operation) -> Result<bool, EngineError> {
    let lock = TerraformLock {
        id: ctx.service.id,
        organization_id: ctx.service.organization_id,
        service_id: ctx.service.id,
        deployment_id: deployment.id,
        holder: ctx.inner.config.worker_id.clone(),
        operation: operation.as_str().to_owned(),
        since: slipway_model::now(),
    };
    match ctx.inner.store.insert(&lock).await {
        Ok(()) => Ok(false),
        Err(StoreError::NameTaken { .. }) => {
            let held: TerraformLock = ctx.inner.store.get(ctx.service.organization_id, ctx.service.id).await?;
            if held.deployment_id == deployment.id {
                // This deployment held it before its server stopped: it goes on with it.
                ctx.warn("taking back the state lock this deployment held before its server stopped");
                ctx.inner.store.update(&lock).await?;
                return Ok(true);
            }
            Err(EngineError::failed(format!(
                "the Terraform state of `{}` is locked by deployment {} ({} since {}): a second run is refused \
                 while one runs",
                ctx.service.name(),
                held.deployment_id,
                held.operation,
                held.since
            )))
        }
        Err(error) => Err(error.into()),
    }
}

async fn unlock(ctx: &Ctx) -> Result<(), EngineError> {
    match ctx.inner.store.delete::<TerraformLock>(ctx.service.organization_id, ctx.service.id).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Writes the stored state into the working directory, if there is one.
async fn restore_state(ctx: &Ctx, dir: &Path) -> Result<(), EngineError> {
    let stored = match ctx.inner.store.get::<TerraformState>(ctx.service.organization_id, ctx.service.id).await {
        Ok(stored) => stored,
        Err(StoreError::NotFound { .. }) => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    let text = ctx
        .inner
        .secrets
        .open(&stored.state)
        .map_err(|e| EngineError::failed(format!("cannot open the stored Terraform state: {e}")))?;
    write_private(&dir.join(STATE_FILE), text.as_bytes())
        .map_err(|e| EngineError::failed(format!("cannot write the Terraform state: {e}")))?;
    ctx.info(&format!("state restored (serial {})", stored.serial));
    Ok(())
}

/// Stores the working directory's state, sealed.
async fn save_state(ctx: &Ctx, deployment: &Deployment, dir: &Path) -> Result<(), EngineError> {
    let text = match std::fs::read_to_string(dir.join(STATE_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::failed(format!("cannot read the Terraform state: {e}"))),
    };
    let serial = store_state(ctx, deployment, &text).await?;
    ctx.info(&format!("state saved (serial {serial})"));
    Ok(())
}

/// Stores `text` as the service's state, sealed; its serial.
async fn store_state(ctx: &Ctx, deployment: &Deployment, text: &str) -> Result<u64, EngineError> {
    let serial = state_serial(text);
    let state = TerraformState {
        id: ctx.service.id,
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        state: ctx.inner.secrets.seal(text),
        serial,
        deployment_id: deployment.id,
        updated_at: slipway_model::now(),
    };
    ctx.inner.store.upsert(&state).await?;
    Ok(serial)
}

fn state_serial(text: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v["serial"].as_u64()).unwrap_or_default()
}

/// The start of the names of this deployment's working directories for this service.
fn run_dir_prefix(service: Uuid, deployment: Uuid) -> String {
    format!("{}-{}-", service.simple(), &deployment.simple().to_string()[..8])
}

/// A resumed deployment: its run before the server stopped may have changed resources, and Terraform
/// wrote what it did into that run's working directory, which the stop left behind. A state there
/// newer than the stored one becomes the stored one; the directory goes.
async fn recover_interrupted_state(ctx: &Ctx, deployment: &Deployment, current: &Path) -> Result<(), EngineError> {
    let parent = ctx.inner.config.data_dir.join("terraform");
    let prefix = run_dir_prefix(ctx.service.id, deployment.id);
    let Ok(entries) = std::fs::read_dir(&parent) else { return Ok(()) };
    let stored = match ctx.inner.store.get::<TerraformState>(ctx.service.organization_id, ctx.service.id).await {
        Ok(stored) => Some(stored.serial),
        Err(StoreError::NotFound { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == current || !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(path.join(STATE_FILE))
            && stored.is_none_or(|serial| state_serial(&text) > serial)
        {
            let serial = store_state(ctx, deployment, &text).await?;
            ctx.warn(&format!("recovered the state the interrupted run left (serial {serial})"));
        }
        if let Err(error) = std::fs::remove_dir_all(&path) {
            ctx.warn(&format!("cannot remove the interrupted run's directory {}: {error}", path.display()));
        }
    }
    Ok(())
}

/// Makes the outputs of the applied files the service's output variables.
async fn publish_outputs(ctx: &Ctx, cli: &Cli<'_>) -> Result<(), EngineError> {
    let json = cli.exec("output", &["output", "-json", "-no-color"], &[], false).await?;
    let outputs: BTreeMap<String, serde_json::Value> = serde_json::from_str(&json)
        .map_err(|e| EngineError::failed(format!("`terraform output -json` printed something else: {e}")))?;
    let mut values = Vec::new();
    let mut secrets = Vec::new();
    for (name, output) in outputs {
        let sensitive = output["sensitive"].as_bool().unwrap_or(false);
        let value = match &output["value"] {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if sensitive {
            secrets.push(value.clone());
        }
        let value =
            if sensitive { StoredValue::Sealed(ctx.inner.secrets.seal(&value)) } else { StoredValue::Plain(value) };
        values.push(OutputValue { key: name, value, sensitive });
    }
    ctx.logger.hide(secrets);
    let names: Vec<String> =
        values.iter().map(|v| slipway_model::terraform::output_variable(ctx.service.id, &v.key)).collect();
    let output = JobOutput {
        id: ctx.service.id,
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        run_id: Uuid::nil(),
        values,
        updated_at: slipway_model::now(),
    };
    ctx.inner.store.upsert(&output).await?;
    if !names.is_empty() {
        ctx.info(&format!("outputs published: {}", names.join(", ")));
    }
    Ok(())
}

async fn forget_outputs(ctx: &Ctx) -> Result<(), EngineError> {
    match ctx.inner.store.delete::<JobOutput>(ctx.service.organization_id, ctx.service.id).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Writes a file only the server's user can read.
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(content)
}

/// Copies the directory tree `from` into `to` (which exists); symbolic links are copied as links.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(from.to_owned(), to.to_owned())];
    while let Some((source, target)) = pending.pop() {
        for entry in std::fs::read_dir(&source)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let dest = target.join(entry.file_name());
            if kind.is_dir() {
                std::fs::create_dir(&dest)?;
                pending.push((entry.path(), dest));
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
            } else {
                std::fs::copy(entry.path(), &dest)?;
            }
        }
    }
    Ok(())
}
