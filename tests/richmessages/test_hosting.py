import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from richmessages import hosting
from tests.richmessages.conftest import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored():
    data = image_bytes()
    digest = hashlib.sha256(data).hexdigest()
    name = f"rich/backgrounds/{digest}.png"
    default_storage.save(name, ContentFile(data))
    return name, digest, data


def test_it_makes_the_public_url_absolute_on_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://bot.example.com/"
    name = "rich/composed/" + "a" * 64 + ".jpg"

    assert hosting.public_url(name) == f"https://bot.example.com/media/{name}"


@pytest.mark.parametrize(
    "name",
    [
        "rich/backgrounds/abc.png",
        "rich/backgrounds/" + "A" * 64 + ".png",
        "rich/backgrounds/" + "a" * 64 + ".gif",
        "rich/other/" + "a" * 64 + ".png",
        "../rich/backgrounds/" + "a" * 64 + ".png",
        "",
    ],
)
def test_it_refuses_a_public_url_for_what_is_not_a_rich_image_name(name):
    with pytest.raises(ValueError):
        hosting.public_url(name)


def test_it_serves_a_stored_image_for_a_year_with_its_hash_as_etag(client, stored):
    name, digest, data = stored

    response = client.get(f"/media/{name}")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{digest}"'


def test_it_answers_not_modified_to_a_matching_etag(client, stored):
    name, digest, _ = stored

    response = client.get(f"/media/{name}", HTTP_IF_NONE_MATCH=f'"{digest}"')

    assert response.status_code == 304
    assert response["ETag"] == f'"{digest}"'


def test_it_needs_no_sign_in_and_sets_no_cookie(client, stored):
    response = client.get(f"/media/{stored[0]}")

    assert response.status_code == 200
    assert not response.cookies


@pytest.mark.parametrize(
    "path",
    [
        "/media/",
        "/media/rich/",
        "/media/rich/backgrounds/",
        "/media/rich/backgrounds/" + "b" * 64 + ".png",
        "/media/rich/backgrounds/..%2F..%2Fsecret_key",
        "/media/rich/backgrounds/../../secret_key",
        "/media/secret_key",
        "/media/rich/composed/" + "b" * 64 + ".jpg",
    ],
)
def test_it_serves_nothing_else_under_media(client, stored, path, media_root):
    (media_root / "secret_key").write_text("nope")
    (media_root / "rich" / "backgrounds" / "notes.txt").write_text("nope")

    response = client.get(path)

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store"
    assert b"nope" not in response.content


def test_it_does_not_serve_a_stored_file_that_is_not_named_by_hash(client, media_root):
    (media_root / "rich" / "backgrounds").mkdir(parents=True)
    (media_root / "rich" / "backgrounds" / "upload.png").write_bytes(image_bytes())

    assert client.get("/media/rich/backgrounds/upload.png").status_code == 404


def test_it_refuses_to_change_anything(client, stored):
    assert client.post(f"/media/{stored[0]}").status_code == 405


def test_it_redirects_to_the_storage_url_when_told_to(client, stored, settings):
    settings.RICH_IMAGES_REDIRECT = True
    settings.MEDIA_URL = "https://cdn.example.com/files/"
    name = stored[0]

    response = client.get(f"/media/{name}")

    assert response.status_code == 302
    assert response["Location"] == f"https://cdn.example.com/files/{name}"
    assert client.get("/media/rich/backgrounds/" + "c" * 64 + ".png").status_code == 404
