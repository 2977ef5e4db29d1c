use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Paths in the archive, with `/` after directories, in archive order.
fn listing(tar_bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            path.trim_end_matches('/').to_owned() + if e.header().entry_type().is_dir() { "/" } else { "" }
        })
        .collect()
}

fn content_of(tar_bytes: &[u8], wanted: &str) -> Option<String> {
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == wanted {
            let mut s = String::new();
            entry.read_to_string(&mut s).unwrap();
            return Some(s);
        }
    }
    None
}

fn ignore(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap()
}

#[test]
fn dockerignore_plain_names_are_anchored_at_the_root() {
    let i = ignore("secret.txt\nbuild\n");
    assert!(i.excluded("secret.txt"));
    assert!(!i.excluded("sub/secret.txt"), "unlike gitignore, a name matches at the root only");
    assert!(i.excluded("build"));
    assert!(i.excluded("build/out/a.o"), "a matched directory excludes everything below it");
    assert!(!i.excluded("builder"));
}

#[test]
fn dockerignore_directory_slash_stars_and_double_stars() {
    let i = ignore("node_modules/\n*.log\n**/*.tmp\n**/cache\ndocs/*.md\n");
    assert!(i.excluded("node_modules"));
    assert!(i.excluded("node_modules/x/index.js"));
    assert!(i.excluded("debug.log"));
    assert!(!i.excluded("logs/debug.log"), "`*` does not cross `/`");
    assert!(i.excluded("a.tmp"));
    assert!(i.excluded("deep/er/a.tmp"));
    assert!(i.excluded("cache/x"));
    assert!(i.excluded("src/cache/x"));
    assert!(i.excluded("docs/readme.md"));
    assert!(!i.excluded("docs/sub/readme.md"));
    assert!(!i.excluded("src/main.rs"));
}

#[test]
fn dockerignore_negation_comments_and_cleaning() {
    let i = ignore("# a comment\n\n  *.md  \n!README.md\n/./tmp/\n! keep.md\nlogs\n!logs/important.log\n");
    assert!(i.excluded("notes.md"));
    assert!(!i.excluded("README.md"));
    assert!(!i.excluded("keep.md"), "`! name` is trimmed like Docker does");
    assert!(i.excluded("tmp/x"), "leading `/` and `./` are cleaned away");
    assert!(!i.excluded("# a comment"));
    assert!(i.excluded("logs/other.log"));
    assert!(!i.excluded("logs/important.log"), "a later `!` re-includes inside an excluded directory");
    // Order matters: the last matching pattern wins.
    let j = ignore("!README.md\n*.md\n");
    assert!(j.excluded("README.md"));
}

#[test]
fn dockerignore_reports_bad_patterns_with_their_line() {
    let err = DockerIgnore::parse("ok\n[unclosed\n").unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("[unclosed"), "{err}");
}

#[test]
fn pack_applies_dockerignore_excludes_git_and_keeps_build_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Dockerfile", "FROM scratch\n");
    write(root, ".dockerignore", "*.log\nnode_modules\nDockerfile\n.dockerignore\nlogs\n!logs/keep.log\n");
    write(root, "app/main.rs", "fn main() {}\n");
    write(root, "debug.log", "x");
    write(root, "app/debug.log", "kept: *.log is anchored");
    write(root, "node_modules/a/index.js", "x");
    write(root, "logs/drop.log", "x");
    write(root, "logs/keep.log", "x");
    write(root, ".git/HEAD", "ref: refs/heads/main\n");
    write(root, "vendor/.git", "gitdir: ../.git/modules/vendor\n");
    fs::create_dir_all(root.join("empty")).unwrap();

    let tar = build_context(root, "/", "Dockerfile").unwrap();
    assert_eq!(
        listing(&tar),
        [
            ".dockerignore",
            "Dockerfile",
            "app/",
            "app/debug.log",
            "app/main.rs",
            "empty/",
            "logs/",
            "logs/keep.log",
            "vendor/",
        ]
    );
    assert_eq!(content_of(&tar, "Dockerfile").as_deref(), Some("FROM scratch\n"));
}

#[test]
fn pack_is_deterministic_whatever_the_creation_order_times_and_owners() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let files = [("Dockerfile", "FROM scratch\n"), ("z/y.txt", "y"), ("a/b/c.txt", "c"), ("m.txt", "m")];
    for (rel, content) in files {
        write(a.path(), rel, content);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for (rel, content) in files.iter().rev() {
        write(b.path(), rel, content);
    }
    let first = build_context(a.path(), "/", "Dockerfile").unwrap();
    assert_eq!(first, build_context(a.path(), "/", "Dockerfile").unwrap());
    assert_eq!(first, build_context(b.path(), "/", "Dockerfile").unwrap());

    let mut archive = tar::Archive::new(first.as_slice());
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!(h.mtime().unwrap(), CONTEXT_MTIME);
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
    }
}

