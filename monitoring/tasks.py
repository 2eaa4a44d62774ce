"""Beat and worker tasks of alerting, SLOs and reports: each takes ids (or nothing) and calls one service."""

from __future__ import annotations

from celery import shared_task

from monitoring import alert_services, line_quota, reports
from monitoring.notifiers import send_notification

__all__ = [
    "evaluate_alert_rules",
    "generate_compliance_report",
    "prune_metric_samples",
    "record_metric_samples",
    "sample_line_quota",
    "send_notification",
]


@shared_task
def record_metric_samples() -> int:
    return alert_services.metric_samples_record()


@shared_task
def sample_line_quota() -> dict:
    return line_quota.line_quota_sample()


@shared_task
def prune_metric_samples() -> int:
    return alert_services.metric_samples_prune()


@shared_task
def evaluate_alert_rules() -> dict:
    return alert_services.rules_evaluate()


@shared_task
def generate_compliance_report() -> int:
    """The report of the month that ended (run early in each month; a rerun replaces it)."""
    return reports.compliance_report_generate().pk
