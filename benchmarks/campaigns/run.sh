#!/usr/bin/env bash
# Campaign delivery benchmark on a production-like stack: production settings, PostgreSQL, Redis, RabbitMQ,
# real Celery worker processes, and the LINE double with LINE's rate limits on (multicast: 200 requests/s).
# usage: benchmarks/campaigns/run.sh [recipients=1000000] [kill-share=0.3]
#        (env: WORKERS worker processes, default 2; CONCURRENCY prefork children each, default 2;
#         TIMEOUT seconds, default 1800; SKIP_SEED=1 reuses the database of the last run;
#         BENCH_DB the database name, default linebot_bench_campaigns)
# One run: N followers seeded, one campaign to all of them (a per-user guard, so our own multicast in
# chunks of 500), drafted, submitted and approved through the services; timed from the approval to
# "sent". With kill-share > 0, one worker (parent and children) is SIGKILLed once that share was sent
# and a replacement started; duplicates and losses are counted from the user ids the double received.
set -euo pipefail
cd "$(dirname "$0")/../.."
RECIPIENTS="${1:-1000000}"
KILL="${2:-0.3}"
PY=.venv/bin/python
OUT=var/bench/campaigns
mkdir -p "$OUT"

QUEUE="bench-campaigns-$$"
DB="${BENCH_DB:-linebot_bench_campaigns}"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

pids=()
cleanup() {
  .venv/bin/celery -A linebot_project purge -f -Q "$QUEUE" >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $PY -c 'import sys, kombu; kombu.Connection(sys.argv[1]).default_channel.queue_delete(sys.argv[2])' \
    "${CELERY_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}" "$QUEUE" 2>/dev/null || true
}
trap cleanup EXIT

LINE_PORT=$(free_port)
export DJANGO_SETTINGS_MODULE=linebot_project.settings.production
export DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export JWT_SIGNING_KEY="bench-only-jwt-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export PUBLIC_BASE_URL=https://bench.invalid
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REDIS_URL=redis://127.0.0.1:6379/13
export CELERY_BROKER_URL="${BENCH_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}"
export CAMPAIGN_TASK_QUEUE="$QUEUE"
export LINE_CHANNEL_SECRET=bench-channel-secret LINE_CHANNEL_ACCESS_TOKEN=bench-access-token
export LINE_API_BASE_URL="http://127.0.0.1:$LINE_PORT" LINE_DATA_API_BASE_URL="http://127.0.0.1:$LINE_PORT"
export PROMETHEUS_MULTIPROC_DIR="$PWD/$OUT/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GB," \
  "load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
if [ "${SKIP_SEED:-0}" != 1 ]; then
  $PY - "$DB" <<'PYEOF'
import sys, psycopg
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{sys.argv[1]}"')
PYEOF
  $PY manage.py migrate --noinput >"$OUT/migrate.log"
  $PY benchmarks/campaigns/bench.py seed "$RECIPIENTS"
fi
redis-cli -n 13 del "campaigns:multicast" >/dev/null 2>&1 || true

# LINE's rate limits stay on (the double's default): 200 multicast requests a second.
$PY -m linesim.line --port "$LINE_PORT" --access-token bench-access-token --channel-secret bench-channel-secret \
  >"$OUT/line-double.log" 2>&1 &
pids+=($!)
wait_port "$LINE_PORT"
echo "recipients $RECIPIENTS, workers ${WORKERS:-2} x prefork ${CONCURRENCY:-2}, SIGKILL at share $KILL"
$PY benchmarks/campaigns/bench.py run --workers "${WORKERS:-2}" --concurrency "${CONCURRENCY:-2}" --kill "$KILL" \
  --timeout "${TIMEOUT:-1800}" --out "$OUT" | tee -a "$OUT/results.jsonl"
ps -o rss=,cputime= -p "${pids[0]}" | awk '{print "LINE double: rss " int($1/1024) " MB, cpu " $2}'
