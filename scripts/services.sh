#!/usr/bin/env bash
# Starts, stops or reports Redis and MinIO as local processes, data under DATA_DIR.
# usage: services.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/lib.sh"
load_env_file "${ENV_FILE:-$ROOT/.env}"
apply_defaults

REDIS_HOST="$(url_host "$REDIS_URL")"
REDIS_PORT="$(url_port "$REDIS_URL" 6379)"
MINIO_HOST="$(url_host "$S3_ENDPOINT_URL")"
MINIO_PORT="$(url_port "$S3_ENDPOINT_URL" 9000)"

redis_answers() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping | grep -q PONG; }
minio_answers() { curl -fsS -o /dev/null "$S3_ENDPOINT_URL/minio/health/live"; }

start_redis() {
  if redis_answers 2>/dev/null; then return 0; fi
  mkdir -p "$DATA_DIR/redis"
  # AOF so accepted jobs survive a Redis restart; no daemonize, so the pid we record is Redis itself.
  start_background redis "redis-server" redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --dir "$DATA_DIR/redis" --appendonly yes --save "" --protected-mode no
  wait_until 20 "Redis on $REDIS_HOST:$REDIS_PORT" redis_answers || { tail -n 20 "$LOG_DIR/redis.log" >&2; exit 1; }
}

start_minio() {
  if minio_answers 2>/dev/null; then return 0; fi
  [ -n "${S3_ACCESS_KEY:-}" ] || die "S3_ACCESS_KEY is not set (make up writes one to .env)"
  [ -n "${S3_SECRET_KEY:-}" ] || die "S3_SECRET_KEY is not set (make up writes one to .env)"
  [ "${#S3_SECRET_KEY}" -ge 8 ] || die "S3_SECRET_KEY must be at least 8 characters for MinIO"
  mkdir -p "$DATA_DIR/minio"
  MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_BROWSER=off \
    start_background minio "minio server" "$TOOLS_DIR/bin/minio" server "$DATA_DIR/minio" \
    --address "$MINIO_HOST:$MINIO_PORT" --quiet
  wait_until 60 "MinIO on $MINIO_HOST:$MINIO_PORT" minio_answers || { tail -n 20 "$LOG_DIR/minio.log" >&2; exit 1; }
}

case "${1:-}" in
  start)
    start_redis
    start_minio
    "$VENV/bin/python" "$ROOT/scripts/ensure_bucket.py"
    ;;
  stop)
    stop_process minio "minio server"
    stop_process redis "redis-server"
    ;;
  status)
    if redis_answers 2>/dev/null; then say "redis  up    $REDIS_URL"; else say "redis  down  $REDIS_URL"; fi
    if minio_answers 2>/dev/null; then say "minio  up    $S3_ENDPOINT_URL (bucket $S3_BUCKET_NAME)"; else say "minio  down  $S3_ENDPOINT_URL"; fi
    ;;
  *) die "usage: services.sh start|stop|status" ;;
esac
