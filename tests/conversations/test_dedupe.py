"""An event is answered once per webhookEventId, whatever else differs in a redelivery.

LINE documents ``webhookEventId`` as the event's unique id. A redelivery may carry a new
timestamp, a new reply token or ``isRedelivery``; none of that makes it a new event. A body
that differs under a known id is kept for inspection and logged, never answered.
"""

from __future__ import annotations

import json
import logging
import threading

import pytest
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from conversations.models import WebhookEvent, WebhookEventConflict
from conversations.services import event_digest, webhook_event_store, webhook_events_store
from core.llm.client import reset_llm_client
from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double
from tests.embedded import run_on_embedded_sqlite
from tests.line_samples import sample_payload

USER = "U" + "d1" * 16


@pytest.fixture(scope="module")
def doubles():
    with running_line_double() as line, running_llm_double(latency_ms=0) as llm:
        yield line, llm


@pytest.fixture
def line(doubles, live_server, settings):
    """The LINE double posting to a live server, which answers through both doubles (tasks run eagerly)."""
    line, llm = doubles
    settings.LINE_CHANNEL_SECRET = line.channel_secret
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    for name, value in llm.env().items():
        setattr(settings, name, value)
    reset_llm_client()
    line.control.reset()
    llm.control.reset()
    line.control.configure(webhookUrl=f"{live_server.url}/line/webhook")
    yield line
    reset_llm_client()


@pytest.fixture
def llm(doubles):
    return doubles[1]


def conflict_logs(caplog) -> list[dict]:
    return [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == "line_webhook_event_conflict"
    ]


def post(line, event: dict) -> None:
    assert line.control.post_events([event])["status"] == 200


@pytest.mark.django_db(transaction=True)
def test_it_answers_a_redelivery_with_a_new_timestamp_and_reply_token_once(line, llm, caplog):
    first = line.control.send_webhook(type="text", userId=USER, text="Answer me once")["event"]
    assert len(line.control.messages(user_id=USER)) == 1
    redelivered = {
        **first,
        "timestamp": first["timestamp"] + 61_000,
        "replyToken": line.control.issue_reply_token(USER),
        "deliveryContext": {"isRedelivery": True},
    }

    with caplog.at_level(logging.WARNING):
        post(line, redelivered)

    assert len(line.control.messages(user_id=USER)) == 1
    assert len(llm.control.requests()) == 1
    assert line.control.requests(endpoint="replyMessage")[0]["body"]["replyToken"] == first["replyToken"]
    stored = WebhookEvent.objects.get()
    assert stored.payload == first and stored.deliveries == 1
    conflict = WebhookEventConflict.objects.get()
    assert (conflict.event, conflict.payload, conflict.content_digest) == (
        stored,
        redelivered,
        event_digest(redelivered),
    )
    [logged] = conflict_logs(caplog)
    assert logged["webhook_event_id"] == first["webhookEventId"] and logged["event_id"] == stored.pk
    assert logged["level"] == "warning"
    assert "Answer me once" not in str(logged)  # what the user wrote stays out of the logs


@pytest.mark.django_db(transaction=True)
def test_it_only_counts_a_delivery_for_an_identical_redelivery(line, llm, caplog):
    first = line.control.send_webhook(type="text", userId=USER, text="Hello")["event"]

    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert line.control.redeliver(first["webhookEventId"])["delivery"]["status"] == 200

    assert WebhookEvent.objects.get().deliveries == 3
    assert not WebhookEventConflict.objects.exists()
    assert conflict_logs(caplog) == []
    assert len(line.control.messages(user_id=USER)) == 1 and len(llm.control.requests()) == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_but_does_not_answer_another_event_under_a_known_id(line, llm):
    first = line.control.send_webhook(type="text", userId=USER, text="First")["event"]
    other = line.control.send_webhook(type="text", userId=USER, text="Second")["event"]
    assert len(line.control.messages(user_id=USER)) == 2
    reused = {**other, "webhookEventId": first["webhookEventId"]}
    line.control.clear_requests()

    for _ in range(3):
        post(line, reused)

    assert line.control.requests() == [] and len(llm.control.requests()) == 2
    conflict = WebhookEventConflict.objects.get()
    assert conflict.event.payload == first
    assert conflict.payload == reused
    assert conflict.deliveries == 3  # the same differing body is kept once
    assert WebhookEvent.objects.get(webhook_event_id=first["webhookEventId"]).deliveries == 1


def test_it_stores_lines_samples_under_their_shared_id_once(db):
    payload = sample_payload()
    events = payload["events"]
    assert len({e["webhookEventId"] for e in events}) == 1 < len(events)  # as LINE publishes them

    stored = webhook_events_store(payload=payload, correlation_id="samples")

    assert [s.queued for s in stored] == [True] + [False] * (len(events) - 1)
    assert WebhookEvent.objects.get().payload == events[0]
    distinct = {event_digest(e) for e in events[1:]} - {event_digest(events[0])}
    assert WebhookEventConflict.objects.count() == len(distinct)


def test_it_keys_events_without_an_id_by_their_content(db):
    event = {"type": "follow", "timestamp": 1, "source": {"type": "user", "userId": USER}}

    first = webhook_event_store(event=event, destination="", correlation_id=None)
    again = webhook_event_store(
        event={**event, "deliveryContext": {"isRedelivery": True}}, destination="", correlation_id=None
    )
    other = webhook_event_store(event={**event, "timestamp": 2}, destination="", correlation_id=None)

    assert (first.created, again.created, other.created) == (True, False, True)
    assert WebhookEvent.objects.get(pk=first.id).webhook_event_id == event_digest(event)
    assert WebhookEvent.objects.get(pk=first.id).deliveries == 2
    assert not WebhookEventConflict.objects.exists()


