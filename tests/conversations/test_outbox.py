"""CONVERSATION_DISPATCH = "outbox": the ack only inserts, the relay publishes each stored event once."""

from __future__ import annotations

import json
import uuid

import pytest
from celery import signals
from celery.utils.collections import ConfigurationView
from celery.utils.saferepr import saferepr
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.utils import timezone

from conversations.models import WebhookEvent, WebhookEventOutbox
from conversations.packing import Packing
from conversations.relay import webhook_events_relay
from conversations.tasks import process_webhook_event
from conversations.webhook import line_webhook
from tests.doubles import answer_to, delivered_texts
from tests.embedded import run_on_embedded_sqlite

from .events import USER, body_of, sign, text_event

pytestmark = pytest.mark.django_db

TASK = "conversations.tasks.process_webhook_event"


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.CONVERSATION_DISPATCH = "outbox"


def post(*events):
    body = body_of(*events)
    request = RequestFactory().post(
        "/line/webhook", data=body, content_type="application/json", headers={"X-Line-Signature": sign(body)}
    )
    return line_webhook(request)


def test_it_acknowledges_without_publishing(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(text_event("one")).status_code == 200

    assert published == []
    assert list(WebhookEventOutbox.objects.values_list("event_id", flat=True)) == [WebhookEvent.objects.get().pk]


def test_it_stores_the_event_and_its_outbox_entry_in_one_statement(
    published, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1):
        post(text_event("one"))

    assert WebhookEventOutbox.objects.get().event_id == WebhookEvent.objects.get().pk


def test_it_puts_a_redelivered_event_in_the_outbox_once(published, django_capture_on_commit_callbacks):
    event = text_event("one", event_id="01REDELIVERED")
    with django_capture_on_commit_callbacks(execute=True):
        post(event)
        post({**event, "deliveryContext": {"isRedelivery": True}})

    assert WebhookEvent.objects.get().deliveries == 2
    assert webhook_events_relay() == 1
    assert published == [TASK]


def test_it_publishes_each_stored_event_once(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    assert webhook_events_relay() == 2
    assert webhook_events_relay() == 0
    assert published == [TASK, TASK]
    assert not WebhookEventOutbox.objects.exists()


def test_it_names_every_setting_celery_reads_on_a_publish(
    published, django_capture_on_commit_callbacks, monkeypatch, settings
):
    # One Celery leaves to its defaults is searched for, miss after miss, on each publish.
    read: set[str] = set()
    lookup = ConfigurationView.__getitem__

    def spy(view, key):
        read.add(key)
        return lookup(view, key)

    for text in ("first", "second"):
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event(text))
        if text == "second":  # the first publish also sets the producer pool up, once
            monkeypatch.setattr(ConfigurationView, "__getitem__", spy)
        assert webhook_events_relay() == 1
    monkeypatch.undo()

    assert read
    assert sorted(key for key in read if not hasattr(settings, f"CELERY_{key.upper()}")) == []


@pytest.mark.parametrize(("configured", "queue"), [("answers", "answers"), ("", "celery")])
def test_it_publishes_to_the_configured_queue_else_to_the_default_and_declares_it(
    configured, queue, published, django_capture_on_commit_callbacks, settings
):
    settings.CONVERSATION_TASK_QUEUE = configured
    seen: list[tuple] = []

    def record(routing_key=None, declare=None, **kwargs):
        seen.append((routing_key, [entity.name for entity in declare]))

    signals.before_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event("one"), text_event("two"))
        assert webhook_events_relay() == 2
    finally:
        signals.before_task_publish.disconnect(record)

    assert seen == [(queue, [queue])] * 2


def test_it_describes_each_task_as_celery_would_for_monitoring(published, django_capture_on_commit_callbacks):
    seen: list[dict] = []

    def record(headers=None, **kwargs):
        seen.append(headers)

    signals.before_task_publish.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(text_event("one"))
        assert webhook_events_relay() == 1
    finally:
        signals.before_task_publish.disconnect(record)

    event = WebhookEvent.objects.get()
    assert [(h["argsrepr"], h["kwargsrepr"]) for h in seen] == [(saferepr([event.pk]), saferepr({}))]


