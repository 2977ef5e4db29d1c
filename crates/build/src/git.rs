//! Fetching sources: one bare mirror per repository URL, updated with
//! `git fetch`, and a fresh export of the wanted commit for each build.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use slipway_model::Timestamp;
use slipway_model::service::common::GitRepository;
use slipway_runtime::Progress;
use tokio::sync::OwnedMutexGuard;

use crate::error::{BuildError, Result};
use crate::git_command::Git;

/// How long one git command may run before it is stopped.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the source of a build is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The repository: `https://`, `http://`, `ssh://`, `git://`, `file://`
    /// or `user@host:path`.
    pub url: String,
    /// The branch to build; the remote's default branch when absent.
    pub branch: Option<String>,
    /// An exact commit to build (a pin or a rollback); wins over the branch's
    /// tip. The branch, when also given, is fetched first to find it.
    pub commit: Option<String>,
}

impl GitSource {
    /// The tip of the remote's default branch of `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), branch: None, commit: None }
    }

    /// The source of an application or job: its repository and branch, and
    /// the commit to pin, if any (`git_commit_id`).
    pub fn from_repository(repository: &GitRepository, commit: Option<&str>) -> Self {
        Self { url: repository.url.clone(), branch: repository.branch.clone(), commit: commit.map(str::to_owned) }
    }

    fn validate(&self) -> Result<()> {
        let invalid = |field, e: slipway_model::ValidationError| BuildError::Invalid { field, reason: e.to_string() };
        slipway_model::validate::git_url("url", &self.url).map_err(|e| invalid("url", e))?;
        if self.url.starts_with('-') {
            return Err(BuildError::Invalid { field: "url", reason: "must not start with `-`".into() });
        }
        if carries_credentials(&self.url) {
            return Err(BuildError::Invalid {
                field: "url",
                reason: "the URL carries credentials; remove them from the URL (credentials are never passed to \
                         git on a command line)"
                    .into(),
            });
        }
        if let Some(branch) = &self.branch {
            slipway_model::validate::git_ref("branch", branch).map_err(|e| invalid("branch", e))?;
        }
        if let Some(commit) = &self.commit
            && (!(4..=64).contains(&commit.len()) || !commit.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(BuildError::Invalid {
                field: "commit",
                reason: format!("`{commit}` is not a commit id (4 to 64 hexadecimal digits)"),
            });
        }
        Ok(())
    }
}

/// Whether an http(s) URL has a user-info part (`https://token@host/...`,
/// `https://user:password@host/...`), or any URL has a password. A user
/// name alone is fine for ssh (`ssh://git@host/...`).
fn carries_credentials(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return false;
    };
    userinfo.contains(':') || matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
}

/// A commit's identity and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The full commit id.
    pub sha: String,
    /// The commit message, without trailing blank lines.
    pub message: String,
    /// The author's name.
    pub author_name: String,
    /// When it was committed.
    pub committed_at: Timestamp,
}

impl Commit {
    /// The first line of the message.
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// One commit exported into a fresh directory. The directory is removed when
/// the checkout is dropped, or by [`Checkout::cleanup`] without blocking.
#[derive(Debug)]
pub struct Checkout {
    /// The commit exported.
    pub commit: Commit,
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Checkout {
    /// The directory holding the commit's files (no `.git`).
    pub fn worktree(&self) -> &Path {
        &self.path
    }

    /// Removes the directory on a blocking thread.
    pub async fn cleanup(mut self) -> Result<()> {
        let Some(dir) = self.dir.take() else { return Ok(()) };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || dir.close())
            .await
            .map_err(|e| BuildError::Io { what: "cannot remove the checkout", path: path.clone(), source: e.into() })?
            .map_err(BuildError::io("cannot remove the checkout", path))
    }
}

/// Keeps bare mirrors of repositories under `<cache_dir>/git/<sha256(url)>`
/// and exports commits from them into `<cache_dir>/checkouts`.
///
/// Concurrency: fetches of the same URL are serialised by an async lock
/// (held through the export, so that git's automatic housekeeping in one
/// fetch never removes objects another export reads); different URLs proceed
/// in parallel. Clones are cheap to share. Mirrors are not shared between
/// processes safely: give each Slipway process its own cache directory.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<FetcherInner>,
}

