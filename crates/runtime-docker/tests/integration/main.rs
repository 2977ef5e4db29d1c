//! Integration tests of the Docker Engine API driver against real engines.
//!
//! Every scenario runs on each endpoint of `SLIPWAY_TEST_ENGINES`
//! (space-separated, e.g. `unix:///run/podman/podman.sock unix:///var/run/docker.sock`),
//! or on the engine auto-detection finds. `bash scripts/setup-engine.sh` starts
//! Podman; `SLIPWAY_ENGINES="podman docker" bash scripts/setup-engine.sh` starts
//! both and prints their endpoints. Images are built locally from the static
//! busybox (`apt-get install -y busybox-static`): nothing is pulled.

mod engine;
mod isolation;
mod lifecycle;
mod networking;
mod observe;
mod support;
