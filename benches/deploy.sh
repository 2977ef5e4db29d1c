#!/usr/bin/env bash
# Deploy benchmark: how long Slipway takes to deploy, against the container
# engine doing the same by hand. See docs/benchmarks.md ("Deploys").
#
#   bash benches/deploy.sh
#
# Makes sure the container engine runs (scripts/setup-engine.sh), builds the
# release binary, builds two tags of a tiny busybox httpd image on the engine
# (and a git repository of the same for an application), starts
# `slipway server` in a temporary data directory on free loopback ports, and
# measures with benches/deploy.py, runs interleaved where they are compared:
#
#   - the raw engine: create + start with a published port (the engine's
#     Docker-compatible API over its socket), GET / until 200;
#   - a container service whose image is on the engine: deploy (tag 1 <-> 2,
#     a real rollout each time) -> first 200 of the new revision through the
#     edge, and -> deployment SUCCEEDED;
#   - the same image whose process stops on SIGTERM (how long the old
#     revision takes to stop shows in SUCCEEDED);
#   - the no-op redeploy of the container (same image, same configuration);
#   - an application from git whose two commits are already built: deploy
#     (commit 1 <-> 2, a build-cache hit and a rollout each time), and its
#     no-op redeploy.
#
# Prints a Markdown report; the raw timings, deployment logs and the server's
# log are kept in the directory printed at the end. Removes every container,
# network, image and process it started. Measurements, not assertions.
#
# Knobs (environment variables):
#   BENCH_RUNS        measured runs per case           (default: 10)
#   BENCH_POLL        client poll interval, seconds    (default: 0.01)
#   BENCH_PAUSE       pause between runs, seconds      (default: 1)
#   BENCH_BUSYBOX     a static busybox binary          (default: /usr/bin/busybox, Debian's busybox-static)
#   BENCH_OUT         where results are kept           (default: a new /tmp/slipway-deploy-bench.* dir)
#   SLIPWAY_BIN       use this slipway binary instead of building one
#   CARGO_TARGET_DIR  build directory                  (default: ~/.cache/slipway-target)
set -euo pipefail

bench=deploy-bench
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/benchlib.sh"
here="$bench_here"

busybox="${BENCH_BUSYBOX:-/usr/bin/busybox}"
bench_setup 10 git

# --- cleanup: only what this script started ---------------------------------
cleanup() {
    set +e
    bench_stop_server
    if [[ -n "$engine_sock" ]]; then
        python3 "$here/deploy.py" cleanup --engine "$engine_sock" --out "$out"
    fi
    rm -rf "$out/app-repo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- engine, busybox, binary ---------------------------------------------------
bench_engine

# Static: a 64-bit ELF file without a program interpreter (PT_INTERP).
is_static() {
    python3 - "$1" 2>/dev/null <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    elf = f.read()
assert elf[:4] == b"\x7fELF" and elf[4] == 2
phoff, = struct.unpack_from("<Q", elf, 0x20)
phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
types = [struct.unpack_from("<I", elf, phoff + i * phentsize)[0] for i in range(phnum)]
sys.exit(3 in types)
PY
}
if ! is_static "$busybox"; then
    [[ "$busybox" == /usr/bin/busybox ]] && apt_install busybox-static
    is_static "$busybox" || die "$busybox is not a static busybox (Debian: apt-get install busybox-static)"
fi

bench_binary
bench_machine
bench_server

# --- measure -------------------------------------------------------------------
python3 "$here/deploy.py" run --api "http://127.0.0.1:$api_port" --edge-port "$edge_port" \
    --token-file "$data/admin-token" --engine "$engine_sock" --out "$out" \
    --runs "$runs" --busybox "$busybox" --poll "$poll" --pause "$pause"

note run.loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
python3 "$here/deploy.py" report "$out" | tee "$out/report.md"
log "raw results kept in $out (results.json: every run with its deployment and log lines)"
