"""The language of the bot's own sentences: chosen, else written, else the LINE app's."""

import pytest

from conversations.texts import sentence_language


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("สวัสดีครับ", "th"),
        ("こんにちは", "ja"),
        ("今日はいい天気", "ja"),
        # Han characters alone may be Chinese or Japanese, Latin letters many languages: the app's language then.
        ("天気", "en"),
        ("Selamat pagi", "en"),
        ("", "en"),
    ],
)
def test_it_takes_the_language_a_texts_script_gives_away(said, expected):
    assert sentence_language(language="en", chosen=False, said=said) == expected


def test_it_keeps_to_a_chosen_language_whatever_the_user_wrote():
    assert sentence_language(language="ja", chosen=True, said="สวัสดีครับ") == "ja"
