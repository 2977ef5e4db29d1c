//! `slipway status`: how an environment and its services are doing, and
//! where they answer.

use slipway_api_types::{EnvironmentStatuses, Status};
use slipway_client::{ServiceSummary, ServiceType};
use slipway_model::{DeploymentState, ServiceDeploymentStatus};

use super::config::Session;
use super::output::{self, Output, OutputArgs};
use super::target::{self, EnvTarget, kind_name};

/// `slipway status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    place: EnvTarget,
    /// Only this service (name or id).
    #[arg(long = "service", value_name = "SERVICE")]
    service: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The statuses of every kind, flattened.
fn all_statuses(statuses: &EnvironmentStatuses) -> impl Iterator<Item = &Status> {
    statuses
        .applications
        .iter()
        .chain(&statuses.containers)
        .chain(&statuses.databases)
        .chain(&statuses.jobs)
        .chain(&statuses.helms)
        .chain(&statuses.terraforms)
}

/// Whether something of the service runs (so that its URLs answer).
fn serves(status: &Status) -> bool {
    status.service_deployment_status != ServiceDeploymentStatus::NeverDeployed
        && !matches!(
            status.state,
            DeploymentState::Stopped | DeploymentState::Deleted | DeploymentState::Ready | DeploymentState::StopQueued
        )
}

pub async fn run(args: StatusArgs, session: Session) -> anyhow::Result<()> {
    let at = args.place.locate(&session).await?;
    let mut services = target::all_services(&session, &at).await?;
    if let Some(wanted) = &args.service {
        let one = target::find_service(&session, &at, wanted).await?;
        services.retain(|s| s.id == one.id);
    }
    let statuses = session.client.environment_statuses(at.env.id).await?;
    let of = |s: &ServiceSummary| all_statuses(&statuses).find(|st| st.id == s.id).cloned();
    if args.output.output == Output::Json {
        return match (&args.service, services.first()) {
            (Some(_), Some(one)) => match of(one) {
                Some(status) => output::json(&status),
                None => session.client.service_status(one.kind, one.id).await.map(|s| output::json(&s))?,
            },
            _ => output::json(&statuses),
        };
    }
    let env = &statuses.environment;
    let mut text = vec![format!(
        "{}: {}{}",
        at.describe(),
        output::state(&env.state),
        env.deployment_status.map(|s| format!(" ({})", output::state(&s))).unwrap_or_default()
    )];
    if let Some(last) = env.last_deployment_id {
        let mut line = format!("Last deployment {last}: {}", output::state(&env.last_deployment_state));
        if let Some(date) = env.last_deployment_date {
            line.push_str(&format!(", {}", output::time(date)));
        }
        if let Some(seconds) = env.total_deployment_duration_in_seconds {
            line.push_str(&format!(", took {}", output::duration(seconds)));
        }
        if let Some(by) = &env.triggered_by {
            line.push_str(&format!(", by {by}"));
        }
        text.push(line);
    }
    if let Some(pending) = env.deployment_request_id {
        text.push(format!(
            "In progress: deployment {pending} (follow it with `slipway logs --deployment {pending} -f`)"
        ));
    }
    if services.is_empty() {
        text.push("No services.".to_owned());
        return output::emit(&text.join("\n"));
    }
    let mut urls = Vec::new();
    let mut rows = Vec::new();
    for s in &services {
        let status = of(s);
        let cell = |f: fn(&Status) -> String| status.as_ref().map(f).unwrap_or_else(|| "?".to_owned());
        rows.push(vec![
            s.name.clone(),
            kind_name(s.kind).to_owned(),
            cell(|st| output::state(&st.state)),
            cell(|st| output::state(&st.service_deployment_status)),
            cell(|st| st.last_deployment_date.map(output::time).unwrap_or_else(|| "-".to_owned())),
            // The first line only: a crash loop's message carries the last lines it printed.
            status
                .as_ref()
                .and_then(|st| st.message.as_deref())
                .and_then(|m| m.lines().next())
                .unwrap_or("")
                .to_owned(),
        ]);
        let has_links = matches!(s.kind, ServiceType::Application | ServiceType::Container | ServiceType::Helm);
        if has_links && status.as_ref().is_some_and(serves) {
            for link in session.client.links(s.kind, s.id).await? {
                urls.push((s.name.clone(), link.url));
            }
        }
    }
    text.push(String::new());
    text.push(output::table(&["name", "type", "state", "deployment", "last deployed", "message"], rows));
    // Messages of several lines in full, below the table.
    for s in &services {
        if let Some(message) = of(s).and_then(|st| st.message).filter(|m| m.lines().count() > 1) {
            text.push(String::new());
            text.push(format!("`{}`:", s.name));
            text.extend(message.lines().map(|l| format!("  {l}")));
        }
    }
    if !urls.is_empty() {
        text.push(String::new());
        text.push(if urls.len() == 1 { "URL:" } else { "URLs:" }.to_owned());
        let width = urls.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
        text.extend(urls.iter().map(|(name, url)| format!("  {name:<width$}   {url}")));
    }
    output::emit(&text.join("\n"))
}
