//! The Debian mirror comes from the host's own apt sources, never from this
//! repository: the deb822 files `/etc/apt/sources.list.d/*.sources`, else
//! the one-line `/etc/apt/sources.list`. Only the entries of the wanted
//! suite (and its `-updates`, `-security`... suites) with the `main`
//! component are kept, so third-party repositories of the host (whose
//! components are not `main`) stay out of the images.

use std::path::{Path, PathBuf};

use crate::BuildError;

/// The host's deb822 sources.
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
/// The host's one-line sources.
const SOURCES_LIST: &str = "/etc/apt/sources.list";

/// Apt sources for mmdebstrap: a file's name (its extension tells the format) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AptSources {
    pub file_name: &'static str,
    pub content: String,
}

/// Whether `suite` is `wanted` or one of its companions (`bookworm-updates`).
fn is_suite(suite: &str, wanted: &str) -> bool {
    suite == wanted || suite.strip_prefix(wanted).is_some_and(|rest| rest.starts_with('-'))
}

/// The stanzas of deb822 `text` that serve `suite` from `main`, as deb822,
/// binary packages only, with their other suites left out.
pub(crate) fn select_deb822(text: &str, suite: &str) -> String {
    let mut selected = String::new();
    for fields in stanzas(text) {
        let words = |key: &str| -> Vec<&str> {
            let found = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key));
            found.map(|(_, v)| v.split_whitespace().collect()).unwrap_or_default()
        };
        let suites: Vec<&str> = words("Suites").into_iter().filter(|s| is_suite(s, suite)).collect();
        let enabled = words("Enabled").first().is_none_or(|e| !e.eq_ignore_ascii_case("no"));
        if !enabled || suites.is_empty() || !words("Types").contains(&"deb") || !words("Components").contains(&"main") {
            continue;
        }
        if !selected.is_empty() {
            selected.push('\n');
        }
        for (key, value) in &fields {
            let value = match key.to_ascii_lowercase().as_str() {
                "types" => "deb".to_owned(),
                "suites" => suites.join(" "),
                _ => value.clone(),
            };
            // A value on continuation lines only (an inline key) starts on the next line.
            let gap = if value.is_empty() || value.starts_with('\n') { "" } else { " " };
            selected.push_str(&format!("{key}:{gap}{value}\n"));
        }
    }
    selected
}

/// The stanzas of deb822 `text`: fields with their continuation lines, comments dropped.
fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stanzas = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            if !fields.is_empty() {
                stanzas.push(std::mem::take(&mut fields));
            }
        } else if line.starts_with('#') {
            continue;
        } else if let (Some((_, value)), true) = (fields.last_mut(), line.starts_with([' ', '\t'])) {
            value.push('\n');
            value.push_str(line);
        } else {
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            fields.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !fields.is_empty() {
        stanzas.push(fields);
    }
    stanzas
}

/// The lines of one-line sources `text` that serve `suite` from `main`.
pub(crate) fn select_one_line(text: &str, suite: &str) -> String {
    let mut selected = String::new();
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("deb ") else { continue };
        // Options (`[signed-by=... arch=...]`) may hold spaces.
        let rest = match rest.trim_start().strip_prefix('[') {
            Some(options) => options.split_once(']').map_or("", |(_, after)| after),
            None => rest,
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let [_uri, line_suite, components @ ..] = words.as_slice()
            && is_suite(line_suite, suite)
            && components.contains(&"main")
        {
            selected.push_str(line);
            selected.push('\n');
        }
    }
    selected
}

/// The host's apt sources for `suite`.
pub(crate) fn host_sources(suite: &str) -> Result<AptSources, BuildError> {
    from_files(Path::new(SOURCES_DIR), Path::new(SOURCES_LIST), suite)
}

fn from_files(dir: &Path, list: &Path, suite: &str) -> Result<AptSources, BuildError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sources"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut deb822 = String::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|source| BuildError::Io {
            action: "cannot read",
            path: file.clone(),
            source,
        })?;
        let selected = select_deb822(&text, suite);
        if !selected.is_empty() {
            if !deb822.is_empty() {
                deb822.push('\n');
            }
            deb822.push_str(&selected);
        }
    }
    if !deb822.is_empty() {
        return Ok(AptSources { file_name: "host.sources", content: deb822 });
    }
    let one_line = match std::fs::read_to_string(list) {
        Ok(text) => select_one_line(&text, suite),
        Err(_) => String::new(),
    };
    if !one_line.is_empty() {
        return Ok(AptSources { file_name: "host.list", content: one_line });
    }
    Err(BuildError::NoAptSources { suite: suite.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEB822: &str = "Types: deb deb-src
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates trixie
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 xyz
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: https://vendor.example/linux/debian
Suites: bookworm
Components: stable

Types: deb
Enabled: no
URIs: http://mirror.example/debian
Suites: bookworm-backports
Components: main
";

    #[test]
    fn deb822_keeps_the_suite_from_main() {
        assert_eq!(
            select_deb822(DEB822, "bookworm"),
            "Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 xyz
 -----END PGP PUBLIC KEY BLOCK-----
"
        );
        assert_eq!(select_deb822(DEB822, "bullseye"), "");
        assert_eq!(select_deb822(DEB822, "bookwor"), "", "a prefix is not a suite");
    }

    #[test]
    fn one_line_keeps_the_suite_from_main() {
        let list = "# deb http://mirror.example/debian bookworm main
deb http://mirror.example/debian bookworm main non-free-firmware
deb-src http://mirror.example/debian bookworm main
deb [signed-by=/k.gpg arch=amd64] http://mirror.example/debian-security bookworm-security main
deb [arch=amd64] https://vendor.example/linux/debian bookworm stable
deb http://archive.example/ubuntu jammy main
";
        assert_eq!(
            select_one_line(list, "bookworm"),
            "deb http://mirror.example/debian bookworm main non-free-firmware
deb [signed-by=/k.gpg arch=amd64] http://mirror.example/debian-security bookworm-security main
"
        );
    }

    #[test]
    fn deb822_files_come_first_then_sources_list_then_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("sources.list");
        std::fs::write(&list, "deb http://mirror.example/debian bookworm main\n").unwrap();
        let found = from_files(dir.path(), &list, "bookworm").unwrap();
        assert_eq!(found.file_name, "host.list");
        assert_eq!(found.content, "deb http://mirror.example/debian bookworm main\n");

        std::fs::write(dir.path().join("debian.sources"), DEB822).unwrap();
        std::fs::write(dir.path().join("vendor.list"), "deb http://vendor.example/x bookworm main\n").unwrap();
        let found = from_files(dir.path(), &list, "bookworm").unwrap();
        assert_eq!(found.file_name, "host.sources");
        assert!(found.content.contains("debian-security"), "{}", found.content);

        let error = from_files(dir.path(), &list, "sid").unwrap_err();
        assert!(matches!(error, BuildError::NoAptSources { .. }), "{error:?}");
        assert!(error.to_string().contains("--apt-sources"), "{error}");
    }
}
