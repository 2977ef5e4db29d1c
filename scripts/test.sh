#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests on both
# store backends, and the compatibility test with the official Qovery client.
# Installs what it needs on Debian/Ubuntu. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_system_packages
ensure_rust

log "rustfmt"
cargo fmt --all -- --check

log "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test (SQLite and PostgreSQL stores, API, CLI end to end)"
cargo test --workspace --locked

log "compatibility test with the official qovery-typescript-axios client"
cargo build --locked -p slipway-cli
(cd tests/compat && npm ci --no-audit --no-fund --loglevel=error && SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway" node --test)

log "all tests passed"
