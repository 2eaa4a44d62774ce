"""/stop and /start (and the opt-out button) keep campaign messages from a user; a follow records its time."""

from datetime import UTC, datetime

import pytest

from conversations.models import LineUser
from conversations.texts import _TEXTS

from .fakes import event_of, text_event

pytestmark = pytest.mark.django_db
USER = "U" + "a" * 32


def test_stop_opts_the_user_out_and_says_so(post_events, fake_line, fake_llm):
    post_events(text_event("/stop"))

    assert LineUser.objects.get().opted_out_at is not None
    assert fake_line.sent_texts[-1].startswith("OK, you won't receive news and offers")
    assert fake_llm.calls == []


def test_start_opts_the_user_back_in(post_events, fake_line, fake_llm):
    post_events(text_event("/stop"))
    post_events(text_event("/start"))

    assert LineUser.objects.get().opted_out_at is None
    assert fake_line.sent_texts[-1].startswith("Welcome back!")


def test_a_second_stop_keeps_the_first_opt_out_time(post_events, fake_line, fake_llm):
    post_events(text_event("/stop"))
    first = LineUser.objects.get().opted_out_at
    post_events(text_event("/stop"))

    assert LineUser.objects.get().opted_out_at == first


def test_the_opt_out_button_opts_the_user_out(post_events, fake_line, fake_llm):
    post_events(event_of("postback", postback={"data": "action=optout"}))

    assert LineUser.objects.get().opted_out_at is not None
    post_events(event_of("postback", postback={"data": "action=optin"}))
    assert LineUser.objects.get().opted_out_at is None


def test_the_opt_out_reply_is_in_the_users_language(post_events, fake_line, fake_llm):
    post_events(text_event("/lang th"))
    post_events(text_event("/stop"))

    assert fake_line.sent_texts[-1] == _TEXTS["opted_out"]["th"]


@pytest.mark.parametrize("key", ["opted_out", "opted_in"])
def test_the_opt_out_sentences_exist_in_thai_japanese_english_and_chinese(key):
    assert set(_TEXTS[key]) == {"en", "ja", "th", "zh"}
    assert all("/start" in text or "/stop" in text for text in _TEXTS[key].values())


def test_a_follow_records_when_the_user_followed(post_events, fake_line, fake_llm):
    post_events(event_of("follow", timestamp=1_700_000_000_000))

    user = LineUser.objects.get(line_user_id=USER)
    assert user.followed_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert user.status == LineUser.Status.ACTIVE
