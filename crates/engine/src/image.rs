//! Which image a deploy runs: built from git (applications, git jobs),
//! pulled or found on the engine (containers, image jobs), or taken from an
//! earlier release (rollback: no rebuild). The result is a new [`Release`].

use std::sync::Arc;

use slipway_build::{BuildPlan, Builder, BuiltImage, RegistryTarget};
use slipway_model::deployment::{CommitInfo, Release, VersionPin};
use slipway_model::{Cluster, ContainerRegistry, ServiceSpec, Uuid};
use slipway_runtime::{ImageRef, RegistryAuth, Runtime};

use crate::EngineError;
use crate::rollout::Ctx;

/// The release a deploy should run: an earlier one (rollback by release
/// id), or a new one not stored yet.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// An existing release.
    Earlier(Release),
    /// A release made now.
    New(Release),
}

/// The release a deploy of the service should run.
pub(crate) async fn resolve(ctx: &Ctx, deployment_id: Uuid, pin: Option<&VersionPin>) -> Result<Resolved, EngineError> {
    let ctx = ctx.step("image");
    if let Some(VersionPin::Release(id)) = pin {
        return earlier_release(&ctx, *id).await.map(Resolved::Earlier);
    }
    let mut spec = ctx.service.spec.clone();
    let (image, tag, commit, cache_key) = match &mut spec {
        ServiceSpec::Application(app) => {
            let commit = match pin {
                Some(VersionPin::GitCommit(sha)) => Some(sha.as_str()),
                _ => None,
            };
            let mut plan = BuildPlan::for_application(ctx.service.id, app, commit);
            plan.registry = build_registry(&ctx).await?;
            let built = build(&ctx, &plan).await?;
            let commit = commit_info(&built);
            (
                ImageRef { reference: built.reference, id: built.image_id, digest: built.digest },
                None,
                Some(commit),
                Some(built.cache_key),
            )
        }
        ServiceSpec::Container(c) => {
            if let Some(VersionPin::ImageTag(tag)) = pin {
                c.tag = tag.clone();
            }
            let image = fetch_image(&ctx, c.registry_id, &c.image_name, &c.tag).await?;
            (image, Some(c.tag.clone()), None, None)
        }
        ServiceSpec::Job(j) => match (&mut j.source.image, &j.source.docker) {
            (Some(source), _) => {
                if let Some(VersionPin::ImageTag(tag)) = pin {
                    source.tag = tag.clone();
                }
                let image = fetch_image(&ctx, source.registry_id, &source.image_name, &source.tag).await?;
                (image, Some(source.tag.clone()), None, None)
            }
            (None, Some(docker)) => {
                let commit = match pin {
                    Some(VersionPin::GitCommit(sha)) => Some(sha.as_str()),
                    _ => None,
                };
                let mut plan = BuildPlan::for_job(ctx.service.id, docker, commit);
                plan.registry = build_registry(&ctx).await?;
                let built = build(&ctx, &plan).await?;
                let commit = commit_info(&built);
                (
                    ImageRef { reference: built.reference, id: built.image_id, digest: built.digest },
                    None,
                    Some(commit),
                    Some(built.cache_key),
                )
            }
            (None, None) => return Err(EngineError::failed("the job has no source")),
        },
        ServiceSpec::Database(db) => {
            let image = crate::database::image(&ctx, db).await?;
            (image, Some(db.version.clone()), None, None)
        }
        other => {
            return Err(EngineError::failed(format!("{} services have no image to resolve", other.kind().path())));
        }
    };
    Ok(Resolved::New(Release {
        id: slipway_model::new_id(),
        organization_id: ctx.service.organization_id,
        environment_id: ctx.service.environment_id,
        service_id: ctx.service.id,
        deployment_id,
        created_at: slipway_model::now(),
        image: image.reference,
        image_id: image.id,
        digest: image.digest,
        tag,
        commit,
        cache_key,
        spec: spec.to_json(),
        variables: None,
        variables_digest: None,
    }))
}

fn commit_info(built: &BuiltImage) -> CommitInfo {
    CommitInfo {
        id: built.commit.sha.clone(),
        message: built.commit.subject().to_owned(),
        author_name: built.commit.author_name.clone(),
        committed_at: built.commit.committed_at,
    }
}

