"""A predictive rule on LINE's monthly quota (monitoring/line_quota.py), as the issue's example names it.

Operators edit or disable it in the console; it is not recreated once deleted.
"""

from django.db import migrations

NAME = "LINE monthly quota runs out before the month ends"


def forward(apps, schema_editor):
    Rule = apps.get_model("monitoring", "AlertRule")
    Rule.objects.get_or_create(
        name=NAME,
        defaults={
            "kind": "predictive",
            "series": "line_quota_remaining",
            "method": "linear",
            "comparison": "lt",
            "threshold": 0.0,
            "window_seconds": 24 * 3600,
            "horizon_end_of_month": True,
            "severity": "warning",
            "group": "line-quota",
            "description": (
                "The messages left in LINE's monthly quota, read every 15 minutes, follow the last day's trend "
                "below zero before the month ends. Campaigns larger than what is left are refused before sending."
            ),
        },
    )


def backward(apps, schema_editor):
    apps.get_model("monitoring", "AlertRule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0008_personal_data_options")]

    operations = [migrations.RunPython(forward, backward)]
