"""Text areas of rich templates: every rule, each with bad input, reported under the field's name."""

import pytest

from core.errors import ValidationError
from richmessages.layout import TextArea

IMAGE = (2500, 1686)
GOOD = {
    "x": 250,
    "y": 200,
    "width": 550,
    "height": 180,
    "font_min": 42,
    "font_max": 64,
    "color": "#FFFFFF",
    "line_height": 1.3,
}


def area(**changes):
    data = {**GOOD, **changes}
    return {key: value for key, value in data.items() if value is not ...}


def test_it_reads_a_valid_area():
    parsed = TextArea.from_dict(
        area(overlay_color="#6a5acd", overlay_opacity=0.7, stroke_width=2, stroke_color="#000000", shadow=True),
        field="title_area",
        image_size=IMAGE,
    )

    assert parsed.box == (250, 200, 800, 380)
    assert (parsed.font_min, parsed.font_max, parsed.line_height) == (42, 64, 1.3)
    assert parsed.overlay_color == "#6A5ACD"
    assert (parsed.overlay_opacity, parsed.stroke_width, parsed.shadow) == (0.7, 2, True)


def test_it_gives_the_optional_keys_their_defaults():
    parsed = TextArea.from_dict(area(), field="title_area", image_size=IMAGE)

    assert parsed.overlay_color is None
    assert parsed.stroke_width == 0
    assert parsed.shadow is False


@pytest.mark.parametrize(
    "data",
    [
        area(),
        area(overlay_color="#102030", overlay_opacity=0.25),
        area(stroke_width=3, stroke_color="#ABCDEF", shadow=True),
    ],
)
def test_it_reads_back_what_it_writes(data):
    parsed = TextArea.from_dict(data, field="body_area", image_size=IMAGE)

    assert TextArea.from_dict(parsed.to_dict(), field="body_area", image_size=IMAGE) == parsed


def test_it_takes_whole_numbers_written_as_floats():
    parsed = TextArea.from_dict(area(x=250.0, width=550.0), field="title_area", image_size=IMAGE)

    assert (parsed.x, parsed.width) == (250, 550)
    assert isinstance(parsed.x, int)


def test_it_accepts_a_box_that_reaches_the_edges_of_the_image():
    parsed = TextArea.from_dict(area(x=0, y=0, width=2500, height=1686), field="title_area", image_size=IMAGE)

    assert parsed.box == (0, 0, 2500, 1686)


BAD = [
    # (changes, field named, words in the message)
    ({"x": ...}, "x", "required"),
    ({"color": ...}, "color", "required"),
    ({"colour": "#FFFFFF"}, "colour", "not a known key"),
    ({"x": "250"}, "x", "whole number"),
    ({"y": -1}, "y", "at least 0"),
    ({"width": 0}, "width", "at least 1"),
    ({"height": -20}, "height", "at least 1"),
    ({"width": 12.5}, "width", "whole number"),
    ({"width": True}, "width", "whole number"),
    ({"width": None}, "width", "whole number"),
    ({"font_min": 4}, "font_min", "between 8 and 400"),
    ({"font_max": 401}, "font_max", "between 8 and 400"),
    ({"font_min": 70, "font_max": 64}, "font_min", "must not be larger than font_max"),
    ({"font_min": 60, "font_max": 64, "height": 50}, "font_min", "must not be larger than the height"),
    ({"color": "#FFF"}, "color", "#RRGGBB"),
    ({"color": "white"}, "color", "#RRGGBB"),
    ({"color": "#GGGGGG"}, "color", "#RRGGBB"),
    ({"color": 16777215}, "color", "#RRGGBB"),
    ({"overlay_color": "rgba(0,0,0,0.5)"}, "overlay_color", "#RRGGBB"),
    ({"stroke_color": "#12345"}, "stroke_color", "#RRGGBB"),
    ({"overlay_opacity": 1.5}, "overlay_opacity", "between 0 and 1"),
    ({"overlay_opacity": -0.1}, "overlay_opacity", "between 0 and 1"),
    ({"overlay_opacity": "0.5"}, "overlay_opacity", "a number"),
    ({"line_height": 0.9}, "line_height", "between 1 and 3"),
    ({"line_height": 3.5}, "line_height", "between 1 and 3"),
    ({"line_height": float("nan")}, "line_height", "a number"),
    ({"line_height": False}, "line_height", "a number"),
    ({"stroke_width": -1}, "stroke_width", "between 0 and 20"),
    ({"stroke_width": 21}, "stroke_width", "between 0 and 20"),
    ({"shadow": "yes"}, "shadow", "true or false"),
    ({"shadow": 1}, "shadow", "true or false"),
    ({"x": 2000, "width": 550}, "width", "right edge (2000 + 550 = 2550) lies outside the 2500x1686"),
    ({"y": 1600, "height": 180}, "height", "bottom edge (1600 + 180 = 1780) lies outside"),
    ({"x": 2500, "width": 1}, "width", "outside"),
]


@pytest.mark.parametrize(
    ("changes", "key", "words"), BAD, ids=[f"{key}-{index}" for index, (_, key, _) in enumerate(BAD)]
)
def test_it_rejects_each_bad_value_naming_its_field(changes, key, words):
    with pytest.raises(ValidationError) as raised:
        TextArea.from_dict(area(**changes), field="title_area", image_size=IMAGE)

    field = f"title_area.{key}"
    assert list(raised.value.details) == [field]
    assert field in raised.value.message
    assert words in raised.value.details[field][0]


def test_it_rejects_something_that_is_not_an_object():
    with pytest.raises(ValidationError) as raised:
        TextArea.from_dict(["x", 1], field="body_area", image_size=IMAGE)

    assert list(raised.value.details) == ["body_area"]


def test_it_reports_every_problem_at_once():
    with pytest.raises(ValidationError) as raised:
        TextArea.from_dict(area(width=0, color="red", shadow="no"), field="body_area", image_size=IMAGE)

    assert set(raised.value.details) == {"body_area.width", "body_area.color", "body_area.shadow"}


def test_it_scales_the_box_sizes_and_outline_with_the_image():
    parsed = TextArea.from_dict(area(stroke_width=3), field="title_area", image_size=IMAGE)

    scaled = parsed.scaled(1024 / 2500, image_size=(1024, 691))

    assert scaled.box == (102, 82, 328, 156)
    assert (scaled.font_min, scaled.font_max, scaled.stroke_width) == (17, 26, 1)
    assert scaled.color == parsed.color and scaled.line_height == parsed.line_height


def test_it_keeps_a_scaled_box_inside_the_scaled_image():
    parsed = TextArea.from_dict(area(x=0, y=0, width=2500, height=1686), field="title_area", image_size=IMAGE)

    scaled = parsed.scaled(1024 / 2500, image_size=(1024, 691))

    assert scaled.box == (0, 0, 1024, 691)
