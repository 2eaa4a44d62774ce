"""The errors page of the ops console: kinds of error with counts, times and links to the events they broke."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import roles
from conversations.models import WebhookEvent
from monitoring.fingerprints import Fingerprint
from monitoring.models import ErrorKind
from monitoring.services import error_kind_record

pytestmark = pytest.mark.django_db

PAGE = "/admin/monitoring/errorkind/"


@pytest.fixture
def staff(django_user_model, verified_client):
    def sign_in(role):
        user = django_user_model.objects.create_user(role.lower().replace(" ", "-"), password="x" * 16, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return sign_in


@pytest.fixture
def kind():
    now = timezone.now()
    error_kind_record(
        fingerprint=Fingerprint("f" * 64, "KeyError", "conversations.processing:webhook_event_process"),
        message="'reply_token'",
        traceback='Traceback (most recent call last):\n  File "processing.py"\nKeyError: <b>reply_token</b>',
        count=7,
        first_seen=now,
        last_seen=now,
        process_kinds=["worker", "web"],
        correlation_ids=["corr-new", "corr-old"],
    )
    return ErrorKind.objects.get()


def webhook_event(correlation_id):
    return WebhookEvent.objects.create(
        webhook_event_id=correlation_id.upper(),
        content_digest=correlation_id,
        event_type="message",
        payload={},
        correlation_id=correlation_id,
    )


def test_it_lists_each_kind_with_its_count_times_and_processes(staff, kind):
    page = staff(roles.OPERATOR).get(PAGE).content.decode()

    assert "KeyError" in page
    assert "conversations.processing:webhook_event_process" in page
    assert ">7<" in page
    assert "web, worker" in page
    assert 'href="/admin/conversations/webhookevent/?q=corr-new"' in page


def test_it_links_a_kind_to_the_events_of_its_last_correlation_ids(staff, kind):
    client = staff(roles.OPERATOR)
    webhook_event("corr-old")
    webhook_event("unrelated")

    detail = client.get(f"{PAGE}{kind.pk}/change/").content.decode()
    assert '<a href="/admin/conversations/webhookevent/?q=corr-new">corr-new</a>' in detail
    assert '<a href="/admin/conversations/webhookevent/?q=corr-old">corr-old</a>' in detail
    assert "KeyError: &lt;b&gt;reply_token&lt;/b&gt;" in detail  # the traceback, escaped
    events = client.get("/admin/conversations/webhookevent/?q=corr-old").content.decode()
    assert "CORR-OLD" in events or "corr-old" in events
    assert "unrelated" not in events


def test_it_finds_a_kind_by_a_correlation_id_and_filters_by_process(staff, kind):
    client = staff(roles.OPERATOR)

    assert "KeyError" in client.get(PAGE, {"q": "corr-old"}).content.decode()
    assert "KeyError" not in client.get(PAGE, {"q": "nobody"}).content.decode()
    assert "KeyError" in client.get(PAGE, {"process": "worker"}).content.decode()
    assert "KeyError" not in client.get(PAGE, {"process": "beat"}).content.decode()


def test_it_shows_the_page_to_analysts_but_not_to_content_editors(staff, kind):
    assert staff(roles.ANALYST).get(PAGE).status_code == 200
    assert staff(roles.CONTENT_EDITOR).get(PAGE).status_code == 403


def test_it_lets_nobody_add_change_or_delete_an_error_by_hand(staff, kind):
    client = staff(roles.ADMINISTRATOR)

    assert client.get(f"{PAGE}add/").status_code == 403
    assert client.post(f"{PAGE}{kind.pk}/change/", {"count": 1}).status_code == 403
    assert client.post(f"{PAGE}{kind.pk}/delete/", {"post": "yes"}).status_code == 403
    kind.refresh_from_db()
    assert kind.count == 7
