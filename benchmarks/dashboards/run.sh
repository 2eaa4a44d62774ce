#!/usr/bin/env bash
# Dashboard push benchmark: N viewers on one daphne process (DAPHNES=k: k processes on k ports,
# the viewers spread round-robin across them), the ticker publishing once a second.
# usage: [DAPHNES=1] [VIEWER_PROCESSES=1] [LABEL=...] benchmarks/dashboards/run.sh [seconds=60] [viewers="100 500 1000"] [layers="pubsub core"]
# Production settings on PostgreSQL and Redis; one fresh daphne and ticker per (layer, N), so that
# the server's memory per connection is measured from its own start. Figures go to
# var/bench/dashboards/results.jsonl, one JSON line per run (see viewers.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN="${1:-60}"
VIEWER_COUNTS="${2:-100 500 1000}"
LAYERS="${3:-pubsub core}"
DAPHNES="${DAPHNES:-1}"
PY=.venv/bin/python
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT=var/bench/dashboards
mkdir -p "$OUT"
DB="linebot_bench_dashboards"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=linebot_project.settings.production
export DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export JWT_SIGNING_KEY="bench-only-jwt-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REDIS_URL=redis://127.0.0.1:6379/13 REDIS_KEY_PREFIX="bench-dashboards-$$"
export CELERY_BROKER_URL="${BENCH_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}"
export LINE_CHANNEL_SECRET=bench-channel-secret LINE_CHANNEL_ACCESS_TOKEN=bench-access-token
export PUBLIC_BASE_URL=https://bench.invalid
export PROMETHEUS_MULTIPROC_DIR="$PWD/$OUT/prometheus"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u +%Y-%m-%dT%H:%MZ)" | tee -a "$OUT/results.jsonl.log"
$PY - "$DB" <<'PYEOF'
import sys, psycopg
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{sys.argv[1]}"')
PYEOF
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
$PY manage.py migrate --noinput >"$OUT/migrate.log"
MAX=0; for n in $VIEWER_COUNTS; do [ "$n" -gt "$MAX" ] && MAX=$n; done
$PY benchmarks/dashboards/sessions.py "$MAX" >"$OUT/sessions.txt"

for layer in $LAYERS; do
  for n in $VIEWER_COUNTS; do
    export CHANNEL_LAYER="$layer"
    urls=(); origins=(); servers=(); ports=()
    for i in $(seq 1 "$DAPHNES"); do
      PORT=$(free_port)
      .venv/bin/daphne -b 127.0.0.1 -p "$PORT" linebot_project.asgi:application \
        >"$OUT/daphne-$layer-$n-$DAPHNES.$i.log" 2>&1 &
      servers+=($!); pids+=($!); ports+=("$PORT")
      urls+=("ws://127.0.0.1:$PORT/ws/dashboards/operations/"); origins+=("http://127.0.0.1:$PORT")
    done
    $PY manage.py run_dashboard_ticker --dashboard operations >"$OUT/ticker-$layer-$n.log" 2>&1 &
    ticker=$!; pids+=($ticker)
    for PORT in "${ports[@]}"; do wait_port "$PORT"; done
    join() { local IFS=,; echo "$*"; }
    load_before="$(cut -d' ' -f1-3 /proc/loadavg)"; started="$(date -u +%H:%M:%SZ)"
    echo "== layer=$layer viewers=$n daphnes=$DAPHNES (load $load_before)"
    $PY benchmarks/dashboards/viewers.py "$(join "${urls[@]}")" "$(join "${origins[@]}")" \
      "$OUT/sessions.txt" "$n" "$SECONDS_PER_RUN" "$(join "${servers[@]}")" "$ticker" \
      | $PY -c 'import json,sys; r=json.loads(sys.stdin.read()); r["layer"]=sys.argv[1]; r["load_before"]=sys.argv[2]; r["load_after"]=open("/proc/loadavg").read().split()[:3]; r["label"]=sys.argv[3]; r["commit"]=sys.argv[4]; r["started"]=sys.argv[5]; print(json.dumps(r))' "$layer" "$load_before" "${LABEL:-}" "$COMMIT" "$started" \
      | tee -a "$OUT/results.jsonl"
    kill "$ticker" "${servers[@]}" 2>/dev/null || true
    wait "$ticker" "${servers[@]}" 2>/dev/null || true
    pids=()
  done
done
