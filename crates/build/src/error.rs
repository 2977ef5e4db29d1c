//! The one error type of the crate.

use std::path::PathBuf;
use std::time::Duration;

use slipway_runtime::RuntimeError;

/// Why fetching, packing or building an image failed. Every message says what
/// was wrong in the user's terms (repository, branch, path) and, where git or
/// the engine explained it, includes their words.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The source or plan itself is wrong (bad URL, branch name, commit id,
    /// registry name); nothing was contacted.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field at fault (`url`, `branch`, `commit`, ...).
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The repository could not be read: wrong URL, no access, host down.
    #[error("cannot fetch {url}: {stderr}")]
    Unreachable {
        /// The repository URL.
        url: String,
        /// What git said, trimmed.
        stderr: String,
    },
    /// The branch does not exist in the repository.
    #[error("branch `{branch}` does not exist in {url}; check the branch name or push it first")]
    UnknownBranch {
        /// The repository URL.
        url: String,
        /// The branch asked for.
        branch: String,
    },
    /// The commit is not in the repository (or not reachable from any branch or tag).
    #[error("commit `{commit}` is not in {url} (not reachable from any branch or tag)")]
    UnknownCommit {
        /// The repository URL.
        url: String,
        /// The commit asked for.
        commit: String,
    },
    /// Any other failure of a git command.
    #[error("git {command} failed: {stderr}")]
    Git {
        /// The git subcommand (`fetch`, `archive`, ...).
        command: String,
        /// What git said, trimmed.
        stderr: String,
    },
    /// A git command did not finish in time and was killed.
    #[error("git {command} did not finish within {}s and was stopped", after.as_secs())]
    GitTimeout {
        /// The git subcommand.
        command: String,
        /// The limit.
        after: Duration,
    },
    /// The build context cannot be assembled: a path escapes the checkout, the
    /// Dockerfile is missing, a `.dockerignore` line is malformed.
    #[error("{0}")]
    Context(String),
    /// A file system operation failed.
    #[error("{what} ({}): {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The image build failed: the engine's message and the last lines of
    /// the build output.
    #[error("image build failed: {message}{}", render_tail(log_tail))]
    Build {
        /// The engine's message.
        message: String,
        /// The last lines the build printed, oldest first.
        log_tail: Vec<String>,
    },
    /// Any other container engine failure (unreachable, push refused, ...).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn render_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nlast lines of the build output:");
    for line in lines {
        out.push_str("\n  ");
        out.push_str(line);
    }
    out
}

impl BuildError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { what, path, source }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = BuildError> = std::result::Result<T, E>;
