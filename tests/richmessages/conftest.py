import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import roles
from richmessages.layout import TextArea


def image_bytes(fmt: str = "PNG", size=(600, 400), color=(20, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str = "background.png", data: bytes | None = None, **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs) if data is None else data, content_type="image/png")


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores files in its own empty folder."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.PUBLIC_BASE_URL = "https://bot.example.com"
    return root


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, role=None, **extra):
        user = django_user_model.objects.create_user(username, password="a long test password 42", **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
            user.is_staff = True
            user.save()
        return user

    return make


@pytest.fixture
def editor(make_user):
    return make_user("editor", role=roles.CONTENT_EDITOR)


@pytest.fixture
def second_editor(make_user):
    return make_user("editor2", role=roles.CONTENT_EDITOR)


@pytest.fixture
def operator(make_user):
    return make_user("operator", role=roles.OPERATOR)


@pytest.fixture
def administrator(make_user):
    return make_user("admin", role=roles.ADMINISTRATOR)


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=roles.ANALYST)


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
