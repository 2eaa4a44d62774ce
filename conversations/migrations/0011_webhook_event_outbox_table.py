"""The outbox becomes a table of its own; events the relay had not yet published move into it.

Before, the relay marked an event as published by setting ``queued_at`` on the event, which rewrote
the whole row and its index entries on every ack (docs/PERFORMANCE.md, "A narrow outbox").
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 5000


def move_unpublished_events(apps, schema_editor):
    # Under "publish" queued_at was never set: every event was published by the web tier itself.
    if settings.CONVERSATION_DISPATCH != "outbox":
        return
    WebhookEvent = apps.get_model("conversations", "WebhookEvent")
    WebhookEventOutbox = apps.get_model("conversations", "WebhookEventOutbox")
    waiting = WebhookEvent.objects.filter(status="received", queued_at__isnull=True).order_by("id")
    ids = list(waiting.values_list("id", flat=True))
    for start in range(0, len(ids), BATCH):
        WebhookEventOutbox.objects.bulk_create(
            [WebhookEventOutbox(event_id=pk) for pk in ids[start : start + BATCH]], ignore_conflicts=True
        )


def move_back(apps, schema_editor):
    WebhookEvent = apps.get_model("conversations", "WebhookEvent")
    WebhookEventOutbox = apps.get_model("conversations", "WebhookEventOutbox")
    waiting = WebhookEventOutbox.objects.values("event_id")
    # Everything else counts as published, as the relay had left it.
    WebhookEvent.objects.exclude(pk__in=waiting).update(queued_at=models.F("received_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0010_language_chosen_from_lang_commands"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEventOutbox",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="conversations.webhookevent",
                    ),
                ),
            ],
        ),
        migrations.RunPython(move_unpublished_events, move_back),
        migrations.RemoveIndex(
            model_name="webhookevent",
            name="webhook_event_outbox",
        ),
        migrations.RemoveField(
            model_name="webhookevent",
            name="queued_at",
        ),
    ]
