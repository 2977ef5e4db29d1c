//! Running the `git` CLI: no shell, no prompts, bounded in time, with its
//! standard error streamed line by line and kept for error messages.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::error::{BuildError, Result};

/// Variables that would make git act on another repository than the one we
/// name (set, for instance, when Slipway itself runs inside a git hook).
const INHERITED_GIT_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// How many lines of git's standard error an error message keeps.
const STDERR_LINES_KEPT: usize = 12;

/// What a finished git command produced.
#[derive(Debug)]
pub(crate) struct GitOutput {
    pub(crate) success: bool,
    pub(crate) stdout: Vec<u8>,
    /// Standard error, trimmed to its last lines.
    pub(crate) stderr: String,
}

impl GitOutput {
    /// Standard output as text, trimmed.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }
}

/// One git invocation.
pub(crate) struct Git<'a> {
    git_dir: Option<&'a Path>,
    args: Vec<&'a OsStr>,
    timeout: Duration,
    stderr_to: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

impl<'a> Git<'a> {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self { git_dir: None, args: Vec::new(), timeout, stderr_to: None }
    }

    /// Runs against this (bare) repository.
    pub(crate) fn git_dir(mut self, dir: &'a Path) -> Self {
        self.git_dir = Some(dir);
        self
    }

    pub(crate) fn arg(mut self, arg: &'a (impl AsRef<OsStr> + ?Sized)) -> Self {
        self.args.push(arg.as_ref());
        self
    }

    pub(crate) fn args<S: AsRef<OsStr> + 'a>(mut self, args: &'a [S]) -> Self {
        self.args.extend(args.iter().map(AsRef::as_ref));
        self
    }

    /// Forwards every line git prints on standard error.
    pub(crate) fn stderr_to(mut self, sink: &'a (dyn Fn(&str) + Send + Sync)) -> Self {
        self.stderr_to = Some(sink);
        self
    }

    fn subcommand(&self) -> String {
        self.args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Runs git and returns its output whatever its exit status; fails only
    /// when git cannot be started or does not finish in time.
    pub(crate) async fn output(self) -> Result<GitOutput> {
        let subcommand = self.subcommand();
        let mut cmd = Command::new("git");
        if let Some(dir) = self.git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.args(&self.args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true")
            .env("SSH_ASKPASS", "true")
            .env("LC_ALL", "C")
            .env_remove("SSH_ASKPASS_REQUIRE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for var in INHERITED_GIT_ENV {
            cmd.env_remove(var);
        }
        if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
            // Never wait for a password or a host-key confirmation.
            cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        }
        let mut child = cmd.spawn().map_err(|e| BuildError::Git {
            command: subcommand.clone(),
            stderr: format!("cannot run `git` ({e}); install git on the build host"),
        })?;
        let (Some(mut stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(BuildError::Git { command: subcommand, stderr: "no output pipes".into() });
        };
        let sink = self.stderr_to;
        let run = async {
            let read_stdout = async {
                let mut buf = Vec::new();
                stdout.read_to_end(&mut buf).await.map(|_| buf)
            };
            let read_stderr = async {
                let mut kept: Vec<String> = Vec::new();
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    // Progress meters redraw with `\r`; keep their last state.
                    let line = line.rsplit('\r').find(|s| !s.trim().is_empty()).unwrap_or("").trim_end();
                    if line.is_empty() {
                        continue;
                    }
                    if let Some(sink) = sink {
                        sink(line);
                    }
                    kept.push(line.to_owned());
                    if kept.len() > STDERR_LINES_KEPT {
                        kept.remove(0);
                    }
                }
                kept.join("\n")
            };
            let (stdout, stderr) = tokio::join!(read_stdout, read_stderr);
            let status = child.wait().await;
            (stdout, stderr, status)
        };
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err(BuildError::GitTimeout { command: subcommand, after: self.timeout }),
            Ok((stdout, stderr, status)) => {
                let io = |e: std::io::Error| BuildError::Git { command: subcommand.clone(), stderr: e.to_string() };
                Ok(GitOutput { success: status.map_err(io)?.success(), stdout: stdout.map_err(io)?, stderr })
            }
        }
    }

    /// Runs git and fails with its standard error when it exits non-zero.
    pub(crate) async fn run(self) -> Result<GitOutput> {
        let subcommand = self.subcommand();
        let out = self.output().await?;
        if !out.success {
            return Err(BuildError::Git { command: subcommand, stderr: out.stderr });
        }
        Ok(out)
    }
}
