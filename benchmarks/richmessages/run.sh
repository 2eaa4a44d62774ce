#!/usr/bin/env bash
# Time to compose one rich-message hero image (2500 x 1686 background, Thai title and body).
# usage: benchmarks/richmessages/run.sh [iterations=40] [--json]
# Installs what composing needs (the locked runtime requirements, the fonts) as run.sh does, then runs
# benchmarks/richmessages/compose.py; record its figures in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/venv.sh
ensure_venv requirements/base.txt
bash scripts/lib/fonts.sh
ITERATIONS="${1:-40}"
shift || true
LOG_LEVEL=WARNING .venv/bin/python -m benchmarks.richmessages.compose --iterations "$ITERATIONS" "$@"
