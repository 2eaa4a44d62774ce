# Sourced by run_tests.sh: makes sure PostgreSQL, Redis and RabbitMQ answer.
# Starts an installed-but-stopped service; with CI=true an unreachable one is fatal.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port="$1" tries=60
  while ! port_open "$port"; do
    tries=$((tries - 1)); [ "$tries" -le 0 ] && return 1; sleep 0.5
  done
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
}
start_redis() {
  command -v redis-server >/dev/null || return 1
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
}
start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || return 1
  rabbitmq-server -detached
}

ensure_service() {
  local name="$1" port="$2" starter="$3"
  port_open "$port" && return 0
  echo "==> $name is not answering on $port; starting it"
  "$starter" >/dev/null 2>&1 || true
  if ! wait_port "$port"; then
    echo "ERROR: $name is not reachable on 127.0.0.1:$port and could not be started." >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    return 1
  fi
}

ensure_services() {
  ensure_service PostgreSQL 5432 start_postgres
  ensure_service Redis 6379 start_redis
  ensure_service RabbitMQ 5672 start_rabbitmq
}
