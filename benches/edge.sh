#!/usr/bin/env bash
# Edge proxy benchmark: Slipway's edge against nginx as a reverse proxy, the
# same load generator (wrk) driving the same upstream through each. See
# docs/benchmarks.md ("Edge proxy").
#
#   bash benches/edge.sh
#
# Installs what scripts/lib.sh's ensure_system_packages installs (nginx-light
# and wrk among them), builds the edge's benchmark example
# (crates/edge/examples/edge_bench_proxy.rs) in release mode, and starts on
# free loopback ports:
#
#   - the upstream: nginx answering every request with a fixed 128-byte
#     body (`return 200`), 2 workers;
#   - nginx as a reverse proxy to it: 2 workers, `upstream { keepalive 64; }`,
#     HTTP/1.1 with `Connection ""` to the upstream, the X-Forwarded-*
#     headers the edge also sets, HTTP and HTTPS listeners;
#   - the edge to the same upstream: 2 tokio worker threads, the
#     configuration `slipway server` uses (EdgeConfig::default(), TLS from
#     the local CA), HTTP and HTTPS listeners.
#
# Both proxies have their access log off and serve an ECDSA P-256 leaf
# certificate sent with its CA's (nginx: made here with openssl; the edge:
# issued by its local CA); nginx 1.22 offers TLS 1.3 only when asked to
# (`ssl_protocols`), so it is, as the edge does by default. keepalive_requests is raised everywhere in nginx
# so that no side closes a keep-alive connection during a run (the edge has
# no such limit). Nothing is pinned: wrk, the upstream and the proxy share
# the machine's CPUs, the same way for both proxies.
#
# Then benches/edge.py drives the upstream directly (the ceiling), nginx and
# the edge with the same wrk command, HTTP then HTTPS, in rounds whose order
# alternates; and opens BENCH_IDLE idle keep-alive connections to each proxy
# to read its memory (RSS from /proc/<pid>/status). Prints a Markdown
# report; wrk's output and the configurations are kept in the directory
# printed at the end. Stops everything it started. Measurements, not
# assertions.
#
# Knobs (environment variables):
#   BENCH_RUNS         rounds per target                   (default: 3)
#   BENCH_THREADS      wrk threads                         (default: 2)
#   BENCH_CONNECTIONS  wrk connections                     (default: 64)
#   BENCH_DURATION     seconds per wrk run                 (default: 15)
#   BENCH_WARMUP       seconds of warm-up per target       (default: 3)
#   BENCH_IDLE         idle connections                    (default: 10000)
#   BENCH_WORKERS      nginx workers = edge worker threads (default: the number of CPUs)
#   BENCH_OUT          where results are kept              (default: a new /tmp/slipway-edge-bench.* dir)
#   EDGE_BENCH_BIN     use this edge_bench_proxy binary instead of building one
#   CARGO_TARGET_DIR   build directory                     (default: ~/.cache/slipway-target)
set -euo pipefail

bench=edge-bench
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/benchlib.sh"
here="$bench_here"

ensure_system_packages
bench_setup 3 wrk nginx openssl
threads="${BENCH_THREADS:-2}"
connections="${BENCH_CONNECTIONS:-64}"
duration="${BENCH_DURATION:-15}"
warmup="${BENCH_WARMUP:-3}"
idle="${BENCH_IDLE:-10000}"
workers="${BENCH_WORKERS:-$(nproc)}"
vhost=bench.localhost

# Room for the idle connections (the proxies inherit it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > idle + 1000 )) || log "warning: ulimit -n is $(ulimit -n): fewer than $idle idle connections may open"

# --- cleanup: only what this script started ---------------------------------
pids=()
cleanup() {
    set +e
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # NAME PID PORT
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "$1 exited, see $out"
        sleep 0.1
    done
    die "$1 does not listen on 127.0.0.1:$3, see $out"
}

# --- the edge's binary -------------------------------------------------------------
if [[ -n "${EDGE_BENCH_BIN:-}" ]]; then
    edge_bin="$EDGE_BENCH_BIN"
else
    command -v cargo >/dev/null || die "cargo is required (or set EDGE_BENCH_BIN)"
    log "building the edge benchmark proxy (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$bench_repo" && cargo build --release --quiet -p slipway-edge --example edge_bench_proxy)
    edge_bin="$CARGO_TARGET_DIR/release/examples/edge_bench_proxy"
fi
[[ -x "$edge_bin" ]] || die "no binary at $edge_bin"

bench_machine
note nginx.version "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian $(dpkg-query -W -f='${Version}' nginx-light 2>/dev/null || echo '?'))"
note wrk.version "$(wrk -v 2>&1 | head -n1 | awk '{print $2}')"
note pinning "none: wrk ($threads threads), the upstream ($workers workers) and the proxy ($workers workers or worker threads) share $(nproc) CPUs"

# --- certificate for nginx: an ECDSA P-256 leaf and its CA, like the edge's -------
tls="$out/tls"
mkdir -p "$tls"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/ca.key" \
    -subj "/CN=Slipway edge benchmark CA" -days 7 -out "$tls/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/leaf.key" \
    -subj "/CN=$vhost" -out "$tls/leaf.csr" 2>/dev/null
openssl x509 -req -in "$tls/leaf.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 7 \
    -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$vhost") -out "$tls/leaf.pem" 2>/dev/null
