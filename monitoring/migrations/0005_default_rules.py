"""The objectives the issue names, their burn-rate rules, and the memory monitor's two thresholds as rules.

Operators edit or disable them in the console; nothing here is recreated once deleted.
"""

from django.db import migrations

OBJECTIVES = [
    ("Webhook answered within 1 s", "webhook_ack", 0.999, 30),
    ("Reply within 10 s", "reply_latency", 0.99, 30),
    ("Push accepted", "push_success", 0.995, 30),
    ("Multicast accepted", "multicast_success", 0.995, 30),
    ("Campaigns on time", "campaign_on_time", 0.99, 30),
    ("Dashboard push lag", "dashboard_push_lag", 0.95, 7),
]


def forward(apps, schema_editor):
    Objective = apps.get_model("monitoring", "ServiceLevelObjective")
    Rule = apps.get_model("monitoring", "AlertRule")
    for name, indicator, objective, days in OBJECTIVES:
        slo, _ = Objective.objects.get_or_create(
            name=name, defaults={"indicator": indicator, "objective": objective, "window_days": days}
        )
        for policy, severity in (("page", "critical"), ("ticket", "warning")):
            Rule.objects.get_or_create(
                name=f"{name}: burn rate ({policy})",
                defaults={"kind": "burn_rate", "slo": slo, "burn_policy": policy, "severity": severity,
                          "group": f"slo:{indicator}"},
            )
    for level, severity, fallback, pending in (("warning", "warning", 70.0, 120), ("critical", "critical", 90.0, 60)):
        Rule.objects.get_or_create(
            name=f"Host memory above the {level} threshold",
            defaults={
                "kind": "threshold",
                "series": "host_memory_used_percent",
                "aggregation": "avg",
                "comparison": "gt",
                "threshold": fallback,
                "threshold_series": f"host_memory_{level}_threshold_percent",
                "window_seconds": 300,
                "pending_seconds": pending,
                "severity": severity,
                "group": "memory",
                "description": "The memory monitor's threshold (core/memory.py), averaged over 5 minutes.",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0004_alerting_slos")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
