//! Images: inspect, pull, build from an in-memory tar context, import a root
//! file system tarball, tag, push.
//!
//! Podman's compat API stores an unqualified name `x:1` as `docker.io/x:1`
//! (and `docker.io/library/x:1` on pull), while Docker stores `x:1`. Callers
//! should use fully qualified references (`localhost/slipway/app:abc`,
//! `registry.internal:5000/app:abc`); lookups of unqualified ones try the
//! spellings either engine may have stored.
//!
//! An import is a build, not `POST /images/create?fromSrc=-`: Podman 4.3's
//! compat import ignores the `tag` parameter and reads bollard's
//! newline-joined `changes` as one shell-form `CMD`, and Docker's refuses
//! `STOPSIGNAL`. A build of `FROM scratch`, `ADD <tarball> /` and the changes,
//! with the tarball streamed from disk inside the context, gives the same
//! single-layer image on both engines.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::models::BuildInfo;
use bollard::models::ImageInspect;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, PushImageOptions, TagImageOptions};
use bollard::{body_full, body_try_stream};
use bytes::Bytes;
use futures_util::StreamExt;
use slipway_runtime::{BuildRequest, ImageRef, Labels, Progress, RegistryAuth, Result, RuntimeError};
use tokio::io::AsyncReadExt;

use crate::errors::{self, is_not_found, is_transport};
use crate::{DockerRuntime, EngineKind};

/// A pull fails when the engine reports no progress for this long.
const PULL_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A push fails when the engine reports no progress for this long.
const PUSH_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time allowed to the engine before it starts answering a build, pull or push.
const TRANSFER_REQUEST_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);
/// Lines of build output kept to explain a failure the engine does not name.
const BUILD_TAIL_LINES: usize = 20;
/// The Dockerfile instructions an import may apply to the image's configuration.
const IMPORT_CHANGES: &[&str] =
    &["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];
/// The tarball's name inside an import's build context.
const IMPORTED_TARBALL: &str = "rootfs.tar";
/// How much of the tarball is read at a time while it streams to the engine.
const IMPORT_CHUNK: usize = 1 << 20;
/// The size of a tar block.
const TAR_BLOCK: u64 = 512;

/// A reference split into repository and tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference<'a> {
    /// `registry.internal:5000/team/app`.
    pub repository: &'a str,
    /// `1.2`, or `latest` when the reference names neither tag nor digest.
    pub tag: &'a str,
    /// `sha256:...` when the reference pins a digest.
    pub digest: Option<&'a str>,
}

impl<'a> Reference<'a> {
    pub(crate) fn parse(reference: &'a str) -> Self {
        let (name, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (reference, None),
        };
        // A colon after the last slash separates the tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        match name[last_slash..].rfind(':') {
            Some(i) => Self { repository: &name[..last_slash + i], tag: &name[last_slash + i + 1..], digest },
            None => Self { repository: name, tag: "latest", digest },
        }
    }
}

/// Whether the reference names its registry (`localhost/x`, `host:5000/x`, `quay.io/x`).
pub(crate) fn is_fully_qualified(reference: &str) -> bool {
    match reference.split_once('/') {
        Some((first, _)) => first == "localhost" || first.contains('.') || first.contains(':'),
        None => false,
    }
}

/// The names under which an engine may have stored `reference`.
pub(crate) fn lookup_names(reference: &str) -> Vec<String> {
    let mut names = vec![reference.to_owned()];
    let is_id = reference.starts_with("sha256:") || reference.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_id && !is_fully_qualified(reference) {
        if !reference.contains('/') {
            names.push(format!("docker.io/library/{reference}"));
        }
        names.push(format!("docker.io/{reference}"));
        names.push(format!("localhost/{reference}"));
    }
    names
}

/// Strips Docker Hub's implicit prefixes, so that `docker.io/library/x` and `x` compare equal.
fn canonical_repository(repository: &str) -> &str {
    let repository = repository.strip_prefix("docker.io/").unwrap_or(repository);
    repository.strip_prefix("library/").unwrap_or(repository)
}

/// The `name@sha256:...` entry of `repo_digests` for `repository`.
pub(crate) fn repo_digest_for(repo_digests: &[String], repository: &str) -> Option<String> {
    repo_digests
        .iter()
        .find(|d| {
            d.split_once('@').is_some_and(|(name, _)| canonical_repository(name) == canonical_repository(repository))
        })
        .cloned()
}

