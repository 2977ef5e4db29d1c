//! The actions that queue deployments: `deploy`, `redeploy`, `stop`,
//! `restart`, `rollback`, and `cancel`. Each acts on a whole environment or
//! on the services named with `--service`, then follows what it queued (see
//! [`super::progress`]).

use anyhow::bail;
use slipway_api_types::{
    DeployAllApplication, DeployAllContainer, DeployAllHelm, DeployAllJob, DeployAllRequest,
    EnvironmentServiceIdsAllRequest, RebootServicesRequest, TerraformDeployRequest,
};
use slipway_client::{ServiceSummary, ServiceType, ServiceVersion};
use uuid::Uuid;

use super::config::Session;
use super::output::{self, OutputArgs};
use super::progress;
use super::target::{EnvTarget, ServiceTarget, ServicesTarget, kind_name};

/// What the commands that follow a deployment say after their options.
const FOLLOWING: &str = "\
Unless --no-wait, follows the deployment: one line per service, grouped by stage, with its log \
above (plain lines when the output is not a terminal), then a summary with the URLs of what was \
deployed. Exit status: 0 when it succeeded, 1 when it failed or was canceled, 130 when Ctrl-C \
stopped following (the deployment goes on; `slipway cancel` cancels it).";

/// `slipway deploy`.
#[derive(Debug, clap::Args)]
#[command(after_help = FOLLOWING)]
pub struct DeployArgs {
    #[command(flatten)]
    target: ServicesTarget,
    /// Deploy this commit (one service built from git).
    #[arg(long, value_name = "SHA", conflicts_with = "tag", requires = "services")]
    commit: Option<String>,
    /// Deploy this image tag (one service that runs an image).
    #[arg(long, value_name = "TAG", requires = "services")]
    tag: Option<String>,
    /// Queue the deployment and return at once.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway redeploy`, `slipway stop`, `slipway restart`.
#[derive(Debug, clap::Args)]
#[command(after_help = FOLLOWING)]
pub struct ActionArgs {
    #[command(flatten)]
    target: ServicesTarget,
    /// Queue the action and return at once.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway rollback`.
#[derive(Debug, clap::Args)]
#[command(after_help = FOLLOWING)]
pub struct RollbackArgs {
    #[command(flatten)]
    target: ServiceTarget,
    /// The release to return to (an id from `slipway releases`, or the start
    /// of one). Default: the release before the current one.
    #[arg(long = "to", value_name = "RELEASE_ID")]
    to: Option<String>,
    /// Queue the rollback and return at once.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway cancel`.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    #[command(flatten)]
    place: EnvTarget,
    #[command(flatten)]
    output: OutputArgs,
}

/// Which action of [`ActionArgs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Redeploy,
    Stop,
    Restart,
}

/// `a`, `b` and `c`.
fn names(services: &[ServiceSummary]) -> String {
    let quoted: Vec<String> = services.iter().map(|s| format!("`{}`", s.name)).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub async fn deploy(args: DeployArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    let at = args.target.place.locate(&session).await?;
    let services = super::target::find_services(&session, &at, &args.target.services).await?;
    let version = match (args.commit, args.tag) {
        (Some(sha), _) => Some(ServiceVersion::Commit(sha)),
        (None, Some(tag)) => Some(ServiceVersion::Tag(tag)),
        (None, None) => None,
    };
    let client = &session.client;
    let (answered, what) = match (services.as_slice(), &version) {
        ([], _) => {
            let status = client.deploy_environment(at.env.id).await?;
            (status.deployment_request_id, format!("Deploying {}", at.describe()))
        }
        ([one], Some(version)) => {
            check_version(one, version)?;
            let status = client.deploy_service(one.kind, one.id, Some(version)).await?;
            let shown = match version {
                ServiceVersion::Commit(sha) => format!("commit {sha}"),
                ServiceVersion::Tag(tag) => format!("tag {tag}"),
            };
            (status.deployment_request_id, format!("Deploying `{}` at {shown} in {}", one.name, at.describe()))
        }
        (_, Some(_)) => bail!("--commit and --tag go with exactly one --service"),
        (many, None) => {
            let status = client.deploy_services(at.env.id, &deploy_all(many)).await?;
            (status.deployment_request_id, format!("Deploying {} in {}", names(many), at.describe()))
        }
    };
    let id = progress::queued(&session, &at, answered).await?;
    progress::after_submit(&session, &at, &[id], out, args.no_wait, &what).await
}

/// Refuses a version the service's kind cannot take, before asking the server.
fn check_version(service: &ServiceSummary, version: &ServiceVersion) -> anyhow::Result<()> {
    let name = &service.name;
    match (service.kind, version) {
        (ServiceType::Application, ServiceVersion::Tag(_)) => {
            bail!("`{name}` is an application built from git: deploy a commit with --commit, not --tag")
        }
        (ServiceType::Container, ServiceVersion::Commit(_)) => {
            bail!("`{name}` is a container that runs an image: deploy a tag with --tag, not --commit")
        }
        (ServiceType::Database, _) => bail!("`{name}` is a database: it cannot be deployed at a chosen version"),
        _ => Ok(()),
    }
}

/// The body that deploys `services` at their configuration.
fn deploy_all(services: &[ServiceSummary]) -> DeployAllRequest {
    let mut request = DeployAllRequest::default();
    for s in services {
        match s.kind {
            ServiceType::Application => {
                request.applications.push(DeployAllApplication { application_id: s.id, git_commit_id: None })
            }
            ServiceType::Container => request.containers.push(DeployAllContainer { id: s.id, image_tag: None }),
            ServiceType::Database => request.databases.push(s.id),
            ServiceType::Job => {
                request.jobs.push(DeployAllJob { id: Some(s.id), image_tag: None, git_commit_id: None })
            }
            ServiceType::Helm => request.helms.push(DeployAllHelm {
                id: Some(s.id),
                chart_version: None,
                git_commit_id: None,
                values_override_git_commit_id: None,
            }),
            ServiceType::Terraform => {
                request.terraforms.push(TerraformDeployRequest { id: Some(s.id), git_commit_id: None, action: None })
            }
        }
    }
    request
}

pub async fn act(action: Action, args: ActionArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    let at = args.target.place.locate(&session).await?;
    let services = super::target::find_services(&session, &at, &args.target.services).await?;
    let client = &session.client;
    let env = at.env.id;
    let mut ids: Vec<Uuid> = Vec::new();
    let what = match (action, services.as_slice()) {
        (Action::Redeploy, []) => {
            let status = client.redeploy_environment(env).await?;
            ids.push(progress::queued(&session, &at, status.deployment_request_id).await?);
            format!("Redeploying {}", at.describe())
        }
        (Action::Redeploy, many) => {
            // One deployment per service: each keeps the version it runs.
            for s in many {
                let status = client.redeploy_service(s.kind, s.id).await?;
                ids.push(progress::queued(&session, &at, status.deployment_request_id).await?);
            }
            format!("Redeploying {} in {}", names(many), at.describe())
        }
        (Action::Stop, []) => {
            let status = client.stop_environment(env).await?;
            ids.push(progress::queued(&session, &at, status.deployment_request_id).await?);
            format!("Stopping {}", at.describe())
        }
        (Action::Stop, many) => {
            let mut request = EnvironmentServiceIdsAllRequest::default();
            for s in many {
                match s.kind {
                    ServiceType::Application => request.application_ids.push(s.id),
                    ServiceType::Container => request.container_ids.push(s.id),
                    ServiceType::Database => request.database_ids.push(s.id),
                    ServiceType::Job => request.job_ids.push(s.id),
                    ServiceType::Helm => request.helm_ids.push(s.id),
                    ServiceType::Terraform => request.terraform_ids.push(s.id),
                }
            }
            let status = client.stop_services(env, &request).await?;
            ids.push(progress::queued(&session, &at, status.deployment_request_id).await?);
            format!("Stopping {} in {}", names(many), at.describe())
        }
        (Action::Restart, services) => {
            let mut request = RebootServicesRequest::default();
            for s in services {
                match s.kind {
                    ServiceType::Application => request.application_ids.push(s.id),
                    ServiceType::Container => request.container_ids.push(s.id),
                    ServiceType::Database => request.database_ids.push(s.id),
                    other => bail!(
                        "`{}` is a {}: only applications, containers and databases can be restarted",
                        s.name,
                        kind_name(other)
                    ),
                }
            }
            let status = client.restart_services(env, &request).await?;
            ids.push(progress::queued(&session, &at, status.deployment_request_id).await?);
            if services.is_empty() {
                format!("Restarting the services of {}", at.describe())
            } else {
                format!("Restarting {} in {}", names(services), at.describe())
            }
        }
    };
    progress::after_submit(&session, &at, &ids, out, args.no_wait, &what).await
}

pub async fn rollback(args: RollbackArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    let at = args.target.place.locate(&session).await?;
    let service = super::target::find_service(&session, &at, &args.target.service).await?;
    let releases = session.client.releases(service.kind, service.id).await?;
    let current = releases.iter().position(|r| r.is_current);
    let target = match &args.to {
        Some(wanted) => {
            let wanted = wanted.trim();
            let matching: Vec<_> = releases.iter().filter(|r| r.id.to_string().starts_with(wanted)).collect();
            match matching.as_slice() {
                [one] => *one,
                [] => bail!(
                    "`{}` has no release `{wanted}`; list them with `slipway releases {} --service {}`",
                    service.name,
                    at.args(),
                    service.name
                ),
                _ => bail!("several releases of `{}` start with `{wanted}`: give more of the id", service.name),
            }
        }
        None => {
            let Some(current) = current else {
                bail!(
                    "`{}` runs no release now, so there is none before it: pick one with --to \
                     (see `slipway releases {} --service {}`)",
                    service.name,
                    at.args(),
                    service.name
                );
            };
            match releases.get(current + 1) {
                Some(previous) => previous,
                None => bail!("`{}` has no release before the one it runs: nothing to roll back to", service.name),
            }
        }
    };
    if target.is_current {
        bail!("`{}` already runs release {}", service.name, target.id);
    }
    let status = session.client.rollback_service(service.kind, service.id, target.id).await?;
    let id = progress::queued(&session, &at, status.deployment_request_id).await?;
    let what = format!(
        "Rolling `{}` in {} back to release {} ({})",
        service.name,
        at.describe(),
        target.id,
        super::history::version_of(target)
    );
    progress::after_submit(&session, &at, &[id], out, args.no_wait, &what).await
}

pub async fn cancel(args: CancelArgs, session: Session) -> anyhow::Result<()> {
    let at = args.place.locate(&session).await?;
    let status = session.client.cancel_deployment(at.env.id).await?;
    let message = format!(
        "Asked to cancel the deployments of {}: queued ones are canceled, the running one stops at its next \
         step and what it switched goes back to its previous release. The environment is {}.",
        at.describe(),
        output::state(&status.state)
    );
    output::one(args.output.output, &status, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, kind: ServiceType) -> ServiceSummary {
        ServiceSummary { id: Uuid::from_u128(1), name: name.into(), service_type: kind.as_str(), kind }
    }

    #[test]
    fn names_read_as_a_list() {
        let a = service("a", ServiceType::Application);
        let b = service("b", ServiceType::Container);
        let c = service("c", ServiceType::Database);
        assert_eq!(names(std::slice::from_ref(&a)), "`a`");
        assert_eq!(names(&[a.clone(), b.clone()]), "`a` and `b`");
        assert_eq!(names(&[a, b, c]), "`a`, `b` and `c`");
    }

    #[test]
    fn versions_must_fit_the_kind() {
        let app = service("web", ServiceType::Application);
        assert!(check_version(&app, &ServiceVersion::Commit("abc".into())).is_ok());
        let err = check_version(&app, &ServiceVersion::Tag("1.2".into())).unwrap_err().to_string();
        assert!(err.contains("--commit"), "{err}");
        let container = service("api", ServiceType::Container);
        assert!(check_version(&container, &ServiceVersion::Commit("abc".into())).is_err());
        assert!(check_version(&service("db", ServiceType::Database), &ServiceVersion::Tag("1".into())).is_err());
    }

    #[test]
    fn deploy_all_sorts_services_by_kind() {
        let request = deploy_all(&[
            service("web", ServiceType::Application),
            service("db", ServiceType::Database),
            service("cron", ServiceType::Job),
        ]);
        assert_eq!(request.applications.len(), 1);
        assert_eq!(request.databases.len(), 1);
        assert_eq!(request.jobs[0].id, Some(Uuid::from_u128(1)));
        assert!(request.containers.is_empty());
    }
}
