#!/usr/bin/env bash
# Compiles the hand-written requirements/*.in into the hash-locked requirements/*.txt.
# usage: ./scripts/lock_requirements.sh [--upgrade-package NAME]... [--upgrade]
#
# Pins already in a .txt are kept unless named with --upgrade-package (or --upgrade for all), so a
# run after editing one .in changes only what that edit needs. The compiler lives in its own venv
# under var/ because it is no dependency of the project and must not change what .venv resolves.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
tools=var/lock-tools
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3

if [ "$("$tools/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "==> installing uv $UV_VERSION into $tools"
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# The order matters: each .in names the locks before it with -c, so every set agrees on the
# versions of the packages they share and any combination of them installs together.
# Resolved for the production image's interpreter and platform, not for whoever runs this.
for set in base doubles prod dev; do
  echo "==> requirements/$set.in -> requirements/$set.txt"
  "$tools/bin/uv" pip compile --quiet --generate-hashes \
    --python-version 3.11 --python-platform linux \
    --custom-compile-command ./scripts/lock_requirements.sh \
    "$@" "requirements/$set.in" -o "requirements/$set.txt"
done
