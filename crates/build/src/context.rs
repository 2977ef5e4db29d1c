//! The build context: the directory `root_path` of a checkout, packed as a
//! deterministic tar, minus `.git` and what its `.dockerignore` excludes.
//!
//! `.dockerignore` follows Docker's rules rather than gitignore's: every
//! pattern is anchored at the context root (`*.md` matches `README.md` but not
//! `docs/x.md`; write `**/*.md` for any depth), `dir/` is the same as `dir`,
//! a pattern that matches a directory excludes everything below it, and the
//! last pattern that matches a path or one of its parent directories decides
//! (`!` re-includes). Globs are matched by `globset` with `*` and `?` not
//! crossing `/`. The Dockerfile and `.dockerignore` are always sent, as the
//! Docker CLI does. One known difference from Docker: `{a,b}` is an
//! alternation here, a literal in Docker.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::cache_key::normalize_root;
use crate::error::{BuildError, Result};

/// Modification time of every entry in a context archive: fixed so that the
/// same tree gives the same bytes, and after 1980 because some tools (zip
/// writers) refuse older timestamps. 2000-01-01T00:00:00Z.
pub const CONTEXT_MTIME: u64 = 946_684_800;

/// The Dockerfile name used when the plan names none.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";

/// Where the Dockerfile of a build comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dockerfile {
    /// A file of the repository, relative to `root_path`.
    InRepository(String),
    /// Given inline (a job's `dockerfile_raw`); it is written into the
    /// context at `path` (relative to `root_path`), replacing any file there.
    Inline {
        /// Where it goes in the context.
        path: String,
        /// Its content.
        content: String,
    },
}

/// A resolved build context: the directory to pack and the Dockerfile to use.
#[derive(Debug, Clone)]
pub struct BuildContext {
    dir: PathBuf,
    root_path: String,
    dockerfile_path: String,
    dockerfile: Vec<u8>,
}

impl BuildContext {
    /// Resolves `root_path` (a directory of the checkout; `/` is the whole
    /// repository) and the Dockerfile inside it. Refuses paths that leave the
    /// checkout, through `..` or through a symbolic link, and a Dockerfile that
    /// does not exist.
    pub fn resolve(worktree: &Path, root_path: &str, dockerfile: &Dockerfile) -> Result<Self> {
        let checkout = worktree.canonicalize().map_err(BuildError::io("cannot open the checkout", worktree))?;
        let root = normalize_root(root_path);
        refuse_parent_components("root_path", root_path)?;
        let dir = if root.is_empty() {
            checkout.clone()
        } else {
            let dir = checkout.join(&root).canonicalize().map_err(|_| {
                BuildError::Context(format!(
                    "root_path `{root_path}`: directory `{root}` does not exist in the repository; \
                     set root_path to the directory that holds the application"
                ))
            })?;
            if !dir.starts_with(&checkout) {
                return Err(BuildError::Context(format!(
                    "root_path `{root_path}` leads outside the repository (through a symbolic link); \
                     set it to a directory of the repository"
                )));
            }
            if !dir.is_dir() {
                return Err(BuildError::Context(format!("root_path `{root_path}` is a file, not a directory")));
            }
            dir
        };

        let (rel, content) = match dockerfile {
            Dockerfile::InRepository(path) => {
                let rel = normalize_dockerfile_path(path)?;
                let shown = shown_path(&root, &rel);
                let not_found = || {
                    BuildError::Context(format!(
                        "Dockerfile `{shown}` not found in the repository; set dockerfile_path to the \
                         Dockerfile's path relative to root_path `{root_path}`"
                    ))
                };
                let file = dir.join(&rel).canonicalize().map_err(|_| not_found())?;
                if !file.starts_with(&checkout) {
                    return Err(BuildError::Context(format!(
                        "Dockerfile `{shown}` leads outside the repository (through a symbolic link)"
                    )));
                }
                if !file.is_file() {
                    return Err(not_found());
                }
                let content = fs::read(&file).map_err(BuildError::io("cannot read the Dockerfile", &file))?;
                (rel, content)
            }
            Dockerfile::Inline { path, content } => {
                let rel = normalize_dockerfile_path(path)?;
                if dir.join(&rel).is_dir() {
                    return Err(BuildError::Context(format!(
                        "dockerfile_path `{}` is a directory of the repository; choose another path for the \
                         inline Dockerfile",
                        shown_path(&root, &rel)
                    )));
                }
                (rel, content.clone().into_bytes())
            }
        };
        Ok(Self { dir, root_path: root, dockerfile_path: rel, dockerfile: content })
    }

