#!/usr/bin/env bash
# make gpu-check: what this machine's GPU paths do (nvidia-smi, the NVENC probe, whisper on CUDA,
# the auto choices) and one job per operation run with them, with the node's own settings (.env).
# Ends with one JSON line; exit status 1 only when something that should work here does not.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

[ -x "$VENV/bin/python" ] || die "no worker environment in $VENV: run make setup first"
cd "$ROOT/worker-python" && exec "$VENV/bin/python" -m api_gpu_worker.gpu_check "$@"
