#!/usr/bin/env bash
# PostgreSQL's side of an ack under the outbox, the two designs side by side in one database:
#   column: the relay marks the event published (UPDATE … SET queued_at, the design before 0011);
#   table:  the ack also inserts a row into a narrow outbox table, which the relay deletes (0011 on).
# Each pgbench transaction is one ack's statement; one ack in four also runs a relay round. Both shapes
# are vacuumed before each run, and the runs alternate. It reports PostgreSQL's CPU (all its processes,
# so run it on an otherwise quiet server) and write-ahead log per ack, and the medians.
#   notify: the table, and each new event also wakes a relay with pg_notify (a listener drains every 20 ms);
#           measured with SHAPES="table notify".
# usage: benchmarks/webhook/outbox_pgbench.sh [rounds=8] [acks per run=4000]   (env: BENCH_DB, SHAPES="column table")
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-8}"
ACKS="${2:-4000}"
DB="${BENCH_DB:-linebot_bench_outbox}"
SHAPES="${SHAPES:-column table}"
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt)
WORK=$(mktemp -d)
listener=""
trap '[ -z "$listener" ] || kill "$listener" 2>/dev/null; rm -rf "$WORK"' EXIT

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
# The schema before the narrow outbox (migrated back past 0011): the event table with queued_at and its
# partial outbox index.
manage() { DJANGO_SETTINGS_MODULE=linebot_project.settings.local DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" \
  LOG_LEVEL=WARNING .venv/bin/python manage.py "$@" >/dev/null; }
manage migrate
manage migrate conversations 0010_language_chosen_from_lang_commands
"${PSQL[@]}" -d "$DB" <<'SQL'
CREATE TABLE event_b (LIKE conversations_webhookevent INCLUDING ALL);
DROP INDEX event_b_id_idx;
ALTER TABLE event_b DROP COLUMN queued_at;
CREATE TABLE outbox_b (event_id bigint PRIMARY KEY);
-- A text message event as LINE sends it, about 400 bytes of JSON.
CREATE TABLE sample_payload (p jsonb);
INSERT INTO sample_payload VALUES ('{"type": "message", "mode": "active", "timestamp": 1692251666727,
  "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q-abcdefghijklmnopqrstuvwxyz0123456789",
              "text": "Hello, world, how are you today?"},
  "webhookEventId": "01H810YECXQQZ37VAXPF6H9E6T", "deliveryContext": {"isRedelivery": false},
  "source": {"type": "user", "userId": "U4af4980629abcdef0123456789abcdef"},
  "replyToken": "38ef843bde154d9b91c21320ffd17a0f"}');
SQL

