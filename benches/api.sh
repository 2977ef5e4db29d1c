#!/usr/bin/env bash
# API benchmark: throughput and latency of the listing endpoints, and the
# server's memory, on SQLite and on PostgreSQL. See docs/benchmarks.md.
#
#   bash benches/api.sh
#
# Builds the release binary, installs the load generator (oha) into a
# bench-local root if missing, then for each backend: starts `slipway server`
# in a temporary data directory (and a throwaway PostgreSQL), seeds it through
# the API, measures every endpoint at a fixed rate and at full speed, and
# reads the server's memory from /proc. Prints a Markdown report at the end.
# Only loopback addresses are used; every run is bounded in time.
#
# Knobs (environment variables):
#   BENCH_BACKENDS     backends to measure            (default: "sqlite postgres")
#   BENCH_DURATION     length of each measured run    (default: 20s)
#   BENCH_RATE         the fixed rate, requests/s     (default: 1000)
#   BENCH_FIXED_CONNS  connections for the fixed rate (default: 20)
#   BENCH_MAX_CONNS    connections for full speed     (default: 50)
#   BENCH_SHAPES       seeded projects, NAME=PROJECTSxENVS, 10 services per
#                      environment                    (default: "p100=10x100 p1000=1x1000")
#   BENCH_OUT          where raw results are kept     (default: a new /tmp/slipway-bench.* dir)
#   BENCH_TOOLS        cargo install root for oha     (default: ~/.cache/slipway-bench-tools)
#   CARGO_TARGET_DIR   build directory                (default: ~/.cache/slipway-target)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

backends="${BENCH_BACKENDS:-sqlite postgres}"
duration="${BENCH_DURATION:-20s}"
rate="${BENCH_RATE:-1000}"
fixed_conns="${BENCH_FIXED_CONNS:-20}"
max_conns="${BENCH_MAX_CONNS:-50}"
shapes="${BENCH_SHAPES:-p100=10x100 p1000=1x1000}"
tools="${BENCH_TOOLS:-$HOME/.cache/slipway-bench-tools}"
oha_version="1.16.0"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slipway-target}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in cargo python3 curl; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

out="${BENCH_OUT:-$(mktemp -d /tmp/slipway-bench.XXXXXX)}"
mkdir -p "$out"
meta="$out/meta.txt"
: >"$meta"
note() { echo "$1 $2" >>"$meta"; }

# --- cleanup: only what this script started ---------------------------------
server_pid=""
pg_ctl_cmd=()
pg_data=""
tmp_dirs=()
cleanup() {
    set +e
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    if [[ -n "$pg_data" ]]; then
        "${pg_ctl_cmd[@]}" -D "$pg_data" -m fast -w stop >/dev/null 2>&1
    fi
    for d in "${tmp_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- build and tools ---------------------------------------------------------
log "building the release binary (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$repo" && cargo build --release --quiet -p slipway-cli)
slipway="$CARGO_TARGET_DIR/release/slipway"
[[ -x "$slipway" ]] || die "no binary at $slipway"

oha="$tools/bin/oha"
if [[ ! -x "$oha" ]]; then
    log "installing oha $oha_version into $tools (once)"
    cargo install --quiet --locked oha --version "$oha_version" --root "$tools"
fi

# --- machine -----------------------------------------------------------------
note machine.cpus "$(nproc)"
note machine.cpu_model "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo | tr ' ' '_')"
note machine.mem_kb "$(awk '/^MemTotal/{print $2}' /proc/meminfo)"
note machine.kernel "$(uname -r)"
note version.rustc "$(rustc --version | tr ' ' '_')"
note version.oha "$("$oha" --version | tr ' ' '_')"
note version.slipway "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
note run.date "$(date -u +%Y-%m-%dT%H:%MZ)"
note run.loadavg "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
note run.duration "$duration"
note run.rate "$rate"
note run.fixed_conns "$fixed_conns"
note run.max_conns "$max_conns"
note run.shapes "$(echo "$shapes" | tr ' ' ',')"

# --- PostgreSQL (throwaway) --------------------------------------------------
pg_url=""
start_postgres() {
    local bin
    if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        bin="$(pg_config --bindir)"
    else
        bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    fi
    [[ -n "$bin" && -x "$bin/initdb" ]] || die "PostgreSQL server binaries not found (apt-get install postgresql), or set BENCH_BACKENDS=sqlite"
    local as_pg=()
    local root
    root="$(mktemp -d /tmp/slipway-bench-pg.XXXXXX)"
    tmp_dirs+=("$root")
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$root"
        as_pg=(runuser -u postgres --)
    fi
    local port
    port="$(free_port)"
    "${as_pg[@]}" "$bin/initdb" -D "$root/data" -U slipway --auth=trust -E UTF8 >"$out/postgres-initdb.log" 2>&1 \
        || die "initdb failed, see $out/postgres-initdb.log"
    pg_ctl_cmd=("${as_pg[@]}" "$bin/pg_ctl")
    pg_data="$root/data"
    "${pg_ctl_cmd[@]}" -D "$pg_data" -l "$root/server.log" -w \
        -o "-p $port -k $root -c listen_addresses=127.0.0.1" start >/dev/null
    pg_url="postgres://slipway@127.0.0.1:$port/postgres"
    note version.postgres "$("$bin/postgres" --version | tr ' ' '_')"
    log "PostgreSQL up on 127.0.0.1:$port"
}