#[derive(Debug)]
struct FetcherInner {
    cache_dir: PathBuf,
    timeout: Duration,
    locks: KeyedLocks,
}

impl Fetcher {
    /// A fetcher caching under `cache_dir` (created when needed).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self::with_timeout(cache_dir, DEFAULT_GIT_TIMEOUT)
    }

    /// Same, with a limit on each git command.
    pub fn with_timeout(cache_dir: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self { inner: Arc::new(FetcherInner { cache_dir: cache_dir.into(), timeout, locks: KeyedLocks::default() }) }
    }

    /// The bare mirror kept for `url`.
    pub fn mirror_path(&self, url: &str) -> PathBuf {
        self.inner.cache_dir.join("git").join(hex::encode(Sha256::digest(url.as_bytes())))
    }

    /// Updates the mirror of the source's repository, resolves the branch
    /// (or the remote's default branch) or the pinned commit, and exports that
    /// commit into a fresh directory.
    pub async fn fetch(&self, source: &GitSource, progress: Progress<'_>) -> Result<Checkout> {
        source.validate()?;
        let mirror = self.mirror_path(&source.url);
        let _guard = self.inner.locks.lock(&mirror.to_string_lossy()).await;
        self.ensure_mirror(&mirror).await?;
        let session = Session { fetcher: self, mirror: &mirror, url: &source.url, progress };
        let sha = match (&source.commit, &source.branch) {
            (Some(commit), branch) => session.resolve_commit(commit, branch.as_deref()).await?,
            (None, Some(branch)) => session.fetch_branch(branch).await?,
            (None, None) => session.fetch_default_branch().await?,
        };
        let commit = session.describe(&sha).await?;
        progress(&format!(
            "fetch: commit {} \"{}\" by {}",
            &commit.sha[..commit.sha.len().min(12)],
            commit.subject(),
            commit.author_name
        ));
        let (dir, path) = session.export(&commit.sha).await?;
        Ok(Checkout { commit, dir: Some(dir), path })
    }

    fn git(&self) -> Git<'_> {
        Git::new(self.inner.timeout)
    }

    /// Creates the bare mirror if missing, atomically (built aside, renamed).
    async fn ensure_mirror(&self, mirror: &Path) -> Result<()> {
        if mirror.join("HEAD").is_file() {
            return Ok(());
        }
        let parent = mirror.parent().unwrap_or(mirror);
        tokio::fs::create_dir_all(parent).await.map_err(BuildError::io("cannot create the git cache", parent))?;
        let staging = tempfile::Builder::new()
            .prefix(".mirror-")
            .tempdir_in(parent)
            .map_err(BuildError::io("cannot create the git cache", parent))?;
        self.git().args(&["init", "--bare", "--quiet"]).arg(staging.path()).run().await?;
        for (key, value) in [
            // Housekeeping must finish before the fetch returns: a detached gc
            // would run outside the lock.
            ("gc.autoDetach", "false"),
            ("maintenance.autoDetach", "false"),
            ("core.logAllRefUpdates", "false"),
            ("fetch.writeFetchHead", "false"),
        ] {
            self.git().git_dir(staging.path()).args(&["config", key, value]).run().await?;
        }
        // Export every file as committed: `export-ignore` and `export-subst`
        // attributes are for release tarballs, not for build contexts.
        let attributes = staging.path().join("info").join("attributes");
        tokio::fs::create_dir_all(staging.path().join("info"))
            .await
            .map_err(BuildError::io("cannot create the git cache", staging.path()))?;
        tokio::fs::write(&attributes, "* -export-ignore -export-subst\n")
            .await
            .map_err(BuildError::io("cannot create the git cache", &attributes))?;
        let staging = staging.keep();
        tokio::fs::rename(&staging, mirror).await.map_err(BuildError::io("cannot create the git cache", mirror))
    }
}

/// One fetch of one repository, under its lock.
struct Session<'a> {
    fetcher: &'a Fetcher,
    mirror: &'a Path,
    url: &'a str,
    progress: Progress<'a>,
}

