"""What the double keeps stays bounded when it runs for days or under load."""

import time

from linesim.line import state as state_module
from linesim.line.state import AcceptedRetryKey, State, chat_key, chat_key_for_id

SOURCE = {"type": "user", "userId": "U" + "f" * 32}


def test_it_drops_spent_and_expired_reply_tokens_past_the_bound(monkeypatch):
    monkeypatch.setattr(state_module, "KEPT_TOKENS", 10)
    state = State()
    spent = state.issue_reply_token(SOURCE, ttl=60)
    state.spend_reply_token(spent)
    expired = state.issue_reply_token(SOURCE, ttl=-1)
    fresh = [state.issue_reply_token(SOURCE, ttl=60) for _ in range(9)]

    assert spent not in state.reply_tokens
    assert expired not in state.reply_tokens
    assert all(token in state.reply_tokens for token in fresh)


def test_it_drops_the_oldest_reply_tokens_first_when_all_are_valid(monkeypatch):
    monkeypatch.setattr(state_module, "KEPT_TOKENS", 5)
    state = State()
    tokens = [state.issue_reply_token(SOURCE, ttl=60) for _ in range(8)]

    assert list(state.reply_tokens) == tokens[-5:]


def test_it_bounds_sent_events_and_mark_as_read_tokens(monkeypatch):
    monkeypatch.setattr(state_module, "KEPT_EVENTS", 3)
    monkeypatch.setattr(state_module, "KEPT_TOKENS", 3)
    state = State()
    for number in range(5):
        state.remember_event({"webhookEventId": str(number)})
        state.issue_mark_as_read_token()

    assert list(state.sent_events) == ["2", "3", "4"]
    assert len(state.mark_as_read_tokens) == 3


def test_it_drops_expired_retry_keys_past_the_bound(monkeypatch):
    monkeypatch.setattr(state_module, "KEPT_TOKENS", 2)
    state = State()
    state.accept_retry_key("old", AcceptedRetryKey("r1", None, expires_at=time.monotonic() - 1))
    state.accept_retry_key("a", AcceptedRetryKey("r2", None, expires_at=time.monotonic() + 60))
    state.accept_retry_key("b", AcceptedRetryKey("r3", None, expires_at=time.monotonic() + 60))

    assert list(state.retry_keys) == ["a", "b"]
    assert state.accepted_retry_key("a").request_id == "r2"


def test_it_names_the_chats_of_users_groups_and_rooms():
    assert chat_key({"type": "group", "groupId": "C1", "userId": "U1"}) == "group:C1"
    assert chat_key({"type": "room", "roomId": "R1"}) == "room:R1"
    assert chat_key(SOURCE) == "user:" + SOURCE["userId"]
    assert [chat_key_for_id(target) for target in ("C1", "R1", "U1")] == ["group:C1", "room:R1", "user:U1"]
