//! `slipway logs`: what a service's instances print, or a deployment's log.

use anyhow::{Context, bail};
use slipway_api_types::EnvironmentLogs;
use slipway_client::{DeploymentEvent, ServiceLogEvent, ServiceType};
use slipway_model::deployment::LogLevel;
use uuid::Uuid;

use super::config::Session;
use super::output::{self, Output, OutputArgs};
use super::progress::{self, LineView, Paint, Sink};
use super::target::{self, EnvTarget, Located, kind_name};

/// `slipway logs`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["service", "deployment"])))]
pub struct LogsArgs {
    /// The project's name or id (with --service).
    #[arg(long)]
    project: Option<String>,
    /// The environment's name or id (with --service).
    #[arg(long = "env", value_name = "ENV")]
    env: Option<String>,
    /// The service whose output to show (name or id).
    #[arg(long = "service", value_name = "SERVICE", requires_all = ["project", "env"])]
    service: Option<String>,
    /// Show this deployment's log instead (its id).
    #[arg(long, value_name = "ID", conflicts_with = "service")]
    deployment: Option<Uuid>,
    /// Keep printing new lines as they come (for a deployment: until it ends).
    #[arg(long, short = 'f')]
    follow: bool,
    /// How many of the last lines to show (of each instance, when following).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    tail: u32,
    #[command(flatten)]
    output: OutputArgs,
}

pub async fn run(args: LogsArgs, session: Session) -> anyhow::Result<()> {
    match (args.deployment, &args.service, &args.project, &args.env) {
        (Some(id), ..) => deployment_log(&session, id, args.follow, args.output.output).await,
        (None, Some(service), Some(project), Some(env)) => {
            let place = EnvTarget { project: project.clone(), env: env.clone() };
            let at = place.locate(&session).await?;
            service_log(&session, &at, service, args.follow, args.tail, args.output.output).await
        }
        _ => bail!("name a service (--project, --env and --service) or a deployment (--deployment)"),
    }
}

/// `pod | message`, the instance dimmed at a terminal.
fn service_line(pod: &str, message: &str, paint: Paint) -> String {
    format!("{} {message}", paint.dim(&format!("{pod} |")))
}

async fn service_log(
    session: &Session,
    at: &Located,
    wanted: &str,
    follow: bool,
    tail: u32,
    out: Output,
) -> anyhow::Result<()> {
    let service = target::find_service(session, at, wanted).await?;
    let paint = Paint::new(out == Output::Table && Sink::Stdout.is_terminal());
    if !follow {
        if !matches!(service.kind, ServiceType::Application | ServiceType::Container) {
            bail!(
                "`{}` is a {}: only applications and containers keep their last lines; follow its output with -f",
                service.name,
                kind_name(service.kind)
            );
        }
        let mut lines = session.client.service_log(service.kind, service.id).await?;
        let skip = lines.len().saturating_sub(tail as usize);
        lines.drain(..skip);
        if out == Output::Json {
            return output::json(&lines);
        }
        for line in &lines {
            output::emit(&service_line(&line.pod_name, &line.message, paint))?;
        }
        return Ok(());
    }
    let mut stream = session.client.stream_service_logs(service.kind, service.id, tail).await?;
    loop {
        // Ctrl-C ends the command as usual: following changes nothing on the server.
        match stream.next().await? {
            Some(ServiceLogEvent::Line(line)) => match out {
                Output::Json => output::json_line(&line)?,
                Output::Table => output::emit(&service_line(&line.pod_name, &line.message, paint))?,
            },
            Some(ServiceLogEvent::End(reason)) => {
                if out == Output::Table {
                    eprintln!("({reason})");
                }
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

/// One line of the list endpoint, as the progress shows lines.
fn environment_line(line: &EnvironmentLogs) -> (LogLevel, Option<&str>, &str) {
    let level = match line.kind.as_str() {
        "error" => LogLevel::Error,
        "warning" => LogLevel::Warning,
        _ => LogLevel::Info,
    };
    let service = (line.details.transmitter.kind != "Environment").then_some(line.details.transmitter.name.as_str());
    let message = match (&line.message, &line.error) {
        (Some(m), _) => m.safe_message.as_str(),
        (None, Some(e)) => e.user_log_message.as_str(),
        (None, None) => "",
    };
    (level, service, message)
}

async fn deployment_log(session: &Session, id: Uuid, follow: bool, out: Output) -> anyhow::Result<()> {
    let d = session.client.get_deployment(id).await.with_context(|| format!("cannot read deployment {id}"))?;
    let paint = Paint::new(out == Output::Table && Sink::Stdout.is_terminal());
    if !follow {
        let lines = session.client.deployment_log(d.environment_id, Some(id)).await?;
        if out == Output::Json {
            return output::json(&lines);
        }
        for line in &lines {
            let (level, service, message) = environment_line(line);
            let stage = &line.details.stage;
            let view = LineView { level, stage: stage.name.as_deref(), service, step: stage.step.as_deref(), message };
            output::emit(&progress::format_line(view, paint))?;
        }
        return Ok(());
    }
    if out == Output::Json {
        return follow_json(session, id).await;
    }
    let interrupt = progress::interrupt_signal();
    let finished = progress::follow(session, id, Sink::Stdout, &interrupt, None).await?;
    progress::summarize(session, &finished, Sink::Stdout, paint).await;
    progress::outcome(&[finished])
}

/// Follows a deployment, printing its log lines as JSON objects, one a line,
/// then the finished deployment.
async fn follow_json(session: &Session, id: Uuid) -> anyhow::Result<()> {
    let mut events = session.client.stream_deployment(id).await?;
    while let Some(event) = events.next().await? {
        match event {
            DeploymentEvent::Log(line) => output::json_line(&line)?,
            DeploymentEvent::End(d) => {
                output::json_line(&d)?;
                return progress::outcome(&[*d]);
            }
            DeploymentEvent::Deployment(_) => {}
        }
    }
    bail!("the server closed the log stream of deployment {id} before it ended")
}
