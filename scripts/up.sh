#!/usr/bin/env bash
# make up: the all-in-one box. Installs what is missing, starts Redis, MinIO, the API and one GPU
# node as local processes (data and logs under .data/), then says where everything is.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$ROOT/scripts/setup.sh"

ENV_FILE="$ROOT/.env"
load_env_file "$ENV_FILE"
# Secrets are never defaults: each box gets its own, kept in .env (mode 600).
ensure_secret "$ENV_FILE" X_API_KEY
ensure_secret "$ENV_FILE" S3_ACCESS_KEY
ensure_secret "$ENV_FILE" S3_SECRET_KEY
ensure_secret "$ENV_FILE" WEBHOOK_SECRET
# Clients of the replaced service name its models (large-v3 by default); this box serves the ones it
# lacks with the bundled multilingual model, and every answer says so (stats.model_requested).
if [ -z "${WHISPER_MODEL_ALIASES+set}" ]; then
  aliases="$(PYTHONPATH="$ROOT/worker-python" "$VENV/bin/python" -m api_gpu_worker.whisper_models aliases)"
  printf 'WHISPER_MODEL_ALIASES=%s\n' "$aliases" >> "$ENV_FILE"
  export WHISPER_MODEL_ALIASES="$aliases"
fi
apply_defaults

# A run that fails partway stops what it started itself (what was already running stays) and
# shows the log lines that say why.
started=()
for name in redis minio api gpu-node; do
  case "$name" in
    redis) match="redis-server" ;; minio) match="minio server" ;; *) match="dist/apps/$name/main.js" ;;
  esac
  running_pid "$name" "$match" >/dev/null || started+=("$name:$match")
done
failed() {
  local status=$? entry
  [ "$status" -eq 0 ] && return 0
  printf 'error: make up failed; stopping what this run started\n' >&2
  for entry in gpu-node api minio redis; do
    for started_entry in "${started[@]}"; do
      [ "${started_entry%%:*}" = "$entry" ] || continue
      [ -s "$LOG_DIR/$entry.log" ] && { printf -- '--- last lines of %s ---\n' "${LOG_DIR#"$ROOT"/}/$entry.log" >&2; tail -n 15 "$LOG_DIR/$entry.log" >&2; }
      stop_process "$entry" "${started_entry#*:}" >&2
    done
  done
  exit "$status"
}
trap failed EXIT

"$ROOT/scripts/services.sh" start

start_background api "dist/apps/api/main.js" node "$ROOT/dist/apps/api/main.js"
start_background gpu-node "dist/apps/gpu-node/main.js" node "$ROOT/dist/apps/gpu-node/main.js"

# A process that exits (a bad variable, say) fails the run at once rather than after the wait.
# Its pid, not its command line: right after the start the child may not have exec'd node yet.
alive() { kill -0 "$(cat "$(pid_file "$1")")" 2>/dev/null || { printf 'error: the %s exited\n' "$1" >&2; return 2; }; }
api_answers() {
  alive api && alive gpu-node || return 2
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health"
}
until_up() {
  local deadline=$((SECONDS + 30)) code
  while :; do
    api_answers 2>/dev/null && return 0
    code=$?
    [ "$code" -eq 2 ] && { alive api; alive gpu-node; return 1; }
    [ "$SECONDS" -ge "$deadline" ] && { printf 'error: the API on :%s did not come up within 30s\n' "$PORT" >&2; return 1; }
    sleep 0.2
  done
}
until_up

# The README's first jobs use these; generated here, so they need no internet.
mapfile -t samples < <("$VENV/bin/python" "$ROOT/scripts/upload_samples.py")
trap - EXIT

first_key="${X_API_KEY%%,*}"
cat <<INFO
api-gpu is up.
  API        http://127.0.0.1:$PORT   (health: /health)
  API key    $first_key   (X_API_KEY in .env; send it as the X-API-Key header)
  Redis      $REDIS_URL
  MinIO      $S3_ENDPOINT_URL   bucket: $S3_BUCKET_NAME   public read: $S3_PUBLIC_READ
  Logs       ${LOG_DIR#"$ROOT"/}/   data: ${DATA_DIR#"$ROOT"/}/
  Whisper    model aliases: ${WHISPER_MODEL_ALIASES:-none}   (WHISPER_MODEL_ALIASES in .env)
  Samples    (the README's "First jobs" use them)
INFO
printf '             %s\n' "${samples[@]}"
say "  Stop with: make down      Status: make status"