cat "$tls/leaf.pem" "$tls/ca.pem" >"$tls/chain.pem"

# --- nginx: the upstream and the reverse proxy -----------------------------------
up_port="$(free_port)"
nx_http="$(free_port)"
nx_https="$(free_port)"
edge_http="$(free_port)"
edge_https="$(free_port)"
user_line=""
[[ $EUID -eq 0 ]] && user_line="user root;"
body="$(printf 'slipway-edge-benchmark-upstream:%0128d' 0 | head -c 128)"

nginx_common() { # NAME
    cat <<EOF
$user_line
daemon off;
worker_processes $workers;
worker_rlimit_nofile 65536;
pid $out/$1/nginx.pid;
error_log $out/$1/error.log warn;
events { worker_connections 20000; }
EOF
}

mkdir -p "$out/upstream" "$out/nginx"
{
    nginx_common upstream
    cat <<EOF
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$up_port;
        location / { default_type text/plain; return 200 "$body"; }
    }
}
EOF
} >"$out/upstream/nginx.conf"

{
    nginx_common nginx
    cat <<EOF
http {
    access_log off;
    keepalive_requests 10000000;
    upstream backend {
        server 127.0.0.1:$up_port;
        keepalive 64;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$nx_http;
        listen 127.0.0.1:$nx_https ssl;
        server_name $vhost;
        ssl_certificate $tls/chain.pem;
        ssl_certificate_key $tls/leaf.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
        }
    }
}
EOF
} >"$out/nginx/nginx.conf"

nginx -p "$out/upstream" -c "$out/upstream/nginx.conf" -e "$out/upstream/error.log" >"$out/upstream/stderr.log" 2>&1 &
up_pid=$!
pids+=("$up_pid")
wait_port "the upstream nginx" "$up_pid" "$up_port"
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -e "$out/nginx/error.log" >"$out/nginx/stderr.log" 2>&1 &
nx_pid=$!
pids+=("$nx_pid")
wait_port "the nginx proxy" "$nx_pid" "$nx_http"

# --- the edge ------------------------------------------------------------------------
"$edge_bin" --listen "127.0.0.1:$edge_http" --https-listen "127.0.0.1:$edge_https" --host "$vhost" \
    --upstream "127.0.0.1:$up_port" --threads "$workers" --ca-out "$tls/edge-ca.pem" >"$out/edge.log" 2>&1 &
edge_pid=$!
pids+=("$edge_pid")
wait_port "the edge" "$edge_pid" "$edge_http"
wait_port "the edge (HTTPS)" "$edge_pid" "$edge_https"
log "upstream :$up_port (pid $up_pid), nginx :$nx_http/:$nx_https (pid $nx_pid), edge :$edge_http/:$edge_https (pid $edge_pid)"

# Both answer through the proxy, over HTTP and HTTPS (certificates checked).
for port in "$nx_http" "$edge_http"; do
    [[ "$(curl -fsS -H "Host: $vhost" "http://127.0.0.1:$port/")" == "$body" ]] \
        || die "127.0.0.1:$port does not answer the upstream's body"
done
[[ "$(curl -fsS --cacert "$tls/ca.pem" --resolve "$vhost:$nx_https:127.0.0.1" "https://$vhost:$nx_https/")" == "$body" ]] \
    || die "nginx does not answer over HTTPS"
[[ "$(curl -fsS --cacert "$tls/edge-ca.pem" --resolve "$vhost:$edge_https:127.0.0.1" "https://$vhost:$edge_https/")" == "$body" ]] \
    || die "the edge does not answer over HTTPS"

# What wrk negotiates (it sends the URL's host, 127.0.0.1, as SNI).
tls_info() {
    openssl s_client -connect "127.0.0.1:$1" -servername 127.0.0.1 -brief </dev/null 2>&1 \
        | awk -F': ' '/^Protocol version|^Ciphersuite|^Peer signature type|^Server Temp Key|^Signature type/{print $2}' \
        | paste -sd, | sed 's/,/, /g'
}
note tls.nginx "$(tls_info "$nx_https"), chain of 2 (openssl: ECDSA P-256 leaf + CA)"
note tls.edge "$(tls_info "$edge_https"), chain of 2 (local CA: ECDSA P-256 leaf + CA)"

# --- measure -----------------------------------------------------------------------
python3 "$here/edge.py" run --out "$out" --host "$vhost" --runs "$runs" --threads "$threads" \
    --connections "$connections" --duration "$duration" --warmup "$warmup" --idle "$idle" \
    --target "direct-http=http://127.0.0.1:$up_port/:$up_pid" \
    --target "nginx-http=http://127.0.0.1:$nx_http/:$nx_pid" \
    --target "edge-http=http://127.0.0.1:$edge_http/:$edge_pid" \
    --target "nginx-https=https://127.0.0.1:$nx_https/:$nx_pid" \
    --target "edge-https=https://127.0.0.1:$edge_https/:$edge_pid" \
    --idle-target "edge=127.0.0.1:$edge_http:$edge_pid" \
    --idle-target "nginx=127.0.0.1:$nx_http:$nx_pid"

note run.loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
python3 "$here/edge.py" report "$out" | tee "$out/report.md"
log "raw results kept in $out (results.json: every wrk run's output; the nginx configurations)"
