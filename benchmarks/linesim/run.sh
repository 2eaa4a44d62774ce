#!/usr/bin/env bash
# Push throughput of the LINE double, with and without the OpenAPI spec checks, in one run.
# usage: benchmarks/linesim/run.sh [seconds=15] [connections=64]
# Each double runs alone (one at a time) on a free port; wrk posts valid push requests (push.lua).
# LINE's own push limit (2,000 requests/s) is switched off (--no-rate-limits): the point is the double's capacity.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-15}"
CONNECTIONS="${2:-64}"
PY=.venv/bin/python
bash scripts/lib/bench_tools.sh

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

measure() {  # measure LABEL BODY DOUBLE-FLAGS...   (BODY: text or flex, see push.lua)
  local label="$1" body="$2"; shift 2
  local port; port=$(free_port)
  $PY -m linesim.line --host 127.0.0.1 --port "$port" --no-rate-limits "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  PUSH_BODY=$body wrk -t2 -c"$CONNECTIONS" -d2s -s benchmarks/linesim/push.lua "http://127.0.0.1:$port" >/dev/null
  echo "== $label"
  PUSH_BODY=$body wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s benchmarks/linesim/push.lua "http://127.0.0.1:$port" \
    | tee "/tmp/linesim-bench-$label.txt" | grep -E "requests/s|latency|non-2xx"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s -s benchmarks/linesim/push.lua"
measure text-checks-on text --spec-checks
measure text-checks-off text --no-spec-checks
measure flex-checks-on flex --spec-checks
measure flex-checks-off flex --no-spec-checks
rate() { sed -n 's/^requests\/s: //p' "/tmp/linesim-bench-$1.txt"; }
ratio() { awk -v a="$(rate "$1")" -v b="$(rate "$2")" 'BEGIN { printf "%.2f", a / b }'; }
echo "== ratio, spec checks on / off: text push $(ratio text-checks-on text-checks-off)," \
  "flex push $(ratio flex-checks-on flex-checks-off)"
on=$(rate text-checks-on)
awk -v a="$on" 'BEGIN { exit !(a >= 3000) }' && echo "target met: $on >= 3000 push requests/s with spec checks" \
  || { echo "target missed: $on < 3000 push requests/s with spec checks" >&2; exit 1; }
