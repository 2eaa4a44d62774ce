"""Lengths as LINE and as readers count them, and cuts that never split what a reader sees as one character."""

import pytest

from core.unicode import grapheme_cut, grapheme_len

THAI = "สวัสดีครับ"  # 10 code points, 7 graphemes (ส วั ส ดี ค รั บ): vowel and tone marks sit on consonants


def test_it_counts_a_thai_consonant_with_its_marks_as_one():
    assert grapheme_len(THAI) == 7
    assert len(THAI) == 10


def test_it_leaves_a_text_within_the_limit_as_it_is():
    assert grapheme_cut(THAI, 7) == THAI


def test_it_cuts_between_graphemes_and_ends_with_an_ellipsis():
    cut = grapheme_cut(THAI, 4)

    assert cut == "สวัส…"
    assert grapheme_len(cut) == 4


def test_it_keeps_an_emoji_with_its_modifier_whole():
    text = "👍🏽👍🏽👍🏽"

    assert grapheme_cut(text, 2, ellipsis="") == "👍🏽👍🏽"


@pytest.mark.parametrize(("limit", "expected"), [(0, ""), (1, "a")])
def test_it_gives_up_the_ellipsis_when_no_room_is_left(limit, expected):
    assert grapheme_cut("abc", limit) == expected
