//! Database images without a registry: PostgreSQL 15, MySQL (MariaDB
//! 10.11) and Redis 7 built from the host's Debian packages, for air-gapped
//! hosts and for the test suite.
//!
//! Each image is a root file system made by `mmdebstrap --variant=minbase`
//! from the host's own apt sources (the mirror is never written in this
//! repository), with an entrypoint that follows the official image's
//! conventions (environment variables, data directory, port, user, PID 1),
//! imported into the container engine through the [`Runtime`] port as
//! `localhost/slipway/<name>:<version>` ([`LOCAL_IMAGES`]). The engine can
//! therefore run either these or the official registry images with the same
//! settings. MongoDB is not in Debian: it needs a registry image.
//!
//! Invariants: an image carries the hash of its recipe (packages, files,
//! clean-up, configuration) as the [`RECIPE_LABEL`] label, and a build skips
//! an image the engine already has with the same hash. The root file system
//! tarball is cached under the same hash (`~/.cache/slipway/images` by
//! default), so importing into a second engine, or again after the image
//! was removed, takes seconds instead of a minute.
//!
//! Concurrency: [`build`] works on the images it is given at once (three
//! mmdebstrap processes, three imports). It keeps no state between calls;
//! two processes building the same recipe at once both succeed.

mod recipe;
mod rootfs;
mod sources;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway_model::service::database::DatabaseType;
use slipway_runtime::{Runtime, RuntimeError};

pub use recipe::{LOCAL_IMAGES, RECIPE_LABEL, SUITE};

/// A database image Slipway builds from Debian packages.
#[derive(Debug)]
pub struct DatabaseImage {
    /// The database it runs (`POSTGRESQL`, `MYSQL`, `REDIS`).
    pub kind: DatabaseType,
    /// The version it provides, as services ask for it (`15`, `10.11`, `7`).
    pub version: &'static str,
    /// Its name on the command line and in the cache (`postgresql`).
    pub name: &'static str,
    /// Its reference on the engine (`localhost/slipway/postgresql:15`).
    pub reference: &'static str,
    /// The Debian packages it is made of.
    pub packages: &'static [&'static str],
    /// The TCP port it listens on.
    pub port: u16,
    /// Where it keeps its data (a volume).
    pub data_dir: &'static str,
    recipe: recipe::Recipe,
}

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The name is not one of [`LOCAL_IMAGES`].
    #[error("`{name}` is not a database image Slipway builds; it builds {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names it knows.
        known: String,
    },
    /// MongoDB: not packaged in Debian.
    #[error(
        "MongoDB is not packaged in Debian, so it cannot be built from the host's packages: it needs a registry \
         image. Put a MongoDB image (for example `mongo:7.0`) in a registry the engine can pull from, and name it \
         in the server's config file: `[database_images]` `MONGODB = \"<registry>/mongo:{{version}}\"`"
    )]
    NeedsRegistry,
    /// mmdebstrap is not installed.
    #[error("mmdebstrap is not installed; it builds the database images: `apt-get install -y mmdebstrap`")]
    MmdebstrapMissing,
    /// The host has no apt sources for the suite.
    #[error(
        "no apt sources for Debian {suite} (main) on this host, in /etc/apt/sources.list.d/*.sources or \
         /etc/apt/sources.list; the images are built from the host's Debian mirror: pass `--apt-sources` with a \
         sources file naming a {suite} mirror"
    )]
    NoAptSources {
        /// The Debian suite wanted.
        suite: String,
    },
    /// mmdebstrap failed.
    #[error("mmdebstrap failed to make the root file system of {reference} ({status}); its last lines:\n{tail}")]
    Mmdebstrap {
        /// The image.
        reference: String,
        /// How it exited.
        status: String,
        /// The end of its output.
        tail: String,
    },
    /// mmdebstrap did not finish in time.
    #[error("mmdebstrap did not finish the root file system of {reference} within {minutes} minutes")]
    MmdebstrapTimeout {
        /// The image.
        reference: String,
        /// The time limit.
        minutes: u64,
    },
    /// A file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot read`).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The engine refused or failed the import.
    #[error("cannot import {reference} into the container engine: {source}")]
    Import {
        /// The image.
        reference: String,
        /// The engine's error.
        source: RuntimeError,
    },
    /// The engine could not say what it has.
    #[error("cannot ask the container engine about {reference}: {source}")]
    Engine {
        /// The image.
        reference: String,
        /// The engine's error.
        source: RuntimeError,
    },
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Where root file system tarballs are cached; `~/.cache/slipway/images` when `None`.
    pub cache_dir: Option<PathBuf>,
    /// Rebuild the tarball and import again even when the engine is up to date.
    pub force: bool,
    /// An apt sources file (deb822 `.sources` or one-line `.list`) to use
    /// instead of the host's.
    pub apt_sources: Option<PathBuf>,
}

