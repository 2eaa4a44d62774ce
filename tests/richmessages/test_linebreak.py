"""Break opportunities: between Thai words, between CJK characters under kinsoku, at Latin spaces."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from pythainlp.tokenize import word_tokenize

from richmessages.linebreak import NO_LINE_END, NO_LINE_START, chunks, clusters, normalize, thai_words

THAI_SENTENCE = "วันนี้อากาศดีมากเหมาะสำหรับการออกไปเดินเล่นในสวนสาธารณะกับครอบครัวและเพื่อนๆของคุณ"


def texts(text):
    return [chunk.text for chunk in chunks(text)]


def test_it_cuts_thai_into_the_words_of_the_segmenter():
    words = texts(THAI_SENTENCE)

    assert "".join(words) == THAI_SENTENCE
    assert words[:4] == ["วันนี้", "อากาศ", "ดีมาก", "เหมาะสำหรับ"]
    # The repetition mark ๆ never starts a line: it stays with its word.
    assert "เพื่อนๆ" in words


OFFLINE_SEGMENTATION = """
import socket

def refuse(*args, **kwargs):
    raise OSError("the network was used")

socket.socket.connect = socket.socket.connect_ex = refuse
from richmessages.linebreak import thai_words
print(thai_words("สวัสดีครับ"))
"""


def test_it_segments_with_the_bundled_dictionary_without_writing_or_downloading(tmp_path):
    # A fresh process, as a worker starts, with no network and a home directory of its own to watch.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHAINLP")}
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SEGMENTATION],
        cwd=settings.BASE_DIR,
        env={**env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['สวัสดี', 'ครับ']"
    assert list(home.iterdir()) == []  # no data directory created in $HOME


def test_it_segments_thai_text():
    assert thai_words("สวัสดีครับ") == ["สวัสดี", "ครับ"]


def test_it_breaks_latin_at_spaces_and_after_hyphens_of_words():
    pieces = chunks("A well-known COVID-19 test, (really) fine.")

    assert [chunk.text for chunk in pieces] == ["A", "well-", "known", "COVID-19", "test,", "(really)", "fine."]
    assert [chunk.space_before for chunk in pieces] == [False, True, False, True, True, True, True]


def test_it_breaks_cjk_between_characters():
    assert texts("我们一起去公园") == ["我", "们", "一", "起", "去", "公", "园"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今日は「いい天気」ですね。", ["今", "日", "は", "「い", "い", "天", "気」", "で", "す", "ね。"]),
        ("ちょっと待って！", ["ちょっ", "と", "待っ", "て！"]),
        ("コーヒー、ください", ["コー", "ヒー、", "く", "だ", "さ", "い"]),
        ("你好，世界。", ["你", "好，", "世", "界。"]),
        ("（注意）", ["（注", "意）"]),
    ],
)
def test_it_applies_the_kinsoku_rules(text, expected):
    pieces = texts(text)

    assert pieces == expected
    assert not [piece for piece in pieces if piece[0] in NO_LINE_START]
    assert not [piece for piece in pieces if piece[-1] in NO_LINE_END]


def test_it_allows_a_break_between_scripts():
    pieces = chunks("สวัสดีHello你好")

    assert [chunk.text for chunk in pieces] == ["สวัสดี", "Hello", "你", "好"]


def test_it_keeps_punctuation_after_a_thai_word_on_its_line():
    assert texts("สวัสดี! ขอบคุณ.") == ["สวัสดี!", "ขอบคุณ."]


def test_it_keeps_line_breaks_and_at_most_one_blank_line():
    pieces = chunks("one\ntwo\n\n\n\nthree")

    assert [(chunk.text, chunk.newline_before) for chunk in pieces] == [
        ("one", False),
        ("two", True),
        ("", True),
        ("three", True),
    ]


def test_it_normalizes_spaces_and_drops_invisible_characters():
    assert normalize("  a\t\tb \r\n c\u200d\u00ad d  ") == "a b\nc d"


def test_it_never_breaks_at_a_no_break_space_but_does_at_a_zero_width_space():
    assert texts("100\u00a0km a\u200bb") == ["100\u00a0km", "a", "b"]


def test_it_keeps_thai_marks_and_leading_vowels_with_their_consonant():
    assert clusters("เพื่อน") == ["เพื่", "อ", "น"]
    assert clusters("ใจดี") == ["ใจ", "ดี"]


def test_it_breaks_thai_only_at_word_boundaries_of_the_segmenter():
    boundaries = set()
    position = 0
    for word in word_tokenize(THAI_SENTENCE, engine="newmm"):
        position += len(word)
        boundaries.add(position)

    position = 0
    for piece in texts(THAI_SENTENCE):
        position += len(piece)
        assert position in boundaries
