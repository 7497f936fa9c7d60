# The environment of `make test`: its own ports, data and bucket, never the ones make up runs, and
# never the developer's .env. `source scripts/test-env.sh` gives a shell the same environment, to
# run one suite by hand against the services `scripts/services.sh start` starts with it.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
ensure_secret "$CREDENTIALS" WEBHOOK_SECRET >/dev/null
apply_defaults
export LOG_LEVEL=warn HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