stop_postgres() {
    if [[ -n "$pg_data" ]]; then
        "${pg_ctl_cmd[@]}" -D "$pg_data" -m fast -w stop >/dev/null
        pg_data=""
    fi
}

# --- the server ----------------------------------------------------------------
port=""
start_server() {
    local backend="$1" data
    data="$(mktemp -d /tmp/slipway-bench-data.XXXXXX)"
    tmp_dirs+=("$data")
    port="$(free_port)"
    local args=(server --data-dir "$data" --listen "127.0.0.1:$port")
    [[ "$backend" == postgres ]] && args+=(--database-url "$pg_url")
    SLIPWAY_LOG=warn "$slipway" "${args[@]}" >"$out/$backend-server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || die "server exited, see $out/$backend-server.log"
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || die "server did not come up"
    token="$(tr -d '[:space:]' <"$data/admin-token")"
    log "$backend: server pid $server_pid on 127.0.0.1:$port"
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}

status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server_pid/status"; }

# --- load ----------------------------------------------------------------------
# run BACKEND NAME URL_FILE: a warm-up, a fixed-rate run and a full-speed run.
run() {
    local backend="$1" name="$2" urls="$3"
    local auth=(-H "Authorization: Token $token")
    log "$backend: $name: warm-up"
    "$oha" --no-tui --urls-from-file -z 2s -c 10 "${auth[@]}" --output-format quiet "$urls"
    log "$backend: $name: $rate req/s for $duration ($fixed_conns connections)"
    "$oha" --no-tui --urls-from-file -z "$duration" -q "$rate" --latency-correction -c "$fixed_conns" \
        "${auth[@]}" --output-format json -o "$out/$backend.$name.fixed.json" "$urls"
    log "$backend: $name: full speed for $duration ($max_conns connections)"
    "$oha" --no-tui --urls-from-file -z "$duration" -c "$max_conns" \
        "${auth[@]}" --output-format json -o "$out/$backend.$name.max.json" "$urls"
}

shape_args=()
for s in $shapes; do shape_args+=(--shape "$s"); done

for backend in $backends; do
    case "$backend" in
        sqlite) ;;
        postgres) start_postgres ;;
        *) die "unknown backend $backend" ;;
    esac
    start_server "$backend"
    sleep 3
    note "$backend.rss_fresh_kb" "$(status_kb VmRSS)"

    log "$backend: seeding ($shapes, 10 services per environment)"
    python3 "$here/seed.py" "http://127.0.0.1:$port" "$token" "$out/$backend.seed.json" "${shape_args[@]}" \
        2> >(tee "$out/$backend.seed.log" >&2)
    sleep 5
    note "$backend.rss_idle_seeded_kb" "$(status_kb VmRSS)"
    note "$backend.hwm_after_seed_kb" "$(status_kb VmHWM)"

    # URL files: oha picks one line at random per request.
    python3 - "$out/$backend.seed.json" "http://127.0.0.1:$port" "$out/$backend" <<'EOF'
import json, sys
seed, base, prefix = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def write(name, paths):
    with open(f"{prefix}.{name}.urls", "w") as f:
        f.writelines(f"{base}{p}\n" for p in paths)
write("healthz", ["/healthz"])
write("organization", [f"/organization/{seed['organization_id']}"])
write("services", [f"/environment/{e}/services" for e in seed["environment_ids"]])
for name, shape in seed["shapes"].items():
    write(f"environments-{name}", [f"/project/{p}/environment" for p in shape["projects"]])
EOF
    endpoints=(healthz organization services)
    for s in $shapes; do endpoints+=("environments-${s%%=*}"); done
    for name in "${endpoints[@]}"; do
        run "$backend" "$name" "$out/$backend.$name.urls"
    done

    note "$backend.hwm_kb" "$(status_kb VmHWM)"
    sleep 5
    note "$backend.rss_idle_after_load_kb" "$(status_kb VmRSS)"
    stop_server
    [[ "$backend" == postgres ]] && stop_postgres
done

log "raw results kept in $out"
python3 "$here/report.py" "$out"
