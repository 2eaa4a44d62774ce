#!/usr/bin/env bash
# The benchmarks' load generator (wrk) comes from Debian's packages, like the browser and the fonts.
set -euo pipefail
if command -v wrk >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "==> installing Debian's wrk for the benchmarks"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
command -v wrk >/dev/null || { echo "wrk is required (Debian package wrk)" >&2; exit 1; }
