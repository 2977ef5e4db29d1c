//! Integration tests of the database images against real engines: each
//! image is built through the library, then run with the official images'
//! environment variables and checked with its own client tools from a
//! second container (passwords travel in the environment, never on a
//! command line), across a clean stop and a restart on the same volume.
//!
//! Every scenario runs on each endpoint of `SLIPWAY_TEST_ENGINES`
//! (space-separated), or on the engine auto-detection finds.
//! `SLIPWAY_ENGINES="podman docker" bash scripts/setup-engine.sh` starts
//! both. Building needs mmdebstrap and the host's Debian apt sources; the
//! images are cached, so only the first run on a host takes a minute.

mod build;
mod mysql;
mod postgresql;
mod redis;
mod support;