/// Where built images go: the cluster's registry, when it names one.
async fn build_registry(ctx: &Ctx) -> Result<Option<RegistryTarget>, EngineError> {
    let org = ctx.service.organization_id;
    let cluster: Cluster = ctx.inner.store.get(org, ctx.environment.cluster_id).await?;
    let Some(id) = cluster.spec.registry_id else { return Ok(None) };
    let registry: ContainerRegistry = ctx.inner.store.get(org, id).await?;
    let Some(url) = registry.spec.url.as_deref() else { return Ok(None) };
    let host = host_of(url);
    Ok(Some(RegistryTarget { host_and_repo_prefix: format!("{host}/slipway"), auth: auth_of(ctx, &registry)? }))
}

/// The registry's login, its password opened (sealed at rest; older
/// plain values pass through).
fn auth_of(ctx: &Ctx, registry: &ContainerRegistry) -> Result<Option<RegistryAuth>, EngineError> {
    let Some(username) = registry.spec.config.username.as_ref() else { return Ok(None) };
    let sealed = registry.spec.config.password.clone().unwrap_or_default();
    let password = ctx.inner.secrets.open_or_plain(&sealed).map_err(|e| {
        EngineError::failed(format!("cannot open the password of registry `{}`: {e}", registry.spec.name))
    })?;
    Ok(Some(RegistryAuth {
        server: host_of(registry.spec.url.as_deref().unwrap_or_default()),
        username: username.clone(),
        password,
    }))
}

async fn build(ctx: &Ctx, plan: &BuildPlan) -> Result<BuiltImage, EngineError> {
    let ctx = ctx.step("build");
    let builder = Builder::new(ctx.runtime.clone(), ctx.inner.fetcher.clone());
    let log = ctx.clone();
    let progress = move |line: &str| log.info(line);
    let built = builder.build(plan, &progress).await?;
    if built.cache_hit {
        ctx.info(&format!("build cache hit for commit {}: {} (no build)", built.commit.sha, built.reference));
    } else {
        ctx.info(&format!("built {} from commit {}", built.reference, built.commit.sha));
    }
    Ok(built)
}

/// Finds an image on the engine, or pulls it from its registry.
async fn fetch_image(ctx: &Ctx, registry_id: Uuid, name: &str, tag: &str) -> Result<ImageRef, EngineError> {
    let registry: ContainerRegistry = ctx.inner.store.get(ctx.service.organization_id, registry_id).await?;
    let reference = reference(&registry, name, tag);
    let runtime: &Arc<dyn Runtime> = &ctx.runtime;
    if let Some(found) = runtime.image(&reference).await? {
        ctx.info(&format!("using {reference} from the engine ({})", found.id));
        return Ok(found);
    }
    if registry.spec.url.is_none() {
        return Err(EngineError::failed(format!(
            "image {reference} is not on the engine, and registry `{}` names images already there",
            registry.spec.name
        )));
    }
    ctx.info(&format!("pulling {reference}"));
    let auth = auth_of(ctx, &registry)?;
    let log = ctx.clone();
    let progress = move |line: &str| log.info(line);
    Ok(runtime.pull(&reference, auth.as_ref(), &progress).await?)
}

/// The image reference in a registry: `<host>/<name>:<tag>`, or just
/// `<name>:<tag>` for a registry of images already on the engine.
pub(crate) fn reference(registry: &ContainerRegistry, name: &str, tag: &str) -> String {
    match registry.spec.url.as_deref() {
        Some(url) => format!("{}/{name}:{tag}", host_of(url)),
        None => format!("{name}:{tag}"),
    }
}

fn host_of(url: &str) -> String {
    url.split_once("://").map(|(_, rest)| rest).unwrap_or(url).trim_end_matches('/').to_owned()
}

async fn earlier_release(ctx: &Ctx, id: Uuid) -> Result<Release, EngineError> {
    let release: Release = ctx
        .inner
        .store
        .get(ctx.service.organization_id, id)
        .await
        .map_err(|_| EngineError::failed(format!("release {id} is not a release of this service")))?;
    if release.service_id != ctx.service.id {
        return Err(EngineError::failed(format!("release {id} is not a release of this service")));
    }
    let present = ctx.runtime.image(&release.image_id).await?.is_some();
    if !present {
        return Err(EngineError::failed(format!(
            "the image of release {id} ({}) is no longer on the engine",
            release.image
        )));
    }
    ctx.info(&format!("deploying release {id} again ({}), no build", release.image));
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_the_registry_host() {
        let mut registry = ContainerRegistry::local_default(slipway_model::new_id());
        assert_eq!(reference(&registry, "nginx", "1.27"), "nginx:1.27");
        registry.spec.url = Some("http://127.0.0.1:5000/".into());
        assert_eq!(reference(&registry, "shop/web", "v2"), "127.0.0.1:5000/shop/web:v2");
    }
}
