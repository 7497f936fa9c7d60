#!/usr/bin/env bash
# scripts/caption-stills.sh: renders one still per caption preset, on landscape and on vertical
# video, with the real worker (caption jobs against the test MinIO), into docs/caption-stills/.
# Rerun it when a preset or the caption layout changes, and commit the images.
set -euo pipefail
source "$(dirname "$0")/test-env.sh"
"$ROOT/scripts/services.sh" start >&2
export PYTHONPATH="$ROOT/worker-python${PYTHONPATH:+:$PYTHONPATH}"
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/caption_stills.py" "$ROOT/docs/caption-stills"
