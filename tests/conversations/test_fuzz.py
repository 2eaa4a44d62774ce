"""Malformed and forged bodies never cause a 5xx, and nothing unsigned is processed."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.models import WebhookEvent

from .events import sign, text_event

pytestmark = pytest.mark.django_db

# Only standard JSON: Python's json.dumps would write Infinity, which JSON does not have.
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite_floats | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "follow", "postback", "x"]) | st.text(max_size=5)},
    optional={
        "webhookEventId": st.text(max_size=80) | st.integers(),
        "source": json_values
        | st.fixed_dictionaries({"type": st.sampled_from(["user", "group"]), "userId": st.text(max_size=70)}),
        "replyToken": st.text(max_size=300) | st.integers(),
        "timestamp": st.integers() | st.text(max_size=5) | finite_floats,
        "message": json_values | st.fixed_dictionaries({"type": st.text(max_size=10), "text": st.text(max_size=30)}),
        "deliveryContext": json_values,
    },
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(event_like, max_size=3).map(lambda events: json.dumps({"destination": "U1", "events": events}).encode())
)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=bodies, signature=st.none() | st.text(max_size=60))
def test_it_refuses_forged_bodies_and_processes_nothing(client, line, llm, body, signature):
    headers = {} if signature is None else {"HTTP_X_LINE_SIGNATURE": signature}
    response = client.post("/line/webhook", data=body, content_type="application/json", **headers)
    assert response.status_code in (400, 401)
    assert not WebhookEvent.objects.exists()
    assert llm.control.requests() == [] and line.control.requests() == []


@FUZZ
@given(body=bodies)
def test_it_never_answers_signed_garbage_with_a_server_error(post_events, body):
    response = post_events(body=body)
    assert response.status_code < 500


@FUZZ
@given(event=event_like)
def test_it_stores_signed_odd_events_and_never_fails_the_webhook(post_events, event):
    response = post_events(event)
    assert response.status_code == 200


def test_it_refuses_a_tampered_body_with_a_once_valid_signature(post_events):
    body = json.dumps({"destination": "U1", "events": [text_event("pay 1")]}).encode()
    assert post_events(body=body.replace(b"pay 1", b"pay 9"), signature=sign(body)).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_it_accepts_integers_beyond_64_bits_as_valid_json(post_events):
    event = {**text_event("big"), "webhookEventId": -9_223_372_036_854_775_809, "timestamp": 2**70}

    assert post_events(event).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_it_refuses_non_standard_json_constants(post_events):
    body = b'{"destination": "U1", "events": [{"type": "message", "timestamp": Infinity}]}'

    response = post_events(body=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert not WebhookEvent.objects.exists()
