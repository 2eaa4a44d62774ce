#!/usr/bin/env bash
# Before and after in one run, with the same scripts: the web tier alone (acks), then with the
# worker (replies), each checkout in turn, so that both see the same machine at about the same time.
# usage: benchmarks/webhook/compare.sh BEFORE_DIR [AFTER_DIR=this checkout] [seconds=10]
#   e.g. git worktree add /tmp/before <commit> && ln -s "$PWD/.venv" /tmp/before/.venv
#   (env: LAYOUT=gunicorn-wsgi, and run.sh's: WORKER_POOL, REPLY_RATE, PROFILE, ...)
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

run() {  # run LABEL DIR MODE...
  local label="$1" dir="$2"; shift 2
  echo "### $label ($dir, $(git -C "$dir" rev-parse --short HEAD)) $*" | tee -a "$report"
  env "$@" BENCH_APP_DIR="$dir" BENCH_DB="linebot_bench_$label" "$BENCH/run.sh" "$DURATION" "$LAYOUT" \
    | grep -v '^summary in' | tee -a "$report"
  echo "load after $label: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$report"
}

for mode in WEB_ONLY=1 REPLY_ONLY=1; do
  run before "$BEFORE" "$mode"
  run after "$AFTER" "$mode" CONVERSATION_DISPATCH=publish
  run outbox "$AFTER" "$mode" CONVERSATION_DISPATCH=outbox
done
echo "report in $report"
