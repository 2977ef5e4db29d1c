//! From a build plan to an image: fetch, key, build on a miss, push.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use slipway_model::Uuid;
use slipway_model::service::ApplicationSpec;
use slipway_model::service::job::DockerSource;
use slipway_runtime::{BuildRequest, Labels, Progress, RegistryAuth, Runtime, RuntimeError, label};

use crate::cache_key::cache_key;
use crate::context::{BuildContext, DEFAULT_DOCKERFILE, Dockerfile};
use crate::error::{BuildError, Result};
use crate::git::{Checkout, Commit, Fetcher, GitSource, KeyedLocks};

/// Label keys this crate puts on the images it builds, besides
/// [`label::MANAGED`] and [`label::SERVICE`].
pub mod image_label {
    /// The commit the image was built from.
    pub const COMMIT: &str = "slipway.io/commit";
    /// The build cache key.
    pub const CACHE_KEY: &str = "slipway.io/build-cache-key";
    /// The OCI annotation for the commit.
    pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
    /// The OCI annotation for the repository.
    pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
}

/// How many lines of build output a build error carries.
const BUILD_LOG_TAIL: usize = 30;

/// Where built images are pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTarget {
    /// Registry host and repository prefix: `registry.example.com:5000/slipway`.
    /// Images are named `<prefix>/<service-id>:<tag>`.
    pub host_and_repo_prefix: String,
    /// Credentials, when the registry wants them.
    pub auth: Option<RegistryAuth>,
}

/// Everything a build needs.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// The service the image is for (names the image).
    pub service_id: Uuid,
    /// The repository, branch and commit pin.
    pub source: GitSource,
    /// The directory of the repository to build (monorepos); `/` for all of it.
    pub root_path: String,
    /// The Dockerfile, relative to `root_path`; `Dockerfile` when absent.
    pub dockerfile_path: Option<String>,
    /// A Dockerfile given inline; written into the context at
    /// `dockerfile_path`, replacing any file there.
    pub dockerfile_raw: Option<String>,
    /// The stage to build (`docker_target_build_stage`).
    pub target: Option<String>,
    /// Build arguments.
    pub build_args: BTreeMap<String, String>,
    /// Where to push the result; kept on the engine only when absent.
    pub registry: Option<RegistryTarget>,
}

impl BuildPlan {
    /// The plan for an application, pinned to `commit` when given.
    pub fn for_application(service_id: Uuid, spec: &ApplicationSpec, commit: Option<&str>) -> Self {
        Self {
            service_id,
            source: GitSource::from_repository(&spec.git_repository, commit),
            root_path: spec.git_repository.root_path.clone(),
            dockerfile_path: spec.dockerfile_path.clone(),
            dockerfile_raw: None,
            target: spec.docker_target_build_stage.clone(),
            build_args: BTreeMap::new(),
            registry: None,
        }
    }

    /// The plan for a job built from git, pinned to `commit` when given.
    pub fn for_job(service_id: Uuid, docker: &DockerSource, commit: Option<&str>) -> Self {
        Self {
            service_id,
            source: GitSource::from_repository(&docker.git_repository, commit),
            root_path: docker.git_repository.root_path.clone(),
            dockerfile_path: docker.dockerfile_path.clone(),
            dockerfile_raw: docker.dockerfile_raw.clone(),
            target: docker.docker_target_build_stage.clone(),
            build_args: BTreeMap::new(),
            registry: None,
        }
    }

    fn dockerfile(&self) -> Dockerfile {
        let path = self.dockerfile_path.clone().filter(|p| !p.trim().is_empty());
        match &self.dockerfile_raw {
            Some(content) => Dockerfile::Inline {
                path: path.unwrap_or_else(|| DEFAULT_DOCKERFILE.to_owned()),
                content: content.clone(),
            },
            None => Dockerfile::InRepository(path.unwrap_or_else(|| DEFAULT_DOCKERFILE.to_owned())),
        }
    }

