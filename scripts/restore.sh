#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into a NEW database of the given name, on the server of
# DATABASE_URL (the user needs CREATEDB). It never touches an existing database: restore beside the live
# one, check it, then switch DATABASE_URL (or rename) as docs/runbooks/database-restore.md says.
#
#   DATABASE_URL=postgres://user:pass@host:5432/linebot scripts/restore.sh backup.dump linebot_restored
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: restore.sh <backup.dump> <new database name>" >&2
    exit 2
fi
dump="$1"
target="$2"
url="${DATABASE_URL:-}"
if [[ -z "$url" ]]; then
    echo "restore.sh: set DATABASE_URL (postgres://user:password@host:port/database)" >&2
    exit 2
fi
if [[ ! "$target" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
    echo "restore.sh: the database name must be lower-case letters, digits and _ (got '$target')" >&2
    exit 2
fi
if [[ ! -r "$dump" ]]; then
    echo "restore.sh: cannot read $dump" >&2
    exit 2
fi
pg_restore --list "$dump" >/dev/null

# The same server and credentials, another database: swap the path of the URL (keeping any ?query).
base="${url%%\?*}"
query=""
[[ "$url" == *\?* ]] && query="?${url#*\?}"
target_url="${base%/*}/$target$query"

exists=$(psql "$url" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$target'")
if [[ "$exists" == "1" ]]; then
    echo "restore.sh: database $target exists already; choose a new name (nothing was changed)" >&2
    exit 1
fi
psql "$url" -Xqc "CREATE DATABASE \"$target\""
if ! pg_restore --no-owner --no-privileges --exit-on-error --dbname="$target_url" "$dump"; then
    echo "restore.sh: the restore failed; the partial database $target is left for inspection" >&2
    exit 1
fi
tables=$(psql "$target_url" -XAtc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
echo "restore.sh: restored $dump into $target ($tables tables)"
