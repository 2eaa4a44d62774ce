#!/usr/bin/env bash
# Runs the bot on the embedded default (no env needed): web server, Celery worker
# and beat, from one terminal. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
# A port already taken (most often by a run.sh still running) would leave this run half-started, and it
# would clear the other run's metrics below: say so before touching anything.
busy=()
for address in "$HOST:$PORT" 127.0.0.1:8081 127.0.0.1:8082; do
  (exec 3<>"/dev/tcp/${address%:*}/${address##*:}") 2>/dev/null && busy+=("$address")
done
if [ "${#busy[@]}" -gt 0 ]; then
  echo "ERROR: already in use: ${busy[*]}. Is another ./scripts/run.sh running? Stop it (Ctrl-C in its" \
    "terminal) first; PORT=8010 moves this run's web server, the simulator needs 8081 and 8082." >&2
  exit 1
fi

source scripts/lib/venv.sh
# The doubles' own dependencies too: run.sh starts the LINE and LLM doubles.
ensure_venv requirements/base.txt requirements/doubles.txt
bash scripts/lib/bytecode.sh
# The fonts rich-message images are drawn with (Debian's Noto packages, installed when missing).
bash scripts/lib/fonts.sh

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-linebot_project.settings.local}"
PY=.venv/bin/python
# Rich-message images get absolute URLs on this address (LINE needs a public HTTPS one in production).
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$HOST:$PORT}"
mkdir -p var/log
# Every process below writes its metrics here; this script starts them all, so what an earlier run
# left is stale.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

echo "==> migrating"
$PY manage.py migrate --noinput >var/log/migrate.log
$PY manage.py ensure_demo_superuser

pids=() names=()
start() {  # start NAME COMMAND...: runs in the background, output to var/log/NAME.log
  local name="$1"; shift
  "$@" >"var/log/$name.log" 2>&1 &
  pids+=($!) names+=("$name")
  echo "    started $name (pid $!, log var/log/$name.log)"
}
report_exited() {  # names each process that is no longer running, with the end of its log; false if none
  local i found=1
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null && continue
    found=0
    echo "ERROR: ${names[$i]} exited. The end of var/log/${names[$i]}.log:" >&2
    tail -n 12 "var/log/${names[$i]}.log" | sed 's/^/    /' >&2
  done
  return "$found"
}
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "==> stopped"
}
trap stop EXIT
# Ctrl-C ends the script, and so every process, without reporting them as having died.
trap 'exit 130' INT TERM

echo "==> starting"
start llm $PY -m linesim.llm --host 127.0.0.1 --port 8082  # the LLM double (Azure OpenAI / OpenAI)
start linesim $PY -m linesim.line --host 127.0.0.1 --port 8081 --webhook-url "http://$HOST:$PORT/line/webhook" \
  --channel-secret simulator-channel-secret --access-token simulator-access-token  # the LINE Platform double
start web .venv/bin/daphne -b "$HOST" -p "$PORT" linebot_project.asgi:application
start worker .venv/bin/celery -A linebot_project worker --loglevel=INFO --concurrency=2
start beat .venv/bin/celery -A linebot_project beat --loglevel=INFO --pidfile=
if [ -n "${REDIS_URL:-}" ]; then
  start ticker $PY manage.py run_dashboard_ticker  # the live dashboards, through Redis
else
  echo "    (no REDIS_URL: the web server runs the dashboard ticker itself)"
fi

for _ in $(seq 1 60); do
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null && break
  sleep 0.5
done
# A process that could not start (a port, a setting) stops the run here, saying which and why.
sleep 1
if report_exited; then
  exit 1
fi

cat <<INFO

The bot is running:
  Admin (ops console)   http://$HOST:$PORT/admin/
  Liveness              http://$HOST:$PORT/healthz
  Readiness             http://$HOST:$PORT/readyz
  LINE webhook          http://$HOST:$PORT/line/webhook
  LINE simulator        http://127.0.0.1:8081/simulator  (chat with the bot as LINE users)
  LLM double            http://127.0.0.1:8082  (control API /_control/requests)
Press Ctrl-C to stop.
INFO

# Exit (and stop the others) as soon as any process dies.
wait -n "${pids[@]}" || true
report_exited || echo "A process exited; see var/log/." >&2
exit 1
