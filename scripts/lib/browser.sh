#!/usr/bin/env bash
# Browser tests use Debian's Chromium; it is installed from Debian's packages, never downloaded.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "==> installing Debian's chromium for the browser tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x /usr/bin/chromium ] && [ "${CI:-}" = "true" ]; then
  echo "ERROR: /usr/bin/chromium is missing; install Debian's chromium package." >&2
  exit 1
fi