    /// The image reference for a cache key: `localhost/slipway/<service>:<key16>`,
    /// or `<registry prefix>/<service>:<key16>`.
    pub fn image_reference(&self, cache_key: &str) -> Result<String> {
        let tag = &cache_key[..cache_key.len().min(16)];
        match &self.registry {
            None => Ok(format!("localhost/slipway/{}:{tag}", self.service_id)),
            Some(registry) => {
                let prefix = registry.host_and_repo_prefix.trim_end_matches('/');
                slipway_model::validate::image_name("registry", prefix)
                    .map_err(|e| BuildError::Invalid { field: "registry", reason: e.to_string() })?;
                Ok(format!("{prefix}/{}:{tag}", self.service_id))
            }
        }
    }
}

/// An image ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// Its reference (`localhost/slipway/<service>:<key16>` or in the registry).
    pub reference: String,
    /// The engine's image id (`sha256:...`).
    pub image_id: String,
    /// The registry digest, when pushed.
    pub digest: Option<String>,
    /// The commit it was built from.
    pub commit: Commit,
    /// The full build cache key.
    pub cache_key: String,
    /// Whether an image with this key already existed (nothing was built).
    pub cache_hit: bool,
}

/// Builds images from git on a [`Runtime`], skipping builds whose cache key
/// already names an image on the engine.
///
/// Cache: the key is a SHA-256 over the commit, the Dockerfile's bytes, the
/// context directory, the target stage and the build arguments
/// ([`cache_key`]); its first 16 hex digits tag the image. An image with that
/// reference on the engine is a hit and nothing is built. Builds of the same
/// reference are serialised, so two deployments of one commit build once.
///
/// Push: with a registry, every build pushes, hits included. Whether the
/// registry still holds the image cannot be told cheaply from the engine (a
/// local digest only says it was there once), and pushing an image whose
/// layers the registry has costs one existence check per layer.
#[derive(Debug)]
pub struct Builder {
    runtime: Arc<dyn Runtime>,
    fetcher: Fetcher,
    locks: KeyedLocks,
}

impl Builder {
    /// A builder using this engine and this source cache.
    pub fn new(runtime: Arc<dyn Runtime>, fetcher: Fetcher) -> Self {
        Self { runtime, fetcher, locks: KeyedLocks::default() }
    }

    /// Fetches, builds (unless cached) and pushes (when a registry is set) the
    /// plan's image. Every output line goes to `progress`, prefixed with its
    /// stage: `fetch: `, `build: `, `push: `.
    pub async fn build(&self, plan: &BuildPlan, progress: Progress<'_>) -> Result<BuiltImage> {
        let started = Instant::now();
        let checkout = self.fetcher.fetch(&plan.source, progress).await?;
        tracing::info!(service = %plan.service_id, commit = %checkout.commit.sha, elapsed = ?started.elapsed(), "fetched");
        let result = self.build_checkout(plan, &checkout, progress).await;
        let worktree = checkout.worktree().to_path_buf();
        if let Err(e) = checkout.cleanup().await {
            tracing::warn!(path = %worktree.display(), error = %e, "cannot remove a checkout");
        }
        if let Ok(image) = &result {
            tracing::info!(
                service = %plan.service_id,
                reference = %image.reference,
                cache_hit = image.cache_hit,
                elapsed = ?started.elapsed(),
                "image ready"
            );
        }
        result
    }

    async fn build_checkout(
        &self,
        plan: &BuildPlan,
        checkout: &Checkout,
        progress: Progress<'_>,
    ) -> Result<BuiltImage> {
        let commit = checkout.commit.clone();
        let context = {
            let worktree: PathBuf = checkout.worktree().to_path_buf();
            let root_path = plan.root_path.clone();
            let dockerfile = plan.dockerfile();
            blocking(move || BuildContext::resolve(&worktree, &root_path, &dockerfile)).await?
        };
        let key =
            cache_key(&commit.sha, context.dockerfile(), context.root_path(), plan.target.as_deref(), &plan.build_args);
        let reference = plan.image_reference(&key)?;
        let _guard = self.locks.lock(&reference).await;

        let (image, cache_hit) = match self.runtime.image(&reference).await? {
            Some(image) => {
                progress(&format!("build: cache hit, {reference} is already built (key {key})"));
                (image, true)
            }
            None => {
                progress(&format!("build: building {reference} (key {key})"));
                let image = self.build_image(plan, &commit, context, &key, &reference, progress).await?;
                (image, false)
            }
        };

        let mut digest = image.digest.clone();
        if let Some(registry) = &plan.registry {
            let started = Instant::now();
            progress(&format!("push: pushing {reference}"));
            let forward = |line: &str| progress(&format!("push: {line}"));
            let pushed = self.runtime.push(&reference, registry.auth.as_ref(), &forward).await?;
            progress(&format!("push: pushed {reference} ({pushed}) in {:.1}s", started.elapsed().as_secs_f64()));
            digest = Some(pushed);
        }
        Ok(BuiltImage { reference, image_id: image.id, digest, commit, cache_key: key, cache_hit })
    }

