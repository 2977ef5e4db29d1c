#!/usr/bin/env bash
# Quick start: from a fresh Debian/Ubuntu machine to a running Slipway with an
# example project and environment. Safe to run again: it reuses what exists.
#
#   SLIPWAY_LISTEN     address of the API (default 127.0.0.1:8080)
#   SLIPWAY_DATA_DIR   data directory (default ~/.local/share/slipway)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

listen="${SLIPWAY_LISTEN:-127.0.0.1:8080}"
data_dir="${SLIPWAY_DATA_DIR:-$HOME/.local/share/slipway}"
url="http://$listen"
bin_dir="$HOME/.local/bin"

apt_install git gcc libc6-dev ca-certificates curl
ensure_rust

log "building slipway (release)"
cargo build --release --locked -p slipway-cli
mkdir -p "$bin_dir" "$data_dir"
install -m 0755 "$CARGO_TARGET_DIR/release/slipway" "$bin_dir/slipway"
export PATH="$bin_dir:$PATH"

if curl -fsS "$url/healthz" >/dev/null 2>&1; then
  log "a server already answers on $url"
else
  log "starting slipway server on $url (log: $data_dir/server.log)"
  nohup slipway server --listen "$listen" --data-dir "$data_dir" >>"$data_dir/server.log" 2>&1 &
  echo $! >"$data_dir/server.pid"
  for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$url/healthz" >/dev/null || die "the server did not start; see $data_dir/server.log"
fi

token="$(cat "$data_dir/admin-token")"
slipway login --url "$url" --token "$token" >/dev/null

if ! slipway project list --output json | grep -q '"name": *"example"'; then
  log "creating the example project, environment and services"
  slipway project create example --description "Created by the quick start" >/dev/null
  slipway env create staging --project example --mode staging >/dev/null
  env_id="$(slipway env list --project example --output json | python3 -c 'import json,sys; print([e["id"] for e in json.load(sys.stdin) if e["name"]=="staging"][0])')"
  org_id="$(slipway org list --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
  registry_id="$(curl -fsS -H "Authorization: Token $token" "$url/organization/$org_id/containerRegistry" \
    | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin)["results"] if r["name"]=="local"][0])')"
  api() { curl -fsS -H "Authorization: Token $token" -H 'Content-Type: application/json' -d "$2" "$url$1" >/dev/null; }
  api "/environment/$env_id/database" '{"name":"db","type":"POSTGRESQL","version":"16","mode":"CONTAINER"}'
  api "/environment/$env_id/container" "{\"name\":\"web\",\"registry_id\":\"$registry_id\",\"image_name\":\"nginx\",\"tag\":\"1.27\",\"healthchecks\":{\"readiness_probe\":{\"type\":{\"http\":{\"port\":80,\"path\":\"/\"}}}},\"ports\":[{\"internal_port\":80,\"publicly_accessible\":true}]}"
fi

slipway service list --project example --env staging
cat <<EOF2

Slipway is running.
  API          $url          (token in $data_dir/admin-token)
  API docs     $url/docs
  CLI          $bin_dir/slipway   (logged in; try: slipway project list)
  Stop         kill \$(cat $data_dir/server.pid)
EOF2
