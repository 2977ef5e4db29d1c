//! Following deployments live, for every command that queues one (deploy,
//! redeploy, stop, restart, rollback) and for `slipway logs --deployment -f`.
//!
//! The deployment's log stream (`GET /deployment/{id}/logs/stream`) brings
//! the deployment at the start and on every change, its log lines, and a
//! last `end`. At a terminal, each service gets a spinner line, grouped by
//! stage (stage, service, status, current step and its last line), with
//! the log printed above them, colored by level. Without a terminal (CI),
//! the same comes as plain lines: the log, and one line per status change
//! of a service. Then a summary: how it ended and why, each service's
//! result, and the URLs of what was deployed.
//!
//! Ctrl-C stops following, never the deployment: the command says how to
//! follow it again and how to cancel it.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, bail};
use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use slipway_api_types::DeploymentResponse;
use slipway_client::{DeploymentEvent, Error as ClientError, ServiceSummary, ServiceType};
use slipway_model::deployment::{DeploymentAction, DeploymentLog, DeploymentStatus, LogLevel, StepStatus};
use uuid::Uuid;

use super::config::Session;
use super::output::{self, Output};
use super::target::Located;

/// How often the stream is opened again after it broke, before giving up.
const RECONNECTS: u32 = 5;

/// The command was interrupted (Ctrl-C) after saying what to do next: the
/// process exits with 130 and prints nothing more.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Where the progress goes: standard output, or standard error when
/// standard output carries JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// The sink for people's text under `out`.
    pub fn for_output(out: Output) -> Sink {
        match out {
            Output::Table => Sink::Stdout,
            Output::Json => Sink::Stderr,
        }
    }

    /// Whether it is a terminal.
    pub fn is_terminal(self) -> bool {
        match self {
            Sink::Stdout => std::io::stdout().is_terminal(),
            Sink::Stderr => std::io::stderr().is_terminal(),
        }
    }

    /// Prints a line. A closed pipe is not an error: the reader is gone.
    pub fn line(self, text: &str) {
        let _ = match self {
            Sink::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
            Sink::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
        };
    }
}

/// Styles applied only at a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub fn new(on: bool) -> Paint {
        Paint { on }
    }

    fn apply(self, style: Style, text: &str) -> String {
        if self.on { style.force_styling(true).apply_to(text).to_string() } else { text.to_owned() }
    }

    pub fn red(self, text: &str) -> String {
        self.apply(Style::new().red(), text)
    }
    pub fn yellow(self, text: &str) -> String {
        self.apply(Style::new().yellow(), text)
    }
    pub fn green(self, text: &str) -> String {
        self.apply(Style::new().green(), text)
    }
    pub fn dim(self, text: &str) -> String {
        self.apply(Style::new().dim(), text)
    }
    pub fn bold(self, text: &str) -> String {
        self.apply(Style::new().bold(), text)
    }
}

/// One deployment log line, whichever endpoint it came from.
#[derive(Debug, Clone, Copy)]
pub struct LineView<'a> {
    pub level: LogLevel,
    pub stage: Option<&'a str>,
    pub service: Option<&'a str>,
    pub step: Option<&'a str>,
    pub message: &'a str,
}

/// A deployment log line for people: `[STAGE] service/step | message`;
/// warnings and errors colored at a terminal, marked in words elsewhere.
pub fn format_line(line: LineView<'_>, paint: Paint) -> String {
    let mut head = String::new();
    if let Some(stage) = line.stage {
        head.push_str(&format!("[{stage}]"));
    }
    if let Some(service) = line.service.filter(|s| !s.is_empty()) {
        if !head.is_empty() {
            head.push(' ');
        }
        head.push_str(service);
        if let Some(step) = line.step {
            head.push('/');
            head.push_str(step);
        }
    }
    if head.is_empty() {
        head.push_str("deployment");
    }
    let message = match (line.level, paint.on) {
        (LogLevel::Info, _) => line.message.to_owned(),
        (LogLevel::Warning, true) => paint.yellow(line.message),
        (LogLevel::Error, true) => paint.red(line.message),
        (LogLevel::Warning, false) => format!("warning: {}", line.message),
        (LogLevel::Error, false) => format!("error: {}", line.message),
    };
    format!("{} {message}", paint.dim(&format!("{head} |")))
}

