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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
. "$repo/scripts/lib.sh"

runs="${BENCH_RUNS:-10}"
poll="${BENCH_POLL:-0.01}"
pause="${BENCH_PAUSE:-1}"
busybox="${BENCH_BUSYBOX:-/usr/bin/busybox}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slipway-target}"

log() { printf '[deploy-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in python3 curl git; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

out="${BENCH_OUT:-$(mktemp -d /tmp/slipway-deploy-bench.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
meta="$out/meta.txt"
: >"$meta"
note() { echo "$1 $2" >>"$meta"; }

# --- cleanup: only what this script started ---------------------------------
server_pid=""
data=""
engine_sock=""
cleanup() {
    set +e
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    if [[ -n "$engine_sock" ]]; then
        python3 "$here/deploy.py" cleanup --engine "$engine_sock" --out "$out"
    fi
    [[ -n "$data" ]] && rm -rf "$data"
    rm -rf "$out/app-repo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- engine, busybox, binary ---------------------------------------------------
log "making sure the container engine runs (scripts/setup-engine.sh)"
endpoint="$(bash "$repo/scripts/setup-engine.sh" | tail -n1)"
[[ "$endpoint" == unix://* ]] || die "the engine answers at $endpoint; this benchmark needs a unix socket"
engine_sock="${endpoint#unix://}"
log "engine at $endpoint"

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

if [[ -n "${SLIPWAY_BIN:-}" ]]; then
    slipway="$SLIPWAY_BIN"
else
    command -v cargo >/dev/null || die "cargo is required (or set SLIPWAY_BIN)"
    log "building the release binary (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$repo" && cargo build --release --quiet -p slipway-cli)
    slipway="$CARGO_TARGET_DIR/release/slipway"
fi
[[ -x "$slipway" ]] || die "no binary at $slipway"

# --- machine -----------------------------------------------------------------
note machine.cpus "$(nproc)"
note machine.cpu_model "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
note machine.mem_kb "$(awk '/^MemTotal/{print $2}' /proc/meminfo)"
note machine.kernel "$(uname -r)"
note version.slipway "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
note run.date "$(date -u +%Y-%m-%dT%H:%MZ)"
note run.loadavg "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"

# --- the server ----------------------------------------------------------------
data="$(mktemp -d /tmp/slipway-deploy-bench-data.XXXXXX)"
api_port="$(free_port)"
edge_port="$(free_port)"
"$slipway" server --data-dir "$data" --listen "127.0.0.1:$api_port" --edge-listen "127.0.0.1:$edge_port" \
    >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || die "the server exited, see $out/server.log"
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null || die "the server did not come up, see $out/server.log"
log "server pid $server_pid: API 127.0.0.1:$api_port, edge 127.0.0.1:$edge_port"

# --- measure -------------------------------------------------------------------
python3 "$here/deploy.py" run --api "http://127.0.0.1:$api_port" --edge-port "$edge_port" \
    --token-file "$data/admin-token" --engine "$engine_sock" --out "$out" \
    --runs "$runs" --busybox "$busybox" --poll "$poll" --pause "$pause"

note run.loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
python3 "$here/deploy.py" report "$out" | tee "$out/report.md"
log "raw results kept in $out (results.json: every run with its deployment and log lines)"
