"""Receivers of monitoring: retiring a Celery pool process's metrics, re-checking dashboard sockets, and
raising an alert for suspicious sign-in activity."""

from __future__ import annotations

from celery import signals as celery_signals
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.dispatch import receiver

from accounts.detection import suspicious_activity_found
from monitoring import multiprocess
from monitoring.dashboards import access
from monitoring.services import alert_raise

User = get_user_model()


@celery_signals.worker_process_shutdown.connect(dispatch_uid="monitoring.retire_pool_process")
def _retire_pool_process(**kwargs):
    # Its counters are merged into the archive, so /metrics totals do not drop when a child is replaced.
    multiprocess.retire(multiprocess.process_identifier())


@receiver(user_logged_out, dispatch_uid="monitoring.dashboards_logout")
def _on_logout(sender, request, user, **kwargs):
    if user is not None and request is not None and hasattr(request, "session"):
        # Sent before the session is flushed: the message names the session, not the user's others.
        access.session_ended(user.pk, request.session.session_key)


def _after_commit(user_ids) -> None:
    user_ids = [pk for pk in user_ids if pk is not None]
    if user_ids:
        transaction.on_commit(lambda: access.rights_changed(user_ids))


def _on_membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear" and reverse:
        # The members are gone by post_clear: remember who they were.
        instance._dashboard_members = list(instance.user_set.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        _after_commit([instance.pk])
    elif action == "post_clear":
        _after_commit(getattr(instance, "_dashboard_members", []))
    else:
        _after_commit(pk_set or [])


m2m_changed.connect(_on_membership_changed, sender=User.groups.through, dispatch_uid="monitoring.dashboards_groups")
m2m_changed.connect(
    _on_membership_changed, sender=User.user_permissions.through, dispatch_uid="monitoring.dashboards_perms"
)


@receiver(post_save, sender=User, dispatch_uid="monitoring.dashboards_user_saved")
def _on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    _after_commit([instance.pk])


@receiver(pre_delete, sender=User, dispatch_uid="monitoring.dashboards_user_deleted")
def _on_user_deleted(sender, instance, **kwargs):
    _after_commit([instance.pk])


@receiver(suspicious_activity_found, dispatch_uid="monitoring.alert_on_suspicious_activity")
def _on_suspicious_activity(sender, kind, severity, message, details, **kwargs):
    alert_raise(kind=kind, severity=severity, message=message, details=details)