/// The digest in a status line: a push's last (`1: digest: sha256:<hex> size: 527`),
/// or a pull's (`Digest: sha256:<hex>`).
pub(crate) fn digest_in_status(status: &str) -> Option<&str> {
    let start = status.find("sha256:")?;
    let hex = &status[start + "sha256:".len()..];
    let len = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
    (len == 64).then(|| &status[start..start + "sha256:".len() + 64])
}

fn credentials(auth: Option<&RegistryAuth>) -> Option<DockerCredentials> {
    auth.map(|a| DockerCredentials {
        username: Some(a.username.clone()),
        password: Some(a.password.clone()),
        serveraddress: Some(a.server.clone()),
        ..Default::default()
    })
}

/// Calls `progress` once per non-empty line of `text`.
fn report_lines(text: &str, progress: Progress<'_>, tail: &mut VecDeque<String>) {
    for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()) {
        progress(line);
        if tail.len() == BUILD_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    }
}

/// The registry digest of `reference` as `name@sha256:...`: the reference
/// itself when it pins one; on Docker, the matching `RepoDigests` entry.
/// Podman's `RepoDigests` pairs every name of an image with every manifest
/// digest it ever had (local ones included), so it identifies nothing there.
pub(crate) fn registry_digest(reference: &str, repo_digests: &[String], kind: EngineKind) -> Option<String> {
    let parsed = Reference::parse(reference);
    if let Some(digest) = parsed.digest {
        return Some(format!("{}@{digest}", parsed.repository));
    }
    match kind {
        EngineKind::Docker => repo_digest_for(repo_digests, parsed.repository),
        EngineKind::Podman => None,
    }
}

fn image_ref(reference: &str, inspect: ImageInspect, kind: EngineKind) -> ImageRef {
    let digest = registry_digest(reference, inspect.repo_digests.as_deref().unwrap_or_default(), kind);
    ImageRef { reference: reference.to_owned(), id: inspect.id.unwrap_or_default(), digest }
}

/// The Dockerfile of an import: the tarball added to an empty image, then
/// `changes`; fails on anything but one allowed instruction per change.
pub(crate) fn import_dockerfile(changes: &[String]) -> Result<String> {
    let mut dockerfile = format!("FROM scratch\nADD {IMPORTED_TARBALL} /\n");
    for change in changes {
        let change = change.trim();
        let instruction = change.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        if change.contains(['\n', '\r']) || !IMPORT_CHANGES.contains(&instruction.as_str()) {
            return Err(RuntimeError::Build(format!(
                "unsupported image change `{change}`: one instruction among {} per change",
                IMPORT_CHANGES.join(", ")
            )));
        }
        dockerfile.push_str(change);
        dockerfile.push('\n');
    }
    Ok(dockerfile)
}

/// The tar header of a regular file at `path` of `size` bytes.
fn tar_header(path: &str, size: u64) -> std::io::Result<[u8; TAR_BLOCK as usize]> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    Ok(*header.as_bytes())
}

/// Zeros that complete a file of `size` bytes to whole tar blocks.
fn tar_padding(size: u64) -> Vec<u8> {
    vec![0; ((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK) as usize]
}

/// The build context of an import as a stream: the Dockerfile, then the
/// tarball read from disk a chunk at a time (it may be hundreds of MB).
async fn import_context(
    tarball: &Path,
    dockerfile: &str,
) -> std::io::Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let file = tokio::fs::File::open(tarball).await?;
    let size = file.metadata().await?.len();
    let mut head = Vec::with_capacity(3 * TAR_BLOCK as usize + dockerfile.len());
    head.extend_from_slice(&tar_header("Dockerfile", dockerfile.len() as u64)?);
    head.extend_from_slice(dockerfile.as_bytes());
    head.extend(tar_padding(dockerfile.len() as u64));
    head.extend_from_slice(&tar_header(IMPORTED_TARBALL, size)?);
    let mut tail = tar_padding(size);
    // The end of the archive: two empty blocks.
    tail.extend_from_slice(&[0; 2 * TAR_BLOCK as usize]);
    let content = futures_util::stream::try_unfold((file, size), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let mut chunk = vec![0; IMPORT_CHUNK.min(usize::try_from(left).unwrap_or(IMPORT_CHUNK))];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            let message = format!("the tarball ended {left} bytes early: it changed while it was read");
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, message));
        }
        chunk.truncate(read);
        Ok(Some((Bytes::from(chunk), (file, left - read as u64))))
    });
    let stream = futures_util::stream::once(async { Ok(Bytes::from(head)) })
        .chain(content)
        .chain(futures_util::stream::once(async { Ok(Bytes::from(tail)) }));
    Ok(stream)
}

