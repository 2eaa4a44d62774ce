#!/usr/bin/env bash
# Before and after in one run, with the same scripts: the web tier alone (acks), then with the
# worker (replies), each checkout in turn, so that both see the same machine at about the same time.
# usage: benchmarks/webhook/compare.sh BEFORE_DIR [AFTER_DIR=this checkout] [seconds=10]
#   e.g. git worktree add /tmp/before <commit> && ln -s "$PWD/.venv" /tmp/before/.venv
#   (env: LAYOUT=gunicorn-wsgi, BEFORE_COMPOSE=1, and run.sh's: WORKER_POOL, REPLY_RATE, PROFILE, ...)
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
BEFORE="$(cd "$1" && pwd)"
AFTER="$(cd "${2:-$BENCH/../..}" && pwd)"
DURATION="${3:-10}"
LAYOUT="${LAYOUT:-gunicorn-wsgi}"
OUT="$AFTER/var/bench/webhook"
mkdir -p "$OUT"
report="$OUT/compare.txt"
: >"$report"

run() {  # run LABEL DIR LAYOUT MODE...
  local label="$1" dir="$2" layout="$3"; shift 3
  echo "### $label ($dir, $(git -C "$dir" rev-parse --short HEAD)) $layout $*" | tee -a "$report"
  env "$@" BENCH_APP_DIR="$dir" BENCH_DB="linebot_bench_$label" "$BENCH/run.sh" "$DURATION" "$layout" \
    | grep -v '^summary in' | tee -a "$report"
  echo "load after $label: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$report"
}

# "after" is the settings' defaults (publish, a pool per process); "compose" is docker/compose.yml's
# layout: the outbox with its relay, and persistent sessions in the web tier, the worker and the relay.
# BEFORE_COMPOSE=1 measures the before checkout in the compose layout too (it must have the outbox).
compose=(CONVERSATION_DISPATCH=outbox WORKER_DB_CONNECTIONS=persistent DJANGO_DB_CONNECTIONS=persistent)
for mode in WEB_ONLY=1 REPLY_ONLY=1; do
  run before "$BEFORE" "$LAYOUT" "$mode"
  [ "${BEFORE_COMPOSE:-0}" != 1 ] || run before-compose "$BEFORE" "$LAYOUT+persistent" "$mode" "${compose[@]}"
  run after "$AFTER" "$LAYOUT" "$mode" CONVERSATION_DISPATCH=publish
  run compose "$AFTER" "$LAYOUT+persistent" "$mode" "${compose[@]}"
done
echo "report in $report"
