#!/usr/bin/env bash
# Webhook benchmark on a production-like stack: production settings, PostgreSQL, Redis, RabbitMQ,
# a real Celery worker, the LINE and LLM doubles; one run measures every server layout.
# usage: benchmarks/webhook/run.sh [seconds=10] [layouts="granian-wsgi gunicorn-wsgi"]
#        (also measurable: gunicorn-sync gunicorn-uvicorn uvicorn daphne; a WSGI layout with the
#         suffix +persistent, e.g. gunicorn-wsgi+persistent, keeps one database session per thread)
#        (env: WORKER_POOL, WORKER_DB_CONNECTIONS (pool or persistent), REPLY_RATE, REPLY_WARM_UP, REPLY_LEAD_IN, REPLY_ONLY, WEB_ONLY, BENCH_BROKER_URL, WORKER_NICE,
#         GUNICORN_WORKERS and GUNICORN_THREADS for gunicorn-wsgi, default 3 and 8, as docker/compose.yml)
# WORKER_NICE=19 lowers the worker's CPU priority, standing in for workers on their own machines.
# BENCH_APP_DIR=/path/to/another/checkout measures that code with these scripts (before/after, compare.sh);
# BENCH_DB names the benchmark's database; PROFILE=1 samples the web tier (acks) and, during the replies,
# the worker, the web tier and the relay with py-spy into $OUT/pyspy-*.txt; PROFILE_ARGS adds py-spy options
# (--gil: only the thread holding the GIL).
#
# Per layout: wrk on /healthz (bare Django JSON endpoint), wrk with pre-signed webhooks (one new
# event per POST, acks/s), /healthz again (acks/s is also given over the mean of both), an open-loop
# 500 posts/s run (ack latency p50/p99), and an open-loop 100 events/s run timed from the POST to the
# reply or push recorded by the LINE double.
# Each wrk run and the reply run also report the CPU each process group spent per request
# (cpu.py), and so the most this machine could do if nothing else ran on it.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
cd "${BENCH_APP_DIR:-$BENCH/../..}"
DURATION="${1:-10}"
LAYOUTS="${2:-granian-wsgi gunicorn-wsgi}"
# Sixteen threads, as docker/compose.yml runs the answers service (core.task_watchdog gives them a hard time
# limit). WORKER_POOL="--pool=prefork --concurrency=4" measures four prefork children instead.
WORKER_POOL="${WORKER_POOL:---pool=threads --concurrency=16}"
REPLY_RATE="${REPLY_RATE:-100}"
# REPLY_ONLY=1 skips the ack measurements (to find the rate the worker sustains).
REPLY_ONLY="${REPLY_ONLY:-0}"
# Seconds of events sent at REPLY_RATE before the measured reply run, so that it measures a warm stack;
# 0 measures a fresh one's first events too (reply_slowest_ms_by_second shows what they cost).
REPLY_WARM_UP="${REPLY_WARM_UP:-3}"
# Seconds of events that the measured reply run itself sends first, at the same rate, without measuring them:
# between the warm-up and the measured events the stack sits idle while the run registers its users with the LINE
# double, and the relay slows to its quiet pace. The lead-in's events count towards the run's CPU per event.
REPLY_LEAD_IN="${REPLY_LEAD_IN:-1}"
# WEB_ONLY=1 starts no Celery worker and skips the reply run: the web tier alone, events only queued.
WEB_ONLY="${WEB_ONLY:-0}"
# LOW_RATE=100 also measures /healthz and the ack at that many requests a second, one at a time (the rate of the
# reply run), where no write groups form and each process wakes for each request.
LOW_RATE="${LOW_RATE:-}"
PY=.venv/bin/python
OUT=var/bench/webhook
mkdir -p "$OUT"
bash "$BENCH/../../scripts/lib/bench_tools.sh"
# The measured checkout's bytecode, as the project's scripts write it: under PYTHONDONTWRITEBYTECODE a checkout without
# it compiles, in every worker, the modules the ack imports on its first requests, inside the measured run.
bash "$BENCH/../../scripts/lib/bytecode.sh" "$PY"

SECRET=bench-channel-secret
QUEUE="bench-webhook-$$"
DB="${BENCH_DB:-linebot_bench}"
# cpu.py counts only this run's processes: descendants of this shell, backends of $DB, our redis-server.
export BENCH_ROOT_PID=$$ BENCH_DB="$DB"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }

