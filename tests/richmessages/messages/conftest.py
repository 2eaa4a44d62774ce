"""Rich messages against the doubles: LINE (line-bot-sdk over HTTP) and the LLM (openai over HTTP)."""

import io

import pytest
from PIL import Image

from core.config import services as config_services
from core.line.client import reset_line_client
from core.llm.client import reset_llm_client
from core.redis import get_redis
from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double
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


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def line_settings(line, settings):
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    settings.LINE_API_RETRY_WAIT = 0.0
    settings.LINE_API_ATTEMPTS = 2
    line.control.reset()
    reset_line_client()
    yield line
    reset_line_client()


@pytest.fixture(scope="module")
def llm_double():
    with running_llm_double(latency_ms=0) as handle:
        yield handle


@pytest.fixture
def llm(llm_double, settings):
    """core.llm pointed at the double's Azure path, short timeouts, no SDK retries; the double reset."""
    settings.LLM_PROVIDER = "azure"
    settings.AZURE_OPENAI_ENDPOINT = llm_double.azure_endpoint
    settings.AZURE_OPENAI_API_KEY = llm_double.api_key
    settings.AZURE_OPENAI_DEPLOYMENT = "copy-deployment"
    settings.AZURE_OPENAI_API_VERSION = "2024-10-21"
    settings.LLM_CONNECT_TIMEOUT = 1.0
    settings.LLM_READ_TIMEOUT = 3.0
    settings.LLM_TOTAL_TIMEOUT = 5.0
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_BREAKER_FAIL_MAX = 50
    llm_double.control.reset()
    reset_llm_client()
    yield llm_double
    llm_double.control.reset()
    reset_llm_client()


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