def test_it_publishes_in_batches_of_the_given_size(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(*(text_event(f"message {i}") for i in range(5)))

    assert [webhook_events_relay(limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert len(published) == 5


def test_it_leaves_events_that_are_no_longer_waiting(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"))
    WebhookEvent.objects.update(status=WebhookEvent.Status.THROTTLED)

    assert webhook_events_relay() == 0
    assert published == []


def test_it_drops_an_entry_whose_event_is_gone(published):
    # No database constraint ties an entry to its event (it would lock the event on every ack).
    WebhookEventOutbox.objects.create(event_id=123456)

    assert webhook_events_relay() == 0
    assert published == []
    assert not WebhookEventOutbox.objects.exists()


def test_it_deletes_the_entry_of_an_erased_event(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"))

    WebhookEvent.objects.all().delete()

    assert not WebhookEventOutbox.objects.exists()


def test_it_marks_a_batch_and_returns_it_in_one_statement(
    published, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    with django_assert_num_queries(1):
        assert webhook_events_relay() == 2
    with django_assert_num_queries(1):
        assert webhook_events_relay() == 0


def test_it_looks_each_claimed_event_up_by_its_key():
    # Joined through the unfinished events instead, a claim would read the whole backlog each round.
    from conversations.relay import _claim_statement

    backlog = WebhookEvent.objects.bulk_create(
        WebhookEvent(webhook_event_id=f"01BACKLOG{i}", content_digest=f"{i}", event_type="message", payload={})
        for i in range(2000)
    )
    WebhookEventOutbox.objects.bulk_create(WebhookEventOutbox(event_id=event.pk) for event in backlog)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(f"EXPLAIN {_claim_statement()}", [500, WebhookEvent.Status.RECEIVED])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f"Index Scan using {WebhookEvent._meta.db_table}_pkey" in plan
    assert "webhook_event_unfinished" not in plan


def test_it_unmarks_a_batch_whose_publish_failed_for_the_next_round(
    published, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("one"), text_event("two"))

    def broker_away(*, event_ids, packing=None):
        raise ConnectionRefusedError("the broker is away")

    with monkeypatch.context() as patched:
        patched.setattr("conversations.relay.webhook_events_enqueue", broker_away)
        with pytest.raises(ConnectionRefusedError):
            webhook_events_relay()
    assert WebhookEventOutbox.objects.count() == 2

    assert webhook_events_relay() == 2
    assert published == [TASK, TASK]


def test_it_answers_an_event_the_relay_published(line, llm, django_capture_on_commit_callbacks):
    # Tasks run eagerly here: the relay's publish is the worker's run.
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("Hello outbox"))
    assert delivered_texts(line, user_id=USER) == []

    call_command("conversations_relay", "--once")

    assert delivered_texts(line, user_id=USER) == [answer_to("Hello outbox")]
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.REPLIED


RELAY_ON_SQLITE = """
import json
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
settings.CONVERSATION_DISPATCH = "outbox"
from conversations import relay
from conversations.models import WebhookEvent, WebhookEventOutbox
from conversations.services import webhook_events_store
events = [{"type": "follow", "webhookEventId": f"01SQLITE{i}", "timestamp": 1, "source": {"type": "user"}}
          for i in range(3)]
webhook_events_store(payload={"events": events + events[:1]}, correlation_id=None)
stored = WebhookEventOutbox.objects.count()
WebhookEvent.objects.filter(webhook_event_id="01SQLITE2").update(status="ignored")
published = []
def broker_away(*, event_ids, packing=None):
    raise ConnectionRefusedError("the broker is away")
relay.webhook_events_enqueue = broker_away
try:
    relay.webhook_events_relay()
except ConnectionRefusedError:
    pass
kept = WebhookEventOutbox.objects.count()
relay.webhook_events_enqueue = lambda *, event_ids, packing=None: published.extend(event_ids)
rounds = [relay.webhook_events_relay(limit=2) for _ in range(3)]
ids = dict(WebhookEvent.objects.values_list("pk", "webhook_event_id"))
print(json.dumps({"stored": stored, "kept": kept, "rounds": rounds, "published": [ids[pk] for pk in published]}))
"""


@pytest.mark.integration
def test_it_relays_the_same_way_on_the_embedded_sqlite_database(tmp_path):
    result = run_on_embedded_sqlite(RELAY_ON_SQLITE, tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "stored": 3,
        "kept": 3,
        "rounds": [2, 0, 0],
        "published": ["01SQLITE0", "01SQLITE1"],
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("dispatch", "moved"), [("outbox", ["01WAITING"]), ("publish", [])])
def test_it_moves_only_events_the_relay_had_still_to_publish_in_the_migration(dispatch, moved, settings):
    settings.CONVERSATION_DISPATCH = dispatch
    before = [("conversations", "0010_language_chosen_from_lang_commands")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    OldEvent = executor.loader.project_state(before).apps.get_model("conversations", "WebhookEvent")
    now = timezone.now()
    for key, status, queued_at in [
        ("01WAITING", "received", None),
        ("01PUBLISHED", "received", now),
        ("01ANSWERED", "replied", now),
    ]:
        OldEvent.objects.create(
            webhook_event_id=key, content_digest=key, event_type="x", payload={}, status=status, queued_at=queued_at
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    waiting = WebhookEvent.objects.filter(pk__in=WebhookEventOutbox.objects.values("event_id"))
    assert list(waiting.values_list("webhook_event_id", flat=True)) == moved


PACK = "conversations.tasks.process_webhook_events"


def test_it_packs_events_while_messages_wait_in_the_queue(published, django_capture_on_commit_callbacks, settings):
    settings.CONVERSATION_TASK_QUEUE = f"packing-{uuid.uuid4().hex[:8]}"  # empty to begin with
    packing = Packing(largest=8, recheck=0)
    with django_capture_on_commit_callbacks(execute=True):
        post(*(text_event(f"first {i}") for i in range(4)))
    assert webhook_events_relay(packing=packing) == 4
    seen: list[dict] = []

    def record(headers=None, **kwargs):
        seen.append(headers)

    with django_capture_on_commit_callbacks(execute=True):
        post(*(text_event(f"second {i}") for i in range(2)))
    signals.before_task_publish.connect(record, weak=False)
    try:
        assert webhook_events_relay(packing=packing) == 2  # four messages wait: two whole rounds of two
    finally:
        signals.before_task_publish.disconnect(record)

    assert published == [TASK] * 4 + [PACK]
    pack = sorted(WebhookEvent.objects.filter(payload__message__text__startswith="second").values_list("pk", flat=True))
    [headers] = seen
    assert headers["argsrepr"] == saferepr([pack])
    # Each event keeps its own time limits.
    assert list(headers["timelimit"]) == [2 * settings.CELERY_TASK_TIME_LIMIT, 2 * settings.CELERY_TASK_SOFT_TIME_LIMIT]


def test_it_publishes_one_event_per_message_without_packing(published, django_capture_on_commit_callbacks, settings):
    settings.CONVERSATION_TASK_QUEUE = f"packing-{uuid.uuid4().hex[:8]}"
    packing = Packing(largest=1, recheck=0)
    for round_ in ("first", "second"):
        with django_capture_on_commit_callbacks(execute=True):
            post(*(text_event(f"{round_} {i}") for i in range(3)))
        assert webhook_events_relay(packing=packing) == 3

    assert published == [TASK] * 6


def test_it_answers_a_relayed_event_under_its_webhooks_id(line, llm, django_capture_on_commit_callbacks, handled_under):
    with django_capture_on_commit_callbacks(execute=True):
        post(text_event("Which id?"))
    WebhookEvent.objects.update(correlation_id="the-webhooks-id")

    seen, _ = handled_under(lambda: process_webhook_event.apply(args=[WebhookEvent.objects.get().pk]))

    assert seen == ["the-webhooks-id"]
