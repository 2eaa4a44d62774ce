#!/usr/bin/env bash
# One answered event's CPU in one thread and its PostgreSQL backend (answer_cost.py), with production
# settings on a database of its own. Extra VAR=value arguments change the settings of the run, e.g.
#   benchmarks/webhook/answer_cost.sh 300 DJANGO_DB_PREPARED_STATEMENTS=false
# usage: benchmarks/webhook/answer_cost.sh [events=300] [VAR=value ...]
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
cd "${BENCH_APP_DIR:-$BENCH/../..}"
# The Python scripts import the code measured from BENCH_APP_DIR, made absolute here.
if [ -n "${BENCH_APP_DIR:-}" ]; then export BENCH_APP_DIR="$PWD"; fi
EVENTS="${1:-300}"
shift || true
DB="${BENCH_DB:-linebot_bench_cost}"
export DJANGO_SETTINGS_MODULE=linebot_project.settings.production
export DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export JWT_SIGNING_KEY="bench-only-jwt-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export PUBLIC_BASE_URL=https://bench.invalid API_KEY_PEPPER=bench-only-pepper
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
# Flood control and the settings cache live in Redis; a database of its own keeps them apart.
export REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/13}" REDIS_KEY_PREFIX="bench-cost-$$"
export CELERY_BROKER_URL="${BENCH_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}" LINE_CHANNEL_SECRET=bench-channel-secret LINE_CHANNEL_ACCESS_TOKEN=bench-token
export PROMETHEUS_MULTIPROC_DIR="$PWD/var/bench/webhook/prometheus-cost"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
psql -h 127.0.0.1 -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres "$DB"
.venv/bin/python manage.py migrate --noinput -v 0
# PROFILE=path writes cProfile statistics (this thread's CPU) of the measured events there.
# COST_SCRIPT=publish_cost.py measures a task's publish instead, with the same settings, and COST_SCRIPT=ack_cost.py
# the webhook's ack; COST_ARGS passes the script more arguments (answer_cost.py: --show-statements).
# COST_PREFIX runs the script under another command (answer_instructions.sh: valgrind's callgrind).
if [ "${COST_SCRIPT:-answer_cost.py}" = answer_cost.py ]; then
  env "$@" ${COST_PREFIX:-} .venv/bin/python "$BENCH/answer_cost.py" --events "$EVENTS" ${PROFILE:+--profile "$PROFILE"} ${COST_ARGS:-}
else
  env "$@" ${COST_PREFIX:-} .venv/bin/python "$BENCH/$COST_SCRIPT" --events "$EVENTS" ${COST_ARGS:-}
fi
