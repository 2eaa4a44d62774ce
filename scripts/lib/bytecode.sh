#!/usr/bin/env bash
# Writes the project's bytecode ahead of time: run by the scripts after ensure_venv and by docker/Dockerfile.
# PYTHONDONTWRITEBYTECODE (set in the image, and on some machines) stops Python writing it on import, so
# without this every process compiles each of the project's modules again at start-up. Python checks a
# file's bytecode against the source before using it, so bytecode left from an older checkout is not run.
# usage: bash scripts/lib/bytecode.sh [python=.venv/bin/python]   (from the project's root)
set -euo pipefail
# Paths are "./<dir>/...": hidden directories (.venv, .git), tests (pytest compiles them its own way),
# and what the project writes at run time are skipped.
exec "${1:-.venv/bin/python}" -m compileall -q -x '/(\.|tests/|node_modules/|var/)' .