impl BuildOptions {
    /// The cache directory in effect.
    pub fn cache_dir(&self) -> PathBuf {
        match &self.cache_dir {
            Some(dir) => dir.clone(),
            None => dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("slipway").join("images"),
        }
    }
}

/// What a build did for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The engine already had the image of this recipe: nothing was done.
    UpToDate {
        /// The image's id on the engine.
        id: String,
    },
    /// The image was imported from its root file system tarball.
    Imported {
        /// The image's id on the engine.
        id: String,
        /// The tarball.
        tarball: PathBuf,
        /// Whether the tarball came from the cache (no mmdebstrap run).
        cached: bool,
    },
}

/// The result of building one image.
#[derive(Debug)]
pub struct Built {
    /// The image.
    pub image: &'static DatabaseImage,
    /// What was done, or why it failed.
    pub outcome: Result<Outcome, BuildError>,
    /// How long it took.
    pub took: Duration,
}

/// Receives progress lines, each with the image it is about.
pub type Progress<'a> = &'a (dyn Fn(&DatabaseImage, &str) + Send + Sync);

/// The image called `name`: its name (`postgresql`), database type
/// (`POSTGRESQL`) or a common alias (`postgres`, `mariadb`), any case.
pub fn find(name: &str) -> Result<&'static DatabaseImage, BuildError> {
    let wanted = name.trim().to_ascii_lowercase();
    let alias = match wanted.as_str() {
        "postgres" | "pg" => "postgresql",
        "mariadb" => "mysql",
        "mongodb" | "mongo" => return Err(BuildError::NeedsRegistry),
        other => other,
    };
    LOCAL_IMAGES.iter().find(|i| i.name == alias || i.kind.as_str().eq_ignore_ascii_case(alias)).ok_or_else(|| {
        BuildError::Unknown {
            name: name.to_owned(),
            known: LOCAL_IMAGES.iter().map(|i| i.name).collect::<Vec<_>>().join(", "),
        }
    })
}

