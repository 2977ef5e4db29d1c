#!/usr/bin/env bash
# Quick start: from a fresh Debian/Ubuntu machine to a running Slipway with an
# example environment deployed and answering. Safe to run again: it reuses
# what exists and redeploys.
#
#   SLIPWAY_LISTEN       address of the API          (default 127.0.0.1:8080)
#   SLIPWAY_EDGE_LISTEN  address of the edge proxy   (default 127.0.0.1:8081)
#   SLIPWAY_DATA_DIR     data directory              (default ~/.local/share/slipway)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

listen="${SLIPWAY_LISTEN:-127.0.0.1:8080}"
edge_listen="${SLIPWAY_EDGE_LISTEN:-127.0.0.1:8081}"
data_dir="${SLIPWAY_DATA_DIR:-$HOME/.local/share/slipway}"
url="http://$listen"
bin_dir="$HOME/.local/bin"

apt_install git gcc libc6-dev ca-certificates curl python3 busybox-static mmdebstrap
ensure_rust
log "container engine"
bash scripts/setup-engine.sh >/dev/null

log "building slipway (release)"
cargo build --release --locked -p slipway-cli
mkdir -p "$bin_dir" "$data_dir"
install -m 0755 "$CARGO_TARGET_DIR/release/slipway" "$bin_dir/slipway"
export PATH="$bin_dir:$PATH"

# Database images from the host's Debian packages: databases run without a registry.
log "database images (PostgreSQL 15, MySQL as MariaDB 10.11, Redis 7)"
slipway images build

if curl -fsS "$url/healthz" >/dev/null 2>&1; then
  log "a server already answers on $url"
else
  log "starting slipway server on $url, edge on $edge_listen (log: $data_dir/server.log)"
  nohup slipway server --listen "$listen" --edge-listen "$edge_listen" --data-dir "$data_dir" \
    --local-database-images >>"$data_dir/server.log" 2>&1 &
  echo $! >"$data_dir/server.pid"
  for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$url/healthz" >/dev/null || die "the server did not start; see $data_dir/server.log"
fi

token="$(cat "$data_dir/admin-token")"
slipway login --url "$url" --token "$token" >/dev/null

# The example app's source: examples/hello plus the host's static busybox, in
# a git repository Slipway builds from (file://, no git server needed).
repo="$data_dir/examples/hello"
if [ ! -d "$repo/.git" ]; then
  log "creating the example app's repository in $repo"
  mkdir -p "$repo/bin"
  cp -r examples/hello/. "$repo/"
  cp /bin/busybox "$repo/bin/busybox"
  git -C "$repo" init -q -b main
  git -C "$repo" -c user.name=Slipway -c user.email=quickstart@slipway.invalid add -A
  git -C "$repo" -c user.name=Slipway -c user.email=quickstart@slipway.invalid commit -q -m "Example app"
fi

if ! slipway project list --output json | grep -q '"name": *"example"'; then
  log "creating the example project, environment and application"
  slipway project create example --description "Created by the quick start" >/dev/null
  slipway env create staging --project example --mode staging >/dev/null
  env_id="$(slipway env list --project example --output json | python3 -c 'import json,sys; print([e["id"] for e in json.load(sys.stdin) if e["name"]=="staging"][0])')"
  curl -fsS -H "Authorization: Token $token" -H 'Content-Type: application/json' "$url/environment/$env_id/application" -d "{
      \"name\": \"hello\",
      \"git_repository\": {\"url\": \"file://$repo\", \"branch\": \"main\", \"provider\": \"GITHUB\"},
      \"healthchecks\": {\"readiness_probe\": {\"type\": {\"http\": {\"port\": 8080, \"path\": \"/health\"}},
                        \"initial_delay_seconds\": 0, \"period_seconds\": 1}},
      \"ports\": [{\"internal_port\": 8080, \"publicly_accessible\": true}],
      \"cpu\": 100, \"memory\": 32
    }" >/dev/null
fi

log "deploying the example environment"
slipway deploy --project example --env staging
app_id="$(slipway service list --project example --env staging --output json \
  | python3 -c 'import json,sys; print(next(s["id"] for s in json.load(sys.stdin) if s["name"]=="hello"))')"
app_url="$(curl -fsS -H "Authorization: Token $token" "$url/application/$app_id/link" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["url"])')"
if [ -n "$app_url" ]; then
  log "the example app answers at $app_url:"
  curl -fsS "$app_url" | head -3
fi

cat <<EOF2

Slipway is running.
  API          $url          (token in $data_dir/admin-token)
  API docs     $url/docs
  Example app  ${app_url:-see: slipway status --project example --env staging}
  CLI          $bin_dir/slipway   (logged in; try: slipway status --project example --env staging)
  Stop         kill \$(cat $data_dir/server.pid)
EOF2