impl Session<'_> {
    fn git(&self) -> Git<'_> {
        self.fetcher.git().git_dir(self.mirror)
    }

    /// `git fetch` of the given refspecs; a refspec naming a missing ref gives
    /// `Ok(false)`, an unreachable repository an error.
    async fn fetch(&self, refspecs: &[&str]) -> Result<bool> {
        let forward = |line: &str| (self.progress)(&format!("fetch: {line}"));
        let out = self
            .git()
            .args(&["fetch", "--no-tags", "--prune", "--", self.url])
            .args(refspecs)
            .stderr_to(&forward)
            .output()
            .await?;
        if out.success {
            return Ok(true);
        }
        if out.stderr.contains("couldn't find remote ref") {
            return Ok(false);
        }
        Err(BuildError::Unreachable { url: self.url.to_owned(), stderr: out.stderr })
    }

    async fn fetch_branch(&self, branch: &str) -> Result<String> {
        (self.progress)(&format!("fetch: updating {} (branch {branch})", self.url));
        let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
        if !self.fetch(&[&refspec]).await? {
            return Err(BuildError::UnknownBranch { url: self.url.to_owned(), branch: branch.to_owned() });
        }
        self.rev_parse(&format!("refs/heads/{branch}"))
            .await?
            .ok_or_else(|| BuildError::UnknownBranch { url: self.url.to_owned(), branch: branch.to_owned() })
    }

    /// Asks the remote which branch its `HEAD` names, then fetches it.
    async fn fetch_default_branch(&self) -> Result<String> {
        let out = self.fetcher.git().args(&["ls-remote", "--symref", "--", self.url, "HEAD"]).output().await?;
        if !out.success {
            return Err(BuildError::Unreachable { url: self.url.to_owned(), stderr: out.stderr });
        }
        let listing = out.text();
        let symref = listing.lines().find_map(|l| l.strip_prefix("ref: refs/heads/")?.strip_suffix("\tHEAD"));
        if let Some(branch) = symref {
            (self.progress)(&format!("fetch: default branch is {branch}"));
            return self.fetch_branch(branch).await;
        }
        if listing.lines().any(|l| l.ends_with("\tHEAD")) {
            // A server that does not advertise symbolic refs: take HEAD itself.
            (self.progress)(&format!("fetch: updating {} (HEAD)", self.url));
            if self.fetch(&["+HEAD:refs/slipway/remote-head"]).await?
                && let Some(sha) = self.rev_parse("refs/slipway/remote-head").await?
            {
                return Ok(sha);
            }
        }
        Err(BuildError::Invalid {
            field: "url",
            reason: format!("{} has no default branch (is it empty?); push a commit or name a branch", self.url),
        })
    }

    /// Finds a commit: in the mirror, else after fetching the branch (or every
    /// branch and tag), else by asking the server for it by id.
    async fn resolve_commit(&self, commit: &str, branch: Option<&str>) -> Result<String> {
        let commit = commit.to_ascii_lowercase();
        if let Some(sha) = self.rev_parse(&commit).await? {
            (self.progress)(&format!("fetch: commit {commit} already in the mirror of {}", self.url));
            return Ok(sha);
        }
        match branch {
            Some(branch) => {
                self.fetch_branch(branch).await?;
            }
            None => {
                (self.progress)(&format!("fetch: updating {} (all branches and tags)", self.url));
                self.fetch(&["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]).await?;
            }
        }
        if let Some(sha) = self.rev_parse(&commit).await? {
            return Ok(sha);
        }
        if commit.len() == 40 || commit.len() == 64 {
            // Servers that allow it hand out a commit no branch points at any more.
            let refspec = format!("+{commit}:refs/slipway/pinned/{commit}");
            if self.fetch(&[&refspec]).await.unwrap_or(false)
                && let Some(sha) = self.rev_parse(&commit).await?
            {
                return Ok(sha);
            }
        }
        Err(BuildError::UnknownCommit { url: self.url.to_owned(), commit })
    }

    /// The full id of the commit `rev` names in the mirror, if any.
    async fn rev_parse(&self, rev: &str) -> Result<Option<String>> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.git().args(&["rev-parse", "--verify", "--quiet", spec.as_str()]).output().await?;
        Ok(out.success.then(|| out.text()).filter(|s| !s.is_empty()))
    }

    async fn describe(&self, sha: &str) -> Result<Commit> {
        let out = self
            .git()
            .args(&["log", "-1", "--no-show-signature", "--format=%H%x00%an%x00%cI%x00%B", sha])
            .run()
            .await?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut fields = text.splitn(4, '\0');
        let (Some(full), Some(author), Some(date), message) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(BuildError::Git { command: "log".into(), stderr: format!("unexpected output: {text:?}") });
        };
        let committed_at = chrono::DateTime::parse_from_rfc3339(date.trim())
            .map_err(|e| BuildError::Git { command: "log".into(), stderr: format!("bad commit date `{date}`: {e}") })?
            .with_timezone(&chrono::Utc);
        Ok(Commit {
            sha: full.trim().to_owned(),
            message: message.unwrap_or("").trim_end().to_owned(),
            author_name: author.to_owned(),
            committed_at,
        })
    }

    /// Writes the commit's files into a fresh directory with `git archive`.
    async fn export(&self, sha: &str) -> Result<(tempfile::TempDir, PathBuf)> {
        let parent = self.fetcher.inner.cache_dir.join("checkouts");
        tokio::fs::create_dir_all(&parent).await.map_err(BuildError::io("cannot create the checkout", &parent))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", &sha[..sha.len().min(12)]))
            .tempdir_in(&parent)
            .map_err(BuildError::io("cannot create the checkout", &parent))?;
        let archive = self.git().args(&["archive", "--format=tar", sha]).run().await?;
        let path = dir.path().to_path_buf();
        let target = path.clone();
        tokio::task::spawn_blocking(move || {
            let mut tar = tar::Archive::new(archive.stdout.as_slice());
            tar.set_overwrite(true);
            tar.unpack(&target)
        })
        .await
        .map_err(|e| BuildError::Io { what: "cannot write the checkout", path: path.clone(), source: e.into() })?
        .map_err(BuildError::io("cannot write the checkout", &path))?;
        Ok((dir, path))
    }
}

