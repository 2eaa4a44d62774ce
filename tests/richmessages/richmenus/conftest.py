import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from conversations.models import LineUser
from linesim.line.testing import running_line_double
from richmessages.richmenu_images import richmenu_image_check
from richmessages.richmenu_models import RichMenu
from richmessages.richmenu_services import richmenu_save


def image_bytes(width=2500, height=843, *, fmt="PNG", color=(20, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


def upload(data: bytes, name="menu.png", content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


HELP_AREA = {
    "name": "help",
    "x": 0,
    "y": 0,
    "width": 1250,
    "height": 843,
    "action": {"type": "postback", "data": "action=help", "displayText": "Help"},
}
SWITCH_AREA = {
    "name": "more",
    "x": 1250,
    "y": 0,
    "width": 1250,
    "height": 843,
    "action": {"type": "richmenuswitch", "alias": "more-menu"},
}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def line_settings(line, settings):
    # Changing LINE_* settings drops the cached client, so the next call goes to the double.
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    settings.LINE_API_RETRY_WAIT = 0.0
    line.control.reset()
    return line


@pytest.fixture
def make_menu(db):
    def make(name="Main", *, color=(20, 120, 200), areas=None, is_default=False, size=(2500, 843)) -> RichMenu:
        menu = RichMenu(
            name=name,
            chat_bar_text="Menu",
            areas=[HELP_AREA, SWITCH_AREA] if areas is None else areas,
            is_default=is_default,
        )
        checked = richmenu_image_check(upload(image_bytes(*size, color=color)))
        richmenu_save(menu=menu, image=checked)
        return menu

    return make


@pytest.fixture
def make_line_users(db):
    def make(count: int, *, language="en", status=LineUser.Status.ACTIVE, start=0) -> list[LineUser]:
        users = [
            LineUser(line_user_id="U" + f"{start + index:032x}", language=language, status=status)
            for index in range(count)
        ]
        return LineUser.objects.bulk_create(users)

    return make
