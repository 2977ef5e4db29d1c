//! Deployment logs: every line goes to the store (durable, ordered) and to
//! live subscribers, through one writer task per deployment so that the
//! synchronous progress callbacks of builds and pulls can log too.

use std::sync::Arc;

use slipway_model::Uuid;
use slipway_model::deployment::{DeploymentLog, LogLevel};
use tokio::sync::{mpsc, oneshot};

use crate::Inner;

enum Message {
    Line(DeploymentLog),
    Flush(oneshot::Sender<()>),
}

/// Writes the log of one deployment.
#[derive(Clone)]
pub(crate) struct Logger {
    deployment_id: Uuid,
    environment_id: Uuid,
    tx: mpsc::UnboundedSender<Message>,
    /// Secret values masked in every line, longest first.
    hidden: Arc<std::sync::RwLock<Vec<String>>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger").field("deployment_id", &self.deployment_id).finish()
    }
}

/// Where in a deployment a line comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub service: Option<Uuid>,
    pub stage: Option<String>,
    pub step: Option<&'static str>,
}

impl Logger {
    /// A logger for work outside any deployment (the monitor): lines go to
    /// the server's own log only.
    pub(crate) fn detached(environment_id: Uuid) -> Logger {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    Message::Line(line) => {
                        tracing::info!(environment = %line.environment_id, service = ?line.service_id, "{}", line.message)
                    }
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Logger { deployment_id: Uuid::nil(), environment_id, tx, hidden: Default::default() }
    }

    pub(crate) fn new(inner: Arc<Inner>, deployment_id: Uuid, environment_id: Uuid) -> Logger {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    Message::Line(mut line) => {
                        match inner.store.append_log(&line).await {
                            Ok(seq) => line.seq = seq,
                            Err(err) => tracing::warn!(%err, "cannot store a deployment log line"),
                        }
                        let _ = inner.logs.send(line);
                    }
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Logger { deployment_id, environment_id, tx, hidden: Default::default() }
    }

    /// Masks `secrets` in every line logged from now on.
    pub(crate) fn hide(&self, secrets: Vec<String>) {
        let mut hidden = self.hidden.write().unwrap_or_else(|e| e.into_inner());
        let all = hidden.drain(..).chain(secrets).collect();
        *hidden = slipway_model::variable::masking_order(all);
    }

    /// `text` with the hidden secrets masked.
    pub(crate) fn mask(&self, text: &str) -> String {
        let hidden = self.hidden.read().unwrap_or_else(|e| e.into_inner());
        slipway_model::variable::redact(text, &hidden).into_owned()
    }

    /// Logs one line (or several, split on newlines).
    pub(crate) fn log(&self, scope: &Scope, level: LogLevel, message: &str) {
        let hidden = self.hidden.read().unwrap_or_else(|e| e.into_inner());
        let message = slipway_model::variable::redact(message, &hidden);
        for line in message.lines().filter(|l| !l.trim().is_empty()) {
            let entry = DeploymentLog {
                seq: 0,
                deployment_id: self.deployment_id,
                environment_id: self.environment_id,
                service_id: scope.service,
                at: slipway_model::now(),
                stage: scope.stage.clone(),
                step: scope.step.map(str::to_owned),
                level,
                message: line.to_owned(),
            };
            let _ = self.tx.send(Message::Line(entry));
        }
    }

    pub(crate) fn info(&self, scope: &Scope, message: &str) {
        self.log(scope, LogLevel::Info, message);
    }

    pub(crate) fn warn(&self, scope: &Scope, message: &str) {
        self.log(scope, LogLevel::Warning, message);
    }

    pub(crate) fn error(&self, scope: &Scope, message: &str) {
        self.log(scope, LogLevel::Error, message);
    }

    /// Waits until every line logged so far is stored.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}
