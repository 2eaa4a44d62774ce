import json
import logging

import pytest

from conversations.models import WebhookEvent
from tests.line_samples import sample_payload, with_own_ids

from .fakes import body_of, sign, text_event

pytestmark = pytest.mark.django_db


def test_it_rejects_a_forged_signature(post_events, fake_line, fake_llm, caplog):
    body = body_of(text_event())
    with caplog.at_level(logging.WARNING):
        response = post_events(body=body, signature=sign(body, "someone-else's-secret"))
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert fake_llm.calls == [] and fake_line.replies == []
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


def test_it_stores_an_event_with_its_raw_payload_and_answers_it(post_events, fake_line, fake_llm):
    event = text_event("Hi there")
    assert post_events(event).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload == event
    assert stored.webhook_event_id == event["webhookEventId"]
    assert stored.status == WebhookEvent.Status.REPLIED
    assert fake_line.replies == [(event["replyToken"], [{"type": "text", "text": "Answer to: Hi there"}])]


def test_a_redelivered_event_is_acknowledged_and_not_processed_again(post_events, fake_line, fake_llm):
    event = text_event("Once")
    post_events(event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    for _ in range(3):
        assert post_events(redelivered).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.deliveries == 4
    assert len(fake_llm.calls) == 1
    assert len(fake_line.replies) == 1 and fake_line.pushes == []


def test_unknown_event_types_are_stored_and_acknowledged(post_events, fake_line):
    event = {"type": "somethingNew", "webhookEventId": "01NEW", "timestamp": 1, "source": {"type": "user"}}
    assert post_events(event).status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.event_type == "somethingNew"
    assert stored.status == WebhookEvent.Status.IGNORED
    assert fake_line.replies == []


def test_it_replays_the_fixture_file(post_events, fake_line, fake_llm):
    payload = sample_payload()
    payload["events"] = with_own_ids(payload["events"])
    raw = json.dumps(payload).encode()
    assert post_events(body=raw).status_code == 200
    events = payload["events"]
    assert WebhookEvent.objects.count() == len(events)
    assert not WebhookEvent.objects.exclude(status__in=WebhookEvent.FINAL_STATUSES).exists()
    assert not WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).exists()
    # Replaying the file again is a repeat of every event: nothing new is sent.
    sent = len(fake_line.replies) + len(fake_line.pushes)
    assert post_events(body=raw).status_code == 200
    assert len(fake_line.replies) + len(fake_line.pushes) == sent
    assert WebhookEvent.objects.count() == len(events)


def test_flood_control_is_per_line_user(post_events, fake_line, fake_llm, settings):
    settings.CONVERSATION_MESSAGES_PER_MINUTE = 3
    flooder, other = "U" + "f" * 32, "U" + "b" * 32
    for i in range(6):
        assert post_events(text_event(f"spam {i}", user_id=flooder)).status_code == 200
    post_events(text_event("hello", user_id=other))
    assert len(fake_llm.calls) == 4  # three from the flooder, one from the other user
    notes = [m for _, ms in fake_line.replies for m in ms if "very quickly" in m["text"]]
    assert len(notes) == 1  # told once
    assert WebhookEvent.objects.filter(line_user_id=flooder).count() == 6
    assert WebhookEvent.objects.filter(line_user_id=flooder, status=WebhookEvent.Status.THROTTLED).count() == 2


def test_it_records_the_correlation_id_of_the_request(post_events, fake_line, fake_llm):
    post_events(text_event(), HTTP_X_REQUEST_ID="req-1234")
    stored = WebhookEvent.objects.get()
    assert stored.correlation_id == "req-1234"
    assert set(stored.messages.values_list("correlation_id", flat=True)) == {"req-1234"}
