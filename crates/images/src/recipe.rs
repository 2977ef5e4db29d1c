//! What each image is made of: Debian packages, files from `files/`, what
//! dpkg leaves out, a clean-up of the root file system, and the image
//! configuration the import applies. A declarative table; the recipe hash
//! covers all of it.

use sha2::{Digest, Sha256};
use slipway_model::service::database::DatabaseType;

use crate::DatabaseImage;

/// The Debian release the images are built from.
pub const SUITE: &str = "bookworm";

/// The image label that holds the hash of the recipe an image was built from.
pub const RECIPE_LABEL: &str = "slipway.io/recipe";

/// Bump to rebuild every image when the way recipes are applied changes.
const RECIPE_FORMAT: &str = "slipway-images/1";

/// Where every image has its entrypoint (the official images' path).
pub(crate) const ENTRYPOINT_PATH: &str = "/usr/local/bin/docker-entrypoint.sh";

/// A file put into the root file system.
#[derive(Debug, Clone, Copy)]
pub(crate) struct File {
    /// Absolute path inside the image.
    pub path: &'static str,
    pub content: &'static str,
    pub mode: u32,
}

/// The shell helpers every entrypoint sources.
const COMMON: File =
    File { path: "/usr/local/lib/slipway/common.sh", content: include_str!("../files/common.sh"), mode: 0o644 };

/// Paths dpkg leaves out of every image (documentation but its copyright
/// files, manual pages, translations, locale sources: the images run in
/// `C.UTF-8`), as dpkg options. They stay in the image's dpkg configuration,
/// so packages installed later leave them out too.
pub(crate) const DPKG_FILTERS: &[&str] = &[
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/i18n/*",
    "path-exclude=/usr/share/lintian/*",
];

/// How one image is made.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// Its entrypoint script, installed at [`ENTRYPOINT_PATH`].
    pub entrypoint: &'static str,
    /// Other files, besides the entrypoint and the common helpers.
    pub files: &'static [File],
    /// Paths dpkg leaves out of this image, besides [`DPKG_FILTERS`].
    pub dpkg_filters: &'static [&'static str],
    /// A shell command run on the finished root file system (`$1`).
    pub cleanup: &'static str,
    /// The image configuration: Dockerfile instructions.
    pub changes: &'static [&'static str],
}

/// PostgreSQL 15.
const POSTGRESQL: DatabaseImage = DatabaseImage {
    kind: DatabaseType::Postgresql,
    version: "15",
    name: "postgresql",
    reference: "localhost/slipway/postgresql:15",
    packages: &["postgresql-15"],
    port: 5432,
    data_dir: "/var/lib/postgresql/data",
    recipe: Recipe {
        entrypoint: include_str!("../files/postgresql-entrypoint.sh"),
        files: &[],
        // The JIT (LLVM and its Z3 solver) is two thirds of the image; `jit = off`.
        dpkg_filters: &[
            "path-exclude=/usr/lib/postgresql/15/lib/llvmjit*",
            "path-exclude=/usr/lib/postgresql/15/lib/bitcode/*",
            "path-exclude=/usr/lib/*/libLLVM-*",
            "path-exclude=/usr/lib/*/libz3.so*",
        ],
        // The cluster Debian's postinst made: the entrypoint makes its own in PGDATA.
        cleanup: r#"rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15" && mkdir -p "$1/var/lib/postgresql/data""#,
        changes: &[
            "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8",
            r#"ENTRYPOINT ["docker-entrypoint.sh"]"#,
            r#"CMD ["postgres"]"#,
            "EXPOSE 5432",
            "VOLUME /var/lib/postgresql/data",
            // Fast shutdown, as the official image: SIGTERM would wait for every client to leave.
            "STOPSIGNAL SIGINT",
        ],
    },
};

/// MySQL as MariaDB 10.11 (Debian's MySQL-protocol server).
const MYSQL: DatabaseImage = DatabaseImage {
    kind: DatabaseType::Mysql,
    version: "10.11",
    name: "mysql",
    reference: "localhost/slipway/mysql:10.11",
    packages: &["mariadb-server"],
    port: 3306,
    data_dir: "/var/lib/mysql",
    recipe: Recipe {
        entrypoint: include_str!("../files/mysql-entrypoint.sh"),
        files: &[File {
            path: "/etc/mysql/mariadb.conf.d/99-slipway.cnf",
            content: include_str!("../files/mysql-server.cnf"),
            mode: 0o644,
        }],
        dpkg_filters: &[],
        // The data directory Debian's postinst made: the entrypoint makes its own.
        cleanup: r#"rm -rf "$1"/var/lib/mysql/*"#,
        changes: &[
            "ENV LANG=C.UTF-8",
            r#"ENTRYPOINT ["docker-entrypoint.sh"]"#,
            r#"CMD ["mariadbd"]"#,
            "EXPOSE 3306",
            "VOLUME /var/lib/mysql",
        ],
    },
};

