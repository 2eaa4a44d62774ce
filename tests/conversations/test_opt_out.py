"""/stop and /start (and the opt-out button) keep campaign messages from a user; a follow records its time."""

from datetime import UTC, datetime

import pytest

from conversations.models import LineUser
from conversations.texts import _TEXTS
from tests.doubles import delivered_texts

pytestmark = pytest.mark.django_db
USER = "U" + "a" * 32


def test_it_opts_the_user_out_on_stop_and_says_so(post_events, events, line, llm):
    post_events(events.text("/stop", user_id=USER))

    assert LineUser.objects.get().opted_out_at is not None
    assert delivered_texts(line, user_id=USER)[-1].startswith("OK, you won't receive news and offers")
    assert llm.control.requests() == []


def test_it_opts_the_user_back_in_on_start(post_events, events, line, llm):
    post_events(events.text("/stop", user_id=USER))
    post_events(events.text("/start", user_id=USER))

    assert LineUser.objects.get().opted_out_at is None
    assert delivered_texts(line, user_id=USER)[-1].startswith("Welcome back!")


def test_it_keeps_the_first_opt_out_time_on_a_second_stop(post_events, events, line, llm):
    post_events(events.text("/stop", user_id=USER))
    first = LineUser.objects.get().opted_out_at
    post_events(events.text("/stop", user_id=USER))

    assert LineUser.objects.get().opted_out_at == first


def test_it_opts_the_user_out_and_in_with_the_buttons(post_events, events, line, llm):
    post_events(events.of("postback", user_id=USER, postback={"data": "action=optout"}))

    assert LineUser.objects.get().opted_out_at is not None
    post_events(events.of("postback", user_id=USER, postback={"data": "action=optin"}))
    assert LineUser.objects.get().opted_out_at is None


def test_it_answers_an_opt_out_in_the_users_language(post_events, events, line, llm):
    post_events(events.text("/lang th", user_id=USER))
    post_events(events.text("/stop", user_id=USER))

    assert delivered_texts(line, user_id=USER)[-1] == _TEXTS["opted_out"]["th"]


@pytest.mark.parametrize("key", ["opted_out", "opted_in"])
def test_it_has_the_opt_out_sentences_in_thai_japanese_english_and_chinese(key):
    assert set(_TEXTS[key]) == {"en", "ja", "th", "zh"}
    assert all("/start" in text or "/stop" in text for text in _TEXTS[key].values())


def test_it_records_when_the_user_followed(post_events, events, line, llm):
    post_events(events.of("follow", user_id=USER, timestamp=1_700_000_000_000))

    user = LineUser.objects.get(line_user_id=USER)
    assert user.followed_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert user.status == LineUser.Status.ACTIVE
