# What the engine benchmarks share (benches/deploy.sh, benches/databases.sh).
# Source it after setting `bench` (the name in log lines and temporary
# directories); do not run it.
#
#   bench_setup RUNS [TOOL...]   checks python3, curl and TOOLs; reads the knobs BENCH_RUNS (default
#                                RUNS), BENCH_POLL and BENCH_PAUSE into $runs, $poll, $pause; makes
#                                $out and $meta (BENCH_OUT or a new /tmp/slipway-$bench.* directory);
#                                `note KEY VALUE` adds to $meta
#   bench_engine                 makes sure the engine runs: $engine_sock
#   bench_binary                 builds the release binary (or SLIPWAY_BIN): $slipway
#   bench_machine                notes the machine, the commit, the date and the load
#   bench_server [ARGS...]       starts `slipway server` in a new data directory on free loopback
#                                ports, with ARGS: $data, $api_port, $edge_port, $server_pid
#   bench_stop_server            stops it and removes its data directory (for the cleanup trap)

bench_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_repo="$(cd "$bench_here/.." && pwd)"
. "$bench_repo/scripts/lib.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slipway-target}"

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$bench" -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=""
data=""
engine_sock=""

bench_setup() {
    runs="${BENCH_RUNS:-$1}"
    poll="${BENCH_POLL:-0.01}"
    pause="${BENCH_PAUSE:-1}"
    shift
    local tool
    for tool in python3 curl "$@"; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
    out="${BENCH_OUT:-$(mktemp -d "/tmp/slipway-$bench.XXXXXX")}"
    mkdir -p "$out"
    out="$(cd "$out" && pwd)"
    meta="$out/meta.txt"
    : >"$meta"
}

note() { echo "$1 $2" >>"$meta"; }

bench_engine() {
    log "making sure the container engine runs (scripts/setup-engine.sh)"
    local endpoint
    endpoint="$(bash "$bench_repo/scripts/setup-engine.sh" | tail -n1)"
    [[ "$endpoint" == unix://* ]] || die "the engine answers at $endpoint; this benchmark needs a unix socket"
    engine_sock="${endpoint#unix://}"
    log "engine at $endpoint"
}

bench_binary() {
    if [[ -n "${SLIPWAY_BIN:-}" ]]; then
        slipway="$SLIPWAY_BIN"
    else
        command -v cargo >/dev/null || die "cargo is required (or set SLIPWAY_BIN)"
        log "building the release binary (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
        (cd "$bench_repo" && cargo build --release --quiet -p slipway-cli)
        slipway="$CARGO_TARGET_DIR/release/slipway"
    fi
    [[ -x "$slipway" ]] || die "no binary at $slipway"
}

bench_machine() {
    note machine.cpus "$(nproc)"
    note machine.cpu_model "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    note machine.mem_kb "$(awk '/^MemTotal/{print $2}' /proc/meminfo)"
    note machine.kernel "$(uname -r)"
    note version.slipway "$(git -C "$bench_repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
        git -C "$bench_repo" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
    note run.date "$(date -u +%Y-%m-%dT%H:%MZ)"
    note run.loadavg "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
}

bench_server() {
    data="$(mktemp -d "/tmp/slipway-$bench-data.XXXXXX")"
    api_port="$(free_port)"
    edge_port="$(free_port)"
    "$slipway" server --data-dir "$data" --listen "127.0.0.1:$api_port" --edge-listen "127.0.0.1:$edge_port" "$@" \
        >"$out/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || die "the server exited, see $out/server.log"
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null || die "the server did not come up, see $out/server.log"
    log "server pid $server_pid: API 127.0.0.1:$api_port, edge 127.0.0.1:$edge_port"
}

bench_stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=""
    fi
    if [[ -n "$data" ]]; then
        rm -rf "$data"
        data=""
    fi
}
