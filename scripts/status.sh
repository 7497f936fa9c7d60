#!/usr/bin/env bash
# make status: what make up started, and whether it answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
load_env_file "$ROOT/.env"
apply_defaults
for name in api gpu-node; do
  if pid="$(running_pid "$name" "dist/apps/$name/main.js")"; then
    say "$(printf '%-8s' "$name") up    pid $pid"
  else
    say "$(printf '%-8s' "$name") down"
  fi
done
"$ROOT/scripts/services.sh" status
if curl -fsS "http://127.0.0.1:$PORT/health" 2>/dev/null; then echo; fi