    /// The directory that is packed.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Dockerfile's path inside the context (what the engine is told).
    pub fn dockerfile_path(&self) -> &str {
        &self.dockerfile_path
    }

    /// The Dockerfile's content, exactly as it is packed.
    pub fn dockerfile(&self) -> &[u8] {
        &self.dockerfile
    }

    /// The normalised `root_path` (`""` for the repository root).
    pub fn root_path(&self) -> &str {
        &self.root_path
    }

    /// Packs the context as a tar archive. Entries are sorted, owned by 0:0,
    /// dated [`CONTEXT_MTIME`], with mode 0755 (directories and executables) or
    /// 0644: the same tree always gives the same bytes. The Dockerfile is
    /// written from [`Self::dockerfile`], so what is built is what was keyed.
    pub fn pack(&self) -> Result<Vec<u8>> {
        let ignore = DockerIgnore::load(&self.dir)?;
        let mut entries = BTreeMap::new();
        collect(&self.dir, "", &ignore, &self.dockerfile_path, &mut entries)?;
        entries.insert(self.dockerfile_path.clone(), Entry::Inline(self.dockerfile.clone()));
        add_missing_parents(&mut entries);
        write_tar(&self.dir, entries)
    }
}

/// Packs directory `root_path` of a checkout with the repository's Dockerfile
/// at `dockerfile` (relative to `root_path`): see [`BuildContext::pack`].
pub fn build_context(worktree: &Path, root_path: &str, dockerfile: &str) -> Result<Vec<u8>> {
    BuildContext::resolve(worktree, root_path, &Dockerfile::InRepository(dockerfile.to_owned()))?.pack()
}

fn refuse_parent_components(field: &str, path: &str) -> Result<()> {
    if path.split('/').any(|c| c == "..") {
        return Err(BuildError::Context(format!(
            "{field} `{path}` must stay inside the repository: `..` is not allowed"
        )));
    }
    Ok(())
}

fn normalize_dockerfile_path(path: &str) -> Result<String> {
    refuse_parent_components("dockerfile_path", path)?;
    let rel = normalize_root(path);
    if rel.is_empty() {
        return Ok(DEFAULT_DOCKERFILE.to_owned());
    }
    if rel.chars().any(char::is_control) {
        return Err(BuildError::Context(format!("dockerfile_path `{path}` contains control characters")));
    }
    Ok(rel)
}

fn shown_path(root: &str, rel: &str) -> String {
    if root.is_empty() { rel.to_owned() } else { format!("{root}/{rel}") }
}

/// One archive entry, keyed by its path inside the context.
#[derive(Debug)]
enum Entry {
    Dir,
    File { executable: bool },
    Symlink(PathBuf),
    Inline(Vec<u8>),
}

/// The exclusion rules of a `.dockerignore`.
#[derive(Debug, Default)]
pub(crate) struct DockerIgnore {
    set: GlobSet,
    /// For each pattern (same index as in `set`): is it a `!` re-inclusion?
    negated: Vec<bool>,
    /// The re-inclusion patterns' text, to decide whether an excluded
    /// directory must still be walked (Docker's rule: a `!` pattern that starts
    /// with the directory's path).
    negations: Vec<String>,
}

impl DockerIgnore {
    fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(".dockerignore");
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {
                let text = fs::read(&path).map_err(BuildError::io("cannot read .dockerignore", &path))?;
                Self::parse(&String::from_utf8_lossy(&text))
            }
            _ => Ok(Self::default()),
        }
    }

    /// Parses the file as the Docker CLI does: `#` comments, surrounding
    /// spaces trimmed, paths cleaned (`./a/`, `/a` and `a` are the same).
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut set = GlobSetBuilder::new();
        let mut ignore = Self::default();
        for (number, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            let (negated, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            let glob =
                GlobBuilder::new(&pattern).literal_separator(true).backslash_escape(true).build().map_err(|e| {
                    BuildError::Context(format!(".dockerignore line {}: invalid pattern `{line}`: {e}", number + 1))
                })?;
            set.add(glob);
            ignore.negated.push(negated);
            if negated {
                ignore.negations.push(pattern);
            }
        }
        ignore.set = set.build().map_err(|e| BuildError::Context(format!(".dockerignore: {e}")))?;
        Ok(ignore)
    }

    /// Whether `path` (relative, `/`-separated) is excluded: the last pattern
    /// that matches it or one of its parent directories decides.
    pub(crate) fn excluded(&self, path: &str) -> bool {
        if self.negated.is_empty() {
            return false;
        }
        let mut last: Option<usize> = None;
        let mut end = 0;
        loop {
            let next = path[end..].find('/').map(|i| end + i);
            let prefix = &path[..next.unwrap_or(path.len())];
            if let Some(&max) = self.set.matches(prefix).iter().max() {
                last = last.max(Some(max));
            }
            match next {
                Some(i) => end = i + 1,
                None => break,
            }
        }
        last.is_some_and(|i| !self.negated[i])
    }

    /// Whether an excluded directory must still be walked because a `!`
    /// pattern may re-include something below it.
    fn may_reinclude_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.negations.iter().any(|p| format!("{p}/").starts_with(&dir_slash))
    }
}

