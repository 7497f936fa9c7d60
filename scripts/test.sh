#!/usr/bin/env bash
# make test: set-up, the services the tests need (on their own ports and data, never the ones
# make up runs), lint and type-check, Jest and pytest; ends with one line counting both suites.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

"$ROOT/scripts/setup.sh" || die "set-up failed"

# Tests never read the developer's .env: it may point at real buckets or a real RunPod account.
export ENV_FILE=/dev/null
export DATA_DIR="$ROOT/.data/test"
export REDIS_URL="redis://127.0.0.1:16379"
export S3_ENDPOINT_URL="http://127.0.0.1:19000"
export S3_BUCKET_NAME="api-gpu-test"
export S3_PUBLIC_READ=true
export S3_REGION=us-east-1
mkdir -p "$DATA_DIR"
CREDENTIALS="$DATA_DIR/credentials.env"
load_env_file "$CREDENTIALS"
ensure_secret "$CREDENTIALS" S3_ACCESS_KEY >/dev/null
ensure_secret "$CREDENTIALS" S3_SECRET_KEY >/dev/null
ensure_secret "$CREDENTIALS" X_API_KEY >/dev/null
apply_defaults
export LOG_LEVEL=warn HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1

trap '"$ROOT/scripts/services.sh" stop >/dev/null' EXIT
"$ROOT/scripts/services.sh" start || die "could not start Redis and MinIO for the tests"

passed=0 failed=0 skipped=0
check() {
  local name="$1"; shift
  say "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); say "!! $name failed"; fi
}

cd "$ROOT"
check "eslint" npx --no-install eslint --max-warnings 0 .
check "tsc --noEmit" npx --no-install tsc --noEmit -p tsconfig.json
check "ruff check" "$VENV/bin/ruff" check worker-python scripts
check "ruff format --check" "$VENV/bin/ruff" format --check worker-python scripts

say "== jest"
rm -f "$DATA_DIR/jest.json"
npx --no-install jest --ci --json --outputFile="$DATA_DIR/jest.json"
say "== pytest"
rm -f "$DATA_DIR/pytest.xml"
(cd "$ROOT/worker-python" && "$VENV/bin/pytest" -q --junitxml="$DATA_DIR/pytest.xml")

read -r p f s < <("$VENV/bin/python" "$ROOT/scripts/count_results.py" "$DATA_DIR/jest.json" "$DATA_DIR/pytest.xml")
passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
say "$summary"
[ "$failed" -eq 0 ]
