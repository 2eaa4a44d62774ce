import pytest
from django.db import DatabaseError, connection, transaction

from analytics.models import AppendOnlyError, Event
from analytics.services import event_record
from conversations.models import LineUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return LineUser.objects.create(line_user_id="U" + "a" * 32)


def test_it_records_an_event_with_what_it_is_about(alice):
    event = event_record(type=Event.Type.POSTBACK, line_user=alice, button="like", campaign_id=7, variant="B")

    stored = Event.objects.get(pk=event.pk)
    assert (stored.type, stored.line_user, stored.button, stored.campaign_id, stored.variant) == (
        "postback",
        alice,
        "like",
        7,
        "B",
    )


def test_it_refuses_an_unknown_event_type(alice):
    with pytest.raises(ValueError, match="unknown event type"):
        event_record(type="tapped", line_user=alice)
    assert not Event.objects.exists()


def test_it_never_updates_a_recorded_event(alice):
    event = event_record(type=Event.Type.MESSAGE, line_user=alice)
    event.button = "changed"

    with pytest.raises(AppendOnlyError):
        event.save()


def test_it_refuses_an_update_in_the_database_too(alice):
    assert connection.vendor == "postgresql"
    event_record(type=Event.Type.MESSAGE, line_user=alice)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.update(button="changed")


def test_it_lets_an_erased_user_become_anonymous(alice):
    event = event_record(type=Event.Type.FOLLOW, line_user=alice)

    alice.delete()

    assert Event.objects.get(pk=event.pk).line_user is None