impl DockerRuntime {
    /// The engine's description of the image with this reference or id, if present.
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageInspect>> {
        for name in lookup_names(reference) {
            match self.docker.inspect_image(&name).await {
                Ok(inspect) => return Ok(Some(inspect)),
                Err(e) if is_not_found(&e) => continue,
                // Podman answers 500 for some malformed names instead of 404.
                Err(e) if errors::status(&e) == Some(500) && name != reference => continue,
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(None)
    }

    pub(crate) async fn image_impl(&self, reference: &str) -> Result<Option<ImageRef>> {
        Ok(self.inspect_image(reference).await?.map(|inspect| image_ref(reference, inspect, self.kind)))
    }

    pub(crate) async fn image_labels_impl(&self, reference: &str) -> Result<Option<Labels>> {
        let inspect = self.inspect_image(reference).await?;
        Ok(inspect.map(|i| i.config.and_then(|c| c.labels).unwrap_or_default().into_iter().collect()))
    }

    pub(crate) async fn pull_impl(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
        progress: Progress<'_>,
    ) -> Result<ImageRef> {
        let parsed = Reference::parse(reference);
        let options = CreateImageOptions {
            from_image: Some(parsed.repository.to_owned()),
            tag: Some(parsed.digest.unwrap_or(parsed.tag).to_owned()),
            ..Default::default()
        };
        let failed = |reason: String| RuntimeError::Pull { reference: reference.to_owned(), reason };
        let client = self.patient(TRANSFER_REQUEST_TIMEOUT);
        let mut stream = client.create_image(Some(options), None, credentials(auth));
        let mut pulled = None;
        loop {
            let next = tokio::time::timeout(PULL_IDLE_TIMEOUT, stream.next()).await.map_err(|_| {
                failed(format!("the engine reported no progress for {} s", PULL_IDLE_TIMEOUT.as_secs()))
            })?;
            match next {
                None => break,
                Some(Ok(info)) => {
                    if let Some(status) = info.status.filter(|s| !s.is_empty()) {
                        // Docker says `Digest: sha256:...`; Podman does not.
                        if let Some(digest) = status.strip_prefix("Digest: ").and_then(digest_in_status) {
                            pulled = Some(format!("{}@{digest}", parsed.repository));
                        }
                        match info.id.filter(|id| !id.is_empty()) {
                            Some(id) => progress(&format!("{id}: {status}")),
                            None => progress(&status),
                        }
                    }
                }
                Some(Err(e)) if is_transport(&e) => return Err(self.error(e)),
                Some(Err(e)) => return Err(failed(errors::message(&e))),
            }
        }
        let mut image = self
            .image_impl(reference)
            .await?
            .ok_or_else(|| failed("the engine finished the pull but has no such image".to_owned()))?;
        if parsed.digest.is_none() && pulled.is_some() {
            image.digest = pulled;
        }
        Ok(image)
    }

    pub(crate) async fn build_impl(&self, request: BuildRequest, progress: Progress<'_>) -> Result<ImageRef> {
        let options = BuildImageOptions {
            dockerfile: request.dockerfile.clone(),
            t: Some(request.tag.clone()),
            buildargs: Some(request.build_args.into_iter().collect::<HashMap<_, _>>()),
            labels: Some(request.labels.into_iter().collect::<HashMap<_, _>>()),
            target: request.target.unwrap_or_default(),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let client = self.patient(TRANSFER_REQUEST_TIMEOUT);
        let stream = client.build_image(options, None, Some(body_full(Bytes::from(request.context))));
        self.follow_build(stream, &request.tag, progress).await
    }

    pub(crate) async fn import_image_impl(
        &self,
        tarball: &Path,
        reference: &str,
        changes: &[String],
        progress: Progress<'_>,
    ) -> Result<ImageRef> {
        let dockerfile = import_dockerfile(changes)?;
        let context = import_context(tarball, &dockerfile)
            .await
            .map_err(|e| RuntimeError::Build(format!("cannot read the tarball {}: {e}", tarball.display())))?;
        let options = BuildImageOptions {
            dockerfile: "Dockerfile".to_owned(),
            t: Some(reference.to_owned()),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let client = self.patient(TRANSFER_REQUEST_TIMEOUT);
        let stream = client.build_image(options, None, Some(body_try_stream(context)));
        self.follow_build(stream, reference, progress).await
    }

    /// Follows a build to its end, streaming its output to `progress`;
    /// returns the image tagged `tag`.
    async fn follow_build(
        &self,
        stream: impl futures_util::Stream<Item = std::result::Result<BuildInfo, bollard::errors::Error>>,
        tag: &str,
        progress: Progress<'_>,
    ) -> Result<ImageRef> {
        let mut stream = std::pin::pin!(stream);
        let mut tail = VecDeque::new();
        let mut built_id = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = &info.stream {
                        report_lines(text, progress, &mut tail);
                    }
                    if let Some(status) = &info.status {
                        report_lines(status, progress, &mut tail);
                    }
                    if let Some(id) = info.aux.and_then(|aux| aux.id) {
                        built_id = Some(id);
                    }
                }
                Err(e) if is_transport(&e) => return Err(self.error(e)),
                Err(e) => {
                    let message = errors::message(&e);
                    report_lines(&message, progress, &mut tail);
                    return Err(RuntimeError::Build(message));
                }
            }
        }
        match self.image_impl(tag).await? {
            Some(image) => Ok(image),
            None => {
                let last = Vec::from(tail).join("\n");
                let id = built_id.map(|id| format!(" (last image {id})")).unwrap_or_default();
                Err(RuntimeError::Build(format!("the engine produced no image tagged {tag}{id}: {last}")))
            }
        }
    }

    pub(crate) async fn tag_impl(&self, image: &str, reference: &str) -> Result<()> {
        let source = self.image_impl(image).await?.ok_or_else(|| RuntimeError::NotFound(format!("image {image}")))?;
        let target = Reference::parse(reference);
        let options = TagImageOptions { repo: Some(target.repository.to_owned()), tag: Some(target.tag.to_owned()) };
        self.docker.tag_image(&source.id, Some(options)).await.map_err(|e| self.error(e))
    }

    pub(crate) async fn remove_image_impl(&self, reference: &str) -> Result<()> {
        // `noprune`: the image's untagged parents are build-cache layers, which a build running now may
        // have just chosen to reuse; pruning them with the image would fail that build mid-step.
        let options = bollard::query_parameters::RemoveImageOptions { noprune: true, ..Default::default() };
        match self.docker.remove_image(reference, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(crate) async fn push_impl(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
        progress: Progress<'_>,
    ) -> Result<String> {
        let parsed = Reference::parse(reference);
        let failed = |reason: String| RuntimeError::Push { reference: reference.to_owned(), reason };
        let options = PushImageOptions { tag: Some(parsed.tag.to_owned()), ..Default::default() };
        let client = self.patient(TRANSFER_REQUEST_TIMEOUT);
        let mut stream = client.push_image(parsed.repository, Some(options), credentials(auth));
        let mut pushed = None;
        loop {
            let next = tokio::time::timeout(PUSH_IDLE_TIMEOUT, stream.next()).await.map_err(|_| {
                failed(format!("the engine reported no progress for {} s", PUSH_IDLE_TIMEOUT.as_secs()))
            })?;
            match next {
                None => break,
                Some(Ok(info)) => {
                    if let Some(status) = info.status.filter(|s| !s.is_empty()) {
                        if let Some(digest) = status.split_once("digest: ").and_then(|(_, d)| digest_in_status(d)) {
                            pushed = Some(digest.to_owned());
                        }
                        progress(&status);
                    }
                }
                Some(Err(e)) if is_transport(&e) => return Err(self.error(e)),
                Some(Err(e)) if is_not_found(&e) => {
                    return Err(failed(format!("no such image on the engine: {}", errors::message(&e))));
                }
                Some(Err(e)) => return Err(failed(errors::message(&e))),
            }
        }
        if let Some(digest) = pushed {
            return Ok(format!("{}@{digest}", parsed.repository));
        }
        // Docker records the pushed digest on the image; Podman always prints it.
        let image = self.image_impl(reference).await?;
        image.and_then(|i| i.digest).ok_or_else(|| failed("the engine did not report the pushed digest".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split() {
        let r = Reference::parse("registry.internal:5000/team/app:1.2");
        assert_eq!((r.repository, r.tag, r.digest), ("registry.internal:5000/team/app", "1.2", None));
        let r = Reference::parse("registry.internal:5000/app");
        assert_eq!((r.repository, r.tag), ("registry.internal:5000/app", "latest"));
        let r = Reference::parse("busybox");
        assert_eq!((r.repository, r.tag), ("busybox", "latest"));
        let r = Reference::parse("localhost/app@sha256:abc");
        assert_eq!((r.repository, r.tag, r.digest), ("localhost/app", "latest", Some("sha256:abc")));
        let r = Reference::parse("h:5000/app:v1@sha256:abc");
        assert_eq!((r.repository, r.tag, r.digest), ("h:5000/app", "v1", Some("sha256:abc")));
    }

    #[test]
    fn qualification_and_lookup_names() {
        assert!(is_fully_qualified("localhost/slipway/app:1"));
        assert!(is_fully_qualified("127.0.0.1:5000/app:1"));
        assert!(is_fully_qualified("quay.io/team/app"));
        assert!(!is_fully_qualified("team/app:1"));
        assert!(!is_fully_qualified("app:1"));
        assert_eq!(lookup_names("localhost/a:1"), ["localhost/a:1"]);
        assert_eq!(lookup_names("app:1"), ["app:1", "docker.io/library/app:1", "docker.io/app:1", "localhost/app:1"]);
        assert_eq!(lookup_names("team/app:1"), ["team/app:1", "docker.io/team/app:1", "localhost/team/app:1"]);
        assert_eq!(lookup_names("sha256:0123"), ["sha256:0123"]);
        assert_eq!(lookup_names("0123abcd"), ["0123abcd"]);
    }

    #[test]
    fn repo_digests_match_by_repository() {
        let digests = vec!["docker.io/library/busybox@sha256:aa".to_owned(), "h:5000/app@sha256:bb".to_owned()];
        assert_eq!(repo_digest_for(&digests, "busybox").as_deref(), Some("docker.io/library/busybox@sha256:aa"));
        assert_eq!(repo_digest_for(&digests, "h:5000/app").as_deref(), Some("h:5000/app@sha256:bb"));
        assert_eq!(repo_digest_for(&digests, "h:5000/other"), None);
    }

    #[test]
    fn registry_digests_per_engine() {
        let digests = vec!["h:5000/app@sha256:bb".to_owned()];
        assert_eq!(
            registry_digest("h:5000/app:1", &digests, EngineKind::Docker).as_deref(),
            Some("h:5000/app@sha256:bb")
        );
        assert_eq!(registry_digest("h:5000/app:1", &digests, EngineKind::Podman), None);
        let pinned = "h:5000/app:1@sha256:cc";
        assert_eq!(registry_digest(pinned, &digests, EngineKind::Podman).as_deref(), Some("h:5000/app@sha256:cc"));
    }

    #[test]
    fn push_status_digest() {
        let hex = "a".repeat(64);
        let status = format!("1: digest: sha256:{hex} size: 527");
        assert_eq!(digest_in_status(&status), Some(format!("sha256:{hex}").as_str()));
        assert_eq!(digest_in_status("Pushing 1.2MB"), None);
        assert_eq!(digest_in_status("digest: sha256:abc size: 1"), None);
    }

    #[test]
    fn import_changes_become_the_dockerfile() {
        let changes = ["CMD [\"postgres\"]".to_owned(), " env A=1 ".to_owned(), "LABEL a.b/c=d".to_owned()];
        assert_eq!(
            import_dockerfile(&changes).unwrap(),
            "FROM scratch\nADD rootfs.tar /\nCMD [\"postgres\"]\nenv A=1\nLABEL a.b/c=d\n"
        );
        for bad in ["RUN rm -rf /", "COPY x /", "ENV A=1\nRUN true", "FROM busybox", ""] {
            let error = import_dockerfile(&[bad.to_owned()]).expect_err(bad);
            assert!(matches!(error, RuntimeError::Build(ref m) if m.contains("unsupported image change")), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_import_context_is_a_tar_archive_of_the_dockerfile_and_the_tarball() {
        let path = std::env::temp_dir().join(format!("slipway-import-context-{}.tar", std::process::id()));
        let content: Vec<u8> = (0..3 * IMPORT_CHUNK + 77).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let stream = import_context(&path, "FROM scratch\n").await.unwrap();
        let chunks: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
        std::fs::remove_file(&path).unwrap();
        let archive: Vec<u8> = chunks.concat();
        assert_eq!(archive.len() % TAR_BLOCK as usize, 0);
        let mut entries = Vec::new();
        for entry in tar::Archive::new(archive.as_slice()).entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            entries.push((name, data));
        }
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], ("Dockerfile".to_owned(), b"FROM scratch\n".to_vec()));
        assert_eq!(entries[1].0, IMPORTED_TARBALL);
        assert!(entries[1].1 == content, "the tarball comes through unchanged");
    }

    #[test]
    fn output_lines_are_reported_one_by_one() {
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |line: &str| seen.lock().unwrap().push(line.to_owned());
        let mut tail = VecDeque::new();
        report_lines("Step 1/2 : FROM scratch\n ---> \r\n\nStep 2/2", &progress, &mut tail);
        assert_eq!(*seen.lock().unwrap(), ["Step 1/2 : FROM scratch", " ---> ", "Step 2/2"]);
        assert_eq!(tail.len(), 3);
    }
}
