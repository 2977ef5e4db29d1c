#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests on both
# store backends and against real container engines (Podman and Docker), and
# the compatibility test with the official Qovery client. Installs and starts
# what it needs on Debian/Ubuntu. Exits non-zero when anything fails.
#
#   SLIPWAY_ENGINES   engines to start and test against (default: "podman docker")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_system_packages
ensure_rust
ensure_terraform

log "container engines"
endpoints="$(SLIPWAY_ENGINES="${SLIPWAY_ENGINES:-podman docker}" bash scripts/setup-engine.sh)"
# The driver's suite runs against each engine; the engine's suite against the first.
SLIPWAY_TEST_ENGINES="$(echo $endpoints)"
export SLIPWAY_TEST_ENGINES

log "rustfmt"
cargo fmt --all -- --check

log "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Every test may rely on localhost/slipway/{postgresql:15,mysql:10.11,redis:7}
# in each engine: made once from the host's Debian packages (about a minute,
# then cached), imported into the next engine in seconds, skipped when current.
log "database images from Debian packages, into each engine"
for endpoint in $SLIPWAY_TEST_ENGINES; do
  cargo run -q --locked -p slipway-cli -- images build --engine "$endpoint"
done

log "cargo test (SQLite and PostgreSQL stores, API, CLI end to end)"
cargo test --workspace --locked --no-fail-fast

log "compatibility test with the official qovery-typescript-axios client"
cargo build --locked -p slipway-cli
(cd tests/compat && npm ci --no-audit --no-fund --loglevel=error && SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway" node --test)

log "all tests passed"
