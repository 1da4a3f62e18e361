# Shared helpers for the scripts; sourced, not run.

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The toolchain's own components: present with a normal rustup install. They cannot be fetched
# from here (only package registries are reachable), so say what is missing instead of failing
# halfway through.
ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (1.95) first"
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "clippy missing: rustup component add clippy"
}

# Installs Debian packages that are not installed yet (skipped when they are).
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}
