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
apply_defaults

"$ROOT/scripts/services.sh" start

start_background api "dist/apps/api/main.js" node "$ROOT/dist/apps/api/main.js"
start_background gpu-node "dist/apps/gpu-node/main.js" node "$ROOT/dist/apps/gpu-node/main.js"

api_answers() { curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health"; }
if ! wait_until 30 "the API on :$PORT" api_answers; then
  tail -n 20 "$LOG_DIR/api.log" >&2
  exit 1
fi

first_key="${X_API_KEY%%,*}"
cat <<INFO
api-gpu is up.
  API        http://127.0.0.1:$PORT   (health: /health)
  API key    $first_key   (X_API_KEY in .env; send it as the X-API-Key header)
  Redis      $REDIS_URL
  MinIO      $S3_ENDPOINT_URL   bucket: $S3_BUCKET_NAME   public read: $S3_PUBLIC_READ
  Logs       ${LOG_DIR#"$ROOT"/}/   data: ${DATA_DIR#"$ROOT"/}/
  Stop with: make down      Status: make status
INFO
