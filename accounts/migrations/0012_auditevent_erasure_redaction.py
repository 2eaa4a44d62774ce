from django.db import migrations

# The audit log stays append-only, with one narrow exception for a LINE user's erasure: inside a
# transaction that declared (with set_config(..., true), so for that transaction only) which id is
# erased and the anonymous "erased:..." id replacing it, a row may change in exactly that way and no
# other. Nothing else about the row (time, action, actor, other text) can be rewritten.
CREATE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
DECLARE
    needle text := current_setting('linebot.audit_erase_needle', true);
    replacement text := current_setting('linebot.audit_erase_replacement', true);
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events cannot be deleted';
    END IF;
    IF NEW.actor_id IS NULL AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    IF coalesce(length(needle), 0) >= 8 AND left(replacement, 7) = 'erased:'
       AND needle ~ '^[A-Za-z0-9]+$'
       AND to_jsonb(NEW)::text = replace(to_jsonb(OLD)::text, needle, replacement) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events cannot be changed';
END;
$$ LANGUAGE plpgsql;
"""

# The function as 0004 created it.
RESTORE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events cannot be deleted';
    END IF;
    IF NEW.actor_id IS NULL AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events cannot be changed';
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTORE)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0011_auditevent_takeover_actions")]

    operations = [migrations.RunPython(create, restore)]