pids=()
start() {  # start NAME COMMAND...: in the background, output to $OUT/NAME.log
  local name="$1"; shift
  "$@" >"$OUT/$name.log" 2>&1 &
  pids+=($!)
}
stop_last() { local pid="${pids[-1]}"; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; unset 'pids[-1]'; }
purge() { .venv/bin/celery -A linebot_project purge -f -Q "$QUEUE" >/dev/null 2>&1 || true; }
cleanup() {
  purge
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $PY -c 'import sys, kombu; kombu.Connection(sys.argv[1]).default_channel.queue_delete(sys.argv[2])' \
    "${CELERY_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}" "$QUEUE" 2>/dev/null || true
}
trap cleanup EXIT

LINE_PORT=$(free_port); LLM_PORT=$(free_port); REDIS_PORT=$(free_port)
# A private Redis, so that its CPU is this run's alone.
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
export BENCH_REDIS_PORT="$REDIS_PORT"
export DJANGO_SETTINGS_MODULE=linebot_project.settings.production
export DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export JWT_SIGNING_KEY="bench-only-jwt-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export PUBLIC_BASE_URL=https://bench.invalid
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
# BENCH_BROKER_URL=redis://127.0.0.1:6379/11 compares Redis as the broker with RabbitMQ.
export CELERY_BROKER_URL="${BENCH_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}"
export CONVERSATION_TASK_QUEUE="$QUEUE"
export LINE_CHANNEL_SECRET="$SECRET" LINE_CHANNEL_ACCESS_TOKEN=bench-access-token
export LINE_API_BASE_URL="http://127.0.0.1:$LINE_PORT" LINE_DATA_API_BASE_URL="http://127.0.0.1:$LINE_PORT"
export LLM_PROVIDER=azure AZURE_OPENAI_ENDPOINT="http://127.0.0.1:$LLM_PORT" AZURE_OPENAI_API_KEY=local-llm-key
export AZURE_OPENAI_DEPLOYMENT=gpt-4o-mini
export PROMETHEUS_MULTIPROC_DIR="$PWD/$OUT/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

echo "worker: $WORKER_POOL"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u +%Y-%m-%dT%H:%MZ)"
$PY - "$DB" <<'PYEOF'
import sys, psycopg
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{sys.argv[1]}"')
PYEOF
$PY manage.py migrate --noinput >"$OUT/migrate.log"
$PY manage.py collectstatic --noinput >/dev/null

start line-double $PY -m linesim.line --port "$LINE_PORT" --channel-secret "$SECRET" \
  --access-token bench-access-token --no-rate-limits
# LLM_LATENCY_MS makes the model double wait that long before each answer, as a real model does.
start llm-double $PY -m linesim.llm --port "$LLM_PORT" --latency-ms "${LLM_LATENCY_MS:-0}"
wait_port "$LINE_PORT"; wait_port "$LLM_PORT"; wait_port "$REDIS_PORT"
# shellcheck disable=SC2086
[ "$WEB_ONLY" = 1 ] || start worker env DJANGO_DB_CONNECTIONS="${WORKER_DB_CONNECTIONS:-pool}" nice -n "${WORKER_NICE:-0}" .venv/bin/celery -A linebot_project worker -Q "$QUEUE" $WORKER_POOL --loglevel=WARNING \
  --without-gossip --without-mingle
worker_pid="${pids[-1]:-}"
# Under the outbox the relay publishes what the web tier stored; it counts towards each ack.
relay_pid=""
if [ "${CONVERSATION_DISPATCH:-publish}" = outbox ]; then
  start relay $PY manage.py conversations_relay
  relay_pid="${pids[-1]}"
fi
sleep 3

profile() {  # profile OUT PID: py-spy samples PID and its children for the next $DURATION seconds
  [ "${PROFILE:-0}" = 1 ] || return 0
  # shellcheck disable=SC2086  # PROFILE_ARGS may hold several options
  .venv/bin/py-spy record --subprocesses --nonblocking --format raw --rate 200 -d "$DURATION" ${PROFILE_ARGS:-} \
    -o "$1" --pid "$2" >"$1.log" 2>&1 &
}