/// Builds `images` into the engine at once: each is skipped when the engine
/// has it at the same recipe, imported from the cached tarball when there is
/// one, else made with mmdebstrap first. One result per image, in order;
/// an image failing does not stop the others.
pub async fn build(
    runtime: &dyn Runtime,
    images: &[&'static DatabaseImage],
    options: &BuildOptions,
    progress: Progress<'_>,
) -> Vec<Built> {
    let builds = images.iter().map(|&image| async move {
        let started = Instant::now();
        let outcome = build_one(runtime, image, options, &|line: &str| progress(image, line)).await;
        Built { image, outcome, took: started.elapsed() }
    });
    futures_util::future::join_all(builds).await
}

async fn build_one(
    runtime: &dyn Runtime,
    image: &'static DatabaseImage,
    options: &BuildOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Outcome, BuildError> {
    let reference = image.reference;
    let engine = |source| BuildError::Engine { reference: reference.to_owned(), source };
    let hash = image.recipe_hash();
    let present = runtime.image(reference).await.map_err(engine)?;
    if let (Some(present), false) = (&present, options.force) {
        let labels = runtime.image_labels(reference).await.map_err(engine)?.unwrap_or_default();
        if labels.get(RECIPE_LABEL) == Some(&hash) {
            progress(&format!("up to date ({RECIPE_LABEL}={hash})"));
            return Ok(Outcome::UpToDate { id: present.id.clone() });
        }
    }

    let cache_dir = options.cache_dir();
    let tarball = rootfs::tarball_path(&cache_dir, image, &hash);
    let cached = !options.force && tarball.is_file();
    if cached {
        progress(&format!("using the cached root file system {}", tarball.display()));
    } else {
        progress(&format!("making the root file system from Debian {SUITE}: {}", image.packages.join(", ")));
        rootfs::build(image, &tarball, options.apt_sources.as_deref(), progress).await?;
        rootfs::prune(&cache_dir, image, &tarball);
    }

    progress("importing into the container engine");
    let import = |source| BuildError::Import { reference: reference.to_owned(), source };
    let imported = runtime.import_image(&tarball, reference, &image.changes(), progress).await.map_err(import)?;
    if let Some(previous) = present.filter(|p| p.id != imported.id) {
        // The image this one replaces, unless an instance still runs it.
        let _ = runtime.remove_image(&previous.id).await;
    }
    progress(&format!("imported as {} ({})", reference, short_id(&imported.id)));
    Ok(Outcome::Imported { id: imported.id, tarball, cached })
}

/// An image as the engine has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The image.
    pub image: &'static DatabaseImage,
    /// Its id on the engine, when present.
    pub id: Option<String>,
    /// The recipe hash it was built from, per its label.
    pub recipe: Option<String>,
}

impl Installed {
    /// Whether the engine has the image at the current recipe.
    pub fn is_current(&self) -> bool {
        self.id.is_some() && self.recipe.as_deref() == Some(self.image.recipe_hash().as_str())
    }
}

/// Which of [`LOCAL_IMAGES`] the engine has, and at which recipe.
pub async fn installed(runtime: &dyn Runtime) -> Result<Vec<Installed>, BuildError> {
    let mut found = Vec::new();
    for image in LOCAL_IMAGES {
        let engine = |source| BuildError::Engine { reference: image.reference.to_owned(), source };
        let id = runtime.image(image.reference).await.map_err(engine)?.map(|i| i.id);
        let labels = runtime.image_labels(image.reference).await.map_err(engine)?;
        let recipe = labels.and_then(|mut l| l.remove(RECIPE_LABEL));
        found.push(Installed { image, id, recipe });
    }
    Ok(found)
}

/// The first 12 digits of an image id, without `sha256:`.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

impl PartialEq for DatabaseImage {
    fn eq(&self, other: &Self) -> bool {
        self.reference == other.reference
    }
}

impl Eq for DatabaseImage {}

/// Where the tarball of `image` at its current recipe is cached under `cache_dir`.
pub fn cached_tarball(cache_dir: &Path, image: &DatabaseImage) -> PathBuf {
    rootfs::tarball_path(cache_dir, image, &image.recipe_hash())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_found_by_name_type_or_alias() {
        for (name, reference) in [
            ("postgresql", "localhost/slipway/postgresql:15"),
            ("POSTGRESQL", "localhost/slipway/postgresql:15"),
            ("postgres", "localhost/slipway/postgresql:15"),
            ("mysql", "localhost/slipway/mysql:10.11"),
            ("MariaDB", "localhost/slipway/mysql:10.11"),
            ("redis", "localhost/slipway/redis:7"),
        ] {
            assert_eq!(find(name).unwrap().reference, reference, "{name}");
        }
        let unknown = find("oracle").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "`oracle` is not a database image Slipway builds; it builds postgresql, mysql, redis"
        );
    }

    #[test]
    fn mongodb_needs_a_registry_image_and_says_how() {
        for name in ["mongodb", "MONGODB", "mongo"] {
            let error = find(name).unwrap_err();
            assert!(matches!(error, BuildError::NeedsRegistry), "{name}");
            let message = error.to_string();
            assert!(message.contains("not packaged in Debian"), "{message}");
            assert!(message.contains("MONGODB = \"<registry>/mongo:{version}\""), "{message}");
        }
    }

    #[test]
    fn the_images_match_what_the_engine_runs() {
        let of = |kind| LOCAL_IMAGES.iter().find(|i| i.kind == kind).unwrap();
        let pg = of(DatabaseType::Postgresql);
        assert_eq!((pg.version, pg.port, pg.data_dir), ("15", 5432, "/var/lib/postgresql/data"));
        let my = of(DatabaseType::Mysql);
        assert_eq!((my.version, my.port, my.data_dir), ("10.11", 3306, "/var/lib/mysql"));
        let redis = of(DatabaseType::Redis);
        assert_eq!((redis.version, redis.port, redis.data_dir), ("7", 6379, "/data"));
        for image in LOCAL_IMAGES {
            assert_eq!(image.port, image.kind.default_port());
            assert_eq!(image.reference, format!("localhost/slipway/{}:{}", image.name, image.version));
        }
    }

    #[test]
    fn cached_tarballs_are_named_by_recipe() {
        let path = cached_tarball(Path::new("/c"), &LOCAL_IMAGES[0]);
        assert_eq!(path, Path::new("/c").join(format!("postgresql-{}.tar", LOCAL_IMAGES[0].recipe_hash())));
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn pruning_keeps_the_current_tarball_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let image = &LOCAL_IMAGES[2];
        let keep = cached_tarball(dir.path(), image);
        let old = dir.path().join("redis-0123456789abcdef.tar");
        let fresh_partial = dir.path().join("redis-0123456789abcdef.tar.partial-1");
        let other = dir.path().join("redis-notes.tar");
        let postgres = cached_tarball(dir.path(), &LOCAL_IMAGES[0]);
        for path in [&keep, &old, &fresh_partial, &other, &postgres] {
            std::fs::write(path, b"x").unwrap();
        }
        rootfs::prune(dir.path(), image, &keep);
        assert!(keep.exists() && fresh_partial.exists() && other.exists() && postgres.exists());
        assert!(!old.exists());
    }
}
