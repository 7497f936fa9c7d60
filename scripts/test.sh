#!/usr/bin/env bash
# make test: set-up, the services the tests need (on their own ports and data, never the ones
# make up runs), lint and type-check, Jest and pytest; ends with one line counting both suites.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

# The set-up may install only into ignored places: a tracked file it rewrites (npm once rewrote
# package-lock.json) makes a fresh clone differ from the commit under test.
tracked_state() { git -C "$ROOT" diff HEAD --binary | sha256sum; }
tracked_before_setup="$(tracked_state)"
"$ROOT/scripts/setup.sh" || die "set-up failed"
tracked_after_setup="$(tracked_state)"

# Tests never read the developer's .env: it may point at real buckets or a real RunPod account.
source "$ROOT/scripts/test-env.sh"

# Services someone else started for the test environment (a developer running one suite by hand)
# are left running; the ones this run starts, it stops.
if ! "$ROOT/scripts/services.sh" status | grep -q "^minio  up"; then
  trap '"$ROOT/scripts/services.sh" stop >/dev/null' EXIT
fi
"$ROOT/scripts/services.sh" start || die "could not start Redis and MinIO for the tests"

passed=0 failed=0 skipped=0
check() {
  local name="$1"; shift
  say "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); say "!! $name failed"; fi
}

cd "$ROOT"
tracked_files_unchanged() {
  [ "$tracked_before_setup" = "$tracked_after_setup" ] && return 0
  say "the set-up changed tracked files; now modified:" >&2
  git -C "$ROOT" status --porcelain --untracked-files=no >&2
  return 1
}
check "set-up leaves tracked files unchanged" tracked_files_unchanged
check "runtimes within their end of life" "$VENV/bin/python" scripts/check-runtime-eol.py
check "eslint" npx --no-install eslint --max-warnings 0 .
check "tsc --noEmit" npx --no-install tsc --noEmit -p tsconfig.json
check "ruff check" "$VENV/bin/ruff" check worker-python scripts deploy-tests test/support
check "ruff format --check" "$VENV/bin/ruff" format --check worker-python scripts deploy-tests test/support
check "schemathesis fuzz of the API" "$ROOT/scripts/fuzz-api.sh"
# No Docker engine and no cluster here: the deployment files are rendered and validated offline.
check "deploy: kustomize build" "$VENV/bin/python" scripts/check-deploy.py kustomize
check "deploy: Kubernetes schemas" "$VENV/bin/python" scripts/check-deploy.py k8s-schemas
check "deploy: KEDA CRD schemas" "$VENV/bin/python" scripts/check-deploy.py keda
check "deploy: hadolint" "$VENV/bin/python" scripts/check-deploy.py hadolint
check "deploy: docker compose config" "$VENV/bin/python" scripts/check-deploy.py compose
# No GPU here: the check must say so, choose the CPU paths with their reasons, and run every job.
check "gpu-check (no GPU: CPU fallbacks, one job per operation)" "$ROOT/scripts/gpu-check.sh" --require-jobs

say "== jest"
rm -f "$DATA_DIR/jest.json"
npx --no-install jest --ci --json --outputFile="$DATA_DIR/jest.json"
say "== pytest"
rm -f "$DATA_DIR/pytest.xml"
(cd "$ROOT/worker-python" && "$VENV/bin/pytest" -q --junitxml="$DATA_DIR/pytest.xml")
say "== deploy-tests"
rm -f "$DATA_DIR/deploy-tests.xml"
"$VENV/bin/pytest" -q -p no:cacheprovider --junitxml="$DATA_DIR/deploy-tests.xml" deploy-tests

read -r p f s < <("$VENV/bin/python" "$ROOT/scripts/count_results.py" "$DATA_DIR/jest.json" \
  "$DATA_DIR/pytest.xml" "$DATA_DIR/deploy-tests.xml")
passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
say "$summary"
[ "$failed" -eq 0 ]