wrk_summary() {  # wrk_summary LABEL OUTPUT: wrk's rate and latency percentiles, then cpu.py's line
  echo "$1 wrk -t2 -c32: $(grep -E 'Requests/sec' <<<"$2") | p50 $(awk '/ 50%/{print $2}' <<<"$2")" \
    "p99 $(awk '/ 99%/{print $2}' <<<"$2") $(grep -E 'Non-2xx' <<<"$2" || true)"
  echo "$1 cpu per request: $(tail -n1 <<<"$2")"
}

rate_ratio() {  # rate_ratio ACKS HEALTHZ HEALTHZ_AFTER: wrk's Requests/sec of the first over the mean of the others
  awk '/Requests\/sec/{r[n++]=$2} END{printf "%.3f\n", r[0] / ((r[1] + r[2]) / 2)}' <<<"$1
$2
$3"
}

summary="$OUT/summary.txt"; : >"$summary"
for layout in $LAYOUTS; do
  port=$(free_port)
  # A "+persistent" suffix gives the web tier per-thread sessions instead of the pool (DJANGO_DB_CONNECTIONS).
  server="${layout%+persistent}"
  if [ "$server" = "$layout" ]; then export DJANGO_DB_CONNECTIONS=pool; else export DJANGO_DB_CONNECTIONS=persistent; fi
  case "$server" in
    granian-wsgi) start web .venv/bin/granian --interface wsgi linebot_project.wsgi:application --host 127.0.0.1 \
        --port "$port" --workers 2 --blocking-threads 4 --log-level warning ;;
    # Single-threaded processes: no GIL hand-offs between a process's requests, more processes instead.
    gunicorn-sync) start web .venv/bin/gunicorn linebot_project.wsgi:application -b "127.0.0.1:$port" \
        -w 8 -k sync --log-level warning ;;
    gunicorn-wsgi) start web .venv/bin/gunicorn linebot_project.wsgi:application -b "127.0.0.1:$port" \
        -w "${GUNICORN_WORKERS:-3}" -k gthread --threads "${GUNICORN_THREADS:-8}" --log-level warning ;;
    # Under ASGI every request runs its sync code in a new thread, and a persistent connection
    # (CONN_MAX_AGE > 0) is never reused but left open until Postgres runs out of slots: 0 there.
    gunicorn-uvicorn) start web env DJANGO_CONN_MAX_AGE=0 .venv/bin/gunicorn linebot_project.asgi:application -b "127.0.0.1:$port" \
        -w 2 -k uvicorn.workers.UvicornWorker --log-level warning ;;
    uvicorn) start web env DJANGO_CONN_MAX_AGE=0 .venv/bin/uvicorn linebot_project.asgi:application --host 127.0.0.1 --port "$port" \
        --workers 2 --no-access-log --log-level warning ;;
    daphne) start web env DJANGO_CONN_MAX_AGE=0 .venv/bin/daphne -b 127.0.0.1 -p "$port" linebot_project.asgi:application ;;
    *) echo "unknown layout $layout" >&2; exit 2 ;;
  esac
  wait_port "$port"
  url="http://127.0.0.1:$port"
  # The port opens before the server's processes have imported the app: wait until they answer.
  for _ in $(seq 1 300); do curl -sf -o /dev/null "$url/healthz" && break; sleep 0.5; done
  sleep 5
  $PY "$BENCH/load.py" bodies --count 40000 --secret "$SECRET" --out "$OUT/acks.txt"
  $PY "$BENCH/load.py" bodies --count $((500 * DURATION)) --secret "$SECRET" --out "$OUT/fixed.txt"
  [ -z "$LOW_RATE" ] || $PY "$BENCH/load.py" bodies --count $((LOW_RATE * DURATION)) --secret "$SECRET" --out "$OUT/low.txt"
  wrk -t2 -c32 -d2s "$url/healthz" >/dev/null
  echo "== $layout"
  healthz="" acks="" healthz_after="" fixed="" low_healthz="" low_acks=""
  if [ "$REPLY_ONLY" != 1 ]; then
    healthz=$($PY "$BENCH/cpu.py" -- wrk -t2 -c32 -d"${DURATION}s" --latency "$url/healthz")
    profile "$OUT/pyspy-web-$layout.txt" "${pids[-1]}"
    acks=$(BODIES="$OUT/acks.txt" WRK_THREADS=2 $PY "$BENCH/cpu.py" -- \
      wrk -t2 -c32 -d"${DURATION}s" --latency -s "$BENCH/post.lua" "$url")
    # /healthz again: the machine's speed drifts, and the acks' ratio is taken against both runs around them.
    healthz_after=$($PY "$BENCH/cpu.py" -- wrk -t2 -c32 -d"${DURATION}s" --latency "$url/healthz")
    purge; sleep 2
    fixed=$($PY "$BENCH/load.py" fixed-rate --url "$url/line/webhook" --bodies "$OUT/fixed.txt" \
      --rate 500 --seconds "$DURATION")
    purge; sleep 2
    if [ -n "$LOW_RATE" ]; then
      # What a request costs when requests come one at a time: /healthz and the ack at the same rate, each
      # under cpu.py, so the server's own share at that rate can be told from the ack's.
      low_healthz=$($PY "$BENCH/cpu.py" -- $PY "$BENCH/load.py" fixed-rate --url "$url/healthz" \
        --rate "$LOW_RATE" --seconds "$DURATION")
      low_acks=$($PY "$BENCH/cpu.py" -- $PY "$BENCH/load.py" fixed-rate --url "$url/line/webhook" \
        --bodies "$OUT/low.txt" --rate "$LOW_RATE" --seconds "$DURATION")
      purge; sleep 2
    fi
  fi
  reply=""
  if [ "$WEB_ONLY" != 1 ]; then
    # At this rate an ack is not written with others, and the relay wakes for each: their share is sampled too.
    profile "$OUT/pyspy-worker-$layout.txt" "$worker_pid"
    profile "$OUT/pyspy-web-reply-$layout.txt" "${pids[-1]}"
    [ -z "$relay_pid" ] || profile "$OUT/pyspy-relay-$layout.txt" "$relay_pid"
  fi
  if [ "$WEB_ONLY" != 1 ] && [ "$REPLY_WARM_UP" != 0 ]; then
    # A long-running stack is warm: each worker and web thread has its database session, its prepared
    # statements and its HTTP connections. A fresh one opens them with its first events, which this sends first,
    # at the same rate, and does not measure.
    $PY "$BENCH/load.py" reply-latency --url "$url/line/webhook" --line "$LINE_API_BASE_URL" \
      --secret "$SECRET" --rate "$REPLY_RATE" --seconds "$REPLY_WARM_UP" --wait 60 >/dev/null
  fi
  [ "$WEB_ONLY" = 1 ] || reply=$($PY "$BENCH/cpu.py" -- $PY "$BENCH/load.py" reply-latency --url "$url/line/webhook" --line "$LINE_API_BASE_URL" \
    --secret "$SECRET" --rate "$REPLY_RATE" --seconds "$DURATION" --lead-in "$REPLY_LEAD_IN" --wait 60)
  purge
  {
    echo "== $layout"
    if [ "$REPLY_ONLY" != 1 ]; then
      wrk_summary "healthz " "$healthz"
      wrk_summary "webhook " "$acks"
      wrk_summary "healthz (after)" "$healthz_after"
      echo "webhook  acks/s over the mean of both /healthz runs: $(rate_ratio "$acks" "$healthz" "$healthz_after")"
      echo "webhook  500/s open loop: $fixed"
      if [ -n "$LOW_RATE" ]; then
        echo "healthz  $LOW_RATE/s open loop: $(head -n1 <<<"$low_healthz")"
        echo "healthz  $LOW_RATE/s cpu per request: $(tail -n1 <<<"$low_healthz")"
        echo "webhook  $LOW_RATE/s open loop: $(head -n1 <<<"$low_acks")"
        echo "webhook  $LOW_RATE/s cpu per request: $(tail -n1 <<<"$low_acks")"
      fi
    fi
    if [ "$WEB_ONLY" != 1 ]; then
      echo "reply    $REPLY_RATE/s open loop: $(head -n1 <<<"$reply")"
      echo "reply    cpu per event: $(tail -n1 <<<"$reply")"
    fi
  } | tee -a "$summary"
  stop_last
done
echo "summary in $summary"
