"""Rich messages against the doubles of LINE and of the LLM (the ``line`` and ``llm`` fixtures of tests.doubles),
with an approved template made the way the content team makes one."""

import io

import pytest
from PIL import Image

from core.config import services as config_services
from core.redis import get_redis
from richmessages import services
from tests.redis_keys import delete_own_keys
from tests.richmessages.conftest import upload

TITLE_AREA = {"x": 60, "y": 60, "width": 1080, "height": 220, "font_min": 28, "font_max": 64, "color": "#FFFFFF"}
BODY_AREA = {"x": 60, "y": 480, "width": 1080, "height": 240, "font_min": 20, "font_max": 40, "color": "#FFFFFF"}


def background_bytes(size=(1200, 800)) -> bytes:
    """A JPEG of a blue-to-plum gradient (white text reads on it); composed images of different copy differ."""
    ramp = Image.linear_gradient("L").resize(size)
    top, bottom = (20, 70, 140), (120, 40, 120)
    channels = [
        ramp.point([round(a + (b - a) * value / 255) for value in range(256)]) for a, b in zip(top, bottom, strict=True)
    ]
    image = Image.merge("RGB", channels)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _clean_keys():
    """Cached copy and conversation contexts of this run only, before and after each test."""
    manager = get_redis()
    for pattern in ("*richcopy:*", "conv:*"):
        delete_own_keys(pattern, manager)
    yield
    for pattern in ("*richcopy:*", "conv:*"):
        delete_own_keys(pattern, manager)


@pytest.fixture
def set_setting(administrator):
    def change(key, value):
        config_services.setting_update(key=key, value=value, actor=administrator, reason="test")

    return change


@pytest.fixture
def make_template(editor, operator):
    """An approved template (written by the editor, approved by the operator) with a gradient background."""

    def make(name="Morning", *, buttons=("more", "like", "save", "share"), approve=True, **metadata):
        fields = {
            "theme": "morning",
            "mood": "calm",
            "title_area": TITLE_AREA,
            "body_area": BODY_AREA,
            "title_max_chars": 40,
            "body_max_chars": 160,
            "buttons": list(buttons),
            **metadata,
        }
        template = services.rich_template_create(
            name=name,
            image=upload("background.jpg", data=background_bytes()),
            metadata=fields,
            author=editor,
        )
        if approve:
            services.rich_template_approve(version=template.versions.get(), approver=operator)
        return template

    return make
