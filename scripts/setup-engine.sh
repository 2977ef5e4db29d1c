#!/usr/bin/env bash
# Makes sure a container engine answers the Docker Engine API on this host.
# Uses a running Docker or Podman if there is one; otherwise installs Podman
# (Debian/Ubuntu), configures it for hosts without systemd, and starts its
# API service on /run/podman/podman.sock. Prints the endpoint on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ping_socket() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

for sock in "${SLIPWAY_ENGINE_SOCKET:-}" /run/podman/podman.sock /var/run/docker.sock; do
  if [ -n "$sock" ] && [ -S "$sock" ] && ping_socket "$sock"; then
    echo "unix://$sock"
    exit 0
  fi
done

apt_install podman runc curl iptables uidmap

# crun fails on hosts with hybrid cgroups; runc works. Without the ulimits,
# container start fails with `setrlimit ... Operation not permitted`.
if ! grep -q slipway /etc/containers/containers.conf 2>/dev/null; then
  log "configuring podman (runc, cgroupfs, file events, ulimits)"
  as_root mkdir -p /etc/containers
  as_root tee /etc/containers/containers.conf >/dev/null <<'CONF'
# Written by Slipway's setup-engine.sh
[containers]
default_ulimits = ["nofile=65536:65536", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

log "starting the podman API service on /run/podman/podman.sock"
as_root mkdir -p /run/podman
as_root sh -c 'nohup podman system service --time=0 unix:///run/podman/podman.sock >/var/log/podman-service.log 2>&1 &'
for _ in $(seq 1 100); do
  ping_socket /run/podman/podman.sock && break
  sleep 0.1
done
ping_socket /run/podman/podman.sock || die "podman's API service did not start; see /var/log/podman-service.log"
echo "unix:///run/podman/podman.sock"