/// Redis 7.
const REDIS: DatabaseImage = DatabaseImage {
    kind: DatabaseType::Redis,
    version: "7",
    name: "redis",
    reference: "localhost/slipway/redis:7",
    packages: &["redis-server"],
    port: 6379,
    data_dir: "/data",
    recipe: Recipe {
        entrypoint: include_str!("../files/redis-entrypoint.sh"),
        files: &[],
        dpkg_filters: &[],
        cleanup: r#"mkdir -p "$1/data""#,
        changes: &[
            "ENV LANG=C.UTF-8",
            r#"ENTRYPOINT ["docker-entrypoint.sh"]"#,
            // The official image's build turns protected mode off by default.
            r#"CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0"]"#,
            "EXPOSE 6379",
            "VOLUME /data",
            "WORKDIR /data",
        ],
    },
};

/// Every image Slipway builds from Debian packages.
pub const LOCAL_IMAGES: &[DatabaseImage] = &[POSTGRESQL, MYSQL, REDIS];

impl Recipe {
    /// Every file the image gets: the common helpers, the entrypoint, the rest.
    pub(crate) fn all_files(&self) -> impl Iterator<Item = File> + '_ {
        let entrypoint = File { path: ENTRYPOINT_PATH, content: self.entrypoint, mode: 0o755 };
        [COMMON, entrypoint].into_iter().chain(self.files.iter().copied())
    }

    /// Every dpkg path filter of the image.
    pub(crate) fn all_dpkg_filters(&self) -> impl Iterator<Item = &'static str> + '_ {
        DPKG_FILTERS.iter().chain(self.dpkg_filters).copied()
    }
}

impl DatabaseImage {
    /// The first 16 hex digits of a SHA-256 over everything that makes the
    /// image: suite, packages, files, dpkg filters, clean-up, configuration.
    /// The Debian archive itself is not covered: `--force` picks up its updates.
    pub fn recipe_hash(&self) -> String {
        let mut hash = Sha256::new();
        let mut field = |name: &str, value: &[u8]| {
            hash.update(name.as_bytes());
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value);
        };
        field("format", RECIPE_FORMAT.as_bytes());
        field("suite", SUITE.as_bytes());
        field("reference", self.reference.as_bytes());
        for package in self.packages {
            field("package", package.as_bytes());
        }
        for file in self.recipe.all_files() {
            field("file", file.path.as_bytes());
            field("mode", &file.mode.to_le_bytes());
            field("content", file.content.as_bytes());
        }
        for filter in self.recipe.all_dpkg_filters() {
            field("dpkg", filter.as_bytes());
        }
        field("cleanup", self.recipe.cleanup.as_bytes());
        for change in self.recipe.changes {
            field("change", change.as_bytes());
        }
        hex::encode(hash.finalize())[..16].to_owned()
    }

    /// The image configuration the import applies, with the recipe label.
    pub fn changes(&self) -> Vec<String> {
        let label = format!("LABEL {RECIPE_LABEL}={}", self.recipe_hash());
        self.recipe.changes.iter().map(|c| (*c).to_owned()).chain([label]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_hashes_are_stable_and_distinct() {
        let hashes: Vec<String> = LOCAL_IMAGES.iter().map(DatabaseImage::recipe_hash).collect();
        assert!(hashes.iter().all(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())), "{hashes:?}");
        assert_eq!(hashes, LOCAL_IMAGES.iter().map(DatabaseImage::recipe_hash).collect::<Vec<_>>());
        let mut unique = hashes.clone();
        unique.dedup();
        assert_eq!(unique.len(), LOCAL_IMAGES.len());
    }

    #[test]
    fn the_configuration_carries_the_recipe_label() {
        for image in LOCAL_IMAGES {
            let changes = image.changes();
            assert_eq!(changes.last(), Some(&format!("LABEL slipway.io/recipe={}", image.recipe_hash())));
            assert!(changes.iter().any(|c| c == r#"ENTRYPOINT ["docker-entrypoint.sh"]"#), "{changes:?}");
            assert!(changes.iter().any(|c| *c == format!("EXPOSE {}", image.port)), "{changes:?}");
            assert!(changes.iter().any(|c| *c == format!("VOLUME {}", image.data_dir)), "{changes:?}");
        }
    }

    #[test]
    fn every_image_gets_the_helpers_and_its_entrypoint() {
        for image in LOCAL_IMAGES {
            let files: Vec<File> = image.recipe.all_files().collect();
            assert_eq!(files[0].path, "/usr/local/lib/slipway/common.sh");
            assert_eq!((files[1].path, files[1].mode), (ENTRYPOINT_PATH, 0o755));
            assert!(files[1].content.starts_with("#!/bin/sh\n"), "{}", image.name);
            assert!(files[1].content.contains(". /usr/local/lib/slipway/common.sh"), "{}", image.name);
        }
    }
}
