#!/usr/bin/env bash
# make down: stops exactly what make up started, found by its pid files.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
load_env_file "$ROOT/.env"
apply_defaults
stop_process gpu-node "dist/apps/gpu-node/main.js"
stop_process api "dist/apps/api/main.js"
"$ROOT/scripts/services.sh" stop
