#!/usr/bin/env bash
# Analytics at size in PostgreSQL: load events (COPY) and campaigns, then rollup time, the p95 of the campaign
# and template endpoints, and a streamed CSV export of 1M events (time, peak RSS of the process).
# usage: benchmarks/analytics/run.sh [events=10000000] [campaigns=1000]
#        (env: BENCH_DB, default linebot_bench_analytics; KEEP=1 keeps a loaded database for another run)
# Record the figures in docs/PERFORMANCE.md ("Analytics").
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS="${1:-10000000}"
CAMPAIGNS="${2:-1000}"
DB="${BENCH_DB:-linebot_bench_analytics}"
PY=.venv/bin/python
OUT=var/bench/analytics
mkdir -p "$OUT"
export DJANGO_SETTINGS_MODULE=linebot_project.settings.local
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export LOG_LEVEL=WARNING PUBLIC_BASE_URL=https://bench.invalid
if [ "${KEEP:-0}" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" postgres
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" postgres | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" postgres
$PY manage.py migrate -v 0
{
  echo "{\"machine\": {\"nproc\": $(nproc), \"mem_gb\": $(free -g | awk '/^Mem:/ {print $2}'), \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"date\": \"$(date -u +%FT%TZ)\"}}"
  $PY -m benchmarks.analytics.bench load --events "$EVENTS" --campaigns "$CAMPAIGNS"
  $PY -m benchmarks.analytics.bench measure
  ROWS=$(( EVENTS < 1000000 ? EVENTS : 1000000 ))
  /usr/bin/time -f '{"step": "csv_export_process", "max_rss_kb": %M, "wall_seconds": %e}' \
    $PY -m benchmarks.analytics.bench export --rows "$ROWS" 2>&1
} | tee "$OUT/result-$(date -u +%Y%m%dT%H%M%S).jsonl"
