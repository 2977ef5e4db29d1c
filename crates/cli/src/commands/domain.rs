//! `slipway domain`: custom domains of applications, containers and helm
//! services, and the check of their DNS records.
//!
//! A service is named by id, or by name with `--project` and `--env`. A
//! domain added to a running service is served within a few seconds;
//! otherwise from its next deploy.

use anyhow::bail;
use slipway_api_types::CustomDomainResponse;
use slipway_client::{ServiceSummary, ServiceType};
use slipway_model::custom_domain::{CustomDomain, CustomDomainSpec};
use uuid::Uuid;

use super::config::Session;
use super::output::{self, OutputArgs};
use super::target::{self, EnvTarget};

/// `slipway domain ...`
#[derive(Debug, clap::Args)]
pub struct DomainArgs {
    #[command(subcommand)]
    command: DomainCommand,
    #[command(flatten)]
    output: OutputArgs,
}

/// The service whose domains these are.
#[derive(Debug, Clone, clap::Args)]
struct ServicePlace {
    /// The service: its id, or its name with --project and --env.
    #[arg(long)]
    service: String,
    /// The project's name or id, to find the service by name.
    #[arg(long, requires = "env")]
    project: Option<String>,
    /// The environment's name or id, to find the service by name.
    #[arg(long = "env", value_name = "ENV", requires = "project")]
    env: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum DomainCommand {
    /// List the service's custom domains and the host each must point at.
    List {
        #[command(flatten)]
        place: ServicePlace,
    },
    /// Add a custom domain; then create a CNAME record from it to the host printed.
    Add {
        /// The domain, such as `shop.example.com`.
        domain: String,
        /// Do not get a certificate for it (a CDN or a proxy in front terminates TLS).
        #[arg(long)]
        no_certificate: bool,
        /// The domain is behind a CDN: the check only asks that it resolves.
        #[arg(long)]
        cdn: bool,
        #[command(flatten)]
        place: ServicePlace,
    },
    /// Remove a custom domain (by domain or id); the edge stops answering at it.
    Remove {
        /// The domain or its id.
        domain: String,
        #[command(flatten)]
        place: ServicePlace,
    },
    /// Look up each custom domain's DNS records: does its CNAME point at the service?
    Check {
        #[command(flatten)]
        place: ServicePlace,
    },
}

/// A located service: its id, kind, and words for messages.
struct Located {
    id: Uuid,
    kind: ServiceType,
    describe: String,
}

impl ServicePlace {
    async fn locate(&self, session: &Session) -> anyhow::Result<Located> {
        let summary: ServiceSummary = match (&self.project, &self.env) {
            (Some(project), Some(env)) => {
                let at = EnvTarget { project: project.clone(), env: env.clone() }.locate(session).await?;
                target::find_service(session, &at, &self.service).await?
            }
            _ => {
                let Ok(id) = Uuid::parse_str(self.service.trim()) else {
                    bail!("name service `{}` by its id, or give --project and --env to find it by name", self.service)
                };
                let kind = session.client.custom_domain_service_kind(id).await.map_err(|e| {
                    if e.is_not_found() {
                        anyhow::anyhow!("no application, container or helm service has the id {id}")
                    } else {
                        e.into()
                    }
                })?;
                return Ok(Located { id, kind, describe: format!("{} {id}", kind.path()) });
            }
        };
        if !CustomDomain::applies_to(summary.kind) {
            bail!(
                "{} `{}` takes no custom domains: only applications, containers and helm services do",
                summary.kind.path(),
                summary.name
            );
        }
        let describe = format!("{} `{}`", summary.kind.path(), summary.name);
        Ok(Located { id: summary.id, kind: summary.kind, describe })
    }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

pub async fn run(args: DomainArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    match args.command {
        DomainCommand::List { place } => {
            let at = place.locate(&session).await?;
            let domains = session.client.list_custom_domains(at.kind, at.id).await?;
            output::list(
                out,
                &domains,
                &["domain", "cname target", "certificate", "cdn", "id"],
                |d| {
                    vec![
                        d.domain.clone(),
                        d.validation_domain.clone().unwrap_or_default(),
                        yes_no(d.generate_certificate),
                        yes_no(d.use_cdn.unwrap_or(false)),
                        d.id.to_string(),
                    ]
                },
                &format!("No custom domains on {} yet.", at.describe),
            )
        }
        DomainCommand::Add { domain, no_certificate, cdn, place } => {
            let at = place.locate(&session).await?;
            let request = CustomDomainSpec { domain, generate_certificate: !no_certificate, use_cdn: cdn };
            let created = session.client.create_custom_domain(at.kind, at.id, &request).await?;
            let target = created.validation_domain.clone().unwrap_or_default();
            let message = format!(
                "Added {} to {}.\nCreate a CNAME record from {} to {target}, then run `slipway domain check`.",
                created.domain, at.describe, created.domain
            );
            output::one(out, &created, &message)
        }
        DomainCommand::Remove { domain, place } => {
            let at = place.locate(&session).await?;
            let domains = session.client.list_custom_domains(at.kind, at.id).await?;
            let wanted = domain.trim().trim_end_matches('.').to_ascii_lowercase();
            let Some(found) = domains.iter().find(|d| d.domain == wanted || d.id.to_string() == wanted) else {
                let names: Vec<String> =
                    domains.iter().map(|d: &CustomDomainResponse| format!("`{}`", d.domain)).collect();
                if names.is_empty() {
                    bail!("no custom domain `{domain}` on {}: it has none", at.describe);
                }
                bail!("no custom domain `{domain}` on {}; it has {}", at.describe, names.join(", "));
            };
            session.client.delete_custom_domain(at.kind, at.id, found.id).await?;
            output::one(out, found, &format!("Removed {} from {}.", found.domain, at.describe))
        }
        DomainCommand::Check { place } => {
            let at = place.locate(&session).await?;
            let checked = session.client.check_custom_domains(at.kind, at.id).await?;
            output::list(
                out,
                &checked,
                &["domain", "status", "details"],
                |c| vec![c.domain_name.clone(), output::state(&c.status), c.error_details.clone().unwrap_or_default()],
                &format!("No custom domains on {} to check.", at.describe),
            )
        }
    }
}
