"""PostgreSQL only: a BRIN index for time-range scans, and a trigger that keeps events append-only."""

from django.db import migrations

_FORWARD = [
    "CREATE INDEX IF NOT EXISTS analytics_event_occurred_brin ON analytics_event USING brin (occurred_at)",
    """
    CREATE OR REPLACE FUNCTION analytics_event_no_update() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'analytics events are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS analytics_event_no_update ON analytics_event",
    """
    CREATE TRIGGER analytics_event_no_update BEFORE UPDATE ON analytics_event
    FOR EACH ROW WHEN (OLD.line_user_id IS NOT DISTINCT FROM NEW.line_user_id)
    EXECUTE FUNCTION analytics_event_no_update()
    """,
]
_BACKWARD = [
    "DROP TRIGGER IF EXISTS analytics_event_no_update ON analytics_event",
    "DROP FUNCTION IF EXISTS analytics_event_no_update()",
    "DROP INDEX IF EXISTS analytics_event_occurred_brin",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(_run(_FORWARD), _run(_BACKWARD))]