    async fn build_image(
        &self,
        plan: &BuildPlan,
        commit: &Commit,
        context: BuildContext,
        key: &str,
        reference: &str,
        progress: Progress<'_>,
    ) -> Result<slipway_runtime::ImageRef> {
        let started = Instant::now();
        let dockerfile = context.dockerfile_path().to_owned();
        let tar = blocking(move || context.pack()).await?;
        progress(&format!("build: context {} KiB, Dockerfile {dockerfile}", tar.len().div_ceil(1024)));

        let mut labels = Labels::new();
        labels.insert(label::MANAGED.into(), "true".into());
        labels.insert(label::SERVICE.into(), plan.service_id.to_string());
        labels.insert(image_label::COMMIT.into(), commit.sha.clone());
        labels.insert(image_label::CACHE_KEY.into(), key.to_owned());
        labels.insert(image_label::OCI_REVISION.into(), commit.sha.clone());
        labels.insert(image_label::OCI_SOURCE.into(), plan.source.url.clone());
        let request = BuildRequest {
            context: tar,
            dockerfile,
            target: plan.target.clone(),
            build_args: plan.build_args.clone(),
            tag: reference.to_owned(),
            labels,
        };

        let tail = Mutex::new(VecDeque::with_capacity(BUILD_LOG_TAIL));
        let forward = |line: &str| {
            progress(&format!("build: {line}"));
            let mut tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if tail.len() == BUILD_LOG_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        };
        let built = self.runtime.build(request, &forward).await;
        let log_tail = || Vec::from(tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone());
        match built {
            Ok(image) => {
                progress(&format!("build: built {reference} in {:.1}s", started.elapsed().as_secs_f64()));
                Ok(image)
            }
            Err(RuntimeError::Build(message)) => Err(BuildError::Build { message, log_tail: log_tail() }),
            Err(other) => Err(other.into()),
        }
    }
}

/// Runs file system work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BuildError::Context(format!("build context task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> BuildPlan {
        BuildPlan {
            service_id: Uuid::nil(),
            source: GitSource::new("https://h/r"),
            root_path: "/".into(),
            dockerfile_path: None,
            dockerfile_raw: None,
            target: None,
            build_args: BTreeMap::new(),
            registry: None,
        }
    }

    #[test]
    fn image_references_name_the_service_and_the_key() {
        let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let mut p = plan();
        assert_eq!(
            p.image_reference(key).unwrap(),
            "localhost/slipway/00000000-0000-0000-0000-000000000000:0123456789abcdef"
        );
        p.registry = Some(RegistryTarget { host_and_repo_prefix: "127.0.0.1:5000/apps/".into(), auth: None });
        assert_eq!(
            p.image_reference(key).unwrap(),
            "127.0.0.1:5000/apps/00000000-0000-0000-0000-000000000000:0123456789abcdef"
        );
        p.registry = Some(RegistryTarget { host_and_repo_prefix: "Bad Registry".into(), auth: None });
        assert!(p.image_reference(key).unwrap_err().to_string().contains("registry"));
    }

    #[test]
    fn inline_dockerfiles_go_where_the_path_says() {
        let mut p = plan();
        assert_eq!(p.dockerfile(), Dockerfile::InRepository("Dockerfile".into()));
        p.dockerfile_path = Some("docker/app.Dockerfile".into());
        assert_eq!(p.dockerfile(), Dockerfile::InRepository("docker/app.Dockerfile".into()));
        p.dockerfile_raw = Some("FROM scratch\n".into());
        assert_eq!(
            p.dockerfile(),
            Dockerfile::Inline { path: "docker/app.Dockerfile".into(), content: "FROM scratch\n".into() }
        );
    }
}