/// One async lock per key, created on first use and forgotten once nobody
/// holds or waits for it (so a long-running server does not accumulate one
/// per image ever built).
#[derive(Debug, Default)]
pub(crate) struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    pub(crate) async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Only the map refers to an idle lock; clones are taken under this
            // mutex, so a lock someone holds or awaits is never dropped.
            map.retain(|_, lock| Arc::strong_count(lock) > 1);
            Arc::clone(map.entry(key.to_owned()).or_default())
        };
        lock.lock_owned().await
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keyed_locks_exclude_per_key_and_forget_idle_keys() {
        let locks = KeyedLocks::default();
        let a = locks.lock("a").await;
        let b = locks.lock("b").await;
        // "a" is held: a second locker waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), locks.lock("a")).await;
        assert!(waiting.is_err());
        drop((a, b));
        let _c = locks.lock("c").await;
        assert_eq!(locks.len(), 1, "idle keys are forgotten");
        let _a = tokio::time::timeout(Duration::from_millis(50), locks.lock("a")).await.expect("free again");
    }

    #[test]
    fn credentials_in_urls_are_refused() {
        let src = |url: &str| GitSource::new(url).validate();
        assert!(src("https://github.com/acme/shop.git").is_ok());
        assert!(src("ssh://git@github.com/acme/shop.git").is_ok());
        assert!(src("git@github.com:acme/shop.git").is_ok());
        assert!(src("git://127.0.0.1:9418/shop").is_ok());
        assert!(src("file:///srv/git/shop").is_ok());
        for bad in ["https://ghp_token@github.com/acme/shop.git", "https://u:p@h/r", "ssh://git:pw@h/r"] {
            let err = src(bad).unwrap_err().to_string();
            assert!(err.contains("credentials"), "{bad}: {err}");
            assert!(!err.contains("ghp_token"), "the secret is not echoed: {err}");
        }
    }

    #[test]
    fn bad_branches_commits_and_urls_are_refused_before_running_git() {
        let mut s = GitSource::new("https://h/r");
        s.branch = Some("-upload-pack=x".into());
        assert!(s.validate().unwrap_err().to_string().contains("branch"));
        s.branch = None;
        s.commit = Some("--all".into());
        assert!(s.validate().unwrap_err().to_string().contains("not a commit id"));
        s.commit = Some("abc".into());
        assert!(s.validate().is_err());
        s.commit = Some("abcd1234".into());
        assert!(s.validate().is_ok());
        assert!(GitSource::new("not a url").validate().is_err());
        assert!(GitSource::new("-oProxyCommand=x@h:r").validate().is_err());
    }
}