#[test]
fn pack_keeps_executable_bits_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Dockerfile", "FROM scratch\n");
    write(root, "run.sh", "#!/bin/sh\n");
    fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
    symlink("run.sh", root.join("start")).unwrap();
    let tar = build_context(root, "/", "Dockerfile").unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let modes: BTreeMap<String, (u32, tar::EntryType)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().to_string_lossy().into_owned(), (e.header().mode().unwrap(), e.header().entry_type()))
        })
        .collect();
    assert_eq!(modes["run.sh"], (0o755, tar::EntryType::Regular));
    assert_eq!(modes["Dockerfile"], (0o644, tar::EntryType::Regular));
    assert_eq!(modes["start"].1, tar::EntryType::Symlink);
}

#[test]
fn root_path_selects_a_sub_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "services/a/Dockerfile", "FROM scratch AS a\n");
    write(root, "services/a/a.txt", "a");
    write(root, "services/b/Dockerfile", "FROM scratch AS b\n");
    write(root, "README.md", "top");
    for spelling in ["/services/a", "services/a/", "/services//a/"] {
        let tar = build_context(root, spelling, "Dockerfile").unwrap();
        assert_eq!(listing(&tar), ["Dockerfile", "a.txt"], "{spelling}");
    }
    let ctx = BuildContext::resolve(root, "/services/b", &Dockerfile::InRepository("/Dockerfile".into())).unwrap();
    assert_eq!(ctx.dockerfile(), b"FROM scratch AS b\n");
    assert_eq!(ctx.root_path(), "services/b");
}

#[test]
fn inline_dockerfile_replaces_the_repository_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Dockerfile", "FROM scratch AS repo\n");
    write(root, ".dockerignore", "docker\n");
    let inline = Dockerfile::Inline { path: "docker/Dockerfile".into(), content: "FROM scratch AS inline\n".into() };
    let ctx = BuildContext::resolve(root, "/", &inline).unwrap();
    assert_eq!(ctx.dockerfile_path(), "docker/Dockerfile");
    let tar = ctx.pack().unwrap();
    assert_eq!(listing(&tar), [".dockerignore", "Dockerfile", "docker/", "docker/Dockerfile"]);
    assert_eq!(content_of(&tar, "docker/Dockerfile").as_deref(), Some("FROM scratch AS inline\n"));

    let default = Dockerfile::Inline { path: String::new(), content: "FROM scratch AS x\n".into() };
    let tar = BuildContext::resolve(root, "/", &default).unwrap().pack().unwrap();
    assert_eq!(content_of(&tar, "Dockerfile").as_deref(), Some("FROM scratch AS x\n"));
}

#[test]
fn paths_that_escape_the_checkout_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("repo");
    write(&root, "Dockerfile", "FROM scratch\n");
    write(&root, "sub/Dockerfile", "FROM scratch\n");
    write(outer.path(), "outside/Dockerfile", "FROM scratch\n");
    symlink(outer.path().join("outside"), root.join("escape")).unwrap();
    symlink("/etc/passwd", root.join("sub/Dockerfile.evil")).unwrap();

    let err = |root_path: &str, dockerfile: &str| build_context(&root, root_path, dockerfile).unwrap_err().to_string();
    assert!(err("/../outside", "Dockerfile").contains("`..` is not allowed"));
    assert!(err("/sub/../../outside", "Dockerfile").contains("`..` is not allowed"));
    assert!(err("/", "../outside/Dockerfile").contains("`..` is not allowed"));
    assert!(err("/escape", "Dockerfile").contains("outside the repository"));
    assert!(err("/sub", "Dockerfile.evil").contains("outside the repository"));
    let inline = Dockerfile::Inline { path: "../x".into(), content: String::new() };
    assert!(BuildContext::resolve(&root, "/", &inline).is_err());
}

#[test]
fn missing_directories_and_dockerfiles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "services/a/app.txt", "x");
    let e = build_context(root, "/services/a", "Dockerfile").unwrap_err().to_string();
    assert!(e.contains("Dockerfile `services/a/Dockerfile` not found"), "{e}");
    assert!(e.contains("root_path `/services/a`"), "{e}");
    let e = build_context(root, "/services/c", "Dockerfile").unwrap_err().to_string();
    assert!(e.contains("`services/c` does not exist"), "{e}");
    let e = build_context(root, "/services/a/app.txt", "Dockerfile").unwrap_err().to_string();
    assert!(e.contains("is a file, not a directory"), "{e}");
    let e = build_context(root, "/services", "a").unwrap_err().to_string();
    assert!(e.contains("Dockerfile `services/a` not found"), "{e}");
}
