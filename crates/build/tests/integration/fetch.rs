//! Fetching real repositories over file:// and git://.

use std::path::Path;

use slipway_build::{BuildError, Fetcher, GitSource, build_context};

use crate::support::{GitDaemon, Lines, Repo, free_port, git};

/// A repository with two commits on `main` and one on `feature`.
struct History {
    repo: Repo,
    first: String,
    second: String,
    feature: String,
}

fn history(base: &Path) -> History {
    let repo = Repo::init(base, "shop");
    let first = repo.commit("First version", &[("app.txt", b"v1"), ("Dockerfile", b"FROM scratch\n")]);
    let second = repo.commit("Second version\n\nWith a body.", &[("app.txt", b"v2")]);
    repo.checkout("feature", true);
    let feature = repo.commit("Feature work", &[("feature.txt", b"new")]);
    repo.checkout("main", false);
    History { repo, first, second, feature }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Default branch, named branch, older commit, unknown branch and commit,
/// and an update of the mirror, against one URL.
async fn exercise(url: &str, h: &History) {
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(cache.path());
    let lines = Lines::default();
    let progress = |l: &str| lines.push(l);

    let tip = fetcher.fetch(&GitSource::new(url), &progress).await.unwrap();
    assert_eq!(tip.commit.sha, h.second);
    assert_eq!(tip.commit.message, "Second version\n\nWith a body.");
    assert_eq!(tip.commit.subject(), "Second version");
    assert_eq!(tip.commit.author_name, "Ada Lovelace");
    assert!(tip.commit.committed_at > chrono::Utc::now() - chrono::Duration::hours(1));
    assert_eq!(read(tip.worktree(), "app.txt"), "v2");
    assert!(!tip.worktree().join(".git").exists());
    assert!(!tip.worktree().join("feature.txt").exists());
    assert!(lines.contains("fetch: default branch is main"), "{:?}", lines.all());
    assert!(lines.all().iter().all(|l| l.starts_with("fetch: ")), "{:?}", lines.all());
    assert!(fetcher.mirror_path(url).join("HEAD").is_file());

    let feature = GitSource { branch: Some("feature".into()), ..GitSource::new(url) };
    let checkout = fetcher.fetch(&feature, &progress).await.unwrap();
    assert_eq!(checkout.commit.sha, h.feature);
    assert_eq!(read(checkout.worktree(), "feature.txt"), "new");

    let pinned = GitSource { commit: Some(h.first.clone()), ..GitSource::new(url) };
    let old = fetcher.fetch(&pinned, &progress).await.unwrap();
    assert_eq!(old.commit.sha, h.first);
    assert_eq!(old.commit.message, "First version");
    assert_eq!(read(old.worktree(), "app.txt"), "v1");
    // An abbreviated id works once the commit is in the mirror.
    let short = GitSource { commit: Some(h.first[..10].to_uppercase()), ..GitSource::new(url) };
    assert_eq!(fetcher.fetch(&short, &progress).await.unwrap().commit.sha, h.first);

    let missing = GitSource { branch: Some("does-not-exist".into()), ..GitSource::new(url) };
    match fetcher.fetch(&missing, &progress).await {
        Err(e @ BuildError::UnknownBranch { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("`does-not-exist`") && msg.contains(url), "{msg}");
        }
        other => panic!("expected an unknown branch, got {other:?}"),
    }
    let ghost = "0123456789abcdef0123456789abcdef01234567";
    let unknown = GitSource { commit: Some(ghost.into()), ..GitSource::new(url) };
    match fetcher.fetch(&unknown, &progress).await {
        Err(e @ BuildError::UnknownCommit { .. }) => assert!(e.to_string().contains(ghost), "{e}"),
        other => panic!("expected an unknown commit, got {other:?}"),
    }

    // A new commit after the first fetch: the mirror is updated, and the old
    // checkout is unaffected.
    let third = h.repo.commit("Third version", &[("app.txt", b"v3")]);
    let updated = fetcher.fetch(&GitSource::new(url), &progress).await.unwrap();
    assert_eq!(updated.commit.sha, third);
    assert_eq!(read(updated.worktree(), "app.txt"), "v3");
    assert_eq!(read(tip.worktree(), "app.txt"), "v2");
    // Undo, so that the scenario can run again over another transport.
    git(&h.repo.dir, &["reset", "--quiet", "--hard", &h.second]);
}

#[tokio::test]
async fn fetches_over_file_urls() {
    let base = tempfile::tempdir().unwrap();
    let h = history(base.path());
    exercise(&h.repo.file_url(), &h).await;
}

#[tokio::test]
async fn fetches_over_git_daemon() {
    let base = tempfile::tempdir().unwrap();
    let h = history(base.path());
    let daemon = GitDaemon::start(base.path());
    exercise(&daemon.url(&h.repo), &h).await;
}

#[tokio::test]
async fn unreachable_repositories_say_what_git_said() {
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(cache.path());
    let quiet = |_: &str| {};

    let gone = GitSource::new("file:///nonexistent/repository");
    match fetcher.fetch(&gone, &quiet).await {
        Err(e @ BuildError::Unreachable { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("file:///nonexistent/repository")
                    && msg.contains("does not appear to be a git repository"),
                "{msg}"
            );
        }
        other => panic!("expected unreachable, got {other:?}"),
    }

    let closed =
        GitSource { branch: Some("main".into()), ..GitSource::new(format!("git://127.0.0.1:{}/x", free_port())) };
    match fetcher.fetch(&closed, &quiet).await {
        Err(e @ BuildError::Unreachable { .. }) => assert!(e.to_string().contains("unable to connect"), "{e}"),
        other => panic!("expected unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn an_empty_repository_has_no_default_branch() {
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "empty");
    let cache = tempfile::tempdir().unwrap();
    let err = Fetcher::new(cache.path()).fetch(&GitSource::new(repo.file_url()), &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("has no default branch"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fetches_of_one_repository_share_the_mirror() {
    let base = tempfile::tempdir().unwrap();
    let h = history(base.path());
    let daemon = GitDaemon::start(base.path());
    let url = daemon.url(&h.repo);
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(cache.path());
    let sources = [
        GitSource::new(&url),
        GitSource { branch: Some("feature".into()), ..GitSource::new(&url) },
        GitSource { commit: Some(h.first.clone()), ..GitSource::new(&url) },
        GitSource::new(&url),
        GitSource { branch: Some("main".into()), ..GitSource::new(&url) },
    ];
    let tasks: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let fetcher = fetcher.clone();
            tokio::spawn(async move {
                let quiet = |_: &str| {};
                fetcher.fetch(&source, &quiet).await.map(|c| c.commit.sha)
            })
        })
        .collect();
    let mut shas = Vec::new();
    for task in tasks {
        shas.push(task.await.unwrap().unwrap());
    }
    assert_eq!(shas, [&h.second, &h.feature, &h.first, &h.second, &h.second].map(String::as_str));
    git(&fetcher.mirror_path(&url), &["fsck", "--no-progress"]);
}

#[tokio::test]
async fn checkouts_are_removed_and_keep_export_ignored_files() {
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "attrs");
    repo.commit(
        "attributes for release tarballs",
        &[
            (".gitattributes", b"secret.txt export-ignore\nversion.txt export-subst\n"),
            ("secret.txt", b"s"),
            ("version.txt", b"$Format:%H$"),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(cache.path());
    let checkout = fetcher.fetch(&GitSource::new(repo.file_url()), &|_| {}).await.unwrap();
    let dir = checkout.worktree().to_path_buf();
    assert_eq!(read(&dir, "secret.txt"), "s");
    assert_eq!(read(&dir, "version.txt"), "$Format:%H$");
    checkout.cleanup().await.unwrap();
    assert!(!dir.exists());

    let dropped = fetcher.fetch(&GitSource::new(repo.file_url()), &|_| {}).await.unwrap();
    let dir = dropped.worktree().to_path_buf();
    drop(dropped);
    assert!(!dir.exists());
}

#[tokio::test]
async fn monorepo_contexts_hold_one_service_each() {
    let base = tempfile::tempdir().unwrap();
    let repo = Repo::init(base.path(), "mono");
    repo.commit(
        "two services",
        &[
            ("README.md", b"monorepo"),
            ("services/a/Dockerfile", b"FROM scratch\nCOPY a.txt /\n"),
            ("services/a/a.txt", b"a"),
            ("services/a/.dockerignore", b"*.log\n"),
            ("services/a/debug.log", b"noise"),
            ("services/b/Dockerfile", b"FROM scratch\nCOPY b.txt /\n"),
            ("services/b/b.txt", b"b"),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let checkout = Fetcher::new(cache.path()).fetch(&GitSource::new(repo.file_url()), &|_| {}).await.unwrap();
    let names = |tar: Vec<u8>| -> Vec<String> {
        tar::Archive::new(tar.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    let a = build_context(checkout.worktree(), "/services/a", "Dockerfile").unwrap();
    assert_eq!(names(a.clone()), [".dockerignore", "Dockerfile", "a.txt"]);
    assert_eq!(
        names(build_context(checkout.worktree(), "/services/b", "Dockerfile").unwrap()),
        ["Dockerfile", "b.txt"]
    );
    // The same commit packs to the same bytes from another checkout.
    let cache2 = tempfile::tempdir().unwrap();
    let again = Fetcher::new(cache2.path()).fetch(&GitSource::new(repo.file_url()), &|_| {}).await.unwrap();
    assert_eq!(a, build_context(again.worktree(), "/services/a", "Dockerfile").unwrap());
}

#[tokio::test]
async fn a_silent_server_is_given_up_on_after_the_timeout() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::with_timeout(cache.path(), std::time::Duration::from_secs(1));
    let source = GitSource { branch: Some("main".into()), ..GitSource::new(format!("git://127.0.0.1:{port}/repo")) };
    let started = std::time::Instant::now();
    match fetcher.fetch(&source, &|_| {}).await {
        Err(e @ BuildError::GitTimeout { .. }) => assert!(e.to_string().contains("did not finish within 1s"), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
