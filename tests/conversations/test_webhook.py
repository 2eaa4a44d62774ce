import json
import logging

import pytest

import conversations.services
from conversations.models import WebhookEvent
from tests.doubles import answer_to, delivered_texts
from tests.line_samples import sample_payload, with_own_ids

from .events import body_of, sign, text_event

pytestmark = pytest.mark.django_db


def test_it_rejects_a_forged_signature(post_events, line, llm, caplog):
    body = body_of(text_event())
    with caplog.at_level(logging.WARNING):
        response = post_events(body=body, signature=sign(body, "someone-else's-secret"))
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert llm.control.requests() == [] and line.control.requests() == []
    assert "security_line_webhook_rejected" in caplog.text


def test_it_rejects_a_missing_signature(client):
    response = client.post("/line/webhook", data=body_of(text_event()), content_type="application/json")
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_it_checks_the_signature_over_the_raw_bytes(post_events):
    body = body_of(text_event())
    # Same JSON, different bytes: the signature of the original does not cover it.
    reformatted = json.dumps(json.loads(body), indent=2).encode()
    assert post_events(body=reformatted, signature=sign(body)).status_code == 401


def test_it_refuses_a_body_over_one_mebibyte(post_events):
    event = text_event("x" * (1024 * 1024))
    response = post_events(event)
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_it_refuses_malformed_json_even_when_signed(post_events):
    assert post_events(body=b'{"events": [').status_code == 400
    assert post_events(body=b'{"events": "no"}').status_code == 400
    assert post_events(body=b"[1, 2]").status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_it_acknowledges_the_verify_call(post_events):
    response = post_events()
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 0


def test_it_only_accepts_post(client):
    assert client.get("/line/webhook").status_code == 405


def test_it_stores_an_event_with_its_raw_payload_and_answers_it(post_events, events, line):
    event = events.text("Hi there")
    assert post_events(event).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload == event
    assert stored.webhook_event_id == event["webhookEventId"]
    assert stored.status == WebhookEvent.Status.REPLIED
    [reply] = line.control.requests(endpoint="replyMessage")
    assert (reply["status"], reply["body"]["replyToken"]) == (200, event["replyToken"])
    assert reply["body"]["messages"] == [{"type": "text", "text": answer_to("Hi there")}]


def test_it_acknowledges_a_redelivered_event_without_processing_it_again(post_events, events, line, llm):
    event = events.text("Once")
    post_events(event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    for _ in range(3):
        assert post_events(redelivered).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.deliveries == 4
    assert len(llm.control.requests()) == 1
    assert len(line.control.requests(endpoint="replyMessage")) == 1
    assert line.control.requests(endpoint="pushMessage") == []
    assert delivered_texts(line) == [answer_to("Once")]


def test_it_stores_and_acknowledges_an_unknown_event_type(post_events, line):
    event = {"type": "somethingNew", "webhookEventId": "01NEW", "timestamp": 1, "source": {"type": "user"}}
    assert post_events(event).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.event_type == "somethingNew"
    assert stored.status == WebhookEvent.Status.IGNORED
    assert line.control.requests() == []


def test_it_replays_the_fixture_file(post_events, line):
    payload = sample_payload()
    payload["events"] = with_own_ids(payload["events"])
    raw = json.dumps(payload).encode()
    # LINE issued the samples' reply tokens: the double knows them too (each is good for one reply).
    registered = set()
    for event in payload["events"]:
        token, source = event.get("replyToken"), event["source"]
        if token and token not in registered:
            registered.add(token)
            chat = {key: source[key] for key in ("groupId", "roomId") if key in source}
            line.control.issue_reply_token(source.get("userId"), reply_token=token, **chat)
    assert post_events(body=raw).status_code == 200
    events = payload["events"]
    assert WebhookEvent.objects.count() == len(events)
    assert not WebhookEvent.objects.exclude(status__in=WebhookEvent.FINAL_STATUSES).exists()
    assert not WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).exists()
    # Replaying the file again is a repeat of every event: LINE hears nothing more.
    calls = len(line.control.requests())
    assert post_events(body=raw).status_code == 200
    assert len(line.control.requests()) == calls
    assert WebhookEvent.objects.count() == len(events)


class _FrozenClock:
    """A fixed instant well inside one minute: a minute boundary between two events would reset the count."""

    @staticmethod
    def time():
        return 1_900_000_020.0


def test_it_controls_floods_per_line_user(post_events, events, line, llm, runtime_setting, monkeypatch):
    monkeypatch.setattr(conversations.services, "time", _FrozenClock)
    runtime_setting("ratelimit.messages_per_minute", 3)
    flooder, other = "U" + "f" * 32, "U" + "b" * 32
    for i in range(6):
        assert post_events(events.text(f"spam {i}", user_id=flooder)).status_code == 200
    post_events(events.text("hello", user_id=other))
    assert len(llm.control.requests()) == 4  # three from the flooder, one from the other user
    notes = [text for text in delivered_texts(line, user_id=flooder) if "very quickly" in text]
    assert len(notes) == 1  # told once
    assert WebhookEvent.objects.filter(line_user_id=flooder).count() == 6
    assert WebhookEvent.objects.filter(line_user_id=flooder, status=WebhookEvent.Status.THROTTLED).count() == 2


def test_it_records_the_correlation_id_of_the_request(post_events, events):
    post_events(events.text(), HTTP_X_REQUEST_ID="req-1234")
    stored = WebhookEvent.objects.get()
    assert stored.correlation_id == "req-1234"
    assert set(stored.messages.values_list("correlation_id", flat=True)) == {"req-1234"}
