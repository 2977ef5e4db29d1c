//! Real git repositories and a real `git daemon`, made by the tests.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs git in `dir` and returns its trimmed standard output; panics with
/// git's message on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .stdin(Stdio::null())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository on disk that tests commit to, under a directory that may hold
/// several repositories (the base path of a `git daemon`).
#[derive(Debug)]
pub struct Repo {
    pub dir: PathBuf,
    pub name: String,
}

impl Repo {
    /// A new repository `name` under `base`, on branch `main`.
    pub fn init(base: &Path, name: &str) -> Self {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet", "--initial-branch=main"]);
        Self { dir, name: name.to_owned() }
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// Writes files (path, content) and commits them; returns the commit id.
    pub fn commit(&self, message: &str, files: &[(&str, &[u8])]) -> String {
        for (path, content) in files {
            let path = self.dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
        git(&self.dir, &["add", "--all"]);
        git(&self.dir, &["commit", "--quiet", "--allow-empty", "-m", message]);
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// Writes an executable file, to be committed by the next [`Repo::commit`].
    pub fn write_executable(&self, path: &str, content: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    pub fn checkout(&self, branch: &str, create: bool) {
        if create {
            git(&self.dir, &["checkout", "--quiet", "-b", branch]);
        } else {
            git(&self.dir, &["checkout", "--quiet", branch]);
        }
    }
}

/// A `git daemon` serving every repository under a directory over git://
/// on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    pub fn start(base: &Path) -> Self {
        let port = free_port();
        // `git daemon` runs `git-daemon` as a child; start the latter directly
        // so that killing it stops the server.
        let exec_path = git(base, &["--exec-path"]);
        let child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .arg("--export-all")
            .arg(format!("--base-path={}", base.display()))
            .arg(format!("--port={port}"))
            .arg("--listen=127.0.0.1")
            .arg("--reuseaddr")
            .arg("--informative-errors")
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let daemon = Self { child, port };
        wait_for_port(port);
        daemon
    }

    pub fn url(&self, repo: &Repo) -> String {
        format!("git://127.0.0.1:{}/{}", self.port, repo.name)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Collects progress lines.
#[derive(Debug, Default)]
pub struct Lines(Mutex<Vec<String>>);

impl Lines {
    pub fn push(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}
