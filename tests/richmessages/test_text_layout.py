"""Fitting text into an area: the largest size that fits, lines between words, truncation with an ellipsis."""

from dataclasses import replace

import pytest

from richmessages.linebreak import ELLIPSIS, NO_LINE_END, NO_LINE_START, thai_words
from richmessages.text_layout import fit_text

THAI = "วันนี้อากาศดีมากเหมาะสำหรับการออกไปเดินเล่นในสวนสาธารณะกับครอบครัวและเพื่อนๆของคุณอย่าลืมดื่มน้ำให้เพียงพอและพักผ่อนให้เต็มที่"
JAPANESE = "今日は「いい天気」ですね。ちょっと出かけましょう！散歩は、健康に良いです。コーヒーを飲みませんか？"
CHINESE = "你好，世界。今天天气很好，我们一起去公园散步吧！（别忘了带水。）"
LATIN = "Good morning! Today is a great day to take a walk in the park with your family and friends."


def fits(text, area, size):
    """Whether ``text`` fits ``area`` at exactly ``size``."""
    return not fit_text(text, replace(area, font_min=size, font_max=size)).truncated


def test_it_uses_font_max_when_the_text_fits_at_once(make_area):
    fitted = fit_text("Hello", make_area(width=400, height=100, font_min=10, font_max=40))

    assert (fitted.size, fitted.lines, fitted.truncated) == (40, ("Hello",), False)


@pytest.mark.parametrize("text", [THAI, JAPANESE, CHINESE, LATIN])
def test_it_takes_the_largest_size_at_which_the_text_fits(make_area, text):
    area = make_area(width=300, height=160, font_min=8, font_max=60)

    fitted = fit_text(text, area)

    assert not fitted.truncated
    assert 8 < fitted.size < 60
    assert not fits(text, area, fitted.size + 1)
    assert fits(text, area, fitted.size)


def test_it_leaves_no_larger_size_that_fits_unused(make_area):
    area = make_area(width=240, height=120, font_min=8, font_max=40)

    fitted = fit_text(LATIN, area)

    assert [size for size in range(fitted.size + 1, 41) if fits(LATIN, area, size)] == []


def test_it_wraps_latin_only_at_spaces(make_area):
    fitted = fit_text(LATIN, make_area(width=300, height=160, font_min=8, font_max=60))

    assert len(fitted.lines) > 2
    assert " ".join(fitted.lines) == LATIN


def test_it_wraps_thai_only_between_words(make_area):
    fitted = fit_text(THAI, make_area(width=260, height=200, font_min=16, font_max=40))
    boundaries = set()
    position = 0
    for word in thai_words(THAI):
        position += len(word)
        boundaries.add(position)

    assert len(fitted.lines) > 3
    assert "".join(fitted.lines) == THAI
    ends = [sum(len(line) for line in fitted.lines[: count + 1]) for count in range(len(fitted.lines))]
    assert set(ends) <= boundaries


@pytest.mark.parametrize("text", [JAPANESE, CHINESE])
@pytest.mark.parametrize("width", range(90, 330, 20))
def test_it_keeps_closing_punctuation_off_the_start_of_a_line(make_area, text, width):
    fitted = fit_text(text, make_area(width=width, height=400, font_min=20, font_max=20))

    assert "".join(fitted.lines) == text
    assert [line for line in fitted.lines if line[0] in NO_LINE_START] == []
    assert [line for line in fitted.lines if line[-1] in NO_LINE_END] == []


def test_it_hyphenates_a_latin_word_wider_than_the_box(make_area):
    fitted = fit_text("Supercalifragilisticexpialidocious", make_area(width=150, height=200, font_min=20, font_max=20))

    assert len(fitted.lines) > 1
    assert all(line.endswith("-") for line in fitted.lines[:-1])
    assert "".join(line.removesuffix("-") for line in fitted.lines) == "Supercalifragilisticexpialidocious"


def test_it_cuts_a_thai_word_wider_than_the_box_between_clusters_without_a_hyphen(make_area):
    fitted = fit_text("สวนสาธารณะ", make_area(width=60, height=200, font_min=20, font_max=20))

    assert len(fitted.lines) > 1
    assert "".join(fitted.lines) == "สวนสาธารณะ"


def test_it_keeps_explicit_line_breaks(make_area):
    fitted = fit_text("First line\nSecond", make_area(width=400, height=200, font_min=10, font_max=30))

    assert fitted.lines == ("First line", "Second")


def test_it_truncates_with_an_ellipsis_what_does_not_fit_at_font_min(make_area):
    area = make_area(width=200, height=60, font_min=16, font_max=30)

    fitted = fit_text(LATIN * 3, area)

    assert fitted.truncated
    assert fitted.size == 16
    assert fitted.lines[-1].endswith(ELLIPSIS)
    assert " ".join(fitted.lines).removesuffix(ELLIPSIS) in LATIN * 3


def test_it_truncates_thai_with_an_ellipsis(make_area):
    fitted = fit_text(THAI * 3, make_area(width=200, height=70, font_min=16, font_max=30))

    assert fitted.truncated
    assert fitted.lines[-1].endswith(ELLIPSIS)
    assert "".join(fitted.lines).removesuffix(ELLIPSIS) in THAI * 3


def test_it_draws_nothing_for_empty_text(make_area):
    fitted = fit_text("  \n ", make_area())

    assert (fitted.lines, fitted.truncated, fitted.fill) == ((), False, None)


@pytest.mark.parametrize("text", [THAI, JAPANESE, CHINESE, LATIN, THAI * 4, "ปู่ป้าน้ำใจ ฎีกา ฐูป ญี่ปุ่น"])
@pytest.mark.parametrize(("stroke", "shadow"), [(0, False), (4, False), (3, True)])
def test_it_leaves_room_for_the_outline_and_the_shadow(make_area, text, stroke, shadow):
    area = make_area(width=280, height=150, font_min=14, font_max=50, stroke_width=stroke, shadow=shadow)

    fitted = fit_text(text, area)

    assert fitted.fill.size == fitted.ink.size == (area.width, area.height)
    left, top, right, bottom = fitted.ink.getbbox()
    offset = fitted.shadow_offset
    assert right + offset <= area.width and bottom + offset <= area.height
    # The outline surrounds the glyphs: it reaches out stroke_width beyond their ink on every side.
    glyphs = fitted.fill.getbbox()
    if stroke:
        assert (glyphs[0] - left, glyphs[1] - top, right - glyphs[2], bottom - glyphs[3]) >= (stroke - 1,) * 4


def test_it_centres_the_text_in_its_area(make_area):
    area = make_area(width=400, height=200, font_min=10, font_max=30)

    left, top, right, bottom = fit_text("Centre", area).fill.getbbox()

    assert abs(left - (area.width - right)) <= 1
    assert abs(top - (area.height - bottom)) <= 1


def test_it_gives_the_same_masks_for_the_same_input(make_area):
    area = make_area(width=300, height=160, font_min=8, font_max=60, stroke_width=2)

    first, second = fit_text(THAI, area), fit_text(THAI, area)

    assert first.fill.tobytes() == second.fill.tobytes()
    assert first.stroke.tobytes() == second.stroke.tobytes()
