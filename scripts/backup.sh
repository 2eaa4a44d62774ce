#!/usr/bin/env bash
# A backup of the PostgreSQL database in pg_dump's custom format (compressed, restorable table by table).
#
#   DATABASE_URL=postgres://user:pass@host:5432/linebot scripts/backup.sh [output.dump]
#
# Without an output path it writes backups/linebot-<UTC time>.dump. The dump is written beside its final
# name and renamed only once pg_restore can read its table of contents, so a file with the final name is
# never a half-written backup. BACKUP_KEEP=N (optional) deletes all but the newest N dumps in that folder.
# See docs/runbooks/database-restore.md.
set -euo pipefail

url="${DATABASE_URL:-}"
if [[ -z "$url" ]]; then
    echo "backup.sh: set DATABASE_URL (postgres://user:password@host:port/database)" >&2
    exit 2
fi
case "$url" in
    postgres://* | postgresql://*) ;;
    *) echo "backup.sh: DATABASE_URL must be a postgres:// URL" >&2; exit 2 ;;
esac

out="${1:-backups/linebot-$(date -u +%Y%m%dT%H%M%SZ).dump}"
mkdir -p "$(dirname "$out")"
partial="$out.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$partial"
# A dump whose table of contents cannot be read is no backup.
entries=$(pg_restore --list "$partial" | grep -vc '^;')
mv "$partial" "$out"
trap - EXIT

if [[ -n "${BACKUP_KEEP:-}" ]]; then
    # Newest first; everything past the first BACKUP_KEEP goes.
    ls -1t "$(dirname "$out")"/*.dump | tail -n +"$((BACKUP_KEEP + 1))" | xargs -r rm -f
fi

echo "backup.sh: wrote $out ($(du -h "$out" | cut -f1), $entries entries)"
