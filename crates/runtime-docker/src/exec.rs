//! Commands run inside a running instance (exec probes, one-off commands).

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use slipway_runtime::{ExecOutput, Result, RuntimeError};

use crate::DockerRuntime;
use crate::errors::{is_conflict, is_not_found};

/// How often to ask for the exit code once the output has ended.
const EXIT_POLL: Duration = Duration::from_millis(20);

impl DockerRuntime {
    pub(crate) async fn exec_impl(&self, id: &str, command: &[String], timeout: Duration) -> Result<ExecOutput> {
        if command.is_empty() {
            return Err(RuntimeError::Engine("exec needs a command".to_owned()));
        }
        let run = self.run_exec(id, command, timeout);
        // On timeout the process keeps running: the Docker API cannot kill an
        // exec. Probes use commands that end by themselves.
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(RuntimeError::Timeout(format!(
                "command {:?} in instance {id} (after {} ms)",
                command.join(" "),
                timeout.as_millis()
            ))),
        }
    }

    async fn run_exec(&self, id: &str, command: &[String], timeout: Duration) -> Result<ExecOutput> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(command.to_vec()),
            ..Default::default()
        };
        let client = self.patient(timeout);
        let created = client.create_exec(id, config).await.map_err(|e| match e {
            ref e if is_not_found(e) => RuntimeError::NotFound(format!("instance {id}")),
            // 409: the instance is not running.
            ref e if is_conflict(e) => RuntimeError::Engine(format!("instance {id}: {}", crate::errors::message(e))),
            e => self.error(e),
        })?;
        let options = StartExecOptions { detach: false, tty: false, output_capacity: None };
        let mut output = Vec::new();
        match client.start_exec(&created.id, Some(options)).await.map_err(|e| self.error(e))? {
            StartExecResults::Attached { output: mut frames, .. } => {
                while let Some(frame) = frames.next().await {
                    match frame.map_err(|e| self.error(e))? {
                        LogOutput::StdOut { message }
                        | LogOutput::StdErr { message }
                        | LogOutput::Console { message } => {
                            output.extend_from_slice(&message);
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
            }
            StartExecResults::Detached => {}
        }
        // The output ends when the process closes it; the exit code follows shortly after.
        loop {
            let inspect = client.inspect_exec(&created.id).await.map_err(|e| self.error(e))?;
            match (inspect.running, inspect.exit_code) {
                (Some(false), Some(exit_code)) => {
                    return Ok(ExecOutput { exit_code, output: String::from_utf8_lossy(&output).into_owned() });
                }
                _ => tokio::time::sleep(EXIT_POLL).await,
            }
        }
    }
}
