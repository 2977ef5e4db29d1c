#!/usr/bin/env bash
# Makes sure a container engine answers the Docker Engine API on this host.
# Uses a running Docker or Podman if there is one; otherwise installs Podman
# (Debian/Ubuntu), configures it for hosts without systemd, and starts its
# API service on /run/podman/podman.sock. Prints the endpoint on stdout.
#
# SLIPWAY_ENGINES="podman docker" (either or both, in that order) makes sure
# each named engine runs, installing and starting it if needed, and prints one
# endpoint per line; the runtime-docker tests take that list as
# SLIPWAY_TEST_ENGINES. Docker is Debian's docker.io, started as a plain
# `dockerd` (no systemd) on /var/run/docker.sock.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ping_socket() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

# A daemon started from a checkout that was deleted since (a CI clone) cannot start containers any
# more; stop it so that it is started again from /.
stop_if_homeless() { # PATTERN NAME
  local pid
  pid=$(pgrep -f "$1" | head -1 || true)
  [[ -n "$pid" ]] || return 0
  readlink "/proc/$pid/cwd" 2>/dev/null | grep -q '(deleted)$' || return 0
  log "restarting $2: its working directory was deleted"
  as_root kill "$pid"
  # Until the process is gone, not only its socket: dockerd removes its pid file last.
  for _ in $(seq 1 300); do
    [[ -d "/proc/$pid" ]] || return 0
    sleep 0.1
  done
  die "$2 did not stop"
}

wait_for_socket() {
  for _ in $(seq 1 300); do
    ping_socket "$1" && return 0
    sleep 0.1
  done
  return 1
}

# Default ulimits for containers. The engines' own defaults (or none) make
# container start fail here with `setrlimit ... Operation not permitted`, and
# asking for more than the host's hard limit fails the same way, so stay
# within it.
host_limit() {
  local hard
  hard=$(ulimit -H "$1")
  if [ "$hard" = unlimited ] || [ "$hard" -gt "$2" ]; then echo "$2"; else echo "$hard"; fi
}
NOFILE=$(host_limit -n 65536)
NPROC=$(host_limit -u 4096)

# Warns when the process matching $2 started before its config file $1 last
# changed: it runs with the previous configuration until restarted.
warn_if_stale() {
  local pid
  pid=$(pgrep -o -f "$2" || true)
  if [ -n "$pid" ] && [ "$1" -nt "/proc/$pid" ]; then
    log "warning: $3 (pid $pid) started before $1 last changed and still uses the previous settings;"
    log "  restart it to apply them: stop that process, then run this script again"
  fi
}

# Writes $2 to the config file $1 when it is missing or was written by this
# script ($3 marks it) with other content; succeeds only when it wrote.
write_config() {
  local file=$1 content=$2 marker=$3
  if [ -f "$file" ]; then
    grep -q -- "$marker" "$file" || return 1
    [ "$(cat "$file")" = "$content" ] && return 1
  fi
  log "writing $file"
  as_root mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" | as_root tee "$file" >/dev/null
}

# crun fails on hosts with hybrid cgroups; runc works. The dnsname CNI plugin
# gives user-defined networks DNS (names and aliases of containers), which
# Podman's CNI backend lacks without it.
start_podman() {
  local sock=/run/podman/podman.sock
  apt_install podman runc curl iptables uidmap procps golang-github-containernetworking-plugin-dnsname
  local config
  config=$(cat <<CONF
# Written by Slipway's setup-engine.sh
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
  write_config /etc/containers/containers.conf "$config" "Written by Slipway's setup-engine.sh" || true
  stop_if_homeless "podman system service.*$sock" "podman's API service"
  if ping_socket "$sock"; then
    warn_if_stale /etc/containers/containers.conf "podman system service.*$sock" "podman's API service on $sock"
    echo "unix://$sock"
    return
  fi
  log "starting the podman API service on $sock"
  # From /: the service outlives the checkout that started it, and containers fail to start
  # ("write child: broken pipe") once its working directory is deleted.
  as_root mkdir -p /run/podman
  as_root sh -c "cd / && nohup podman system service --time=0 unix://$sock >/var/log/podman-service.log 2>&1 &"
  wait_for_socket "$sock" || die "podman's API service did not start; see /var/log/podman-service.log"
  echo "unix://$sock"
}

# dockerd without systemd, with its iptables rules (they are what keeps one
# environment's network from reaching another's), cgroupfs, and the same
# default ulimits as Podman.
start_docker() {
  local sock=/var/run/docker.sock
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io curl iptables procps
  fi
  local config
  config=$(cat <<CONF
{
  "iptables": true,
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "default-ulimits": {
    "nofile": {"Name": "nofile", "Soft": $NOFILE, "Hard": $NOFILE},
    "nproc": {"Name": "nproc", "Soft": $NPROC, "Hard": $NPROC}
  }
}
CONF
)
  write_config /etc/docker/daemon.json "$config" "native.cgroupdriver=cgroupfs" || true
  stop_if_homeless "^dockerd" "dockerd"
  if ping_socket "$sock"; then
    warn_if_stale /etc/docker/daemon.json "^dockerd" "dockerd on $sock"
    echo "unix://$sock"
    return
  fi
  log "starting dockerd on $sock"
  as_root sh -c "cd / && nohup dockerd >/var/log/dockerd.log 2>&1 &"
  wait_for_socket "$sock" || die "dockerd did not start; see /var/log/dockerd.log"
  echo "unix://$sock"
}

if [ -n "${SLIPWAY_ENGINES:-}" ]; then
  for engine in $SLIPWAY_ENGINES; do
    case "$engine" in
      podman) start_podman ;;
      docker) start_docker ;;
      *) die "unknown engine '$engine' in SLIPWAY_ENGINES: use podman, docker, or both" ;;
    esac
  done
  exit 0
fi

if [ -n "${SLIPWAY_ENGINE_SOCKET:-}" ] && [ -S "$SLIPWAY_ENGINE_SOCKET" ] && ping_socket "$SLIPWAY_ENGINE_SOCKET"; then
  echo "unix://$SLIPWAY_ENGINE_SOCKET"
  exit 0
fi
if [ -S /run/podman/podman.sock ] && ping_socket /run/podman/podman.sock; then
  # Running already: still make sure of its configuration and DNS plugin.
  start_podman
  exit 0
fi
if [ -S /var/run/docker.sock ] && ping_socket /var/run/docker.sock; then
  echo "unix:///var/run/docker.sock"
  exit 0
fi

start_podman
