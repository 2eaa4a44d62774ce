import pytest

from richmessages.layout import TextArea


@pytest.fixture
def make_area():
    """A valid TextArea at the top left of its image; keyword arguments change any field."""

    def make(**changes):
        fields = {
            "x": 0,
            "y": 0,
            "width": 300,
            "height": 120,
            "font_min": 12,
            "font_max": 40,
            "color": "#FFFFFF",
            "line_height": 1.3,
        }
        return TextArea(**{**fields, **changes})

    return make