/// What the action is called in sentences: `Deployment`, `Stop`...
fn action_noun(action: DeploymentAction, remove_config: bool) -> &'static str {
    match action {
        DeploymentAction::Deploy => "Deployment",
        DeploymentAction::Stop => "Stop",
        DeploymentAction::Restart => "Restart",
        DeploymentAction::Delete if remove_config => "Deletion",
        DeploymentAction::Delete => "Uninstall",
    }
}

/// Whether a step reached its end.
fn step_is_final(status: StepStatus) -> bool {
    !matches!(status, StepStatus::Pending | StepStatus::Running)
}

/// The id of the deployment an action just queued in `at`: the server names
/// it as the answer's `deployment_request_id`.
pub async fn queued(_session: &Session, at: &Located, answered: Option<Uuid>) -> anyhow::Result<Uuid> {
    match answered {
        Some(id) => Ok(id),
        None => bail!("the server queued no deployment for {}", at.describe()),
    }
}

/// What to do once deployments are queued: say so, then wait for them with
/// progress (unless `no_wait`), and summarize. `what` says what was asked
/// (`Deploying environment ...`). Fails when a deployment failed or was
/// canceled.
pub async fn after_submit(
    session: &Session,
    at: &Located,
    ids: &[Uuid],
    out: Output,
    no_wait: bool,
    what: &str,
) -> anyhow::Result<()> {
    let sink = Sink::for_output(out);
    let paint = Paint::new(sink.is_terminal());
    let list = ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ");
    let noun = if ids.len() == 1 { "deployment" } else { "deployments" };
    if no_wait {
        if out == Output::Json {
            let mut deployments = Vec::new();
            for id in ids {
                deployments.push(session.client.get_deployment(*id).await?);
            }
            return print_json(&deployments);
        }
        sink.line(&format!("{what}: {noun} {list} queued."));
        for id in ids {
            sink.line(&format!("Follow it with `slipway logs --deployment {id} -f`."));
        }
        return Ok(());
    }
    let interrupt = interrupt_signal();
    sink.line(&paint.bold(&format!("{what}: {noun} {list}.")));
    if paint.on {
        sink.line(&paint.dim(&format!(
            "Ctrl-C stops following; the deployment goes on (cancel it with `slipway cancel {}`).",
            at.args()
        )));
    }
    let mut finished = Vec::new();
    for id in ids {
        let d = follow(session, *id, sink, &interrupt, Some(at)).await?;
        summarize(session, &d, sink, paint).await;
        finished.push(d);
    }
    if out == Output::Json {
        print_json(&finished)?;
    }
    outcome(&finished)
}

/// One object for one deployment, an array for several.
fn print_json(deployments: &[DeploymentResponse]) -> anyhow::Result<()> {
    match deployments {
        [one] => output::json(one),
        all => output::json(all),
    }
}

/// An error for the first deployment that did not succeed.
pub fn outcome(deployments: &[DeploymentResponse]) -> anyhow::Result<()> {
    for d in deployments {
        let noun = action_noun(d.action, d.remove_config).to_lowercase();
        match d.status {
            DeploymentStatus::Failed => {
                let reason = d.error.as_deref().unwrap_or("no reason given");
                bail!("{noun} {} failed: {reason}", d.id)
            }
            DeploymentStatus::Canceled => bail!("{noun} {} was canceled", d.id),
            _ => {}
        }
    }
    Ok(())
}

/// A flag raised by the first Ctrl-C (SIGINT). The handler is in place
/// when this returns, so that no Ctrl-C is missed, and from then on Ctrl-C
/// no longer ends the process by itself.
pub fn interrupt_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    // Without a handler, Ctrl-C keeps its default effect: the sender goes
    // away and the flag is never raised.
    if let Ok(mut sigint) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
        tokio::spawn(async move {
            if sigint.recv().await.is_some() {
                let _ = tx.send(true);
            }
        });
    }
    rx
}

async fn interrupted(rx: &tokio::sync::watch::Receiver<bool>) {
    let mut rx = rx.clone();
    if rx.wait_for(|&raised| raised).await.is_err() {
        // The listener is gone (no signal handling here): never.
        std::future::pending::<()>().await;
    }
}

