#!/usr/bin/env bash
# Instructions per answered event: answer_cost.py run whole under valgrind's callgrind with two numbers of
# events, the difference divided by the difference in events. A count of instructions does not move with the
# machine's speed or its neighbours, so a change of a few percent shows where CPU time would drown it; it counts
# the doubles' threads too, whose work per event is the same before and after a change of the bot's code.
# usage: benchmarks/webhook/answer_instructions.sh [fewer=40] [more=70]   (BENCH_APP_DIR and BENCH_DB as answer_cost.sh)
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
FEWER="${1:-40}" MORE="${2:-70}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
count() {  # count EVENTS: the whole run's instructions
  COST_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.$1 --trace-children=no" \
    bash "$BENCH/answer_cost.sh" "$1" >"$OUT/run.$1.log" 2>&1 || { cat "$OUT/run.$1.log" >&2; exit 1; }
  sed -n 's/^summary: //p' "$OUT/callgrind.$1"
}
fewer=$(count "$FEWER"); more=$(count "$MORE")
awk -v f="$fewer" -v m="$more" -v a="$FEWER" -v b="$MORE" 'BEGIN {
  printf "%d events: %.0f M, %d events: %.0f M instructions; per answered event: %.2f M\n", a, f / 1e6, b, m / 1e6, (m - f) / (b - a) / 1e6
}'
