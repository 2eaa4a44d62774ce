from django.db import DatabaseError, migrations, transaction

# The top-queries page reads pg_stat_statements. Creating the extension needs a superuser (the
# compose stack's database owner is one); where that is not allowed the migration goes on and the
# page says what is missing (docs/runbooks/slow-queries.md).


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except DatabaseError:
        pass


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_slo_min_events")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
