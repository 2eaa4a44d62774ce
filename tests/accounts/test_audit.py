import pytest
from django.test import RequestFactory

from accounts import audit
from accounts.models import AuditEvent, AuditLogIsAppendOnly
from core import correlation

pytestmark = pytest.mark.django_db


def test_it_records_actor_request_details_and_correlation_id(django_user_model):
    user = django_user_model.objects.create_user("ops", password="x" * 12)
    request = RequestFactory().get("/", HTTP_USER_AGENT="probe/1.0", REMOTE_ADDR="203.0.113.9")
    request.user = user
    correlation.bind("corr-123")
    try:
        event = audit.record(action=AuditEvent.Action.LOGIN, target="user:ops", details={"a": 1}, request=request)
    finally:
        correlation.clear()
    event.refresh_from_db()
    assert event.actor == user
    assert event.actor_username == "ops"
    assert event.ip_address == "203.0.113.9"
    assert event.user_agent == "probe/1.0"
    assert event.correlation_id == "corr-123"
    assert event.details == {"a": 1}


def test_it_keeps_the_username_when_the_actor_is_deleted(django_user_model):
    user = django_user_model.objects.create_user("gone", password="x" * 12)
    event = audit.record(action=AuditEvent.Action.LOGIN, actor=user)
    user.delete()
    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_username == "gone"


def test_it_refuses_to_change_an_audit_event():
    event = audit.record(action=AuditEvent.Action.LOGIN_FAILED, target="user:x")
    event.target = "user:someone-else"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).target == "user:x"


def test_it_refuses_to_delete_an_audit_event():
    event = audit.record(action=AuditEvent.Action.LOGIN_FAILED)
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_refuses_bulk_updates_and_deletes_of_the_audit_log():
    audit.record(action=AuditEvent.Action.LOGIN_FAILED)
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().update(target="x")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_it_stores_details_as_json_even_for_dates_and_decimals():
    import datetime
    import decimal

    event = audit.record(
        action=AuditEvent.Action.CONFIG_CHANGED,
        details={"before": decimal.Decimal("0.7"), "at": datetime.date(2026, 1, 2)},
    )
    event.refresh_from_db()
    assert event.details == {"before": "0.7", "at": "2026-01-02"}


def test_it_makes_the_database_refuse_to_rewrite_or_delete_audit_rows():
    from django.db import DatabaseError, connection, transaction

    event = audit.record(action=AuditEvent.Action.LOGIN, target="user:x")
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET target = 'user:y' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).target == "user:x"
