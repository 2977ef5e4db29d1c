# Shared helpers for Slipway's scripts. Source it; do not run it.

# Where cargo builds: outside the clone, so that fresh clones reuse one cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/slipway-target}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian/Ubuntu packages that are missing; `apt-get update` runs once.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  log "installing ${missing[*]}"
  if [ -z "${SLIPWAY_APT_UPDATED:-}" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    export SLIPWAY_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Makes sure a Rust toolchain of the workspace's version is available.
ensure_rust() {
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null; then
    log "installing the Rust toolchain with rustup"
    apt_install curl ca-certificates
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95 -c clippy,rustfmt \
      || die "cannot install Rust; install Rust 1.95 (https://rustup.rs) and retry"
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

# The `terraform` CLI Terraform services run (tests use its built-in
# `terraform_data` resource only, so no provider is ever downloaded). Debian
# does not package it: when it is missing, the release zip is installed into
# ~/.local/bin.
TERRAFORM_VERSION="${TERRAFORM_VERSION:-1.11.4}"
ensure_terraform() {
  [ -x "$HOME/.local/bin/terraform" ] && export PATH="$HOME/.local/bin:$PATH"
  command -v terraform >/dev/null && return
  log "installing terraform $TERRAFORM_VERSION into ~/.local/bin"
  apt_install curl ca-certificates unzip
  local arch zip
  arch="$(dpkg --print-architecture)"
  zip="$(mktemp)"
  curl -sSfL -o "$zip" \
    "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_${arch}.zip" \
    || die "cannot download terraform; install the terraform CLI (on PATH, or --terraform-bin) and retry"
  mkdir -p "$HOME/.local/bin"
  unzip -o -q "$zip" terraform -d "$HOME/.local/bin" || die "cannot unpack terraform"
  rm -f "$zip"
  export PATH="$HOME/.local/bin:$PATH"
}

# The system packages Slipway's build and tests use. Node.js and PostgreSQL
# count as present when their commands are, whichever package brought them.
ensure_system_packages() {
  # busybox-static: the static binary test images are made of; docker-registry
  # and openssl: a real registry (over TLS) for push and pull tests; mmdebstrap:
  # the database images (`slipway images build`); pebble: a real ACME server for
  # certificate issuance tests; dnsmasq: a real DNS server for custom-domain
  # checks; nginx and wrk: the reference proxy and load generator of the edge
  # benchmark.
  apt_install git gcc libc6-dev ca-certificates curl busybox-static docker-registry openssl mmdebstrap \
    pebble dnsmasq-base nginx-light wrk
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
}
