//! Images from git: fetch a commit, pack its build context, build it on a
//! container engine unless an identical build already exists, push it.
//!
//! - [`Fetcher`] keeps one bare mirror per repository URL under
//!   `<cache>/git/<sha256(url)>`, updated with `git fetch` so a redeploy only
//!   transfers what changed, and exports the wanted commit (a branch tip, the
//!   default branch, or a pinned commit) into a fresh directory per build.
//!   git runs as the `git` CLI (which speaks every transport and honours the
//!   host's ssh and proxy configuration), without a shell, with prompts
//!   disabled, under a time limit; no secret ever appears on its command
//!   line, and URLs carrying credentials are refused.
//! - [`build_context`] packs directory `root_path` of a checkout as a
//!   deterministic tar, honouring `.dockerignore` with Docker's rules.
//! - [`cache_key`] is a SHA-256 over everything that decides the image
//!   (commit, Dockerfile bytes, context directory, target stage, build
//!   arguments). Its first 16 digits tag the image, so the engine itself is
//!   the cache: an existing reference means nothing to build.
//! - [`Builder`] ties these to the [`slipway_runtime::Runtime`] port: fetch,
//!   key, build on a miss, push when a registry is configured, streaming
//!   every line to the caller prefixed with its stage (`fetch:`, `build:`,
//!   `push:`).
//!
//! Concurrency: fetches of one repository are serialised (per-URL async
//! lock), as are builds of one image reference; everything else runs in
//! parallel. File system work runs on blocking threads.

mod builder;
mod cache_key;
mod context;
mod error;
mod git;
mod git_command;

pub use builder::{BuildPlan, Builder, BuiltImage, RegistryTarget, image_label};
pub use cache_key::cache_key;
pub use context::{BuildContext, CONTEXT_MTIME, DEFAULT_DOCKERFILE, Dockerfile, build_context};
pub use error::{BuildError, Result};
pub use git::{Checkout, Commit, DEFAULT_GIT_TIMEOUT, Fetcher, GitSource};
