//! What the deployment commands act on: an environment of a project, and
//! optionally some of its services, each named by name or id.

use slipway_api_types::{EnvironmentResponse, ProjectResponse};
use slipway_client::{ServiceSummary, ServiceType};

use super::config::Session;
use super::{env, project, resolve};

/// `--project P --env E`.
#[derive(Debug, Clone, clap::Args)]
pub struct EnvTarget {
    /// The project's name or id.
    #[arg(long)]
    pub project: String,
    /// The environment's name or id.
    #[arg(long = "env", value_name = "ENV")]
    pub env: String,
}

/// `--project P --env E [--service S]...`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServicesTarget {
    #[command(flatten)]
    pub place: EnvTarget,
    /// A service to act on (name or id); repeat for several. Default: the
    /// whole environment.
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// `--project P --env E --service S`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceTarget {
    #[command(flatten)]
    pub place: EnvTarget,
    /// The service's name or id.
    #[arg(long = "service", value_name = "SERVICE")]
    pub service: String,
}

/// A located environment.
#[derive(Debug, Clone)]
pub struct Located {
    pub project: ProjectResponse,
    pub env: EnvironmentResponse,
}

impl Located {
    /// `environment `dev` of project `shop``, for messages.
    pub fn describe(&self) -> String {
        format!("environment `{}` of project `{}`", self.env.name, self.project.name)
    }

    /// The arguments that name this environment again, for hints.
    pub fn args(&self) -> String {
        format!("--project {} --env {}", quote(&self.project.name), quote(&self.env.name))
    }
}

/// `name` as a shell word.
pub fn quote(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}

impl EnvTarget {
    /// The project and environment named.
    pub async fn locate(&self, session: &Session) -> anyhow::Result<Located> {
        let project = project::find(session, &self.project).await?;
        let env = env::find(session, &project, &self.env).await?;
        Ok(Located { project, env })
    }
}

/// The services of the environment, summarized.
pub async fn all_services(session: &Session, at: &Located) -> anyhow::Result<Vec<ServiceSummary>> {
    let services = session.client.list_services(at.env.id).await?;
    Ok(services.iter().map(ServiceSummary::from).collect())
}

/// The services of the environment named `wanted` (names or ids), each once,
/// in the order given.
pub async fn find_services(session: &Session, at: &Located, wanted: &[String]) -> anyhow::Result<Vec<ServiceSummary>> {
    let all = all_services(session, at).await?;
    let mut found: Vec<ServiceSummary> = Vec::new();
    for name in wanted {
        let service = find_in(all.clone(), at, name)?;
        if !found.iter().any(|s| s.id == service.id) {
            found.push(service);
        }
    }
    Ok(found)
}

/// The service of the environment named `wanted`.
pub async fn find_service(session: &Session, at: &Located, wanted: &str) -> anyhow::Result<ServiceSummary> {
    find_in(all_services(session, at).await?, at, wanted)
}

fn find_in(all: Vec<ServiceSummary>, at: &Located, wanted: &str) -> anyhow::Result<ServiceSummary> {
    let place = format!("in {}", at.describe());
    resolve::find(all, wanted, &place, "create one through the API first")
}

/// A kind for people: `application`.
pub fn kind_name(kind: ServiceType) -> &'static str {
    kind.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_only_when_needed() {
        assert_eq!(quote("shop-2"), "shop-2");
        assert_eq!(quote("my shop"), "'my shop'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