insert() {  # insert TABLE: the ack's INSERT … ON CONFLICT for the event table TABLE
  echo "INSERT INTO $1 (webhook_event_id, content_digest, event_type, message_type, source_type, source_id,
  line_user_id, reply_token, is_redelivery, occurred_at, payload, destination, correlation_id, received_at,
  deliveries, throttled, status, attempts, error, reply_state, retry_key, reply_method, line_request_id)
  VALUES ('ev' || :n || '-' || clock_timestamp()::text, md5(:n::text) || md5(:n::text), 'message', 'text', 'user',
  'U4af4980629abcdef0123456789abcdef', 'U4af4980629abcdef0123456789abcdef', '38ef843bde154d9b91c21320ffd17a0f',
  false, now(), (SELECT p FROM sample_payload), 'Udeadbeefdeadbeefdeadbeefdeadbeef', md5(:n::text), now(), 1,
  false, 'received', 0, '', 'none', gen_random_uuid(), '', '')
  ON CONFLICT (webhook_event_id) DO UPDATE SET deliveries = $1.deliveries + 1
  WHERE $1.content_digest = EXCLUDED.content_digest RETURNING id, (xmax = 0) AS inserted" | tr '\n' ' '
}
{
  printf '\\set n random(1, 1000000000)\n\\set k random(1, 4)\n'
  echo "$(insert conversations_webhookevent);"
  echo '\if :k = 1'
  echo "UPDATE conversations_webhookevent SET queued_at = now() WHERE id IN (SELECT id FROM conversations_webhookevent WHERE status = 'received' AND queued_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING id;"
  echo '\endif'
} >"$WORK/column.sql"
outbox_script() {  # outbox_script SELECT: the outbox table's ack, returning SELECT's columns; one relay round in four
  printf '\\set n random(1, 1000000000)\n\\set k random(1, 4)\n'
  echo "WITH stored AS ($(insert event_b)), queued AS (INSERT INTO outbox_b (event_id) SELECT id FROM stored WHERE inserted) $1 FROM stored;"
  echo '\if :k = 1'
  echo "WITH claimed AS (DELETE FROM outbox_b WHERE event_id IN (SELECT event_id FROM outbox_b ORDER BY event_id LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING event_id) SELECT claimed.event_id FROM claimed, LATERAL (SELECT 1 FROM event_b WHERE event_b.id = claimed.event_id AND event_b.status = 'received' OFFSET 0) waiting;"
  echo '\endif'
}
outbox_script "SELECT id, inserted" >"$WORK/table.sql"
outbox_script "SELECT id, inserted, CASE WHEN inserted THEN pg_notify('outbox_b', '') END" >"$WORK/notify.sql"
if [[ " $SHAPES " == *" notify "* ]]; then
  .venv/bin/python -c "
import sys, psycopg
conn = psycopg.connect(sys.argv[1], autocommit=True)
conn.execute('LISTEN outbox_b')
while True:
    for _ in conn.notifies(timeout=0.02):
        pass
" "postgresql://postgres@127.0.0.1:5432/$DB" 2>/dev/null &
  listener=$!
fi

# CPU ticks of every PostgreSQL process, and of the backends that have exited (the postmaster's children).
postgres_ticks() { for pid in $(pgrep -x postgres); do awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null; done | awk '{s += $1} END {print s}'; }
wal_lsn() { "${PSQL[@]}" -d "$DB" -c "SELECT pg_current_wal_lsn()"; }
hz=$(getconf CLK_TCK)

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
: >"$WORK/results"
# Round 0 warms both up and is not counted.
for round in $(seq 0 "$ROUNDS"); do
  for shape in $SHAPES; do
    "${PSQL[@]}" -d "$DB" -c "VACUUM conversations_webhookevent" -c "VACUUM event_b" -c "VACUUM outbox_b"
    lsn0=$(wal_lsn); ticks0=$(postgres_ticks)
    PGOPTIONS='-c synchronous_commit=off' pgbench -M prepared -h 127.0.0.1 -U postgres -n -c 1 -t "$ACKS" \
      -f "$WORK/$shape.sql" "$DB" >"$WORK/pgbench.log" 2>&1 || { cat "$WORK/pgbench.log" >&2; exit 1; }
    sleep 0.3
    ticks1=$(postgres_ticks); lsn1=$(wal_lsn)
    cpu_us=$(( (ticks1 - ticks0) * 1000000 / hz / ACKS ))
    wal=$("${PSQL[@]}" -d "$DB" -c "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / $ACKS)")
    echo "round $round $shape: PostgreSQL ${cpu_us} µs CPU, ${wal} B of WAL per ack"
    [ "$round" = 0 ] || echo "$shape $cpu_us $wal" >>"$WORK/results"
  done
done
for shape in $SHAPES; do
  awk -v s="$shape" '$1 == s {print $2, $3}' "$WORK/results" | sort -n | awk -v s="$shape" \
    '{cpu[NR] = $1; wal += $2} END {m = (NR % 2) ? cpu[(NR + 1) / 2] : (cpu[NR / 2] + cpu[NR / 2 + 1]) / 2;
      printf "%s: median %d µs CPU, mean %d B WAL per ack (%d runs)\n", s, m, wal / NR, NR}'
done
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
