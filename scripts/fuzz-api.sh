#!/usr/bin/env bash
# Fuzzes the built API (dist/) from its own OpenAPI document with schemathesis, bounded in examples
# and time: no 5xx, every 4xx in the contract's error shape, and the API healthy afterwards.
# The API gets a Redis of its own (what the fuzz queues never reaches another test's nodes) and
# the test MinIO; FUZZ_MAX_EXAMPLES and FUZZ_MAX_TIME_S bound the run. No GPU node runs, so
# GET /transcribe/health rightly answers 503 (nothing can transcribe): it takes no input and is left out.
# So are the OpenAI audio routes: a valid request waits for a transcription no node can run and
# rightly answers 504 after SYNC_TIMEOUT_S; apps/api/test/openai.e2e-spec.ts covers their refusals.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/test-env.sh"

max_examples="${FUZZ_MAX_EXAMPLES:-10}"
max_time_s="${FUZZ_MAX_TIME_S:-60}"
work="$(mktemp -d "${TMPDIR:-/tmp}/api-gpu-fuzz.XXXXXX")"
free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port="$(free_port)"
api_port="$(free_port)"
api_url="http://127.0.0.1:$api_port"
api_key="fuzz-$(random_secret)"
redis_pid="" api_pid=""

cleanup() {
  [ -n "$api_pid" ] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$ROOT/dist/apps/api/main.js" ] || die "dist/apps/api/main.js is missing: run the set-up (it builds the API)"

redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
wait_until 10 "redis-server for the fuzz" redis-cli -p "$redis_port" ping || exit 1

bucket="api-gpu-fuzz"
S3_BUCKET_NAME="$bucket" "$VENV/bin/python" "$ROOT/scripts/ensure_bucket.py" >/dev/null || die "could not create bucket $bucket"

(
  cd "$ROOT" &&
    exec env PORT="$api_port" HOST=127.0.0.1 REDIS_URL="redis://127.0.0.1:$redis_port" \
      S3_BUCKET_NAME="$bucket" X_API_KEY="$api_key" LOG_LEVEL=warn SYNC_TIMEOUT_S=1 \
      RATE_LIMIT_MAX=1000000 PRIVATE_URL_ALLOWLIST="$(url_host "$S3_ENDPOINT_URL"):$(url_port "$S3_ENDPOINT_URL" 80)" \
      node dist/apps/api/main.js
) >"$work/api.log" 2>&1 &
api_pid=$!
wait_until 60 "the API" curl -fsS "$api_url/health/ready" || { cat "$work/api.log" >&2; exit 1; }

say "fuzzing $api_url from /docs-json: at most $max_examples examples per operation, $max_time_s s"
PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=fuzz_api_checks "$VENV/bin/schemathesis" run "$api_url/docs-json" \
  --header "X-API-Key: $api_key" --exclude-path /transcribe/health \
  --exclude-path /v1/audio/transcriptions --exclude-path /v1/audio/translations \
  --checks not_a_server_error,response_schema_conformance,contract_error_shape \
  --max-examples "$max_examples" --max-time "$max_time_s" --workers 1 \
  --request-timeout 20 --generation-database none --seed 20260101 \
  --suppress-health-check all --no-color --output-truncate true
fuzz_status=$?

healthy=0
if ! kill -0 "$api_pid" 2>/dev/null; then
  say "!! the API died during the fuzz"; healthy=1
elif ! curl -fsS "$api_url/health" | grep -q '"status":"healthy"'; then
  say "!! the API is not healthy after the fuzz"; healthy=1
else
  say "the API is healthy after the fuzz"
fi
if grep -q '"level":50' "$work/api.log"; then
  say "!! the API logged errors during the fuzz:"; grep '"level":50' "$work/api.log" | head -5; healthy=1
fi
[ "$fuzz_status" -eq 0 ] && [ "$healthy" -eq 0 ]