def test_it_does_not_cut_an_id_too_long_to_be_lines_into_another(db):
    base = {"type": "follow", "timestamp": 1, "source": {"type": "user", "userId": USER}}
    long_a, long_b = "A" * 64 + "-1", "A" * 64 + "-2"

    a = webhook_event_store(event={**base, "webhookEventId": long_a}, destination="", correlation_id=None)
    b = webhook_event_store(event={**base, "webhookEventId": long_b}, destination="", correlation_id=None)

    assert a.created and b.created
    assert not WebhookEventConflict.objects.exists()


def test_it_stores_a_new_event_in_one_round_trip(db):
    # The webhook's hot path: one statement both inserts and recognises a repeat.
    event = {"type": "follow", "webhookEventId": "01HOTPATH", "timestamp": 1, "source": {"type": "user"}}

    with CaptureQueriesContext(connection) as new:
        webhook_event_store(event=event, destination="", correlation_id=None)
    with CaptureQueriesContext(connection) as repeat:
        webhook_event_store(event=event, destination="", correlation_id=None)

    assert len(new.captured_queries) == 1
    assert len(repeat.captured_queries) == 1
    assert WebhookEvent.objects.get().deliveries == 2


@pytest.mark.django_db(transaction=True)
def test_it_stores_one_event_for_concurrent_deliveries_of_one_id():
    base = {"type": "message", "webhookEventId": "01RACE", "timestamp": 1, "source": {"type": "user", "userId": USER}}
    bodies = [{**base, "message": {"type": "text", "id": str(i % 3), "text": f"body {i % 3}"}} for i in range(8)]
    start = threading.Barrier(len(bodies))
    results, errors = [], []

    def deliver(body):
        try:
            start.wait(timeout=10)
            results.append(webhook_event_store(event=body, destination="", correlation_id=None))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(1 for r in results if r.created) == 1
    assert sum(1 for r in results if r.queued) == 1
    event = WebhookEvent.objects.get()
    same_as_stored = sum(1 for body in bodies if event_digest(body) == event.content_digest)
    assert event.deliveries == same_as_stored
    conflicts = WebhookEventConflict.objects.filter(event=event)
    assert conflicts.count() == 2  # the two other bodies, once each
    assert sum(c.deliveries for c in conflicts) == len(bodies) - same_as_stored


def test_it_shows_the_conflicts_read_only_in_the_ops_console(db, verified_client, django_user_model):
    event = {"type": "follow", "webhookEventId": "01ADMIN", "timestamp": 1, "source": {"type": "user", "userId": USER}}
    stored = webhook_event_store(event=event, destination="", correlation_id=None)
    webhook_event_store(event={**event, "timestamp": 2}, destination="", correlation_id="corr-conflict")
    conflict = WebhookEventConflict.objects.get()
    admin = verified_client(django_user_model.objects.create_superuser("root", "root@example.com", "a-long-password-1"))

    listing = admin.get("/admin/conversations/webhookeventconflict/", {"q": "01ADMIN"})
    detail = admin.get(f"/admin/conversations/webhookeventconflict/{conflict.pk}/change/")
    parent = admin.get(f"/admin/conversations/webhookevent/{stored.id}/change/")

    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    assert detail.status_code == 200 and "corr-conflict" in detail.content.decode()
    assert f"/admin/conversations/webhookeventconflict/{conflict.pk}/change/" in parent.content.decode()
    assert admin.post(f"/admin/conversations/webhookeventconflict/{conflict.pk}/change/", {}).status_code == 403
    assert (
        admin.post(f"/admin/conversations/webhookeventconflict/{conflict.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert admin.get("/admin/conversations/webhookeventconflict/add/").status_code == 403
    assert WebhookEventConflict.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_keys_earlier_rows_sharing_an_id_by_their_digest_in_the_migration():
    executor = MigrationExecutor(connection)
    executor.migrate([("conversations", "0002_message_sent_by")])
    old = executor.loader.project_state([("conversations", "0002_message_sent_by")]).apps
    OldEvent = old.get_model("conversations", "WebhookEvent")
    rows = [
        OldEvent.objects.create(webhook_event_id="01SHARED", content_digest=f"{n}" * 64, event_type="x", payload={})
        for n in range(3)
    ]
    alone = OldEvent.objects.create(webhook_event_id="01ALONE", content_digest="a" * 64, event_type="x", payload={})

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    keys = dict(WebhookEvent.objects.values_list("pk", "webhook_event_id"))
    assert keys == {rows[0].pk: "01SHARED", rows[1].pk: "1" * 64, rows[2].pk: "2" * 64, alone.pk: "01ALONE"}


STORE_THREE_TIMES = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from conversations.models import WebhookEvent, WebhookEventConflict
from conversations.services import webhook_event_store
event = {"type": "follow", "webhookEventId": "01SQLITE", "timestamp": 1, "source": {"type": "user"}}
stored = [webhook_event_store(event=e, destination="", correlation_id=None)
          for e in (event, event, {**event, "timestamp": 2})]
print(json.dumps({
    "created": [s.created for s in stored],
    "deliveries": WebhookEvent.objects.get().deliveries,
    "conflicts": WebhookEventConflict.objects.count(),
}))
"""


@pytest.mark.integration
def test_it_dedupes_the_same_way_on_the_embedded_sqlite_database(tmp_path):
    result = run_on_embedded_sqlite(STORE_THREE_TIMES, tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "created": [True, False, False],
        "deliveries": 2,
        "conflicts": 1,
    }
