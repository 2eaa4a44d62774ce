"""Two rules on the events still waiting (monitoring/webhook_backlog.py): a relay or workers that stopped.

The reply objective counts replies, so it stays silent while no event is answered at all. Operators edit
or disable the rules in the console; they are not recreated once deleted.
"""

from django.db import migrations

RULES = {
    "LINE events wait for the relay": {
        "series": "webhook_events_unpublished_oldest_seconds",
        "threshold": 60.0,
        "description": (
            "The oldest event in the outbox has waited more than a minute, the whole last two minutes: the "
            "relay (manage.py conversations_relay) is down or cannot reach the broker. Nothing is lost; the "
            "sweep for stalled events publishes them after CONVERSATION_STALLED_AFTER_SECONDS."
        ),
    },
    "LINE events not answered": {
        "series": "webhook_events_unfinished_oldest_seconds",
        "threshold": 300.0,
        "description": (
            "The oldest event not yet answered (nor ignored, nor failed) is more than five minutes old, the "
            "whole last two minutes: the workers are down, or the queue is far behind."
        ),
    },
}


def forward(apps, schema_editor):
    Rule = apps.get_model("monitoring", "AlertRule")
    for name, rule in RULES.items():
        Rule.objects.get_or_create(
            name=name,
            defaults={
                **rule,
                "kind": "threshold",
                # The smallest value in the window: one slow event, answered a moment later, does not fire it.
                "aggregation": "min",
                "comparison": "gt",
                "window_seconds": 120,
                "severity": "critical",
                "group": "webhook-backlog",
            },
        )


def backward(apps, schema_editor):
    apps.get_model("monitoring", "AlertRule").objects.filter(name__in=list(RULES)).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0009_line_quota_rule")]

    operations = [migrations.RunPython(forward, backward)]
