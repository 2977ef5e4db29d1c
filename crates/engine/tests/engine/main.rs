//! The engine against the real container engine (Podman or Docker, as
//! `scripts/setup-engine.sh` provides), the real edge proxy, and a SQLite
//! store: deploys from git, zero-downtime redeploys under load, failed
//! readiness, environment transactions, rollback and autoscaling.

mod balancing;
mod cron;
mod databases;
mod deploy;
mod failures;
mod health;
mod jobs;
mod privacy;
mod registry;
mod scaling;
mod support;
mod terraform;
mod websocket;
