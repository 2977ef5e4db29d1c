//! Root file system tarballs: `mmdebstrap --variant=minbase` from the
//! host's apt sources, with the recipe's files, dpkg filters and clean-up,
//! cached under the recipe hash.
//!
//! A tarball is written next to its final name and renamed into place when
//! mmdebstrap succeeds, so the cache never holds a partial one and two
//! builds of the same recipe at once both end well (the last rename wins
//! with identical content).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::recipe::SUITE;
use crate::{BuildError, DatabaseImage, sources};

/// How long mmdebstrap may take (measured: under a minute per image).
const MMDEBSTRAP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Lines of mmdebstrap's output an error keeps.
const TAIL_LINES: usize = 25;

/// The cached tarball of `image` at recipe `hash` in `cache_dir`.
pub(crate) fn tarball_path(cache_dir: &Path, image: &DatabaseImage, hash: &str) -> PathBuf {
    cache_dir.join(format!("{}-{hash}.tar", image.name))
}

/// Builds the root file system of `image` into `target` with mmdebstrap.
/// `apt_sources` replaces the host's sources when given.
pub(crate) async fn build(
    image: &DatabaseImage,
    target: &Path,
    apt_sources: Option<&Path>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), BuildError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { action, path, source }
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await.map_err(io("cannot create the cache directory", dir))?;
    // The recipe's files and the apt sources, for mmdebstrap's hooks to copy in.
    let inputs = tempfile::Builder::new()
        .prefix(&format!("slipway-{}-", image.name))
        .tempdir()
        .map_err(io("cannot create a temporary directory in", &std::env::temp_dir()))?;
    let sources = match apt_sources {
        Some(path) => path.to_owned(),
        None => {
            let found = sources::host_sources(SUITE)?;
            let path = inputs.path().join(found.file_name);
            std::fs::write(&path, found.content).map_err(io("cannot write", &path))?;
            path
        }
    };
    let partial = target.with_extension(format!("tar.partial-{}", std::process::id()));
    let mut command = Command::new("mmdebstrap");
    command
        .arg("--variant=minbase")
        .arg("--format=tar")
        .arg("--skip=output/dev")
        .arg(format!("--include={}", image.packages.join(",")));
    for filter in image.recipe.all_dpkg_filters() {
        command.arg(format!("--dpkgopt={filter}"));
    }
    for (i, file) in image.recipe.all_files().enumerate() {
        let local = inputs.path().join(format!("file-{i}"));
        std::fs::write(&local, file.content).map_err(io("cannot write", &local))?;
        let parent = Path::new(file.path).parent().map_or("/".into(), |p| p.display().to_string());
        command
            .arg(format!("--customize-hook=mkdir -p \"$1{parent}\""))
            .arg(format!("--customize-hook=upload {} {}", local.display(), file.path))
            .arg(format!("--customize-hook=chmod {:o} \"$1{}\"", file.mode, file.path));
    }
    command.arg(format!("--customize-hook={}", image.recipe.cleanup)).arg(SUITE).arg(&partial).arg(&sources);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let outcome = run(command, image, progress).await;
    if let Err(error) = outcome {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error);
    }
    tokio::fs::rename(&partial, target).await.map_err(io("cannot move the tarball into place at", target))
}

/// Runs mmdebstrap, forwarding its output line by line; fails with the last lines.
async fn run(
    mut command: Command,
    image: &DatabaseImage,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), BuildError> {
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BuildError::MmdebstrapMissing,
        _ => BuildError::Io { action: "cannot run", path: "mmdebstrap".into(), source: e },
    })?;
    let tail = std::sync::Mutex::new(VecDeque::with_capacity(TAIL_LINES));
    let forward = |line: &str| {
        progress(line);
        let mut tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let finished = async {
        tokio::join!(forward_lines(stdout, &forward), forward_lines(stderr, &forward));
        child.wait().await
    };
    let status = match tokio::time::timeout(MMDEBSTRAP_TIMEOUT, finished).await {
        Ok(status) => {
            status.map_err(|source| BuildError::Io { action: "cannot wait for", path: "mmdebstrap".into(), source })?
        }
        Err(_) => {
            return Err(BuildError::MmdebstrapTimeout {
                reference: image.reference.to_owned(),
                minutes: MMDEBSTRAP_TIMEOUT.as_secs() / 60,
            });
        }
    };
    if status.success() {
        return Ok(());
    }
    let tail = tail.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Err(BuildError::Mmdebstrap {
        reference: image.reference.to_owned(),
        status: status.to_string(),
        tail: Vec::from(tail).join("\n"),
    })
}

/// Calls `forward` with each non-empty line of `output`.
async fn forward_lines(output: Option<impl AsyncRead + Unpin>, forward: &(dyn Fn(&str) + Sync)) {
    let Some(output) = output else { return };
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim_end();
        if !line.is_empty() {
            forward(line);
        }
    }
}

/// Removes the tarballs of `image` other than `keep`: older recipes', and
/// partial ones too old to belong to a build still running.
pub(crate) fn prune(cache_dir: &Path, image: &DatabaseImage, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else { return };
    let prefix = format!("{}-", image.name);
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(rest) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        // `<16 hex digits>.tar`, or `<16 hex digits>.tar.partial-<pid>`.
        let Some((hash, suffix)) = rest.split_once('.') else { continue };
        if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || path == keep {
            continue;
        }
        let abandoned = || {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified());
            modified.is_ok_and(|m| m.elapsed().is_ok_and(|age| age > MMDEBSTRAP_TIMEOUT))
        };
        if suffix == "tar" || (suffix.starts_with("tar.partial-") && abandoned()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}
