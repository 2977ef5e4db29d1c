//! `slipway history` (the deployments of an environment or a service),
//! `slipway releases` (what a service can roll back to), `slipway runs` (what
//! a job's runs did) and `slipway run` (a cron job, now).

use slipway_api_types::{
    DeploymentHistoryEnvironmentV2, DeploymentHistoryService, DeploymentHistoryServiceDetails, ReleaseResponse,
};

use super::config::Session;
use super::output::{self, Output, OutputArgs};
use super::target::{self, EnvTarget, ServiceTarget};

/// The most the server returns in one page.
const PAGE: u32 = 100;

/// `slipway history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    place: EnvTarget,
    /// Only the deployments that acted on this service (name or id).
    #[arg(long = "service", value_name = "SERVICE")]
    service: Option<String>,
    /// How many deployments to show, newest first.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway releases`.
#[derive(Debug, clap::Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    target: ServiceTarget,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway runs`.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    #[command(flatten)]
    target: ServiceTarget,
    /// One run (its id), with the last lines it printed.
    #[arg(long, value_name = "RUN")]
    run: Option<uuid::Uuid>,
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
    #[command(flatten)]
    output: OutputArgs,
}

/// `slipway run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    target: ServiceTarget,
}

/// Reads pages of up to [`PAGE`] items until `limit` items or the last page.
async fn pages<T, F, Fut>(limit: u32, mut page: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Vec<T>, slipway_client::Error>>,
{
    let mut all = Vec::new();
    let size = limit.min(PAGE);
    for number in 1.. {
        let items = page(size, number).await?;
        let last = (items.len() as u32) < size;
        all.extend(items);
        if last || all.len() as u32 >= limit {
            break;
        }
    }
    all.truncate(limit as usize);
    Ok(all)
}

/// A duration cell from an ISO 8601 duration.
fn took(iso: Option<&str>) -> String {
    iso.and_then(output::iso_seconds).map(output::duration).unwrap_or_default()
}

/// What a service ran in a deployment: a short commit, or a tag.
fn version(details: &DeploymentHistoryServiceDetails) -> Option<String> {
    match details {
        DeploymentHistoryServiceDetails::Application(a) => {
            a.commit.as_ref().map(|c| output::short(&c.git_commit_id).to_owned())
        }
        DeploymentHistoryServiceDetails::Container(c) => Some(c.tag.clone()).filter(|t| !t.is_empty()),
        DeploymentHistoryServiceDetails::Job(j) => j
            .commit
            .as_ref()
            .map(|c| output::short(&c.git_commit_id).to_owned())
            .or_else(|| Some(j.tag.clone()).filter(|t| !t.is_empty())),
        DeploymentHistoryServiceDetails::Other(o) => {
            o.commit.as_ref().map(|c| output::short(&c.git_commit_id).to_owned())
        }
    }
}

/// `web: DEPLOYED (1a2b3c4d)`.
fn service_result(s: &DeploymentHistoryService) -> String {
    let mut text = format!("{}: {}", s.identifier.name, output::state(&s.status));
    if let Some(v) = version(&s.details) {
        text.push_str(&format!(" ({v})"));
    }
    text
}

fn environment_row(d: &DeploymentHistoryEnvironmentV2) -> Vec<String> {
    let services: Vec<String> = d.stages.iter().flat_map(|st| st.services.iter()).map(service_result).collect();
    vec![
        d.identifier.execution_id.to_string(),
        output::state(&d.trigger_action),
        output::state(&d.status),
        output::time(d.auditing_data.created_at),
        took(Some(&d.total_duration)),
        d.auditing_data.triggered_by.clone(),
        services.join(", "),
    ]
}

fn service_row(s: &DeploymentHistoryService) -> Vec<String> {
    vec![
        s.identifier.execution_id.map(|id| id.to_string()).unwrap_or_default(),
        output::state(&s.status_details.action),
        output::state(&s.status),
        output::time(s.auditing_data.created_at),
        took(s.total_duration.as_deref()),
        s.auditing_data.triggered_by.clone(),
        version(&s.details).unwrap_or_default(),
    ]
}

pub async fn history(args: HistoryArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    let at = args.place.locate(&session).await?;
    let client = &session.client;
    match &args.service {
        None => {
            let env = at.env.id;
            let items = pages(args.limit, |size, page| async move {
                client.environment_history(env, size, page).await.map(|p| p.results)
            })
            .await?;
            output::list(
                out,
                &items,
                &["id", "action", "status", "started", "took", "by", "services"],
                environment_row,
                &format!("No deployments of {} yet. Deploy it with `slipway deploy {}`.", at.describe(), at.args()),
            )
        }
        Some(wanted) => {
            let service = target::find_service(&session, &at, wanted).await?;
            let (kind, id) = (service.kind, service.id);
            let items = pages(args.limit, |size, page| async move {
                client.service_history(kind, id, size, page).await.map(|p| p.results)
            })
            .await?;
            output::list(
                out,
                &items,
                &["id", "action", "status", "started", "took", "by", "version"],
                service_row,
                &format!("No deployments of `{}` yet.", service.name),
            )
        }
    }
}

/// What a release runs, for people: `commit 1a2b3c4d "fix the cart"`, `tag 1.4`, or the image.
pub fn version_of(release: &ReleaseResponse) -> String {
    match (&release.commit, &release.tag) {
        (Some(c), _) => {
            let subject = c.message.lines().next().unwrap_or_default();
            format!("commit {} \"{subject}\"", output::short(&c.git_commit_id))
        }
        (None, Some(tag)) => format!("tag {tag}"),
        (None, None) => format!("image {}", release.image),
    }
}

pub async fn releases(args: ReleasesArgs, session: Session) -> anyhow::Result<()> {
    let at = args.target.place.locate(&session).await?;
    let service = target::find_service(&session, &at, &args.target.service).await?;
    let releases = session.client.releases(service.kind, service.id).await?;
    if args.output.output == Output::Json {
        return output::json(&releases);
    }
    output::list(
        args.output.output,
        &releases,
        &["", "id", "created", "version", "image"],
        |r| {
            vec![
                if r.is_current { "*".to_owned() } else { String::new() },
                r.id.to_string(),
                output::time(r.created_at),
                version_of(r),
                r.image.clone(),
            ]
        },
        &format!("`{}` has no releases yet: deploy it first.", service.name),
    )?;
    if releases.iter().any(|r| r.is_current) {
        output::emit("(* the release it runs now)")?;
    }
    Ok(())
}

/// A job, by name or id, refused clearly when the service is another kind.
async fn find_job(session: &Session, target: &ServiceTarget) -> anyhow::Result<slipway_client::ServiceSummary> {
    let at = target.place.locate(session).await?;
    let service = target::find_service(session, &at, &target.service).await?;
    if service.kind != slipway_model::ServiceType::Job {
        anyhow::bail!("`{}` is not a job: only jobs have runs", service.name);
    }
    Ok(service)
}

pub async fn runs(args: RunsArgs, session: Session) -> anyhow::Result<()> {
    let job = find_job(&session, &args.target).await?;
    if let Some(run) = args.run {
        let run = session.client.job_run(job.id, run).await?;
        if args.output.output == Output::Json {
            return output::json(&run);
        }
        output::emit(&format!(
            "run {} of `{}`: {} ({}), {}",
            run.id,
            job.name,
            output::wire_name(&run.status),
            output::wire_name(&run.trigger),
            run_outcome(&run)
        ))?;
        if let Some(message) = &run.message {
            output::emit(message)?;
        }
        for line in run.logs.iter().flatten() {
            output::emit(&format!("| {line}"))?;
        }
        return Ok(());
    }
    let runs = pages(args.limit, |size, page| session.client.job_runs(job.id, size, page)).await?;
    if args.output.output == Output::Json {
        return output::json(&runs);
    }
    output::list(
        args.output.output,
        &runs,
        &["id", "trigger", "status", "started", "due", "outcome"],
        |r| {
            vec![
                r.id.to_string(),
                output::wire_name(&r.trigger),
                output::wire_name(&r.status),
                output::time(r.started_at),
                r.scheduled_for.map(output::time).unwrap_or_default(),
                run_outcome(r),
            ]
        },
        &format!("`{}` has not run yet.", job.name),
    )
}

/// `exit 0 after 3 s, 2 attempts`.
fn run_outcome(run: &slipway_api_types::JobRunResponse) -> String {
    let mut parts = Vec::new();
    if let Some(code) = run.exit_code {
        parts.push(format!("exit {code}"));
    }
    if let Some(end) = run.finished_at {
        parts.push(format!("after {}", output::duration((end - run.started_at).num_seconds())));
    }
    if run.attempts > 1 {
        parts.push(format!("{} attempts", run.attempts));
    }
    parts.join(", ")
}

pub async fn run_now(args: RunArgs, session: Session) -> anyhow::Result<()> {
    let job = find_job(&session, &args.target).await?;
    session.client.run_cron_now(job.id).await?;
    output::emit(&format!(
        "`{}` is running now; see it with `slipway runs --service {}`",
        job.name,
        target::quote(&job.name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_stop_at_the_limit_or_the_last_page() {
        let source: Vec<u32> = (0..250).collect();
        let fetch = |size: u32, page: u32| {
            let start = ((page - 1) * size) as usize;
            let items: Vec<u32> = source.iter().copied().skip(start).take(size as usize).collect();
            async move { Ok::<_, slipway_client::Error>(items) }
        };
        assert_eq!(pages(10, fetch).await.unwrap(), (0..10).collect::<Vec<_>>());
        assert_eq!(pages(150, fetch).await.unwrap().len(), 150);
        assert_eq!(pages(1000, fetch).await.unwrap().len(), 250);
    }
}
