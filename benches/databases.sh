#!/usr/bin/env bash
# Database benchmark: how long a PostgreSQL 15 CONTAINER database takes to
# accept a client after Slipway deploys or restarts it, against the container
# engine doing the same by hand with the same image. See docs/benchmarks.md
# ("Databases").
#
#   bash benches/databases.sh
#
# Makes sure the container engine runs (scripts/setup-engine.sh) and has the
# image (`slipway images build postgresql` when it is missing), builds the
# release binary, starts `slipway server --local-database-images` in a
# temporary data directory on free loopback ports, and measures with
# benches/databases.py, runs interleaved where they are compared:
#
#   - first start: the raw engine (a new volume, create + start with the same
#     environment, volume, published port and limits) against a new PUBLIC
#     database deployed through the API (deleted after each run, so that each
#     run starts on a new volume);
#   - restart of an initialised database: the raw engine's stop + start of
#     the same container, and its stop + remove + create + start on the same
#     volume, against `POST /database/{id}/restart-service`;
#   - a redeploy after a configuration change (memory), through the API.
#
# "Client in" is a real client: a new TCP connection to the published port,
# a SCRAM-SHA-256 login with the database's credentials (from
# GET /database/{id}/masterCredentials) and a query, polled from the request
# on; after a restart it counts only once a new server answers.
#
# Prints a Markdown report; the raw timings, deployment logs, engine events
# and the server's log are kept in the directory printed at the end. Removes
# every container, volume, network and process it started (not the image).
# Measurements, not assertions.
#
# Knobs (environment variables):
#   BENCH_RUNS        measured runs per case           (default: 5)
#   BENCH_POLL        client poll interval, seconds    (default: 0.01)
#   BENCH_PAUSE       pause between runs, seconds      (default: 1)
#   BENCH_IMAGE       the PostgreSQL 15 image          (default: localhost/slipway/postgresql:15, which
#                     `slipway images build postgresql` makes; another one is given to the server as
#                     its `database_images` entry POSTGRESQL:15, and must be on the engine)
#   BENCH_OUT         where results are kept           (default: a new /tmp/slipway-databases-bench.* dir)
#   SLIPWAY_BIN       use this slipway binary instead of building one
#   CARGO_TARGET_DIR  build directory                  (default: ~/.cache/slipway-target)
set -euo pipefail

bench=databases-bench
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/benchlib.sh"
here="$bench_here"

local_image=localhost/slipway/postgresql:15
image="${BENCH_IMAGE:-$local_image}"
bench_setup 5

# --- cleanup: only what this script started ---------------------------------
cleanup() {
    set +e
    bench_stop_server
    if [[ -n "$engine_sock" ]]; then
        python3 "$here/databases.py" cleanup --engine "$engine_sock" --out "$out"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- engine, binary, image -----------------------------------------------------
bench_engine
bench_binary

has_image() {
    curl -fsS --unix-socket "$engine_sock" -o /dev/null "http://d/v1.41/images/${image//\//%2F}/json"
}
if ! has_image; then
    [[ "$image" == "$local_image" ]] || die "the engine has no image $image (pull it first)"
    log "the engine has no $image: slipway images build postgresql"
    "$slipway" images build postgresql --engine "unix://$engine_sock" >&2 \
        || die "cannot build $image (slipway images build postgresql)"
    has_image || die "still no $image on the engine"
fi

bench_machine

# --- the server ----------------------------------------------------------------
if [[ "$image" == "$local_image" ]]; then
    bench_server --local-database-images
else
    printf '[database_images]\n"POSTGRESQL:15" = "%s"\n' "$image" >"$out/server.toml"
    bench_server --config "$out/server.toml"
fi

# --- measure -------------------------------------------------------------------
python3 "$here/databases.py" run --api "http://127.0.0.1:$api_port" --token-file "$data/admin-token" \
    --engine "$engine_sock" --out "$out" --image "$image" --runs "$runs" --poll "$poll" --pause "$pause"

note run.loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
python3 "$here/databases.py" report "$out" | tee "$out/report.md"
log "raw results kept in $out (results.json: every run with its deployment, log lines and engine events)"