/// Go's `filepath.Clean` on a relative, `/`-separated pattern, with the
/// leading `/` dropped: `./a//b/` is `a/b`, `a/../b` is `b`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !pattern.starts_with('/') {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn collect(
    dir: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    dockerfile: &str,
    out: &mut BTreeMap<String, Entry>,
) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(BuildError::io("cannot read directory", dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(BuildError::io("cannot read directory", dir))?;
    names.sort();
    for name in names {
        if name == ".git" {
            continue;
        }
        let Some(name_str) = name.to_str() else {
            return Err(BuildError::Context(format!(
                "file name `{}` in `{prefix}` is not valid UTF-8; rename it",
                name.to_string_lossy()
            )));
        };
        let rel = if prefix.is_empty() { name_str.to_owned() } else { format!("{prefix}/{name_str}") };
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(BuildError::io("cannot read file metadata", &path))?;
        let always_sent = rel == dockerfile || rel == ".dockerignore";
        let excluded = !always_sent && ignore.excluded(&rel);
        if meta.is_dir() {
            if !excluded {
                out.insert(rel.clone(), Entry::Dir);
            }
            let dockerfile_below = dockerfile.starts_with(&format!("{rel}/"));
            if !excluded || dockerfile_below || ignore.may_reinclude_below(&rel) {
                collect(&path, &rel, ignore, dockerfile, out)?;
            }
        } else if excluded {
            continue;
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            out.insert(rel, Entry::File { executable: meta.permissions().mode() & 0o111 != 0 });
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(BuildError::io("cannot read symbolic link", &path))?;
            out.insert(rel, Entry::Symlink(target));
        }
        // Sockets, pipes and devices are not part of a build context.
    }
    Ok(())
}

/// Adds directory entries for parents of included paths whose directory was
/// itself excluded (or, for an inline Dockerfile, never existed).
fn add_missing_parents(entries: &mut BTreeMap<String, Entry>) {
    let parents: Vec<String> = entries
        .keys()
        .flat_map(|path| path.match_indices('/').map(move |(i, _)| path[..i].to_owned()))
        .filter(|parent| !entries.contains_key(parent))
        .collect();
    for parent in parents {
        entries.insert(parent, Entry::Dir);
    }
}

fn write_tar(dir: &Path, entries: BTreeMap<String, Entry>) -> Result<Vec<u8>> {
    let tar_err =
        |e: std::io::Error| BuildError::Io { what: "cannot write the build context", path: dir.into(), source: e };
    let mut tar = tar::Builder::new(Vec::new());
    for (rel, entry) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(CONTEXT_MTIME);
        header.set_uid(0);
        header.set_gid(0);
        match entry {
            Entry::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, format!("{rel}/"), std::io::empty()).map_err(tar_err)?;
            }
            Entry::File { executable } => {
                let path = dir.join(&rel);
                let file = fs::File::open(&path).map_err(BuildError::io("cannot read file", &path))?;
                let size = file.metadata().map_err(BuildError::io("cannot read file", &path))?.len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if executable { 0o755 } else { 0o644 });
                header.set_size(size);
                tar.append_data(&mut header, &rel, file.take(size)).map_err(tar_err)?;
            }
            Entry::Inline(content) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(content.len() as u64);
                tar.append_data(&mut header, &rel, content.as_slice()).map_err(tar_err)?;
            }
            Entry::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_link(&mut header, &rel, &target).map_err(tar_err)?;
            }
        }
    }
    tar.into_inner().map_err(tar_err)
}

#[cfg(test)]
mod tests;