/// Whether a failed stream is worth opening again.
fn retryable(err: &ClientError) -> bool {
    match err {
        ClientError::Unreachable { .. } | ClientError::Transport { .. } => true,
        ClientError::Api { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Follows deployment `id` to its end, showing progress on `sink`; returns
/// the finished deployment. `at` names its environment for the hints.
pub async fn follow(
    session: &Session,
    id: Uuid,
    sink: Sink,
    interrupt: &tokio::sync::watch::Receiver<bool>,
    at: Option<&Located>,
) -> anyhow::Result<DeploymentResponse> {
    let mut view = View::new(sink);
    let result = follow_into(session, id, &mut view, interrupt).await;
    view.close();
    if let Err(err) = &result
        && err.is::<Interrupted>()
    {
        let cancel = match at {
            Some(at) => format!("slipway cancel {}", at.args()),
            None => "slipway cancel --project <project> --env <environment>".to_owned(),
        };
        eprintln!(
            "Stopped following deployment {id}: it goes on on the server.\n  \
             Follow it again: slipway logs --deployment {id} -f\n  \
             Cancel it:       {cancel}"
        );
    }
    result
}

async fn follow_into(
    session: &Session,
    id: Uuid,
    view: &mut View,
    interrupt: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<DeploymentResponse> {
    let mut last_seq = 0i64;
    let mut failures = 0u32;
    loop {
        let opened = tokio::select! {
            opened = session.client.stream_deployment(id) => opened,
            () = interrupted(interrupt) => return Err(Interrupted.into()),
        };
        let broke = match opened {
            Ok(mut events) => loop {
                let next = tokio::select! {
                    next = events.next() => next,
                    () = interrupted(interrupt) => return Err(Interrupted.into()),
                };
                match next {
                    Ok(Some(DeploymentEvent::Deployment(d))) => {
                        failures = 0;
                        if !view.named {
                            // Names for the lines that come before the deployment's steps do.
                            view.named = true;
                            if let Ok(services) = session.client.list_services(d.environment_id).await {
                                let summaries: Vec<ServiceSummary> =
                                    services.iter().map(ServiceSummary::from).collect();
                                view.learn_names(&summaries);
                            }
                        }
                        view.deployment(&d);
                    }
                    Ok(Some(DeploymentEvent::Log(line))) => {
                        failures = 0;
                        // After a reconnection the stream starts over: skip what was shown.
                        if line.seq != 0 && line.seq <= last_seq {
                            continue;
                        }
                        last_seq = last_seq.max(line.seq);
                        view.log(&line);
                    }
                    Ok(Some(DeploymentEvent::End(d))) => {
                        view.deployment(&d);
                        return Ok(*d);
                    }
                    Ok(None) => break anyhow!("the server closed the stream before the deployment ended"),
                    Err(err) if retryable(&err) => break anyhow::Error::new(err),
                    Err(err) => return Err(err.into()),
                }
            },
            Err(err) if retryable(&err) => anyhow::Error::new(err),
            Err(err) => return Err(err.into()),
        };
        failures += 1;
        if failures > RECONNECTS {
            return Err(broke.context(format!(
                "lost the log stream of deployment {id}; it goes on on the server: follow it again with \
                 `slipway logs --deployment {id} -f`"
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500 * u64::from(failures))) => {}
            () = interrupted(interrupt) => return Err(Interrupted.into()),
        }
    }
}

/// One service's line in the progress.
#[derive(Debug)]
struct ServiceLine {
    service_id: Uuid,
    stage: String,
    name: String,
    status: StepStatus,
    /// Whether its status was shown.
    announced: bool,
    /// Seconds it took, once it ended.
    took: Option<i64>,
    /// Why it failed.
    error: Option<String>,
    /// The step it is in (`build`, `rollout`...), from its log lines.
    step: Option<String>,
    /// Its last log line.
    last: String,
    bar: Option<ProgressBar>,
}

/// The progress of one deployment on screen.
#[derive(Debug)]
struct View {
    sink: Sink,
    paint: Paint,
    /// Bars, at a terminal only.
    multi: Option<MultiProgress>,
    header: Option<ProgressBar>,
    status: Option<DeploymentStatus>,
    lines: Vec<ServiceLine>,
    names: HashMap<Uuid, String>,
    /// Whether the environment's services were listed for their names.
    named: bool,
    widths: (usize, usize),
}

impl View {
    fn new(sink: Sink) -> View {
        let tty = sink.is_terminal();
        let multi = tty.then(|| {
            let target = match sink {
                Sink::Stdout => ProgressDrawTarget::stdout(),
                Sink::Stderr => ProgressDrawTarget::stderr(),
            };
            MultiProgress::with_draw_target(target)
        });
        let header = multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(style("{spinner:.cyan} {wide_msg} {elapsed:.dim}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        View {
            sink,
            paint: Paint::new(tty),
            multi,
            header,
            status: None,
            lines: Vec::new(),
            names: HashMap::new(),
            named: false,
            widths: (0, 0),
        }
    }

    /// Prints a line above the bars (or just prints it).
    fn print(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => self.sink.line(text),
        }
    }

    /// The deployment changed.
    fn deployment(&mut self, d: &DeploymentResponse) {
        if self.status != Some(d.status) {
            self.status = Some(d.status);
            let noun = action_noun(d.action, d.remove_config);
            let text = match d.status {
                DeploymentStatus::Queued => format!("{noun} {} is queued behind the environment's others", d.id),
                DeploymentStatus::Running => format!("{noun} {} is running", d.id),
                _ => format!("{noun} {} ended: {}", d.id, output::state(&d.status)),
            };
            match &self.header {
                Some(bar) => bar.set_message(text),
                None if d.status == DeploymentStatus::Queued => self.sink.line(&text),
                None => {}
            }
        }
        for step in &d.steps {
            self.names.insert(step.service_id, step.service_name.clone());
            let i = self.ensure_line(step.service_id, &step.stage, &step.service_name);
            if let (Some(bar), Some(start)) = (&self.lines[i].bar, step.started_at)
                && self.lines[i].status == StepStatus::Pending
            {
                bar.set_elapsed((chrono::Utc::now() - start).to_std().unwrap_or_default());
            }
            let took = match (step.started_at, step.finished_at) {
                (Some(start), Some(end)) => Some((end - start).num_seconds()),
                _ => None,
            };
            self.set_status(i, step.status, took, step.error.as_deref());
        }
    }

    /// The index of a service's line, made when it is new: after the other
    /// lines of its stage, so that lines stay grouped by stage.
    fn ensure_line(&mut self, service_id: Uuid, stage: &str, name: &str) -> usize {
        if let Some(i) = self.lines.iter().position(|l| l.service_id == service_id) {
            return i;
        }
        let at = match self.lines.iter().rposition(|l| l.stage == stage) {
            Some(last) => last + 1,
            None => self.lines.len(),
        };
        let mut line = ServiceLine {
            service_id,
            stage: stage.to_owned(),
            name: name.to_owned(),
            status: StepStatus::Pending,
            announced: false,
            took: None,
            error: None,
            step: None,
            last: String::new(),
            bar: None,
        };
        if let Some(multi) = &self.multi {
            let bar = match at.checked_sub(1).and_then(|i| self.lines[i].bar.as_ref()) {
                Some(before) => multi.insert_after(before, ProgressBar::new_spinner()),
                None if self.lines.is_empty() => multi.add(ProgressBar::new_spinner()),
                None => match self.lines[0].bar.as_ref() {
                    Some(first) => multi.insert_before(first, ProgressBar::new_spinner()),
                    None => multi.add(ProgressBar::new_spinner()),
                },
            };
            line.bar = Some(bar);
        }
        self.lines.insert(at, line);
        let widths = (
            self.lines.iter().map(|l| l.stage.chars().count()).max().unwrap_or(0),
            self.lines.iter().map(|l| l.name.chars().count()).max().unwrap_or(0),
        );
        if widths != self.widths {
            self.widths = widths;
            for l in &self.lines {
                if let Some(bar) = &l.bar {
                    bar.set_prefix(format!("{:<sw$}  {:<nw$}", l.stage, l.name, sw = widths.0, nw = widths.1));
                }
            }
        } else if let Some(bar) = &self.lines[at].bar {
            let l = &self.lines[at];
            bar.set_prefix(format!("{:<sw$}  {:<nw$}", l.stage, l.name, sw = widths.0, nw = widths.1));
        }
        if let Some(bar) = &self.lines[at].bar {
            self.redraw(&self.lines[at], bar, true);
        }
        at
    }

    /// A service's status changed (or is shown for the first time).
    fn set_status(&mut self, i: usize, status: StepStatus, took: Option<i64>, error: Option<&str>) {
        let line = &mut self.lines[i];
        if line.status == status && line.announced {
            return;
        }
        line.status = status;
        line.announced = true;
        line.took = took;
        line.error = error.map(str::to_owned);
        let line = &self.lines[i];
        match &line.bar {
            Some(bar) => self.redraw(line, bar, true),
            None => {
                let mut text = format!("==> [{}] {}: {}", line.stage, line.name, output::state(&status));
                if let (Some(s), true) = (took, step_is_final(status)) {
                    text.push_str(&format!(" in {}", output::duration(s)));
                }
                if let Some(error) = error {
                    text.push_str(&format!(": {error}"));
                }
                self.sink.line(&text);
            }
        }
    }

    /// Names services that the deployment has not described yet.
    fn learn_names(&mut self, services: &[ServiceSummary]) {
        for s in services {
            self.names.entry(s.id).or_insert_with(|| s.name.clone());
        }
    }

    /// Draws a service's bar: its message, and its style when `restyle`
    /// (its status changed).
    fn redraw(&self, line: &ServiceLine, bar: &ProgressBar, restyle: bool) {
        let paint = self.paint;
        let (mark, running) = match line.status {
            StepStatus::Pending => (paint.dim("·"), false),
            StepStatus::Running => (String::new(), true),
            StepStatus::Done => (paint.green("✔"), false),
            StepStatus::Skipped => (paint.dim("-"), false),
            StepStatus::Failed => (paint.red("✘"), false),
            StepStatus::RolledBack => (paint.yellow("↺"), false),
        };
        let state = format!("{:<11}", output::state(&line.status));
        let state = match line.status {
            StepStatus::Failed => paint.red(&state),
            StepStatus::Done => paint.green(&state),
            StepStatus::RolledBack => paint.yellow(&state),
            _ => state,
        };
        let detail = match (&line.step, line.last.is_empty()) {
            _ if step_is_final(line.status) => match (&line.error, line.took) {
                (Some(error), _) => error.clone(),
                (None, Some(took)) => format!("in {}", output::duration(took)),
                (None, None) => String::new(),
            },
            // Lines of the build already say `build: ...`.
            (Some(step), false) if line.last.starts_with(&format!("{step}:")) => line.last.clone(),
            (Some(step), false) => format!("{step}: {}", line.last),
            (Some(step), true) => step.clone(),
            (None, _) => line.last.clone(),
        };
        bar.set_message(format!("{state} {}", paint.dim(&detail)));
        if !restyle {
            return;
        }
        if running {
            bar.set_style(style("{spinner:.cyan} {prefix}  {wide_msg} {elapsed:.dim}"));
            bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            // The mark is plain text (and color codes): no template keys in it.
            bar.set_style(style(&format!("{mark} {{prefix}}  {{wide_msg}}")));
            if step_is_final(line.status) {
                bar.finish();
            } else {
                bar.tick();
            }
        }
    }

    /// A log line arrived.
    fn log(&mut self, line: &DeploymentLog) {
        let name = line.service_id.map(|id| match self.names.get(&id) {
            Some(name) => name.clone(),
            None => output::short(&id.to_string()).to_owned(),
        });
        let text = format_line(
            LineView {
                level: line.level,
                stage: line.stage.as_deref(),
                service: name.as_deref(),
                step: line.step.as_deref(),
                message: &line.message,
            },
            self.paint,
        );
        self.print(&text);
        // A service that writes is at work, even before the deployment says so.
        let (Some(id), Some(stage), Some(name)) = (line.service_id, &line.stage, &name) else { return };
        let i = self.ensure_line(id, stage, name);
        if self.lines[i].status == StepStatus::Pending {
            self.set_status(i, StepStatus::Running, None, None);
        }
        if let Some(step) = &line.step {
            self.lines[i].step = Some(step.clone());
        }
        self.lines[i].last = line.message.lines().next().unwrap_or_default().to_owned();
        if let Some(bar) = &self.lines[i].bar
            && !bar.is_finished()
        {
            self.redraw(&self.lines[i], bar, false);
        }
    }

    /// Leaves the final state of the bars on screen, without spinners.
    fn close(&mut self) {
        if let Some(header) = self.header.take() {
            header.finish_and_clear();
        }
        for line in &self.lines {
            if let Some(bar) = &line.bar
                && !bar.is_finished()
            {
                bar.abandon();
            }
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

/// How a finished deployment went: the outcome and its reason, each
/// service's result, and the URLs of what it deployed.
pub async fn summarize(session: &Session, d: &DeploymentResponse, sink: Sink, paint: Paint) {
    let noun = action_noun(d.action, d.remove_config);
    let took = output::duration(d.duration_seconds);
    let headline = match d.status {
        DeploymentStatus::Succeeded => paint.green(&format!("{noun} {} succeeded in {took}.", d.id)),
        DeploymentStatus::Failed => paint.red(&format!(
            "{noun} {} failed after {took}: {}",
            d.id,
            d.error.as_deref().unwrap_or("no reason given")
        )),
        DeploymentStatus::Canceled => paint.yellow(&format!(
            "{noun} {} was canceled after {took}; what it had switched went back to its previous release.",
            d.id
        )),
        other => format!("{noun} {} is {}.", d.id, output::state(&other)),
    };
    sink.line("");
    sink.line(&headline);
    if !d.steps.is_empty() {
        let rows = d.steps.iter().map(|s| {
            let took = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => output::duration((b - a).num_seconds()),
                _ => String::new(),
            };
            vec![
                s.stage.clone(),
                s.service_name.clone(),
                output::state(&s.status),
                took,
                s.error.clone().unwrap_or_default(),
            ]
        });
        let table = output::table(&["stage", "service", "result", "took", "details"], rows);
        for line in table.lines() {
            sink.line(&format!("  {line}"));
        }
    }
    let serves = matches!(d.action, DeploymentAction::Deploy | DeploymentAction::Restart);
    if d.status != DeploymentStatus::Succeeded || !serves {
        return;
    }
    let mut urls = Vec::new();
    for step in d.steps.iter().filter(|s| s.status == StepStatus::Done) {
        if !matches!(step.service_type, ServiceType::Application | ServiceType::Container | ServiceType::Helm) {
            continue;
        }
        match session.client.links(step.service_type, step.service_id).await {
            Ok(links) => urls.extend(links.into_iter().map(|l| (step.service_name.clone(), l.url))),
            Err(err) => sink.line(&format!("(cannot list the URLs of `{}`: {err})", step.service_name)),
        }
    }
    if !urls.is_empty() {
        sink.line(if urls.len() == 1 { "URL:" } else { "URLs:" });
        let width = urls.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
        for (name, url) in urls {
            sink.line(&format!("  {name:<width$}   {url}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(level: LogLevel, service: Option<&'static str>, step: Option<&'static str>) -> LineView<'static> {
        LineView { level, stage: Some("APPLICATION DEFAULT"), service, step, message: "hello" }
    }

    #[test]
    fn plain_lines_name_stage_service_and_step() {
        let plain = Paint::new(false);
        assert_eq!(
            format_line(view(LogLevel::Info, Some("web"), Some("build")), plain),
            "[APPLICATION DEFAULT] web/build | hello"
        );
        assert_eq!(format_line(view(LogLevel::Info, None, None), plain), "[APPLICATION DEFAULT] | hello");
        let line = LineView { stage: None, ..view(LogLevel::Error, None, None) };
        assert_eq!(format_line(line, plain), "deployment | error: hello");
        assert_eq!(
            format_line(view(LogLevel::Warning, Some("web"), None), plain),
            "[APPLICATION DEFAULT] web | warning: hello"
        );
    }

    #[test]
    fn colors_only_at_a_terminal() {
        let colored = format_line(view(LogLevel::Error, Some("web"), None), Paint::new(true));
        assert!(colored.contains('\u{1b}') && !colored.contains("error:"), "{colored:?}");
        let plain = format_line(view(LogLevel::Error, Some("web"), None), Paint::new(false));
        assert!(!plain.contains('\u{1b}'), "{plain:?}");
    }
}
